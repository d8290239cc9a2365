// Convolutional and branching networks through the HLS backend: every IR v2 layer kind,
// io_parallel and io_stream, Latency and Resource (ReuseFactor > 1), at ap_fixed<16,6> and
// at narrow per-layer types that saturate and wrap. Each project's C simulation (g++ against
// the bundled ap_fixed headers) must equal the emulator bit for bit on every test row
// (a third of them spanning the input type's whole range).
#include "support/io_target.h"
#include "support/zoo.h"
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "fixture_dir.h"

#include "csim_cases.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;
using test_support::ioTarget;

namespace {

fs::path workDir(const std::string& name) { return freshTestDir("test_hls_cnn", name); }

FixedType T(const std::string& s) { return FixedType::parse(s); }

// The CNN fixtures of scripts/make_cnn_fixtures.py (made by ctest's make_fixtures step, or
// here when missing).
std::string cnnFixture(const std::string& name) {
    static const std::string dir = fixtureDirMadeBy("make_cnn_fixtures.py", "cnn_fixtures.stamp", "");
    return dir + "/" + name;
}

// ---- configurations ----

const char* kPrecision16 = "  Precision: ap_fixed<16,6>\n";

Graph load(const std::string& path, const std::string& io, const std::string& strategy, int rf) {
    Graph g = loadModel(path);
    runPipeline(g, Config::parse("IOType: " + io + "\nModel:\n" + kPrecision16 + "  ReuseFactor: 1\n  Strategy: " +
                                     strategy + "\n",
                                 "test-config"));
    for (Layer& l : g.layers) {
        l.schedule.strategy = strategyNamed(strategy);
        l.schedule.reuseFactor = isMac(l) ? std::max(1, std::min<int>(rf, int(l.param("weight").size()))) : 1;
    }
    return g;
}

// Narrow per-layer types: 8-bit results with different rounding and overflow modes (also
// unsigned and symmetric), wrapping and saturating narrow accumulators, 6-bit weights.
void narrowTypes(Graph& g) {
    static const char* results[] = {"ap_fixed<8,3,AP_RND,AP_SAT>", "ap_fixed<8,2,AP_RND_CONV,AP_WRAP>",
                                    "ap_ufixed<8,3,AP_RND,AP_SAT>", "ap_fixed<7,3,AP_TRN,AP_SAT_SYM>",
                                    "ap_fixed<8,4,AP_RND_ZERO,AP_WRAP>"};
    static const char* accums[] = {"ap_fixed<10,4,AP_TRN,AP_WRAP>", "ap_fixed<12,5,AP_RND,AP_SAT>",
                                   "ap_fixed<11,4,AP_RND_INF,AP_WRAP>"};
    static const char* weights[] = {"ap_fixed<6,1,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"};
    size_t k = 0;
    for (Layer& l : g.layers) {
        ++k;
        if (l.kind == LayerKind::Input) {
            l.precision["result"] = T("ap_fixed<8,3,AP_RND,AP_SAT>");
            continue;
        }
        l.precision["result"] = T(results[k % 5]);
        if (isMac(l)) {
            l.precision["accum"] = T(accums[k % 3]);
            l.precision["weight"] = T(weights[k % 2]);
            l.precision["bias"] = T(weights[(k + 1) % 2]);
        }
        if (l.kind == LayerKind::BatchNorm) l.precision["scale"] = l.precision["shift"] = T("ap_fixed<8,3,AP_RND,AP_SAT>");
        if (l.kind == LayerKind::Softmax) l.precision["result"] = T("ap_ufixed<8,0,AP_RND,AP_SAT>");
    }
}

struct Case {
    std::string name;
    Graph g;
    size_t rows = 2000;
    Target target = {};   // io type and clock (Config::target())
};

// Writes and simulates every case under the suite's folder. Returns one log per failing case.
std::vector<std::string> writeAndSimulate(const std::string& suite, std::vector<Case>& cases, size_t* rowsCompared) {
    const fs::path dir = workDir(suite);
    return simulateCsimCases<Case>(cases, [&](const Case& c) { return dir / c.name; }, 7, rowsCompared);
}

void expectAllMatch(const std::string& suite, std::vector<Case> cases) {
    size_t rows = 0;
    const size_t n = cases.size();
    for (const std::string& log : writeAndSimulate(suite, cases, &rows)) ADD_FAILURE() << log;
    std::cout << "[ hls csim ] " << suite << ": " << n << " projects, " << rows << " rows compared\n";
}

// Four configurations of one model: 16/6 Latency io_parallel, 16/6 Resource RF 3 io_stream,
// narrow Resource RF 4 io_parallel, narrow Latency io_stream.
void addFourConfigs(std::vector<Case>& cases, const std::string& name, const std::string& path, size_t rows) {
    struct Cfg { const char* tag; const char* io; const char* strategy; int rf; bool narrow; };
    const Cfg cfgs[] = {{"16_6_latency_parallel", "io_parallel", "Latency", 1, false},
                        {"16_6_resource_rf3_stream", "io_stream", "Resource", 3, false},
                        {"narrow_resource_rf4_parallel", "io_parallel", "Resource", 4, true},
                        {"narrow_latency_stream", "io_stream", "Latency", 1, true}};
    for (const Cfg& c : cfgs) {
        Graph g = load(path, c.io, c.strategy, c.rf);
        if (c.narrow) narrowTypes(g);
        cases.push_back({name + "_" + c.tag, g, rows, ioTarget(c.io)});
    }
}

// ---- a hand-built graph with every layer kind and attribute option ----

struct Builder {
    Graph g;
    std::mt19937_64 rng{17};

    // `shape`: a Reshape's new shape (other kinds infer theirs).
    Layer& add(const std::string& name, LayerKind kind, std::vector<std::string> inputs, Attrs attrs,
               Shape shape = {}) {
        Layer l;
        l.name = name;
        l.kind = kind;
        l.inputs = std::move(inputs);
        l.attrs = std::move(attrs);
        std::vector<Shape> shapes;
        for (const std::string& i : l.inputs) shapes.push_back(g.at(i).shape);
        if (kind == LayerKind::Reshape) {
            int n = 1;
            for (int d : shapes[0]) n *= d;
            l.shape = shape.empty() ? Shape{n} : shape;
        } else {
            l.shape = inferShape(kind, l.attrs, shapes);
        }
        g.layers.push_back(l);
        return g.layers.back();
    }
    std::vector<double> random(size_t n, double scale, double pruned) {
        std::normal_distribution<double> w(0.0, scale);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        std::vector<double> v(n);
        for (double& x : v) x = u(rng) < pruned ? 0.0 : w(rng);
        return v;
    }
    void input(const Shape& s) {
        Layer l;
        l.name = "input_1";
        l.kind = LayerKind::Input;
        l.shape = s;
        g.layers.push_back(l);
    }
    void conv(const std::string& name, const std::string& in, ConvAttrs a) {
        a.inChannels = g.at(in).shape.back();
        if (a.depthwise) a.outChannels = a.inChannels * a.depthMultiplier;
        Layer& l = add(name, LayerKind::Conv, {in}, a);
        const auto [nIn, nOut] = macDims(l);
        l.param("weight") = random(size_t(nIn) * nOut, 1.2 / std::sqrt(double(nIn)), 0.3);
        l.param("bias") = random(size_t(nOut), 0.3, 0.0);
    }
    void dense(const std::string& name, const std::string& in, int nOut, ActKind act = ActKind::Linear) {
        const int nIn = g.at(in).shape.back();
        Layer& l = add(name, LayerKind::Dense, {in}, DenseAttrs{nIn, nOut, act});
        l.param("weight") = random(size_t(nIn) * nOut, 1.2 / std::sqrt(double(nIn)), 0.3);
        l.param("bias") = random(size_t(nOut), 0.3, 0.0);
    }
    void act(const std::string& name, const std::string& in, ActKind k, double alpha = 0.3) {
        ActAttrs a;
        a.kind = k;
        a.alpha = alpha;
        add(name, LayerKind::Activation, {in}, a);
    }
    void pool(const std::string& name, const std::string& in, PoolAttrs a) { add(name, LayerKind::Pooling, {in}, a); }
    void merge(const std::string& name, std::vector<std::string> in, MergeOp op) {
        add(name, LayerKind::Merge, std::move(in), MergeAttrs{op});
    }
};

ConvAttrs convAttrs(std::vector<int> k, std::vector<int> s, std::vector<int> d, std::vector<int> pb, std::vector<int> pe,
                    int outChannels, bool depthwise = false, int mult = 1, ActKind act = ActKind::Linear) {
    ConvAttrs a;
    a.rank = int(k.size());
    a.kernel = k;
    a.strides = s;
    a.dilation = d;
    a.padBegin = pb;
    a.padEnd = pe;
    a.outChannels = outChannels;
    a.depthwise = depthwise;
    a.depthMultiplier = mult;
    a.activation = act;
    return a;
}

PoolAttrs poolAttrs(PoolOp op, std::vector<int> k, std::vector<int> s, std::vector<int> pb, std::vector<int> pe,
                    bool countPadding = false) {
    PoolAttrs a;
    a.op = op;
    a.rank = int(k.size());
    a.kernel = k;
    a.strides = s;
    a.padBegin = pb;
    a.padEnd = pe;
    a.countPadding = countPadding;
    return a;
}

PoolAttrs globalPool(PoolOp op, int rank) {
    PoolAttrs a;
    a.op = op;
    a.rank = rank;
    a.global = true;
    return a;
}

// 2-D: strided, dilated, asymmetrically padded convolutions (plain with ReLU, depthwise with
// multiplier 2), every activation, every merge (3-input average and maximum, 3-input add),
// BatchNorm on an image, zero padding of spatial and channel axes, average pooling with and
// without counted padding, max pooling with padding, 3-input concatenation along width,
// upsampling of rows and channels, a transpose, Dense and Softmax over the last axis of an
// image, global max and average pooling, a 2-input concatenation, Reshape, Dense.
Graph everyLayerKind2d() {
    Builder b;
    b.input({7, 6, 3});
    b.conv("c1", "input_1", convAttrs({3, 2}, {2, 1}, {1, 2}, {1, 0}, {2, 1}, 4, false, 1, ActKind::ReLU));
    b.conv("dw", "c1", convAttrs({2, 3}, {1, 1}, {2, 1}, {0, 2}, {1, 0}, 0, true, 2));
    b.act("elu", "dw", ActKind::ELU, 0.7);
    b.act("selu", "dw", ActKind::SELU);
    b.act("softplus", "dw", ActKind::Softplus);
    b.act("softsign", "dw", ActKind::Softsign);
    b.act("swish", "dw", ActKind::Swish);
    b.act("leaky", "dw", ActKind::LeakyReLU, 0.2);
    b.act("hsig", "dw", ActKind::HardSigmoid);
    b.act("relu6", "dw", ActKind::ReLU6);
    b.act("sig", "dw", ActKind::Sigmoid);
    b.act("tanh", "dw", ActKind::Tanh);
    b.merge("avg3", {"elu", "selu", "softplus"}, MergeOp::Average);
    b.merge("sub", {"softsign", "swish"}, MergeOp::Subtract);
    b.merge("mul", {"leaky", "hsig"}, MergeOp::Multiply);
    b.merge("max3", {"relu6", "sig", "tanh"}, MergeOp::Maximum);
    b.merge("min", {"avg3", "sub"}, MergeOp::Minimum);
    b.merge("add3", {"min", "mul", "max3"}, MergeOp::Add);
    Layer& bn = b.add("bn", LayerKind::BatchNorm, {"add3"}, NoAttrs{});
    bn.param("scale") = b.random(size_t(bn.shape.back()), 0.8, 0.0);
    bn.param("shift") = b.random(size_t(bn.shape.back()), 0.5, 0.0);
    b.add("pad", LayerKind::Pad, {"bn"}, PadAttrs{{1, 0, 1}, {0, 2, 0}});
    b.pool("avg", "pad", poolAttrs(PoolOp::Average, {3, 2}, {2, 1}, {1, 1}, {1, 0}));
    b.pool("avg_cp", "pad", poolAttrs(PoolOp::Average, {3, 2}, {2, 1}, {1, 1}, {1, 0}, true));
    b.pool("maxp", "pad", poolAttrs(PoolOp::Max, {3, 2}, {2, 1}, {0, 1}, {2, 0}));
    b.add("cat3", LayerKind::Concatenate, {"avg", "avg_cp", "maxp"}, ConcatAttrs{1});
    b.add("up", LayerKind::Resize, {"cat3"}, ResizeAttrs{{2, 1, 2}});
    b.add("tr", LayerKind::Transpose, {"up"}, TransposeAttrs{{1, 0, 2}});
    b.pool("gmax", "tr", globalPool(PoolOp::Max, 2));
    b.dense("dn", "tr", 3, ActKind::ReLU);
    b.add("sm", LayerKind::Softmax, {"dn"}, SoftmaxAttrs{});
    b.pool("gavg", "sm", globalPool(PoolOp::Average, 2));
    b.add("cat", LayerKind::Concatenate, {"gmax", "gavg"}, ConcatAttrs{0});
    b.add("flat", LayerKind::Reshape, {"cat"}, ReshapeAttrs{});
    b.dense("fc", "flat", 4);
    return b.g;
}

// 1-D: strided dilated padded convolution, max and average pooling with padding, a
// depthwise convolution with multiplier 3, transposes of [width, channels], a reshape that
// changes the last axis, global average pooling, a concatenation, Dense.
Graph everyLayerKind1d() {
    Builder b;
    b.input({16, 3});
    b.conv("c1", "input_1", convAttrs({4}, {3}, {2}, {2}, {3}, 5));
    b.pool("mp", "c1", poolAttrs(PoolOp::Max, {3}, {2}, {1}, {1}));
    b.pool("ap", "c1", poolAttrs(PoolOp::Average, {2}, {1}, {1}, {0}, true));
    b.conv("dw", "mp", convAttrs({2}, {1}, {1}, {1}, {0}, 0, true, 3));
    b.add("tr", LayerKind::Transpose, {"ap"}, TransposeAttrs{{1, 0}});
    b.add("tr2", LayerKind::Transpose, {"tr"}, TransposeAttrs{{1, 0}});
    const Shape t = b.g.at("tr2").shape;
    b.add("rs", LayerKind::Reshape, {"tr2"}, ReshapeAttrs{}, {t[1], t[0]});
    b.pool("gap1", "rs", globalPool(PoolOp::Average, 1));
    b.pool("gap2", "dw", globalPool(PoolOp::Average, 1));
    b.add("cat", LayerKind::Concatenate, {"gap1", "gap2"}, ConcatAttrs{0});
    b.dense("fc", "cat", 3);
    return b.g;
}

Graph typed(Graph g, const std::string& io, const std::string& strategy, int rf, bool narrow) {
    runPipeline(g, Config::parse("IOType: " + io + "\nModel:\n" + kPrecision16 + "  ReuseFactor: 1\n", "test-config"));
    for (Layer& l : g.layers) {
        l.schedule.strategy = strategyNamed(strategy);
        l.schedule.reuseFactor = isMac(l) ? std::max(1, std::min<int>(rf, int(l.param("weight").size()))) : rf;
    }
    if (narrow) narrowTypes(g);
    return g;
}

}  // namespace

TEST(HlsCnn, EveryLayerKindAndOptionMatchesEmulator) {
    std::vector<Case> cases;
    for (auto [name, make] : std::vector<std::pair<std::string, std::function<Graph()>>>{
             {"every2d", everyLayerKind2d}, {"every1d", everyLayerKind1d}}) {
        cases.push_back({name + "_16_6_latency_parallel", typed(make(), "io_parallel", "Latency", 1, false), 3000, ioTarget("io_parallel")});
        cases.push_back({name + "_16_6_resource_rf2_stream", typed(make(), "io_stream", "Resource", 2, false), 3000, ioTarget("io_stream")});
        cases.push_back({name + "_narrow_resource_rf5_parallel", typed(make(), "io_parallel", "Resource", 5, true), 3000, ioTarget("io_parallel")});
        cases.push_back({name + "_narrow_latency_stream", typed(make(), "io_stream", "Latency", 1, true), 3000, ioTarget("io_stream")});
    }
    expectAllMatch("every", cases);
}

TEST(HlsCnn, CnnFixturesMatchEmulator) {
    std::vector<Case> cases;
    for (const char* m : {"cnn_pool.onnx", "cnn_residual.onnx", "cnn_concat.onnx", "unet_tiny.onnx", "cnn1d.onnx",
                          "keras_cnn.json"})
        addFourConfigs(cases, fs::path(m).stem().string(), cnnFixture(m), 2000);
    expectAllMatch("fixtures", cases);
}

// The convolutional models of the shared hls4ml example-model zoo.
TEST(HlsCnn, SharedConvModelsMatchEmulator) {
    ZOO_OR_SKIP();
    const fs::path shared = test_support::zooDir();
    std::vector<Case> cases;
    for (const char* m : {"keras/KERAS_conv1d_small.json", "keras/KERAS_conv2d_model.json",
                          "keras/jetTagger_Conv2D_Small_NoBatchNorm.json", "onnx/conv1d_small_keras.onnx",
                          "onnx/conv2d_small_keras.onnx"}) {
        const fs::path path = shared / m;
        if (!fs::exists(path)) continue;
        const std::string name = path.stem().string();
        Graph a = load(path.string(), "io_parallel", "Latency", 1);
        cases.push_back({name + "_16_6_latency_parallel", a, 2000, ioTarget("io_parallel")});
        Graph b = load(path.string(), "io_stream", "Resource", 4);
        narrowTypes(b);
        cases.push_back({name + "_narrow_resource_rf4_stream", b, 2000, ioTarget("io_stream")});
    }
    expectAllMatch("shared", cases);
}

TEST(HlsCnn, StreamingProjectReadsLikeFirmware) {
    Graph g = load(cnnFixture("cnn_residual.onnx"), "io_stream", "Resource", 4);
    Emulator emu(g);
    const fs::path prj = workDir("layout") / "prj";
    hls::HlsOptions opt;
    opt.target = ioTarget("io_stream");
    opt.testRows = 10;
    hls::writeProject(g, emu, prj.string(), opt);
    const std::string top = readFile(prj / "firmware/myproject.cpp");
    const std::string params = readFile(prj / "firmware/parameters.h");
    // One stream per tensor, packed pixels, a clone for the residual branch, line-buffer conv.
    EXPECT_NE(top.find("#pragma HLS DATAFLOW"), std::string::npos) << top;
    EXPECT_NE(top.find("nnet::clone_stream<"), std::string::npos) << top;
    EXPECT_NE(top.find("nnet::conv<"), std::string::npos) << top;
    EXPECT_NE(top.find("nnet::merge<"), std::string::npos) << top;
    EXPECT_NE(params.find("nnet::array<"), std::string::npos) << params;
    EXPECT_NE(params.find("static const unsigned buffer_rows = 3;"), std::string::npos) << params;
    EXPECT_EQ(top.find("0."), std::string::npos) << "weights must not be inlined into the logic code";
    for (const auto& e : fs::recursive_directory_iterator(prj / "firmware")) {
        if (e.is_regular_file()) {
            EXPECT_EQ(readFile(e.path()).find("tachyon::"), std::string::npos) << e.path();
        }
    }
}

TEST(HlsCnn, PrunedConvolutionWeightsAreLeftOut) {
    Graph g = typed(everyLayerKind2d(), "io_parallel", "Latency", 1, false);
    Emulator emu(g);
    size_t nonzero = 0;
    for (int64_t w : emu.weightRaw("c1")) nonzero += w != 0;
    ASSERT_LT(nonzero, emu.weightRaw("c1").size());
    const fs::path prj = workDir("pruned") / "prj";
    hls::HlsOptions opt;
    opt.testRows = 10;
    hls::writeProject(g, emu, prj.string(), opt);
    const std::string params = readFile(prj / "firmware/parameters.h");
    EXPECT_NE(params.find("struct c1_config : nnet::conv_config"), std::string::npos);
    EXPECT_NE(params.find("static const unsigned n_nonzero = " + std::to_string(nonzero) + ";"), std::string::npos)
        << params;
}
