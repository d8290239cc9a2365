// hls4ml's sigmoid and tanh tables under `Compatibility: hls4ml` (emulator/Tables.h): the
// index truncates towards zero (so the bins either side of 0 merge into one twice as wide),
// the entries are the function at each bin's left edge, and the emulator, the generated HLS
// (C simulation) and the Verilog (Verilator) compute the same numbers. hls4ml's own numbers
// are checked by the recorded cases (test_hls4ml_recorded.cpp: KERAS_1layer, keras_dense).
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "emulator/Tables.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

Layer layer(const std::string& name, LayerKind kind, const std::string& input, int n) {
    Layer l;
    l.name = name;
    l.kind = kind;
    if (!input.empty()) l.inputs = {input};
    l.shape = {n};
    return l;
}

Layer activation(const std::string& name, const std::string& input, int n, ActKind a) {
    Layer l = layer(name, LayerKind::Activation, input, n);
    l.attrs = ActAttrs{a};
    return l;
}

// input[n] -> sigmoid -> dense -> tanh: two tables, each read from a differently typed key.
// `sigmoidOnly`: input[n] -> sigmoid.
Graph tables(int n, bool sigmoidOnly = false) {
    Graph g;
    g.name = "hls4ml_tables";
    g.sourceFile = "<test>";
    g.layers.push_back(layer("x", LayerKind::Input, "", n));
    g.layers.push_back(activation("sg", "x", n, ActKind::Sigmoid));
    if (sigmoidOnly) return g;
    Layer d = layer("d", LayerKind::Dense, "sg", n);
    d.attrs = DenseAttrs{n, n};
    std::mt19937_64 rng(7);
    std::normal_distribution<double> w(0.0, 2.0);
    for (int k = 0; k < n * n; ++k) d.param("weight").push_back(w(rng));
    for (int k = 0; k < n; ++k) d.param("bias").push_back(w(rng) - 2.0);
    g.layers.push_back(d);
    g.layers.push_back(activation("th", "d", n, ActKind::Tanh));
    return g;
}

Graph prepared(Graph g, const std::string& yaml) {
    runPipeline(g, Config::parse(yaml, "<test config>"));
    return g;
}

std::string config(const std::string& compatibility, const std::string& inputType, const std::string& denseType,
                   const std::string& extra = "", bool withDense = true) {
    std::string text = "Compatibility: " + compatibility + "\nModel:\n  Precision: ap_fixed<16,6>\nLayerName:\n  x:\n    Precision: '" +
                       inputType + "'\n";
    if (withDense)
        text += "  d:\n    Precision: {weight: 'ap_fixed<8,3>', bias: 'ap_fixed<8,3>', accum: 'ap_fixed<24,10>', result: '" +
                denseType + "'}\n";
    return text + extra;
}

// One row through the emulator: the sigmoid's outputs for inputs `x`.
std::vector<double> sigmoidOf(const Graph& g, const std::vector<double>& x) {
    Emulator emu(g);
    std::vector<double> in(size_t(emu.inputSize()), 0.0), out(size_t(emu.outputSize()));
    std::vector<int64_t> raw(out.size());
    std::copy(x.begin(), x.end(), in.begin());
    emu.runFixed(in.data(), 1, raw.data(), out.data());
    return out;
}

double toTableType(double v) { return std::floor(v * 1024.0) / 1024.0; }   // ap_fixed<18,8>: TRN, 10 fraction bits

}  // namespace

// hls4ml's index: trunc(x * 1024 / 16) + 512, truncated towards zero; entry = sigmoid at the
// bin's left edge, in ap_fixed<18,8> (hls4ml's default table type, 1024 entries). Checked
// against that formula written out here, at inputs either side of 0 and of bin edges.
TEST(Hls4mlTables, SigmoidIndexTruncatesTowardsZeroAndSamplesLeftEdges) {
    const Graph g = prepared(tables(6, true), config("hls4ml", "ap_fixed<16,6>", "", "", false));
    const Layer& sg = *g.find("sg");
    EXPECT_TRUE(sg.table.hls4ml);
    const std::vector<double> x = {-0.01, 0.01, -1.0 / 64, -1.0 / 64 - 1.0 / 1024, 3.3, -7.9};
    const std::vector<double> y = sigmoidOf(g, x);
    auto expected = [](double v) {
        const int idx = std::clamp(int(std::trunc(v * 64.0)) + 512, 0, 1023);
        const double edge = 16.0 * (idx - 512) / 1024.0;
        return toTableType(1.0 / (1.0 + std::exp(-edge)));
    };
    for (size_t k = 0; k < x.size(); ++k) {
        const double xq = std::round(x[k] * 1024.0) / 1024.0;   // the input cast (ap_fixed<16,6>, 10 fraction bits)
        EXPECT_EQ(y[k], expected(xq)) << "x = " << x[k];
    }
    // -0.01 and +0.01 share bin 512 (truncation towards zero), which reads sigmoid(0) = 0.5.
    EXPECT_EQ(y[0], 0.5);
    EXPECT_EQ(y[0], y[1]);
    // Tachyon's own table (Compatibility: tachyon) tells them apart.
    const Graph own = prepared(tables(6, true), config("tachyon", "ap_fixed<16,6>", "", "", false));
    EXPECT_FALSE(own.find("sg")->table.hls4ml);
    const std::vector<double> yOwn = sigmoidOf(own, x);
    EXPECT_NE(yOwn[0], yOwn[1]);
}

// One chain whose tables are read from keys with 10 fraction bits (the index is a right
// shift), 6 (the identity) and 2 (a left shift), with a non-default table size and a narrow
// table type: the generated HLS (C simulation) and Verilog (Verilator) match the emulator.
TEST(Hls4mlTables, HlsCsimAndVerilogMatchTheEmulator) {
    Graph g;
    g.name = "hls4ml_tables_chain";
    g.sourceFile = "<test>";
    g.layers.push_back(layer("x", LayerKind::Input, "", 6));
    g.layers.push_back(activation("sg", "x", 6, ActKind::Sigmoid));
    std::mt19937_64 rng(11);
    std::normal_distribution<double> w(0.0, 2.0);
    auto dense = [&](const std::string& name, const std::string& input) {
        Layer d = layer(name, LayerKind::Dense, input, 6);
        d.attrs = DenseAttrs{6, 6};
        for (int k = 0; k < 36; ++k) d.param("weight").push_back(w(rng));
        for (int k = 0; k < 6; ++k) d.param("bias").push_back(w(rng) - 1.0);
        return d;
    };
    g.layers.push_back(dense("d1", "sg"));
    g.layers.push_back(activation("th", "d1", 6, ActKind::Tanh));
    g.layers.push_back(dense("d2", "th"));
    g.layers.push_back(activation("sg2", "d2", 6, ActKind::Sigmoid));
    const std::string yaml = R"(
Compatibility: hls4ml
Model:
  Precision: ap_fixed<16,6>
LayerName:
  x:
    Precision: ap_fixed<16,6>
  d1:
    Precision: {weight: 'ap_fixed<8,3>', bias: 'ap_fixed<8,3>', accum: 'ap_fixed<24,10>', result: 'ap_fixed<12,6>'}
  th:
    TableSize: 512
  d2:
    Precision: {weight: 'ap_fixed<8,3>', bias: 'ap_fixed<8,3>', accum: 'ap_fixed<24,10>', result: 'ap_fixed<10,8,AP_RND,AP_SAT>'}
  sg2:
    Precision: {table: 'ap_fixed<10,2,AP_RND>', result: 'ap_ufixed<8,0,AP_RND,AP_SAT>'}
)";
    g = prepared(g, yaml);
    Emulator emu(g);
    EXPECT_EQ(emu.activationTable("sg")->den, 16);    // key * 1024 / (16 * 2^10): a right shift by 4
    EXPECT_EQ(emu.activationTable("th")->den, 1);     // key * 512 / (8 * 2^6): the identity
    EXPECT_EQ(emu.activationTable("th")->mul, 1);
    EXPECT_EQ(emu.activationTable("sg2")->mul, 16);   // key * 1024 / (16 * 2^2): a left shift by 4
    const fs::path root = fs::path(TACHYON_BINARY_DIR) / "hls4ml_tables_test";
    const fs::path hlsDir = root / "chain_hls", rtlDir = root / "chain_verilog";
    fs::remove_all(hlsDir);
    fs::remove_all(rtlDir);
    hls::HlsOptions hopt;
    hopt.testRows = 3000;
    hls::writeProject(g, emu, hlsDir.string(), hopt);
    std::ostringstream hlog;
    const hls::CsimResult h = hls::csim(hlsDir.string(), hlog);
    EXPECT_EQ(h.rows, 3000u) << hlog.str();
    EXPECT_EQ(h.mismatches, 0u) << hlog.str();
    verilog::VerilogOptions vopt;
    vopt.testRows = 3000;
    verilog::writeProject(g, emu, rtlDir.string(), vopt);
    std::ostringstream vlog;
    const verilog::RtlsimResult v = verilog::rtlsim(rtlDir.string(), vlog);
    EXPECT_EQ(v.rows, 3000u) << vlog.str();
    EXPECT_EQ(v.mismatches, 0u) << vlog.str();
}

// A table size that is not a power of two: the emulator follows hls4ml's division; the
// Verilog backend, which has no divider for it, says so instead of writing other numbers.
TEST(Hls4mlTables, NonPowerOfTwoSizeIsEmulatedAndRefusedByVerilog) {
    const Graph g = prepared(tables(6), config("hls4ml", "ap_fixed<16,6>", "ap_fixed<16,6>", "  sg:\n    TableSize: 1000\n"));
    Emulator emu(g);
    const LookupTable* t = emu.activationTable("sg");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->size, 1000);
    // index = trunc(x * 1000 / 16) + 500: x = 1 (raw 1024) -> 562, x = -1 -> 438.
    EXPECT_EQ(t->index(1024), 562);
    EXPECT_EQ(t->index(-1024), 438);
    EXPECT_EQ(t->index(-1), 500);
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "hls4ml_tables_test" / "size1000_verilog";
    fs::remove_all(dir);
    verilog::VerilogOptions vopt;
    try {
        verilog::writeProject(g, emu, dir.string(), vopt);
        FAIL() << "the Verilog backend wrote a project for a 1000-entry hls4ml table";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("power-of-two TableSize"), std::string::npos) << e.what();
    }
}
