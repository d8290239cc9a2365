// Attention building blocks: the MatMul of two activations (Q.K^T, A.V) and
// LayerNormalization. PyTorch single-head self-attention and a post-norm encoder block
// (scripts/make_attention_fixtures.py, ONNX) compute in float mode what PyTorch computes;
// in fixed point the MatMul and LayerNorm kernels equal step-by-step references written
// here from docs/semantics.md ("MatMul", "LayerNormalization") with FixedType::castRaw
// for every cast (the HLS backend writes them: tests/test_hls_attention.cpp; the Verilog
// backend: tests/test_verilog_families.cpp). nn.MultiheadAttention and nn.TransformerEncoderLayer
// (post- and pre-norm) exported by PyTorch, and a Keras MultiHeadAttention, match their
// frameworks in float.
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Cast.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "fixture_dir.h"
#include "float_reference.h"
#include "test_files.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string& fixtureDir() {
    static const std::string dir = fixtureDirMadeBy("make_attention_fixtures.py", "attention_fixtures.stamp", "5");
    return dir;
}

// <fixture dir>/<name>: the model file is <name>.onnx (PyTorch) or <name>.json (Keras), its
// rows <name>_X.npy and the framework's outputs for them <name>_Y.npy.
std::string fixture(const std::string& name) { return fixtureDir() + "/" + name; }

// The float emulator on every row of the fixture within rtol * |y| + atol of the framework.
void expectFloatMatchesFixture(const Graph& g, const std::string& name, double rtol, double atol) {
    expectFloatMatchesReference(g, fixture(name) + "_X.npy", fixture(name) + "_Y.npy", rtol, atol);
}

// The fixed-point emulator (after the pass pipeline with `cfg`) on every row of the ONNX
// fixture against the framework's float outputs: the mean absolute difference below
// `meanBelow` and the largest below `worstBelow` (either may be kNoBound).
constexpr double kNoBound = std::numeric_limits<double>::infinity();
void expectFixedCloseToFixture(const std::string& name, const Config& cfg, double meanBelow, double worstBelow) {
    SCOPED_TRACE(name);
    const FixedPointError e =
        fixedPointError(loadModel(fixture(name) + ".onnx"), cfg, fixture(name) + "_X.npy", fixture(name) + "_Y.npy");
    if (meanBelow != kNoBound) {
        EXPECT_LT(e.mean, meanBelow);
    }
    if (worstBelow != kNoBound) {
        EXPECT_LT(e.worst, worstBelow);
    }
}

size_t countKind(const Graph& g, LayerKind k) {
    size_t n = 0;
    for (const Layer& l : g.layers) n += l.kind == k;
    return n;
}

// x [batch, M, K] -> Q = x (as is), B = a second input [batch, K, N] (or [batch, N, K]).
Graph matMulGraph(int batch, int m, int k, int n, bool transposeB, const std::string& inA, const std::string& inB,
                  const std::string& accum, const std::string& result) {
    GraphBuilder b("matmul", "test");
    const std::string a = b.input("a", {batch, m, k});
    const std::string bb = b.input("b", transposeB ? Shape{batch, n, k} : Shape{batch, k, n});
    MatMulAttrs attrs;
    attrs.transposeB = transposeB;
    const std::string out = b.add("mm", LayerKind::MatMul, {a, bb}, attrs, {});
    Graph g = b.finish(out);
    g.layers[0].precision["result"] = FixedType::parse(inA);
    g.layers[1].precision["result"] = FixedType::parse(inB);
    g.layers[2].precision["result"] = FixedType::parse(result);
    g.layers[2].precision["accum"] = FixedType::parse(accum);
    verify(g, true);
    return g;
}

Graph layerNormGraph(int tokens, int features, std::mt19937& rng, const std::string& inT, const std::string& accum,
                     const std::string& table, const std::string& result, int tableSize, double epsilon) {
    GraphBuilder b("layernorm", "test");
    const std::string x = b.input("x", {tokens, features});
    LayerNormAttrs attrs;
    attrs.epsilon = epsilon;
    std::uniform_real_distribution<double> gamma(0.3, 1.7), beta(-0.8, 0.8);
    std::vector<double> g(static_cast<size_t>(features)), bb(static_cast<size_t>(features));
    for (double& v : g) v = gamma(rng);
    for (double& v : bb) v = beta(rng);
    const std::string out = b.add("ln", LayerKind::LayerNorm, {x}, attrs, {{"scale", g}, {"bias", bb}});
    Graph gr = b.finish(out);
    gr.layers[0].precision["result"] = FixedType::parse(inT);
    Layer& l = gr.layers[1];
    l.precision["result"] = FixedType::parse(result);
    l.precision["accum"] = FixedType::parse(accum);
    l.precision["table"] = FixedType::parse(table);
    l.precision["scale"] = FixedType::parse("ap_fixed<12,2>");
    l.precision["bias"] = FixedType::parse("ap_fixed<10,2,AP_RND>");
    l.table.size = tableSize;
    verify(gr, true);
    return gr;
}

// docs/semantics.md, "LayerNormalization", one group of n features, in exact rationals
// (Int128 raws) and castRaw/castRational only.
std::vector<int64_t> layerNormReference(const Layer& l, const FixedType& inT, const std::vector<Int128>& x) {
    const int n = int(x.size());
    const FixedType A = l.type("accum"), T = l.type("table"), G = l.type("scale"), B = l.type("bias"),
                    R = l.type("result");
    const int fa = A.frac();
    Int128 sum = 0;
    for (Int128 v : x) sum += v;
    const Int128 mean = castRational(A, sum, inT.frac(), n);
    std::vector<Int128> d;
    Int128 squares = 0;
    const int f = std::max(inT.frac(), fa);
    for (Int128 v : x) {
        d.push_back(A.castRaw(v * (Int128(1) << (f - inT.frac())) - mean * (Int128(1) << (f - fa)), f));
        squares += d.back() * d.back();
    }
    Int128 v = castRational(A, squares, 2 * fa, n) + A.castDouble(l.as<LayerNormAttrs>().epsilon);
    if (v <= 0) v = 1;
    // 1/sqrt(v) = 1/sqrt(m) * 2^-h, v = m * 2^(2h), m in [1, 4), from the value of v.
    int p = 0;
    while ((Int128(1) << (p + 1)) <= v) ++p;
    const int e = p - fa, parity = e & 1, h = (e - parity) / 2;
    const int half = l.table.size / 2;
    int bits = 0;
    while ((1 << bits) < half) ++bits;
    // The bin of m: the `bits` bits after v's leading one.
    const double mantissa = std::ldexp(double(v), -p);   // [1, 2), exact for v < 2^53
    const int j = int(std::floor((mantissa - 1.0) * half));
    const double m = (1.0 + (j + 0.5) / half) * (parity ? 2.0 : 1.0);
    const Int128 entry = T.castDouble(1.0 / std::sqrt(m));
    std::vector<int64_t> y;
    for (int i = 0; i < n; ++i) {
        const Int128 g = G.castDouble(l.param("scale")[size_t(i)]), b = B.castDouble(l.param("bias")[size_t(i)]);
        // d * entry * g * 2^-h + b, all at frac F = fa + T.frac + G.frac + 40 (enough here).
        const int F = fa + T.frac() + G.frac() + 40;
        const Int128 prod = d[size_t(i)] * entry * g * (Int128(1) << (40 - h));
        y.push_back(int64_t(R.castRaw(prod + b * (Int128(1) << (F - B.frac())), F)));
    }
    return y;
}

struct MatMulCase {
    bool transposeB;
    const char *inA, *inB, *accum, *result;
};

}  // namespace

TEST(Attention, MatMulFixedEqualsStepByStepReference) {
    std::mt19937 rng(77);
    const std::vector<MatMulCase> cases = {
        {false, "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>"},
        {true, "ap_fixed<16,6>", "ap_fixed<12,4>", "ap_fixed<24,10>", "ap_fixed<16,6>"},
        {true, "ap_fixed<10,4,AP_RND,AP_SAT>", "ap_ufixed<8,1,AP_RND>", "ap_fixed<12,4,AP_RND_CONV,AP_SAT>",
         "ap_fixed<8,3,AP_RND,AP_SAT>"},
        {false, "ap_fixed<9,3>", "ap_fixed<9,3>", "ap_fixed<10,3,AP_TRN,AP_WRAP>", "ap_fixed<7,2,AP_RND_ZERO,AP_WRAP>"},
    };
    const int batch = 2, m = 3, k = 5, n = 4;
    for (size_t ci = 0; ci < cases.size(); ++ci) {
        const MatMulCase& c = cases[ci];
        SCOPED_TRACE("case " + std::to_string(ci));
        Graph g = matMulGraph(batch, m, k, n, c.transposeB, c.inA, c.inB, c.accum, c.result);
        Emulator emu(g);
        const size_t rows = 300, nA = size_t(batch * m * k), nB = size_t(batch * k * n), nOut = size_t(batch * m * n);
        std::normal_distribution<double> nd(0.0, 1.5);
        std::vector<double> x(rows * (nA + nB));
        for (double& v : x) v = nd(rng);
        std::vector<int64_t> got(rows * nOut);
        std::vector<LayerStats> stats;
        emu.runFixed(x.data(), rows, got.data(), nullptr, &stats);
        const FixedType tA = FixedType::parse(c.inA), tB = FixedType::parse(c.inB);
        const FixedType acc = FixedType::parse(c.accum), res = FixedType::parse(c.result);
        const int pf = tA.frac() + tB.frac();
        size_t bad = 0;
        uint64_t accOverflows = 0;
        for (size_t r = 0; r < rows; ++r) {
            const double* row = &x[r * (nA + nB)];
            for (int bt = 0; bt < batch; ++bt)
                for (int i = 0; i < m; ++i)
                    for (int j = 0; j < n; ++j) {
                        Int128 sum = 0;
                        for (int kk = 0; kk < k; ++kk) {
                            const Int128 av = tA.castDouble(row[size_t((bt * m + i) * k + kk)]);
                            const size_t bi = c.transposeB ? size_t((bt * n + j) * k + kk) : size_t((bt * k + kk) * n + j);
                            const Int128 bv = tB.castDouble(row[nA + bi]);
                            CastStatus s1, s2;
                            const Int128 p = acc.castRaw(av * bv, pf, &s1);
                            sum = acc.castRaw(sum + p, acc.frac(), &s2);
                            accOverflows += s1.overflow + s2.overflow;
                        }
                        const int64_t want = int64_t(res.castRaw(sum, acc.frac()));
                        bad += want != got[r * nOut + size_t((bt * m + i) * n + j)];
                    }
        }
        EXPECT_EQ(bad, 0u);
        EXPECT_EQ(stats.back().accumOverflows, accOverflows);
    }
}

TEST(Attention, MatMulShapesAreChecked) {
    auto shapeOf = [](const Shape& a, const Shape& b, bool tb) {
        MatMulAttrs attrs;
        attrs.transposeB = tb;
        return inferShape(LayerKind::MatMul, attrs, {a, b});
    };
    EXPECT_EQ(shapeOf({2, 8, 4}, {2, 4, 8}, false), (Shape{2, 8, 8}));
    EXPECT_EQ(shapeOf({2, 8, 4}, {2, 6, 4}, true), (Shape{2, 8, 6}));
    EXPECT_THROW(shapeOf({2, 8, 4}, {2, 5, 8}, false), Error);   // contracted axes differ
    EXPECT_THROW(shapeOf({2, 8, 4}, {3, 4, 8}, false), Error);   // batch axes differ
    EXPECT_THROW(shapeOf({8, 4}, {2, 4, 8}, false), Error);      // ranks differ (no broadcasting)
}

TEST(Attention, TorchSingleHeadAttentionMatchesPyTorchInFloat) {
    Graph g = loadModel(fixture("attn_single_head") + ".onnx");
    EXPECT_EQ(countKind(g, LayerKind::MatMul), 2u) << dump(g);
    expectFloatMatchesFixture(g, "attn_single_head", 0.0, 1e-5);
}

TEST(Attention, TorchSingleHeadAttentionRunsInFixedPoint) {
    // The default types (ap_fixed<16,6>, accum = result), end to end: close to float.
    expectFixedCloseToFixture("attn_single_head", Config::defaults(), kNoBound, 0.1);
}

TEST(Attention, LayerNormFixedEqualsStepByStepReference) {
    std::mt19937 rng(91);
    struct Case {
        const char *in, *accum, *table, *result;
        int tableSize;
        double epsilon, spread;
    };
    const std::vector<Case> cases = {
        {"ap_fixed<16,6>", "ap_fixed<16,6>", "ap_ufixed<18,1,AP_RND,AP_SAT>", "ap_fixed<16,6>", 1024, 1e-5, 1.5},
        {"ap_fixed<16,6>", "ap_fixed<24,8,AP_RND>", "ap_ufixed<12,1,AP_RND>", "ap_fixed<10,3,AP_RND,AP_SAT>", 64, 1e-3, 1.5},
        // tiny variances (inputs nearly equal): 1/sqrt(v) far above 1
        {"ap_fixed<18,4>", "ap_fixed<26,6,AP_RND_CONV>", "ap_ufixed<16,1,AP_RND>", "ap_fixed<12,4,AP_RND,AP_SAT>", 256, 1e-6,
         0.01},
        // narrow, wrapping types, large inputs
        {"ap_fixed<8,4,AP_RND,AP_SAT>", "ap_fixed<10,5,AP_TRN,AP_WRAP>", "ap_ufixed<8,1>", "ap_fixed<8,3,AP_TRN,AP_WRAP>", 16,
         1e-3, 4.0},
    };
    const int tokens = 4, features = 7;
    for (size_t ci = 0; ci < cases.size(); ++ci) {
        const Case& c = cases[ci];
        SCOPED_TRACE("case " + std::to_string(ci));
        Graph g = layerNormGraph(tokens, features, rng, c.in, c.accum, c.table, c.result, c.tableSize, c.epsilon);
        Emulator emu(g);
        const size_t rows = 400, n = size_t(tokens * features);
        std::normal_distribution<double> nd(0.0, c.spread), offset(0.0, 1.0);
        std::vector<double> x(rows * n);
        for (size_t r = 0; r < rows; ++r) {
            const double o = offset(rng);
            for (size_t i = 0; i < n; ++i) x[r * n + i] = o + nd(rng);
        }
        std::vector<int64_t> got(rows * n);
        emu.runFixed(x.data(), rows, got.data(), nullptr);
        const FixedType inT = FixedType::parse(c.in);
        size_t bad = 0;
        for (size_t r = 0; r < rows; ++r)
            for (int t = 0; t < tokens; ++t) {
                std::vector<Int128> group;
                for (int i = 0; i < features; ++i) group.push_back(inT.castDouble(x[r * n + size_t(t * features + i)]));
                const auto want = layerNormReference(g.layers[1], inT, group);
                for (int i = 0; i < features; ++i) bad += want[size_t(i)] != got[r * n + size_t(t * features + i)];
            }
        EXPECT_EQ(bad, 0u);
    }
}

TEST(Attention, TorchEncoderBlockMatchesPyTorchInFloat) {
    Graph g = loadModel(fixture("attn_encoder_block") + ".onnx");
    EXPECT_EQ(countKind(g, LayerKind::LayerNorm), 2u) << dump(g);
    EXPECT_EQ(countKind(g, LayerKind::MatMul), 2u) << dump(g);
    expectFloatMatchesFixture(g, "attn_encoder_block", 0.0, 1e-5);
}

TEST(Attention, TorchEncoderBlockRunsInFixedPoint) {
    // Default types, with a wider accumulator for the attention products and norms: close to float.
    expectFixedCloseToFixture("attn_encoder_block", Config::parse("Model:\n  Precision: ap_fixed<18,6>\n", "<test config>"),
                              0.01, 0.2);
}

TEST(Attention, KerasLayerNormMatchesNumpyInFloat) {
    Graph g = loadModel(fixture("keras_layernorm") + ".json");
    EXPECT_EQ(countKind(g, LayerKind::LayerNorm), 2u) << dump(g);
    expectFloatMatchesFixture(g, "keras_layernorm", 0.0, 1e-5);
}

// ---- multi-head attention and encoder layers as PyTorch exports them ----

TEST(Attention, TorchMultiHeadAttentionMatchesPyTorchInFloat) {
    // nn.MultiheadAttention(16, 2 heads): the packed in-projection split by Slice into three
    // Dense layers, the heads as the batch axis of the two MatMuls ([2, 8, 8] each), softmax
    // over the last axis, the heads concatenated back by Transpose + Reshape.
    Graph g = loadModel(fixture("attn_mha") + ".onnx");
    EXPECT_EQ(countKind(g, LayerKind::MatMul), 2u) << dump(g);
    EXPECT_EQ(countKind(g, LayerKind::Dense), 4u) << dump(g);   // q, k, v, out_proj
    EXPECT_EQ(countKind(g, LayerKind::Softmax), 1u) << dump(g);
    for (const Layer& l : g.layers) {
        if (l.kind == LayerKind::MatMul) {
            EXPECT_EQ(l.shape, (Shape{2, 8, 8})) << dump(g);
        }
    }
    EXPECT_EQ(g.output().shape, (Shape{8, 16}));
    expectFloatMatchesFixture(g, "attn_mha", 0.0, 1e-5);
}

TEST(Attention, TorchEncoderLayersMatchPyTorchInFloat) {
    // nn.TransformerEncoderLayer, batch_first, post-norm and pre-norm, relu FFN.
    for (const char* name : {"attn_encoder_post", "attn_encoder_pre"}) {
        SCOPED_TRACE(name);
        Graph g = loadModel(fixture(name) + ".onnx");
        EXPECT_EQ(countKind(g, LayerKind::MatMul), 2u) << dump(g);
        EXPECT_EQ(countKind(g, LayerKind::LayerNorm), 2u) << dump(g);
        EXPECT_EQ(countKind(g, LayerKind::Merge), 2u) << dump(g);   // the two residual additions
        expectFloatMatchesFixture(g, name, 0.0, 1e-5);
    }
}

TEST(Attention, TorchEncoderLayersRunInFixedPoint) {
    const Config cfg = Config::parse("Model:\n  Precision: ap_fixed<18,6>\n", "<test config>");
    for (const char* name : {"attn_mha", "attn_encoder_post", "attn_encoder_pre", "attn_encoder_gelu", "attn_encoder_stack"})
        expectFixedCloseToFixture(name, cfg, 0.02, kNoBound);
}

TEST(Attention, TorchGeluEncoderLayerMatchesPyTorchInFloat) {
    // activation='gelu' exports as x * (1 + erf(x / sqrt 2)) / 2: one GELU activation layer
    // (x * Phi(x); in fixed point x times a Phi table, as swish).
    Graph g = loadModel(fixture("attn_encoder_gelu") + ".onnx");
    size_t gelus = 0;
    for (const Layer& l : g.layers) gelus += l.kind == LayerKind::Activation && l.activation() == ActKind::GELU;
    EXPECT_EQ(gelus, 1u) << dump(g);
    EXPECT_EQ(countKind(g, LayerKind::Merge), 2u) << dump(g);   // only the residual additions
    expectFloatMatchesFixture(g, "attn_encoder_gelu", 0.0, 1e-5);
}

TEST(Attention, TorchEncoderStackMatchesPyTorchInFloat) {
    // nn.TransformerEncoder: two pre-norm gelu layers, 4 heads of 4 features.
    Graph g = loadModel(fixture("attn_encoder_stack") + ".onnx");
    EXPECT_EQ(countKind(g, LayerKind::MatMul), 4u) << dump(g);
    EXPECT_EQ(countKind(g, LayerKind::LayerNorm), 4u) << dump(g);
    for (const Layer& l : g.layers) {
        if (l.kind == LayerKind::MatMul) {
            EXPECT_EQ(l.shape.front(), 4) << dump(g);   // the heads
        }
    }
    expectFloatMatchesFixture(g, "attn_encoder_stack", 0.0, 1e-5);
}

TEST(Attention, GeluFixedIsXTimesPhiTable) {
    // cast<result>(x * table[idx(x)]), the table holding cast<table>(Phi) at each bin's centre
    // (docs/semantics.md): against an independent evaluation of every input value of the type.
    GraphBuilder b("gelu", "test");
    ActAttrs a;
    a.kind = ActKind::GELU;
    Graph g = b.finish(b.activation("gelu", b.input("x", {1}), a));
    g.layers[0].precision["result"] = FixedType::parse("ap_fixed<10,4>");
    g.layers[1].precision["result"] = FixedType::parse("ap_fixed<12,4,AP_RND,AP_SAT>");
    g.layers[1].precision["table"] = FixedType::parse("ap_ufixed<12,0,AP_RND,AP_SAT>");
    g.layers[1].table.size = 512;
    verify(g, true);
    Emulator emu(g);
    const FixedType in = g.layers[0].type("result"), out = g.layers[1].type("result"), tab = g.layers[1].type("table");
    std::vector<int64_t> xs;
    for (int64_t r = -512; r < 512; ++r) xs.push_back(r);
    std::vector<int64_t> got(xs.size());
    emu.runFixedRaw(xs.data(), xs.size(), got.data());
    // The table spans [-8, 8) in 512 bins of 1/32 = two input LSBs (1/64), keyed by raw >> 1.
    size_t bad = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
        const int64_t bin = std::clamp<int64_t>((xs[i] >> 1) + 256, 0, 511);
        const double centre = (double(bin - 256) * 2.0 + 0.5) / 64.0;
        const Int128 phi = tab.castDouble(0.5 * std::erfc(-centre / std::sqrt(2.0)));
        const int64_t want = int64_t(out.castRaw(Int128(xs[i]) * phi, in.frac() + tab.frac()));
        bad += want != got[i];
    }
    EXPECT_EQ(bad, 0u);   // the Verilog GELU: tests/test_verilog_families.cpp
}

TEST(Attention, ErfOutsideGeluIsRefusedByName) {
    try {
        loadModel(fixture("attn_bare_erf") + ".onnx");
        ADD_FAILURE() << "a bare Erf was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("Erf"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("GELU"), std::string::npos) << e.what();
    }
}

// ---- Keras MultiHeadAttention ----

TEST(Attention, KerasMultiHeadAttentionMatchesNumpyInFloat) {
    // Self-attention (query = value = key), 2 heads, key_dim 8, value_dim 6, output_shape 12.
    Graph g = loadModel(fixture("keras_mha") + ".json");
    EXPECT_EQ(countKind(g, LayerKind::MatMul), 2u) << dump(g);
    EXPECT_EQ(countKind(g, LayerKind::Dense), 5u) << dump(g);   // embed, query, key, value, attention_output
    EXPECT_EQ(g.output().shape, (Shape{8, 12}));
    expectFloatMatchesFixture(g, "keras_mha", 0.0, 1e-5);
}

TEST(Attention, KerasMultiHeadAttentionRefusesUnsupportedOptionsByName) {
    const std::string d = fixture("keras_mha");
    const nlohmann::json arch = nlohmann::json::parse(readFile(d + ".json"));
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "attention_keras_refused";
    fs::create_directories(dir);
    auto expectRefused = [&](const std::string& tag, const std::function<void(nlohmann::json&)>& edit,
                             const std::string& phrase) {
        SCOPED_TRACE(tag);
        nlohmann::json a = arch;
        for (auto& l : a["config"]["layers"])
            if (l["class_name"] == "MultiHeadAttention") edit(l);
        const fs::path json = dir / (tag + ".json");
        std::ofstream(json) << a.dump();
        try {
            loadModel(json.string(), d + "_weights.h5");
            ADD_FAILURE() << "accepted";
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("MultiHeadAttention"), std::string::npos) << what;
            EXPECT_NE(what.find("'mha'"), std::string::npos) << what;
            EXPECT_NE(what.find(phrase), std::string::npos) << what;
        }
    };
    expectRefused("mask", [](nlohmann::json& l) { l["inbound_nodes"][0][0][3]["attention_mask"] = {"embed", 0, 0}; },
                  "attention_mask");
    expectRefused("causal", [](nlohmann::json& l) { l["inbound_nodes"][0][0][3]["use_causal_mask"] = true; },
                  "use_causal_mask");
    expectRefused("scores", [](nlohmann::json& l) { l["inbound_nodes"][0][0][3]["return_attention_scores"] = true; },
                  "return_attention_scores");
    expectRefused("axes", [](nlohmann::json& l) { l["config"]["attention_axes"] = {2}; }, "attention_axes");
}

TEST(Attention, TorchMultiHeadAttentionFixedEqualsPerHeadReference) {
    // The imported graph (heads as the batch axis of two MatMuls, the head split and merge as
    // Slice/Reshape/Transpose) against the same attention written head by head from PyTorch's
    // parameters: per head h, q/k/v = Dense over rows h*8.. of in_proj, q scaled by
    // 1/float32(sqrt 8) (the exported Div), softmax(q . k^T) . v, the heads concatenated, then
    // out_proj. Every step has the same types, so the fixed-point outputs must be equal bit for
    // bit; any mix-up of heads, tokens or features in the import shows here.
    const std::string d = fixture("attn_mha");
    const int tokens = 8, embed = 16, heads = 2, dim = embed / heads;
    size_t r, c;
    const auto inW = readNpy(d + "_in_proj_weight.npy", r, c);   // [3 * embed, embed]
    ASSERT_EQ(r * c, size_t(3 * embed * embed));
    const auto inB = readNpy(d + "_in_proj_bias.npy", r, c);
    const auto outW = readNpy(d + "_out_proj_weight.npy", r, c);   // [embed, embed] (out, in)
    const auto outB = readNpy(d + "_out_proj_bias.npy", r, c);
    GraphBuilder b("per_head", "test");
    const std::string x = b.input("x", {tokens, embed});
    // Dense weight [in][out] from rows first.. of a PyTorch [out][in] matrix.
    auto dense = [&](const std::string& name, const std::string& in, const std::vector<double>& w,
                     const std::vector<double>& bias, int first, int n, int nIn) {
        std::vector<double> kw(static_cast<size_t>(nIn * n)), kb(static_cast<size_t>(n));
        for (int i = 0; i < nIn; ++i)
            for (int o = 0; o < n; ++o) kw[size_t(i * n + o)] = w[size_t((first + o) * nIn + i)];
        for (int o = 0; o < n; ++o) kb[size_t(o)] = bias[size_t(first + o)];
        return b.dense(name, in, n, kw, kb);
    };
    const double scale = 1.0 / double(float(std::sqrt(double(dim))));
    std::vector<std::string> contexts;
    for (int h = 0; h < heads; ++h) {
        const std::string t = "h" + std::to_string(h) + "_";
        const std::string q = dense(t + "q", x, inW, inB, h * dim, dim, embed);
        const std::string k = dense(t + "k", x, inW, inB, embed + h * dim, dim, embed);
        const std::string v = dense(t + "v", x, inW, inB, 2 * embed + h * dim, dim, embed);
        const std::string qs = b.add(t + "scale", LayerKind::BatchNorm, {q}, NoAttrs{},
                                     {{"scale", std::vector<double>(size_t(dim), scale)},
                                      {"shift", std::vector<double>(size_t(dim), 0.0)}});
        MatMulAttrs qk;
        qk.transposeB = true;
        const std::string p = b.softmax(t + "softmax", b.add(t + "scores", LayerKind::MatMul, {qs, k}, qk, {}));
        contexts.push_back(b.add(t + "context", LayerKind::MatMul, {p, v}, MatMulAttrs{}, {}));
    }
    const std::string merged = b.add("heads", LayerKind::Concatenate, contexts, ConcatAttrs{1});
    Graph ref = b.finish(dense("out", merged, outW, outB, 0, embed, embed));

    Graph g = loadModel(d + ".onnx");
    const Config cfg = Config::parse("Model:\n  Precision: ap_fixed<18,6>\n", "<test config>");
    runPipeline(g, cfg);
    runPipeline(ref, cfg);
    size_t rows, nIn;
    const auto xs = readNpy(d + "_X.npy", rows, nIn);
    std::vector<int64_t> got(rows * size_t(tokens * embed)), want(got.size());
    std::vector<double> gotValue(got.size()), wantValue(got.size());
    Emulator(g).runFixed(xs.data(), rows, got.data(), gotValue.data());
    Emulator(ref).runFixed(xs.data(), rows, want.data(), wantValue.data());
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) bad += got[i] != want[i];
    EXPECT_EQ(bad, 0u) << "of " << got.size() << " outputs (" << rows << " rows)";
    EXPECT_EQ(rows, 1000u);
    // Not trivially equal: the outputs vary.
    EXPECT_GT(*std::max_element(want.begin(), want.end()) - *std::min_element(want.begin(), want.end()), 1000);
}
