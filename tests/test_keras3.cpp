// Keras 3 `.keras` archives (src/frontends/keras/: Keras3Layout.h, KerasReader.cpp Keras3Archive).
// scripts/make_keras3_fixtures.py rewrites the project's Keras 2 fixtures (and the zoo's
// QKeras, binary, ternary and BatchNorm models when ../shared is there) as Keras 3
// archives with the same weights: each must give the same graph, hence bit-identical
// fixed-point and float outputs, and still match the Keras 2 fixtures' float references.
#include "support/zoo.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "fixture_dir.h"
#include "float_reference.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "test_files.h"
#include "util/Error.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string kZoo = test_support::zooFile("keras");

// The Keras 2 fixtures come first: the archives are made from them.
std::string fixtures() {
    static const std::string dir = [] {
        fixtureDirMadeBy("make_fixtures.py", "nn_fixtures.stamp", "");
        fixtureDirMadeBy("make_cnn_fixtures.py", "cnn_fixtures.stamp", "");
        fixtureDirMadeBy("make_rnn_fixtures.py", "rnn_fixtures.stamp", "");
        fixtureDirMadeBy("make_attention_fixtures.py", "attention_fixtures.stamp", "");
        fixtureDirMadeBy("make_quant_fixtures.py", "quant/qcnn_Y.npy", "");   // it has no stamp: its last file
        return fixtureDirMadeBy("make_keras3_fixtures.py", "keras3_fixtures.stamp", "2");
    }();
    return dir;
}

Graph configured(const std::string& path) {
    Graph g = loadModel(path);
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<16,6>\n", "test"));
    return g;
}

struct Outputs {
    std::vector<double> fixed, real;
};

Outputs run(const Graph& g, const std::vector<double>& x) {
    Emulator emu(g);
    const size_t rows = x.size() / size_t(emu.inputSize());
    Outputs o;
    std::vector<int64_t> raw(rows * size_t(emu.outputSize()));
    o.fixed.resize(raw.size());
    emu.runFixed(x.data(), rows, raw.data(), o.fixed.data());
    o.real.resize(raw.size());
    emu.runFloat(x.data(), rows, o.real.data());
    return o;
}

// Inputs spread over and beyond the 16-bit range, so saturation is exercised too.
std::vector<double> randomRows(int n, size_t rows) {
    std::mt19937 rng(7);
    std::normal_distribution<double> d(0.0, 4.0);
    std::vector<double> x(size_t(n) * rows);
    for (double& v : x) v = d(rng);
    return x;
}

void expectSameModel(const std::string& keras2, const std::string& keras3, const std::string& xPath) {
    SCOPED_TRACE(keras3);
    const Graph a = configured(keras2), b = configured(keras3);
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
        EXPECT_EQ(a.layers[i].kind, b.layers[i].kind);
        // A Keras 3 Sequential model always has its InputLayer ("input_layer"); a Keras 2
        // one may declare the input on its first layer instead ("fc1_input").
        if (a.layers[i].kind != LayerKind::Input) {
            EXPECT_EQ(a.layers[i].name, b.layers[i].name);
        }
    }
    std::vector<double> x;
    if (!xPath.empty()) {
        size_t rows, cols;
        x = readNpy(xPath, rows, cols);
    } else {
        x = randomRows(a.inputSize(), 1000);
    }
    const Outputs oa = run(a, x), ob = run(b, x);
    EXPECT_EQ(oa.fixed, ob.fixed);
    EXPECT_EQ(oa.real, ob.real);
}

}  // namespace

TEST(Keras3, ProjectFixturesEqualTheirKeras2Sources) {
    const std::string d = fixtures();
    for (const char* name : {"keras_dense", "keras_cnn", "keras_cnn1d", "keras_layernorm", "keras_lstm", "keras_gru",
                             "keras_simplernn"}) {
        const std::string stem = d + "/" + name;
        expectSameModel(stem + ".json", d + "/keras3/" + name + ".keras", stem + "_X.npy");
        // And the float reference the Keras 2 fixture was made with.
        expectFloatMatchesReference(loadModel(d + "/keras3/" + name + ".keras"), stem + "_X.npy", stem + "_Y.npy",
                                    1e-5, 1e-6);
    }
    // QKeras in Keras 3's serialisation (quantisers as module/class_name/config objects).
    expectSameModel(d + "/quant/qcnn.json", d + "/keras3/qcnn.keras", d + "/quant/qcnn_X.npy");
    size_t rows, cols, r2, c2;
    const auto x = readNpy(d + "/quant/qcnn_X.npy", rows, cols);
    const auto y = readNpy(d + "/quant/qcnn_Y.npy", r2, c2);
    EXPECT_EQ(run(configured(d + "/keras3/qcnn.keras"), x).fixed, y);
}

TEST(Keras3, ZooQuantisedModelsEqualTheirKeras2Sources) {
    if (!fs::exists(kZoo + "/qkeras_3layer.json")) GTEST_SKIP() << "no shared model zoo";
    const std::string d = fixtures();
    for (const char* name : {"qkeras_3layer", "qkeras_mnist_dense", "KERAS_3layer_binary_smaller",
                             "KERAS_3layer_ternary_small", "KERAS_3layer_batch_norm"})
        expectSameModel(kZoo + "/" + name + ".json", d + "/keras3/" + name + ".keras", "");
}

// What cannot be read is refused by name: the archive, the layer, the reason.
TEST(Keras3, BadArchivesAreClearErrors) {
    const std::string d = fixtures() + "/keras3/";
    const std::pair<const char*, std::vector<std::string>> cases[] = {
        {"bad_missing_variable.keras", {"bad_missing_variable.keras", "layer 'fc1' (Dense)", "holds 1 variables",
                                        "layers/dense/vars", "expected 2 (kernel, bias)"}},
        {"bad_int8.keras", {"layer 'fc1' (Dense)", "QuantizedDTypePolicy", "not supported"}},
        {"bad_lora.keras", {"layer 'fc1' (Dense)", "LoRA"}},
        {"bad_no_config.keras", {"bad_no_config.keras", "no config.json"}},
        {"bad_sharded.keras", {"sharded"}},
        {"bad_config_json.keras", {"config.json is not valid JSON"}},
        {"bad_mha.keras", {"(MultiHeadAttention)", "not supported", "Keras 2 format"}},
    };
    for (const auto& [file, needles] : cases) {
        SCOPED_TRACE(file);
        try {
            loadModel(d + file);
            ADD_FAILURE() << "loaded";
        } catch (const Error& e) {
            for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
        }
    }
    // Not a zip at all, and a good archive cut in half.
    const fs::path dir = freshTestDir("keras3_test", "bad_archives");
    std::ofstream(dir / "noise.keras") << "this is not a zip archive";
    const std::string good = readFile(d + "keras_dense.keras");
    std::ofstream(dir / "cut.keras", std::ios::binary) << good.substr(0, good.size() / 2);
    for (const char* file : {"noise.keras", "cut.keras"}) {
        SCOPED_TRACE(file);
        try {
            loadModel((dir / file).string());
            ADD_FAILURE() << "loaded";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
        }
    }
}

// The temporary copy of the weights is gone after a load, successful or not.
TEST(Keras3, NoTemporaryFilesLeft) {
    const std::string d = fixtures() + "/keras3/";
    // A private TMPDIR: other tests running in parallel (ctest -j) load .keras files too.
    const fs::path tmp = fs::path(TACHYON_BINARY_DIR) / "keras3_tmp_check";
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    setenv("TMPDIR", tmp.c_str(), 1);
    auto temporaries = [&] {
        int n = 0;
        for (const auto& e : fs::directory_iterator(tmp))
            n += e.path().filename().string().rfind("tachyon_keras3_", 0) == 0;
        return n;
    };
    loadModel(d + "keras_lstm.keras");
    EXPECT_THROW(loadModel(d + "bad_missing_variable.keras"), Error);
    const int left = temporaries();
    if (old) setenv("TMPDIR", saved.c_str(), 1);
    else unsetenv("TMPDIR");
    EXPECT_EQ(left, 0);
    fs::remove_all(tmp);
}
