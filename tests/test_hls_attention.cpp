// MatMul (of two activations) and LayerNormalization through the HLS backend (io_parallel,
// nnet_utils/nnet_attention.h): the C simulation of each generated project (g++ against the
// bundled ap_fixed headers) must equal the emulator bit for bit on every test row (a third
// of them spanning the input type's whole range, so accumulators and results saturate and
// wrap). Small graphs at narrow types with every rounding and overflow mode, and the
// PyTorch multi-head attention and transformer encoder layers (scripts/make_attention_fixtures.py).
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "fixture_dir.h"
#include "csim_cases.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string& attentionFixtures() {
    static const std::string dir = fixtureDirMadeBy("make_attention_fixtures.py", "attention_fixtures.stamp", "5");
    return dir;
}

FixedType T(const std::string& s) { return FixedType::parse(s); }

struct Case {
    std::string name;
    Graph g;
    size_t rows = 1200;
    Target target = {};   // io type and clock (Config::target())
};

// Writes and simulates the cases; returns one message per failing case and counts the rows
// compared.
std::vector<std::string> simulate(std::vector<Case>& cases, size_t& rowsCompared) {
    rowsCompared = 0;
    return simulateCsimCases<Case>(
        cases, [](const Case& c) { return freshTestDir("test_hls_attention", c.name); }, 11, &rowsCompared);
}

// a [batch, m, k] . b [batch, k, n] (or b [batch, n, k] transposed), two model inputs.
Graph matMulGraph(bool transposeB, const std::string& inA, const std::string& inB, const std::string& accum,
                  const std::string& result) {
    GraphBuilder b("matmul", "test");
    const std::string a = b.input("a", {2, 3, 5});
    const std::string bb = b.input("b", transposeB ? Shape{2, 4, 5} : Shape{2, 5, 4});
    MatMulAttrs attrs;
    attrs.transposeB = transposeB;
    Graph g = b.finish(b.add("mm", LayerKind::MatMul, {a, bb}, attrs, {}));
    g.layers[0].precision["result"] = T(inA);
    g.layers[1].precision["result"] = T(inB);
    g.layers[2].precision["result"] = T(result);
    g.layers[2].precision["accum"] = T(accum);
    verify(g, true);
    return g;
}

Graph layerNormGraph(int tokens, int features, unsigned seed, const std::string& inT, const std::string& accum,
                     const std::string& table, const std::string& scale, const std::string& bias,
                     const std::string& result, int tableSize, double epsilon) {
    std::mt19937 rng(seed);
    GraphBuilder b("layernorm", "test");
    const std::string x = b.input("x", {tokens, features});
    LayerNormAttrs attrs;
    attrs.epsilon = epsilon;
    std::uniform_real_distribution<double> gamma(0.3, 1.7), beta(-0.8, 0.8);
    std::vector<double> g(static_cast<size_t>(features)), bb(static_cast<size_t>(features));
    for (double& v : g) v = gamma(rng);
    for (double& v : bb) v = beta(rng);
    Graph gr = b.finish(b.add("ln", LayerKind::LayerNorm, {x}, attrs, {{"scale", g}, {"bias", bb}}));
    gr.layers[0].precision["result"] = T(inT);
    Layer& l = gr.layers[1];
    l.precision["result"] = T(result);
    l.precision["accum"] = T(accum);
    l.precision["table"] = T(table);
    l.precision["scale"] = T(scale);
    l.precision["bias"] = T(bias);
    l.table.size = tableSize;
    verify(gr, true);
    return gr;
}

}  // namespace

TEST(HlsAttention, MatMulCsimEqualsEmulator) {
    std::vector<Case> cases;
    cases.push_back({"mm_plain", matMulGraph(false, "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>")});
    cases.push_back({"mm_transposed", matMulGraph(true, "ap_fixed<16,6>", "ap_fixed<12,4>", "ap_fixed<24,10>", "ap_fixed<16,6>")});
    cases.push_back({"mm_saturating", matMulGraph(true, "ap_fixed<10,4,AP_RND,AP_SAT>", "ap_ufixed<8,1,AP_RND>",
                                                  "ap_fixed<12,4,AP_RND_CONV,AP_SAT>", "ap_fixed<8,3,AP_RND,AP_SAT>")});
    cases.push_back({"mm_wrapping", matMulGraph(false, "ap_fixed<9,3>", "ap_fixed<9,3>", "ap_fixed<10,3,AP_TRN,AP_WRAP>",
                                                "ap_fixed<7,2,AP_RND_ZERO,AP_WRAP>")});
    size_t rows = 0;
    for (const std::string& f : simulate(cases, rows)) ADD_FAILURE() << f;
    EXPECT_EQ(rows, 4 * 1200u);
}

TEST(HlsAttention, LayerNormCsimEqualsEmulator) {
    std::vector<Case> cases;
    cases.push_back({"ln_default", layerNormGraph(4, 7, 1, "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_ufixed<18,1,AP_RND,AP_SAT>",
                                                  "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", 1024, 1e-5)});
    cases.push_back({"ln_rounding", layerNormGraph(4, 7, 2, "ap_fixed<16,6>", "ap_fixed<24,8,AP_RND>", "ap_ufixed<12,1,AP_RND>",
                                                   "ap_fixed<12,2>", "ap_fixed<10,2,AP_RND>", "ap_fixed<10,3,AP_RND,AP_SAT>", 64,
                                                   1e-3)});
    // Fine input steps: tiny variances, 1/sqrt(v) far above 1.
    cases.push_back({"ln_fine", layerNormGraph(3, 16, 3, "ap_fixed<18,2>", "ap_fixed<26,4,AP_RND_CONV>", "ap_ufixed<16,1,AP_RND>",
                                               "ap_fixed<12,2>", "ap_fixed<10,2>", "ap_fixed<12,4,AP_RND,AP_SAT>", 256, 1e-6)});
    // Narrow wrapping types, large inputs.
    cases.push_back({"ln_wrapping", layerNormGraph(4, 5, 4, "ap_fixed<8,4,AP_RND,AP_SAT>", "ap_fixed<10,5,AP_TRN,AP_WRAP>",
                                                   "ap_ufixed<8,1>", "ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<8,2>",
                                                   "ap_fixed<8,3,AP_TRN,AP_WRAP>", 16, 1e-3)});
    size_t rows = 0;
    for (const std::string& f : simulate(cases, rows)) ADD_FAILURE() << f;
    EXPECT_EQ(rows, 4 * 1200u);
}

TEST(HlsAttention, TorchAttentionModelsCsimEqualsEmulator) {
    // Multi-head attention and both encoder layers at the configuration the fixed-point
    // tests use, and the single-head block at the defaults.
    std::vector<Case> cases;
    for (const char* name : {"attn_mha", "attn_encoder_post", "attn_encoder_pre", "attn_encoder_gelu", "attn_encoder_stack",
                             "attn_encoder_block"}) {
        Graph g = loadModel(attentionFixtures() + "/" + name + ".onnx");
        runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<18,6>\n", "<test config>"));
        cases.push_back({name, std::move(g), 1000});
    }
    size_t rows = 0;
    for (const std::string& f : simulate(cases, rows)) ADD_FAILURE() << f;
    EXPECT_EQ(rows, 6 * 1000u);
}

TEST(HlsAttention, KerasMultiHeadAttentionCsimEqualsEmulator) {
    std::vector<Case> cases;
    Graph g = loadModel(attentionFixtures() + "/keras_mha.json");
    runPipeline(g, Config::defaults());
    cases.push_back({"keras_mha", std::move(g), 1000});
    size_t rows = 0;
    for (const std::string& f : simulate(cases, rows)) ADD_FAILURE() << f;
    EXPECT_EQ(rows, 1000u);
}

TEST(HlsAttention, IoStreamIsRefusedByName) {
    Graph g = layerNormGraph(2, 4, 5, "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_ufixed<18,1>", "ap_fixed<12,2>",
                             "ap_fixed<10,2>", "ap_fixed<16,6>", 64, 1e-3);
    Emulator emu(g);
    hls::HlsOptions opt;
    opt.target.io = IoType::Stream;
    try {
        hls::writeProject(g, emu, freshTestDir("test_hls_attention", "stream").string(), opt);
        ADD_FAILURE() << "io_stream was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("LayerNormalization"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("io_parallel"), std::string::npos) << e.what();
    }
}
