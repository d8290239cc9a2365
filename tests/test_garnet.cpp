// GarNet / GarNetStack in fixed point (docs/semantics.md, "GarNet"):
// - the project's fixtures (scripts/make_garnet_fixtures.py: Keras JSON + H5, outputs from an
//   independent numpy evaluation of the Keras layer) match in float mode, and the default
//   fixed-point types stay close to them;
// - the zoo's garnet_1layer in fixed point is close to the zoo's reference outputs;
// - the generated HLS C++ (nnet_garnet.h) is bit-exact to the emulator in C simulation on
//   1,000 rows per model, rows with 0, 1 and all vertices valid included;
// - the intermediate types are configurable by their hls4ml names, and what hls4ml's GarNet
//   does not define is refused by name.
#include "support/zoo.h"
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "fixture_dir.h"
#include "support/error_of.h"
#include "support/garnet_fixtures.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace tachyon;
using test_support::errorOf;
using test_support::garnetLayer;
namespace fs = std::filesystem;

namespace {

const std::string kShared = test_support::zooDir();

const std::string& fixtureDir() { return test_support::garnetFixtureDir(); }

const std::vector<std::string> kFixtures = {"garnet_mean", "garnet_vertices", "garnet_stack3", "garnet_stack_ternary"};

Graph loadFixture(const std::string& name, const std::string& config = "") {
    return test_support::loadGarNetFixture(name, config);
}

struct Data {
    std::vector<double> x, y;
    size_t rows = 0, nIn = 0, nOut = 0;
};

Data fixtureData(const std::string& name) {
    Data d;
    size_t yRows = 0;
    d.x = readNpy(fixtureDir() + "/" + name + "_X.npy", d.rows, d.nIn);
    d.y = readNpy(fixtureDir() + "/" + name + "_Y.npy", yRows, d.nOut);
    EXPECT_EQ(yRows, d.rows);
    return d;
}

double maxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}

}  // namespace

TEST(GarNet, FixturesMatchNumpyInFloat) {
    for (const std::string& name : kFixtures) {
        SCOPED_TRACE(name);
        Graph g = loadFixture(name);
        const Data d = fixtureData(name);
        ASSERT_EQ(size_t(g.inputSize()), d.nIn);
        ASSERT_EQ(size_t(g.outputSize()), d.nOut);
        Emulator emu(g);
        std::vector<double> out(d.rows * d.nOut);
        emu.runFloat(d.x.data(), d.rows, out.data());
        EXPECT_LT(maxAbsDiff(out, d.y), 1e-9);
    }
}

// The default types (docs/semantics.md, "GarNet") against the numpy float outputs: the
// features are N(0,1) in ap_fixed<16,6>, the edge weights have 10 fractional bits.
TEST(GarNet, FixturesInFixedPointCloseToFloat) {
    const std::map<std::string, double> tolerance = {{"garnet_mean", 0.01}, {"garnet_vertices", 0.06},
                                                     {"garnet_stack3", 0.05}, {"garnet_stack_ternary", 0.04}};
    for (const std::string& name : kFixtures) {
        SCOPED_TRACE(name);
        Graph g = loadFixture(name);
        const Data d = fixtureData(name);
        Emulator emu(g);
        std::vector<int64_t> raw(d.rows * d.nOut);
        std::vector<double> val(d.rows * d.nOut);
        std::vector<LayerStats> stats;
        emu.runFixed(d.x.data(), d.rows, raw.data(), val.data(), &stats);
        const double worst = maxAbsDiff(val, d.y);
        std::cout << "[ garnet ] " << name << ": fixed point vs numpy float, max |error| " << worst << " over "
                  << val.size() << " values\n";
        EXPECT_LT(worst, tolerance.at(name));
        for (const LayerStats& s : stats) {
            EXPECT_EQ(s.resultOverflows, 0u) << s.layer;
            EXPECT_EQ(s.accumOverflows, 0u) << s.layer;
        }
    }
}

// quantize_transforms: hls4ml converts the input transform (FLR kernel and bias) and the
// output kernel as ternary values (model/layers.py, TernaryQuantizer: 1 above 0.5, -1 at or
// below -0.5); the distance weights and the output bias stay as trained. The float match
// above checks the outputs against numpy doing the same.
TEST(GarNet, QuantizeTransformsMakesTheTransformsTernary) {
    const Graph g = loadModel(fixtureDir() + "/garnet_stack_ternary.json");
    const Layer& gar = garnetLayer(g);
    for (const std::string& k : {std::string("0"), std::string("1")}) {
        for (const std::string& name : {"FLR" + k + "_kernel", "FLR" + k + "_bias", "Fout" + k + "_kernel"}) {
            const std::set<double> values(gar.params.at(name).begin(), gar.params.at(name).end());
            for (double v : values) EXPECT_TRUE(v == -1 || v == 0 || v == 1) << name << ": " << v;
            if (name.find("_kernel") != std::string::npos) {
                EXPECT_GE(values.size(), 2u) << name;   // biases are all 0
            }
        }
        std::set<double> distance(gar.params.at("S" + k + "_kernel").begin(), gar.params.at("S" + k + "_kernel").end());
        EXPECT_GT(distance.size(), 3u);   // not ternary
    }
}

// The vertex count arrives as an unsigned integer that holds V; counts beyond V clamp to V,
// and the masked vertices' outputs are exactly 0.
TEST(GarNet, VertexCountTypeAndMasking) {
    Graph g = loadFixture("garnet_vertices");
    EXPECT_EQ(g.at("nvtx").type("result").str(), "ap_uint<4>");   // V = 8
    const Layer& gar = garnetLayer(g);
    EXPECT_EQ(gar.type("distance").str(), "ap_fixed<12,4,AP_TRN,AP_SAT>");
    EXPECT_EQ(gar.type("edge_weight").str(), "ap_ufixed<10,0>");
    EXPECT_EQ(gar.type("edge_weight_aggr").str(), "ap_ufixed<13,3>");
    EXPECT_EQ(gar.type("aggr").str(), "ap_fixed<19,9>");
    EXPECT_EQ(gar.type("norm").str(), "ap_ufixed<14,1,AP_RND,AP_SAT>");
    Emulator emu(g);
    const Data d = fixtureData("garnet_vertices");
    const size_t V = 8, F = 3, nIn = d.nIn;
    std::vector<double> x(d.x.begin(), d.x.begin() + 4 * nIn);
    x[nIn - 1] = 3;                 // 3 valid vertices
    x[2 * nIn - 1] = 8.7;           // truncated to 8
    x[3 * nIn - 1] = 0;
    x[4 * nIn - 1] = 1;
    std::vector<int64_t> raw(4 * V * F);
    emu.runFixed(x.data(), 4, raw.data(), nullptr);
    auto zerosFrom = [&](size_t row, size_t n) {
        for (size_t v = n; v < V; ++v)
            for (size_t f = 0; f < F; ++f)
                if (raw[row * V * F + v * F + f] != 0) return false;
        return true;
    };
    EXPECT_TRUE(zerosFrom(0, 3));
    EXPECT_TRUE(zerosFrom(2, 0));
    EXPECT_TRUE(zerosFrom(3, 1));
    bool anyNonZero = false;
    for (size_t i = 0; i < 3 * F; ++i) anyNonZero |= raw[i] != 0;
    EXPECT_TRUE(anyNonZero);
}

// Overflow counts of a multi-input model go to the Input layer whose values overflowed: a
// vertex count beyond ap_uint<4> is nvtx's, a huge feature is the features input's.
TEST(GarNet, InputOverflowsCountedOnTheirOwnInput) {
    Graph g = loadFixture("garnet_vertices");
    const auto inputs = g.inputs();
    ASSERT_EQ(inputs.size(), 2u);
    ASSERT_EQ(inputs[1]->name, "nvtx");
    Emulator emu(g);
    const Data d = fixtureData("garnet_vertices");
    const size_t nIn = d.nIn, rows = 6;
    std::vector<double> x(d.x.begin(), d.x.begin() + long(rows * nIn));
    for (size_t r = 0; r < rows; ++r) x[r * nIn + nIn - 1] = 2;   // valid counts everywhere ...
    x[1 * nIn + nIn - 1] = 20;                                    // ... except two beyond 15
    x[4 * nIn + nIn - 1] = 31;
    x[2 * nIn] = 1000;                                            // and one feature beyond ap_fixed<16,6>
    std::vector<int64_t> raw(rows * size_t(emu.outputSize()));
    std::vector<LayerStats> stats;
    emu.runFixed(x.data(), rows, raw.data(), nullptr, &stats);
    auto overflowsOf = [&](const std::string& layer) {
        for (const LayerStats& s : stats)
            if (s.layer == layer) return s.resultOverflows;
        ADD_FAILURE() << "no stats for " << layer;
        return uint64_t(0);
    };
    EXPECT_EQ(overflowsOf("nvtx"), 2u);
    EXPECT_EQ(overflowsOf(inputs[0]->name), 1u);
}

// The edge-weight table (ap_fixed<12,4> distance, ap_ufixed<10,0> weights): one entry per bit
// pattern of the distance, exp(-d^2) truncated to 10 bits, entry 0 hls4ml's saturated 1.
TEST(GarNet, EdgeWeightTable) {
    Graph g = loadFixture("garnet_mean");
    Emulator emu(g);
    const GarNetConstants& c = emu.garnetConstants("gar");
    ASSERT_EQ(c.edgeWeightTable.size(), 4096u);
    EXPECT_EQ(c.edgeWeightTable[0], 1023);                                     // 1 - 2^-10
    EXPECT_EQ(c.edgeWeightTable[256], int64_t(std::floor(std::exp(-1.0) * 1024)));   // d = 1
    EXPECT_EQ(c.edgeWeightTable[4096 - 256], c.edgeWeightTable[256]);        // d = -1
    EXPECT_EQ(c.edgeWeightTable[128], int64_t(std::floor(std::exp(-0.25) * 1024)));  // d = 0.5
    EXPECT_EQ(c.edgeWeightTable[2047], 0);                                     // d just below 8
    EXPECT_EQ(c.edgeWeightTable[2048], 0);                                     // d = -8
    ASSERT_EQ(c.norm.size(), 1u);
    EXPECT_EQ(g.at("gar").type("norm").str(), "ap_ufixed<15,1,AP_RND,AP_SAT>");
    EXPECT_EQ(c.norm[0], 1 << 10);   // 1/16 with 14 fractional bits
}

// Each intermediate type is read from the configuration by its hls4ml name; narrowing one
// changes the outputs, an unknown name is an error of the file.
TEST(GarNet, IntermediateTypesConfigurable) {
    const Data d = fixtureData("garnet_mean");
    Graph base = loadFixture("garnet_mean");
    Emulator baseEmu(base);
    std::vector<int64_t> ref(d.rows * d.nOut);
    baseEmu.runFixed(d.x.data(), d.rows, ref.data(), nullptr);
    for (const char* entry : {"distance: ap_fixed<10,3,AP_TRN,AP_SAT>", "edge_weight: ap_ufixed<6,0>",
                              "edge_weight_aggr: ap_ufixed<8,4>", "aggr: ap_fixed<14,8>",
                              "norm: ap_ufixed<4,1,AP_RND>", "input_transform_weights: ap_fixed<6,2,AP_RND,AP_SAT>",
                              "aggregator_distance_weights: ap_fixed<5,1,AP_RND,AP_SAT>"}) {
        SCOPED_TRACE(entry);
        const std::string var = std::string(entry).substr(0, std::string(entry).find(':'));
        Graph g = loadFixture("garnet_mean", std::string("LayerName:\n  gar:\n    Precision:\n      ") + entry + "\n");
        EXPECT_EQ(garnetLayer(g).type(var).str(), FixedType::parse(std::string(entry).substr(var.size() + 2)).str());
        Emulator emu(g);
        std::vector<int64_t> raw(d.rows * d.nOut);
        emu.runFixed(d.x.data(), d.rows, raw.data(), nullptr);
        EXPECT_NE(raw, ref);
    }
    // By layer type too (hls4ml's class names): GarNet for both classes, GarNetStack for stacks.
    EXPECT_EQ(garnetLayer(loadFixture("garnet_mean", "LayerType:\n  GarNet:\n    Precision:\n      aggr: ap_fixed<20,9>\n"))
                  .type("aggr").str(), "ap_fixed<20,9>");
    EXPECT_EQ(garnetLayer(loadFixture("garnet_stack3", "LayerType:\n  GarNetStack:\n    Precision:\n      norm: ap_ufixed<9,1>\n"))
                  .type("norm").str(), "ap_ufixed<9,1>");
    const std::string e = errorOf([] { Config::parse("LayerName:\n  gar:\n    Precision:\n      edge_weights: ap_fixed<8,1>\n", "cfg.yml"); });
    EXPECT_NE(e.find("edge_weights"), std::string::npos) << e;
    EXPECT_NE(e.find("edge_weight_aggr"), std::string::npos) << e;
}

// What neither hls4ml's GarNet HLS nor a single answer defines: refused by name in fixed point.
TEST(GarNet, UnsupportedFixedPointOptionsRefused) {
    const std::string dir = fixtureDir();
    for (const auto& [key, value, why] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"\"collapse\": \"mean\"", "\"collapse\": \"max\"", "collapse 'max'"},
             {"\"mean_by_nvert\": false", "\"mean_by_nvert\": true", "mean_by_nvert"}}) {
        SCOPED_TRACE(why);
        std::string text = readFile(dir + "/garnet_mean.json");
        const auto pos = text.find(key);
        ASSERT_NE(pos, std::string::npos);
        text.replace(pos, key.size(), value);
        const std::string path = dir + "/garnet_mean_refused.json";
        std::ofstream(path) << text;
        fs::copy_file(dir + "/garnet_mean_weights.h5", dir + "/garnet_mean_refused_weights.h5",
                      fs::copy_options::overwrite_existing);
        Graph g = loadModel(path);
        runPipeline(g, Config::defaults());
        const std::string e = errorOf([&] { Emulator emu(g); });
        EXPECT_NE(e.find("'gar'"), std::string::npos) << e;
        EXPECT_NE(e.find(why), std::string::npos) << e;
        EXPECT_NE(e.find("float mode"), std::string::npos) << e;
    }
}

// The zoo's garnet_1layer (GarNet 128x4, mean collapse, Dense(8, relu), Dense(1, sigmoid)) in
// fixed point against the zoo's reference outputs (6 decimals) and the float emulation of the
// GarNet layer, dense_1 given room for its pre-activation (up to ~40: the default
// ap_fixed<16,6> wraps it). With the default types the error is dominated by the vertex
// features' own quantisation (ap_fixed<16,6>: the fourth feature reaches 27 and meets weights
// up to 7); with wide types everywhere the fixed-point arithmetic converges to float.
TEST(GarNet, ZooModelInFixedPointCloseToReference) {
    const std::string json = kShared + "/keras/garnet_1layer.json";
    if (!fs::exists(json)) GTEST_SKIP() << "zoo not present";
    std::ifstream fx(kShared + "/data/garnet_1layer_input.dat"), fy(kShared + "/data/garnet_1layer_output.dat");
    std::vector<double> x, y;
    for (double v; fx >> v;) x.push_back(v);
    for (double v; fy >> v;) y.push_back(v);
    const size_t rows = y.size();
    ASSERT_EQ(x.size(), rows * 513);
    struct Case { const char* tag; std::string config; double garTol, outTol; size_t minAgree; };
    const std::string dense1 = "  dense_1:\n    Precision:\n      accum: ap_fixed<18,8>\n      result: ap_fixed<18,8>\n";
    const Case cases[] = {
        {"default types", dense1, 0.05, 0.1, rows - 6},
        {"wide types", dense1 + "  input_1:\n    Precision:\n      result: ap_fixed<26,6>\n  dense:\n    Precision: ap_fixed<24,8>\n"
                                "  gar_1:\n    Precision:\n      aggregator_distance_weights: ap_fixed<20,4,AP_RND,AP_SAT>\n"
                                "      input_transform_weights: ap_fixed<20,4,AP_RND,AP_SAT>\n"
                                "      input_transform_biases: ap_fixed<20,4,AP_RND,AP_SAT>\n      edge_weight: ap_ufixed<16,0>\n"
                                "      distance: ap_fixed<18,5,AP_RND,AP_SAT>\n      aggr: ap_fixed<30,13>\n"
                                "      edge_weight_aggr: ap_ufixed<24,7>\n      result: ap_fixed<24,6>\n",
         0.003, 0.01, rows - 1},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.tag);
        Graph g = loadModel(json);
        runPipeline(g, Config::parse("LayerName:\n" + c.config, "test-config"));
        EXPECT_EQ(g.at("input_2").type("result").str(), "ap_uint<8>");
        Emulator emu(g);
        const size_t garIndex = g.indexOf("gar_1");
        const auto fixedTrace = emu.traceFixed(x.data(), rows);
        const auto floatTrace = emu.traceFloat(x.data(), rows);
        const double garWorst = maxAbsDiff(fixedTrace[garIndex], floatTrace[garIndex]);
        std::vector<int64_t> raw(rows);
        std::vector<double> val(rows);
        emu.runFixed(x.data(), rows, raw.data(), val.data());
        size_t agree = 0;
        for (size_t r = 0; r < rows; ++r) agree += (val[r] > 0.5) == (y[r] > 0.5);
        const double worst = maxAbsDiff(val, y);
        std::cout << "[ garnet ] zoo garnet_1layer, " << c.tag << ": GarNet output max |error| " << garWorst
                  << " (vs float emulation), model output max |error| " << worst << " (vs zoo reference), class agreement "
                  << agree << "/" << rows << "\n";
        EXPECT_LT(garWorst, c.garTol);
        EXPECT_LT(worst, c.outTol);
        EXPECT_GE(agree, c.minAgree);
    }
}

// Emulator == C simulation of the generated HLS, bit for bit, on 1,000 random rows per model
// (the writer's rows: typical, uniform over the whole raw range, extremes), which include
// vertex counts of 0, 1 and V or more.
TEST(GarNetHls, CsimMatchesEmulator) {
    std::vector<std::pair<std::string, std::string>> models;
    for (const std::string& name : kFixtures) models.push_back({name, fixtureDir() + "/" + name + ".json"});
    if (fs::exists(kShared + "/keras/garnet_1layer.json")) models.push_back({"zoo_garnet_1layer", kShared + "/keras/garnet_1layer.json"});
    size_t compared = 0;
    for (const auto& [name, path] : models) {
        SCOPED_TRACE(name);
        Graph g = loadModel(path);
        runPipeline(g, Config::defaults());
        const int V = garnetLayer(g).as<GarNetAttrs>().nVertices;
        Emulator emu(g);
        hls::HlsOptions opt;
        opt.testRows = 1000;
        const fs::path prj = freshTestDir("test_garnet", name);
        hls::writeProject(g, emu, prj.string(), opt);
        // The rows' vertex counts (the last raw of each row) cover 0, 1 and all vertices.
        std::ifstream rowsIn(prj / "tb_data" / "input_raw.dat");
        size_t zero = 0, one = 0, all = 0, some = 0;
        for (std::string line; std::getline(rowsIn, line);) {
            const long long n = std::stoll(line.substr(line.find_last_of(' ') + 1));
            zero += n == 0, one += n == 1, all += n >= V, some += n > 1 && n < V;
        }
        EXPECT_GT(zero, 0u);
        EXPECT_GT(one, 0u);
        EXPECT_GT(all, 0u);
        EXPECT_GT(some, 0u);
        std::ostringstream log;
        const hls::CsimResult r = hls::csim(prj.string(), log);
        EXPECT_EQ(r.rows, opt.testRows) << log.str();
        EXPECT_EQ(r.mismatches, 0u) << log.str();
        compared += r.rows;
        std::cout << "[ hls csim ] " << name << ": " << r.rows << " rows (vertex counts: " << zero << " x 0, " << one
                  << " x 1, " << some << " partial, " << all << " x all), " << r.mismatches << " mismatches\n";
    }
    std::cout << "[ hls csim ] GarNet: " << models.size() << " models, " << compared << " rows compared\n";
}

// Narrow, saturating and wrapping intermediate types: still bit-exact.
TEST(GarNetHls, CsimMatchesEmulatorWithNarrowTypes) {
    Graph g = loadFixture("garnet_stack3",
                          "Model:\n  Precision: ap_fixed<12,4,AP_RND,AP_SAT>\nLayerName:\n  gar:\n    Precision:\n"
                          "      distance: ap_fixed<9,3,AP_RND,AP_WRAP>\n      edge_weight: ap_ufixed<7,0,AP_RND,AP_SAT>\n"
                          "      edge_weight_aggr: ap_ufixed<9,4,AP_TRN,AP_SAT>\n      aggr: ap_fixed<12,5,AP_RND_CONV,AP_WRAP>\n"
                          "      norm: ap_ufixed<8,1,AP_RND,AP_SAT>\n      result: ap_fixed<10,4,AP_TRN,AP_WRAP>\n");
    Emulator emu(g);
    hls::HlsOptions opt;
    opt.testRows = 1000;
    const fs::path prj = freshTestDir("test_garnet", "stack3_narrow");
    hls::writeProject(g, emu, prj.string(), opt);
    std::ostringstream log;
    const hls::CsimResult r = hls::csim(prj.string(), log);
    EXPECT_EQ(r.rows, opt.testRows) << log.str();
    EXPECT_EQ(r.mismatches, 0u) << log.str();
}
