// Acceptance against hls4ml's own numbers (issue 25). tests/data/hls4ml_recorded holds, per
// case, what hls4ml itself produced for a zoo model (scripts/record_hls4ml_outputs.py: its
// config_from_keras_model, its writer's hls4ml_config.yml, its C simulation compiled with
// g++): the config file, the input rows, the outputs and, for models ending in a softmax,
// hls4ml's trace of the layer feeding the softmax. Tachyon loads the same config file
// unchanged, converts the same model and must give the same numbers bit for bit. The models:
// zoo files (skipped without ../shared/models) and a GarNetStack with quantize_transforms
// (the project's garnet_stack_ternary fixture; the zoo has no such model).
#include "backends/hls/HlsWriter.h"
#include "support/zoo.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "fixture_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string kShared = test_support::zooDir();
const std::string kRecorded = TACHYON_SOURCE_DIR "/tests/data/hls4ml_recorded";

std::vector<std::string> recordedCases() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(kRecorded))
        if (entry.is_directory()) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// case.txt: "key: value" lines (model, logits).
std::map<std::string, std::string> readCase(const std::string& dir) {
    std::map<std::string, std::string> keys;
    std::ifstream in(dir + "/case.txt");
    std::string line;
    while (std::getline(in, line)) {
        const size_t colon = line.find(": ");
        if (colon != std::string::npos) keys[line.substr(0, colon)] = line.substr(colon + 2);
    }
    return keys;
}

struct Table {
    size_t rows = 0, cols = 0;
    std::vector<double> values;
};

Table readTable(const std::string& path) {
    Table t;
    t.values = readNpy(path, t.rows, t.cols);
    return t;
}

// Rows of `got` (rows x expected.cols) that differ from `expected` in any value; the first
// difference is reported once, with its position.
size_t differingRows(const std::vector<double>& got, const Table& expected, const std::string& what) {
    size_t rows = 0;
    bool reported = false;
    for (size_t r = 0; r < expected.rows; ++r) {
        bool differs = false;
        for (size_t c = 0; c < expected.cols; ++c) {
            const size_t k = r * expected.cols + c;
            if (got[k] == expected.values[k]) continue;
            differs = true;
            if (!reported) {
                ADD_FAILURE() << what << ": row " << r << " column " << c << ": Tachyon " << got[k] << ", hls4ml "
                              << expected.values[k];
                reported = true;
            }
        }
        rows += differs;
    }
    return rows;
}

std::string readText(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The case's model: a zoo file (`model:`), one of the GarNet fixtures (`garnet_fixture:`,
// scripts/make_garnet_fixtures.py) or the Keras fixture of scripts/make_fixtures.py
// (`nn_fixture:`), the fixtures made here as the other tests make them.
std::string modelPath(const std::map<std::string, std::string>& keys) {
    if (keys.count("garnet_fixture"))
        return fixtureDirMadeBy("make_garnet_fixtures.py", "garnet_fixtures.stamp", "4") + "/" + keys.at("garnet_fixture");
    if (keys.count("nn_fixture"))
        return fixtureDirMadeBy("make_fixtures.py", "nn_fixtures.stamp", "2") + "/" + keys.at("nn_fixture");
    return kShared + "/" + keys.at("model");
}

bool needsZoo(const std::map<std::string, std::string>& keys) { return keys.count("model") > 0; }

// The case's model converted with `config` and run in fixed point on the recorded inputs.
std::vector<double> outputsWith(const Config& config, const std::string& dir, Graph* converted = nullptr) {
    Graph g = loadModel(modelPath(readCase(dir)));
    runPipeline(g, config);
    Emulator emulator(g);
    const Table x = readTable(dir + "/x.npy");
    EXPECT_EQ(x.cols, size_t(emulator.inputSize()));
    std::vector<double> out(x.rows * size_t(emulator.outputSize()));
    std::vector<int64_t> raw(out.size());
    emulator.runFixed(x.values.data(), x.rows, raw.data(), out.data());
    if (converted) *converted = g;
    return out;
}

class Hls4mlRecorded : public ::testing::TestWithParam<std::string> {};

TEST_P(Hls4mlRecorded, TachyonGivesHls4mlsNumbersBitForBit) {
    const std::string dir = kRecorded + "/" + GetParam();
    const auto keys = readCase(dir);
    ASSERT_TRUE(keys.count("model") || keys.count("garnet_fixture") || keys.count("nn_fixture"))
        << dir << "/case.txt names no model";
    if (needsZoo(keys)) ZOO_OR_SKIP();

    // The file hls4ml's writer wrote, unchanged: it must select hls4ml's defaults by itself.
    const Config cfg = Config::load(dir + "/hls4ml_config.yml", false);
    EXPECT_EQ(cfg.compatibility, Compatibility::Hls4ml);
    Graph g;
    const std::vector<double> out = outputsWith(cfg, dir, &g);
    const Table y = readTable(dir + "/y.npy");
    ASSERT_EQ(out.size(), y.values.size());
    EXPECT_EQ(differingRows(out, y, "output"), 0u) << "of " << y.rows << " rows";
    Emulator emulator(g);
    const Table x = readTable(dir + "/x.npy");

    if (!keys.count("logits")) return;
    const std::string feeding = keys.at("logits");
    const auto& layers = emulator.graph().layers;
    const auto it = std::find_if(layers.begin(), layers.end(), [&](const Layer& l) { return l.name == feeding; });
    ASSERT_NE(it, layers.end()) << "Tachyon has no layer named " << feeding << " (hls4ml's name)";
    const Table logits = readTable(dir + "/logits.npy");
    const auto trace = emulator.traceFixed(x.values.data(), x.rows);
    const std::vector<double>& traced = trace[size_t(it - layers.begin())];
    ASSERT_EQ(traced.size(), logits.values.size()) << feeding;
    EXPECT_EQ(differingRows(traced, logits, feeding), 0u) << "of " << logits.rows << " rows";
}

INSTANTIATE_TEST_SUITE_P(Cases, Hls4mlRecorded, ::testing::ValuesIn(recordedCases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// The recorded numbers tell the two rule sets apart: the same files read with Tachyon's own
// defaults (`Compatibility: tachyon`: its `auto` rule, softmax and constant rounding) give
// other numbers on most cases (all but those that name their softmax's Implementation), so
// matching them above is not a coincidence of the defaults.
TEST(Hls4mlRecordedFixtures, TachyonsOwnDefaultsGiveOtherNumbers) {
    ZOO_OR_SKIP();
    int differing = 0, refused = 0, zooCases = 0;
    std::string same;
    const auto cases = recordedCases();
    for (const std::string& name : cases) {
        const std::string dir = kRecorded + "/" + name;
        if (!needsZoo(readCase(dir))) continue;
        ++zooCases;
        const std::string text = readText(dir + "/hls4ml_config.yml");
        const Config own = Config::parse(text + "Compatibility: tachyon\n", name);
        ASSERT_EQ(own.compatibility, Compatibility::Tachyon);
        const Table y = readTable(dir + "/y.npy");
        try {
            const bool differs = outputsWith(own, dir) != y.values;
            differing += differs;
            if (!differs) {
                same += " " + name;
                // Only where the file names its softmax's Implementation (docs/config.md says so).
                EXPECT_NE(text.find("Implementation:"), std::string::npos) << name << " gives hls4ml's numbers in Tachyon mode";
            }
        } catch (const Error&) {
            ++refused;   // Tachyon mode refuses LayerName entries for layers hls4ml adds (fc1_linear)
        }
    }
    std::cout << "[ hls4ml recorded ] with Tachyon's defaults " << differing << " of " << zooCases
              << " zoo cases give other numbers, " << refused << " are refused; the same numbers:" << same << "\n";
    EXPECT_GE(differing + refused, zooCases * 2 / 3);
    EXPECT_GE(differing, 5);
}

// GarNet with hls4ml's `auto` count type (garnet_1layer_name: ap_fixed<16,6>): counts 32-63
// and 96-127 wrap negative. hls4ml's C simulation then processes every vertex (its loops
// compare the unsigned vertex index with the count as unsigned) and scales the output bias by
// the negative count; Compatibility: hls4ml does the same (the case above matches hls4ml
// bit for bit), Tachyon's own rule limits the count to [0, V]. The two rules differ exactly
// on the rows whose stored count lies outside [0, V].
TEST(Hls4mlRecordedFixtures, GarNetWrappedCountsFollowHls4mlOnlyInHls4mlMode) {
    ZOO_OR_SKIP();
    const std::string dir = kRecorded + "/garnet_1layer_name";
    ASSERT_TRUE(fs::exists(dir + "/case.txt")) << dir;
    Graph g = loadModel(modelPath(readCase(dir)));
    runPipeline(g, Config::load(dir + "/hls4ml_config.yml", false));
    const auto garnet = std::find_if(g.layers.begin(), g.layers.end(), [](const Layer& l) { return l.kind == LayerKind::GarNet; });
    ASSERT_NE(garnet, g.layers.end());
    EXPECT_TRUE(garnet->as<GarNetAttrs>().hls4mlCount);
    const FixedType countType = g.at(garnet->inputs.at(1)).type("result");
    const int vertices = garnet->as<GarNetAttrs>().nVertices;
    Graph clamped = g;
    std::find_if(clamped.layers.begin(), clamped.layers.end(), [](const Layer& l) { return l.kind == LayerKind::GarNet; })
        ->as<GarNetAttrs>()
        .hls4mlCount = false;
    const Table x = readTable(dir + "/x.npy");
    auto run = [&](const Graph& graph) {
        Emulator e(graph);
        std::vector<double> out(x.rows * size_t(e.outputSize()));
        std::vector<int64_t> raw(out.size());
        e.runFixed(x.values.data(), x.rows, raw.data(), out.data());
        return out;
    };
    const std::vector<double> hls4ml = run(g), own = run(clamped);
    const size_t cols = hls4ml.size() / x.rows;
    // A count that its type wraps into [0, V] is the same count for both rules.
    size_t wrapped = 0, wrappedDiffering = 0, otherDiffering = 0;
    for (size_t r = 0; r < x.rows; ++r) {
        const double stored =   // the last input column, as its type holds it
            countType.castDouble(x.values[r * x.cols + x.cols - 1]) * countType.lsb();
        const bool wraps = stored < 0 || stored > vertices;
        const bool differs = !std::equal(hls4ml.begin() + long(r * cols), hls4ml.begin() + long((r + 1) * cols),
                                         own.begin() + long(r * cols));
        wrapped += wraps;
        (wraps ? wrappedDiffering : otherDiffering) += differs;
    }
    std::cout << "[ hls4ml recorded ] garnet_1layer: " << wrapped << " of " << x.rows << " rows have a count its type "
              << countType.str() << " holds outside [0, " << vertices << "], "
              << wrappedDiffering << " of them differ between hls4ml's and Tachyon's count rule\n";
    EXPECT_GE(wrapped, x.rows / 10);
    EXPECT_GE(wrappedDiffering, wrapped * 9 / 10);
    EXPECT_EQ(otherDiffering, 0u);
}

// The generated HLS computes hls4ml's count rule and hls4ml's sigmoid table as the emulator
// does: garnet_1layer with hls4ml's own configuration, C-simulated on the recorded rows (half
// of them with a wrapped count), matches the emulator (and so hls4ml) on every row.
TEST(Hls4mlRecordedFixtures, GarNetHlsCsimMatchesOnWrappedCounts) {
    ZOO_OR_SKIP();
    const std::string dir = kRecorded + "/garnet_1layer_name";
    Graph g = loadModel(modelPath(readCase(dir)));
    const Config cfg = Config::load(dir + "/hls4ml_config.yml", false);
    runPipeline(g, cfg);
    Emulator emu(g);
    hls::HlsOptions opt;
    opt.target = cfg.target();
    opt.testInputs = readTable(dir + "/x.npy").values;
    const fs::path prj = fs::path(TACHYON_BINARY_DIR) / "hls4ml_recorded_test" / "garnet_1layer_hls";
    fs::remove_all(prj);
    hls::writeProject(g, emu, prj.string(), opt);
    std::ostringstream log;
    const hls::CsimResult r = hls::csim(prj.string(), log);
    EXPECT_EQ(r.rows, 200u) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
}

// GarNet with mean_by_nvert (project fixtures): hls4ml's quotient trunc(V / count) and
// floored sums are matched above under Compatibility: hls4ml; Tachyon's own rule (1/n in
// `norm`) gives other numbers on the per-vertex case and refuses the mean collapse (Keras
// divides it by 1, hls4ml by the count).
TEST(Hls4mlRecordedFixtures, GarNetMeanByNvertIsHls4mlsOnlyInHls4mlMode) {
    const std::string vertices = kRecorded + "/garnet_vertices_nvert_name", mean = kRecorded + "/garnet_mean_nvert_name";
    ASSERT_TRUE(fs::exists(vertices + "/case.txt") && fs::exists(mean + "/case.txt"));
    auto own = [](const std::string& dir) {
        return Config::parse(readText(dir + "/hls4ml_config.yml") + "Compatibility: tachyon\n", dir);
    };
    const Table y = readTable(vertices + "/y.npy");
    const std::vector<double> out = outputsWith(own(vertices), vertices);
    ASSERT_EQ(out.size(), y.values.size());
    size_t differing = 0;
    for (size_t r = 0; r < y.rows; ++r)
        differing += !std::equal(out.begin() + ptrdiff_t(r * y.cols), out.begin() + ptrdiff_t((r + 1) * y.cols),
                                 y.values.begin() + ptrdiff_t(r * y.cols));
    std::cout << "[ hls4ml recorded ] garnet_vertices mean_by_nvert: Tachyon's own 1/n rule differs from hls4ml on "
              << differing << " of " << y.rows << " rows\n";
    EXPECT_GE(differing, y.rows / 2);
    try {
        outputsWith(own(mean), mean);
        ADD_FAILURE() << "the mean collapse with mean_by_nvert ran under Compatibility: tachyon";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("mean_by_nvert"), std::string::npos) << e.what();
    }
}

// The fixtures are not vacuous: every case has rows, and outputs that vary between rows
// somewhere (a constant output would be matched by a constant emulator).
TEST(Hls4mlRecordedFixtures, EveryCaseHasVaryingNumbers) {
    const auto cases = recordedCases();
    ASSERT_GE(cases.size(), 10u);
    for (const std::string& name : cases) {
        const std::string dir = kRecorded + "/" + name;
        const Table y = readTable(dir + "/y.npy");
        Table varying = y;
        if (fs::exists(dir + "/logits.npy")) varying = readTable(dir + "/logits.npy");
        EXPECT_GE(varying.rows, 100u) << name;
        bool differs = false;
        for (size_t k = varying.cols; k < varying.values.size() && !differs; ++k)
            differs = varying.values[k] != varying.values[k % varying.cols];
        EXPECT_TRUE(differs) << name << ": every row has the same numbers";
    }
}

}  // namespace
