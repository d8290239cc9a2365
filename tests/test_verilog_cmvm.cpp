// Unit tests of the Verilog backend's pieces that need no simulator: CSD recoding, the
// CMVM adder graph (it must compute the exact matrix-vector product) and Yosys log parsing.
#include "backends/verilog/Cmvm.h"
#include "backends/verilog/Netlist.h"
#include "backends/verilog/VerilogWriter.h"

#include <gtest/gtest.h>

#include <random>

using namespace tachyon;
using namespace tachyon::verilog;

TEST(VerilogCmvm, CsdDigitsReconstructAndAreNonAdjacent) {
    std::mt19937_64 rng(7);
    for (int k = 0; k < 20000; ++k) {
        int64_t v = int64_t(rng() >> (rng() % 63)) * ((k & 1) ? -1 : 1);
        if (k < 200) v = k - 100;
        std::vector<int> d = csdDigits(v);
        Int128 sum = 0;
        for (size_t s = 0; s < d.size(); ++s) {
            sum += Int128(d[s]) << s;
            if (s > 0) {
                ASSERT_FALSE(d[s] != 0 && d[s - 1] != 0) << v;
            }
        }
        ASSERT_TRUE(sum == Int128(v)) << v;
    }
}

namespace {

void expectExactProduct(const AdderGraph& g, const std::vector<int64_t>& m, int nIn, int nOut, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<Int128> x(static_cast<size_t>(nIn));
        for (auto& v : x) v = Int128(int64_t(rng() % 65536) - 32768);
        std::vector<Int128> y = evaluate(g, x);
        ASSERT_EQ(y.size(), size_t(nOut));
        for (int j = 0; j < nOut; ++j) {
            Int128 want = 0;
            for (int i = 0; i < nIn; ++i) want += x[size_t(i)] * m[size_t(i) * nOut + j];
            ASSERT_TRUE(want == y[size_t(j)]) << "output " << j;
        }
    }
}

std::vector<int64_t> randomMatrix(int nIn, int nOut, int bits, double zeroFraction, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<int64_t> m(size_t(nIn) * nOut);
    for (auto& v : m) v = u(rng) < zeroFraction ? 0 : int64_t(rng() % (uint64_t(1) << bits)) - (int64_t(1) << (bits - 1));
    return m;
}

int csdTerms(const std::vector<int64_t>& m) {
    int n = 0;
    for (int64_t v : m)
        for (int d : csdDigits(v)) n += d != 0;
    return n;
}

}  // namespace

TEST(VerilogCmvm, AdderGraphComputesExactProduct) {
    for (auto [nIn, nOut, bits] : {std::tuple{16, 64, 6}, {32, 32, 16}, {5, 3, 12}, {1, 10, 8}, {10, 1, 8}}) {
        auto m = randomMatrix(nIn, nOut, bits, 0.2, uint64_t(nIn * 100 + nOut));
        AdderGraph g = buildCmvm(m, nIn, nOut);
        expectExactProduct(g, m, nIn, nOut, 3);
        CmvmOptions noCse;
        noCse.cse = false;
        AdderGraph plain = buildCmvm(m, nIn, nOut, noCse);
        expectExactProduct(plain, m, nIn, nOut, 4);
        // Without CSE, every CSD term but one per output costs an adder (fewer only when
        // two outputs happen to build an identical pair).
        int nonZeroOutputs = 0;
        for (auto& o : plain.outputs) nonZeroOutputs += o.has_value();
        const int unshared = csdTerms(m) - nonZeroOutputs;
        EXPECT_LE(plain.adders(), unshared);
        EXPECT_LE(g.adders(), plain.adders());
        if (nIn * nOut >= 100) {
            EXPECT_LT(g.adders(), unshared * 0.8) << nIn << "x" << nOut;
        }
    }
}

TEST(VerilogCmvm, ZeroWeightsCostNothing) {
    std::vector<int64_t> m = {0, 3, 0, 0, 0, 0};  // 3x2
    AdderGraph g = buildCmvm(m, 3, 2);
    EXPECT_EQ(g.adders(), 1);   // 3 = 4 - 1
    EXPECT_FALSE(g.outputs[0].has_value());
    expectExactProduct(g, m, 3, 2, 1);
    AdderGraph z = buildCmvm(std::vector<int64_t>(12, 0), 4, 3);
    EXPECT_EQ(z.adders(), 0);
    for (auto& o : z.outputs) EXPECT_FALSE(o.has_value());
}

TEST(VerilogCmvm, SharedSubexpressionIsBuiltOnce) {
    // Every output contains x0 + 2*x1 (shifted differently): one shared adder.
    std::vector<int64_t> m = {1, 4, 8, 2, 8, 16};  // rows x0: 1 4 8 ; x1: 2 8 16
    AdderGraph g = buildCmvm(m, 2, 3);
    EXPECT_EQ(g.adders(), 1);
    expectExactProduct(g, m, 2, 3, 2);
}

TEST(VerilogCmvm, DepthIsLogarithmic) {
    std::vector<int64_t> m(64, 1);  // 64 inputs summed
    AdderGraph g = buildCmvm(m, 64, 1);
    EXPECT_EQ(g.adders(), 63);
    EXPECT_EQ(g.depth(), 6);
}

TEST(VerilogCmvm, RejectsWrongMatrixSize) {
    EXPECT_THROW(buildCmvm({1, 2, 3}, 2, 2), std::exception);
}

TEST(VerilogNetlist, SignedBitsAndLiterals) {
    EXPECT_EQ(signedBits(0, 0), 1);
    EXPECT_EQ(signedBits(-1, 0), 1);
    EXPECT_EQ(signedBits(0, 1), 2);
    EXPECT_EQ(signedBits(-128, 127), 8);
    EXPECT_EQ(signedBits(-129, 0), 9);
    EXPECT_EQ(signedBits(0, 255), 9);
    EXPECT_EQ(literal(-1, 4), "$signed(4'hf)");
    EXPECT_EQ(literal(-128), "$signed(8'h80)");
    EXPECT_EQ(literal(5), "$signed(4'h5)");
}

TEST(VerilogReport, ParsesYosysStat) {
    const std::string text = R"(
=== design hierarchy ===

   Number of wires:                123
   Number of cells:                 17
     CARRY8                          3
     FDRE                           20
     LUT2                            5
     LUT6                            7
     INV                             4
     DSP48E2                         1
     MUXF7                           6
     RAMB18E2                        2
     SRL16E                          3
)";
    SynthReport r = parseYosysLog(text);
    EXPECT_EQ(r.luts, 16);
    EXPECT_EQ(r.ffs, 20);
    EXPECT_EQ(r.carry, 3);
    EXPECT_EQ(r.dsps, 1);
    EXPECT_EQ(r.brams, 2);
    EXPECT_EQ(r.srls, 3);
    EXPECT_EQ(r.muxes, 6);
}

// A netlist in Yosys' JSON form, written by hand so that every path is known:
//   in[0] -> LUT a -> CARRY4 c1 -CO->CI- CARRY4 c2 -> FD r1         (stage 1: 3 cells)
//   r1 -> LUT b -> LUT c -> MUXF7 m -> FD r2                         (stage 2: 3 cells)
//   r2 -> out[0]                                                     (stage 3: the output port)
//   FD cnt -> LUT inc -> cnt (a counter: a register on a feedback loop)
TEST(VerilogReport, TimingCutsAtRegistersAndFindsStages) {
    using nlohmann::json;
    const auto lut = [](std::vector<int> in, int out) {
        json c{{"type", "LUT" + std::to_string(in.size())}, {"port_directions", {{"O", "output"}}}, {"connections", {{"O", {out}}}}};
        for (size_t i = 0; i < in.size(); ++i) {
            c["port_directions"]["I" + std::to_string(i)] = "input";
            c["connections"]["I" + std::to_string(i)] = {in[i]};
        }
        return c;
    };
    const auto ff = [](int d, int q) {
        return json{{"type", "FDRE"},
                    {"port_directions", {{"C", "input"}, {"CE", "input"}, {"D", "input"}, {"R", "input"}, {"Q", "output"}}},
                    {"connections", {{"C", {100}}, {"CE", {"1"}}, {"D", {d}}, {"R", {"0"}}, {"Q", {q}}}}};
    };
    const auto carry = [](int s, int ci, int o, int co) {
        return json{{"type", "CARRY4"},
                    {"port_directions", {{"S", "input"}, {"CI", "input"}, {"O", "output"}, {"CO", "output"}}},
                    {"connections", {{"S", {s}}, {"CI", {ci}}, {"O", {o}}, {"CO", {co}}}}};
    };
    json top;
    top["ports"] = {{"in", {{"direction", "input"}, {"bits", {2, 3}}}},
                    {"out", {{"direction", "output"}, {"bits", {20}}}},
                    {"clk", {{"direction", "input"}, {"bits", {100}}}}};
    top["cells"] = {{"a", lut({2, 3}, 10)},
                    {"c1", carry(10, 3, 11, 12)},
                    {"c2", carry(11, 12, 13, 14)},
                    {"r1", ff(13, 15)},
                    {"b", lut({15}, 16)},
                    {"c", lut({16, 15}, 17)},
                    {"m", {{"type", "MUXF7"},
                           {"port_directions", {{"I0", "input"}, {"I1", "input"}, {"S", "input"}, {"O", "output"}}},
                           {"connections", {{"I0", {17}}, {"I1", {16}}, {"S", {2}}, {"O", {18}}}}}},
                    {"r2", ff(18, 20)},
                    {"cnt", ff(31, 30)},
                    {"inc", lut({30}, 31)}};
    top["netnames"] = {{"r1_q", {{"hide_name", 0}, {"bits", {15}}}},
                       {"r2_q", {{"hide_name", 0}, {"bits", {20}}}},
                       {"$auto$x", {{"hide_name", 1}, {"bits", {16}}}},
                       {"count", {{"hide_name", 0}, {"bits", {30}}}},
                       {"in", {{"hide_name", 0}, {"bits", {2, 3}}}}};
    const json netlist{{"modules", {{"top", top}}}};
    const TimingReport t = analyseTiming(netlist, "top");
    ASSERT_TRUE(t.valid);
    ASSERT_EQ(t.stages.size(), 3u);
    EXPECT_EQ(t.stages[0].stage, 1);
    EXPECT_EQ(t.stages[0].levels, 3);
    EXPECT_EQ(t.stages[0].luts, 1);
    EXPECT_EQ(t.stages[0].carries, 2);
    EXPECT_EQ(t.stages[0].from, "in[0]");  // bit 2 feeds the LUT and then both carries
    EXPECT_EQ(t.stages[0].to, "r1_q");
    EXPECT_EQ(t.stages[1].levels, 3);
    EXPECT_EQ(t.stages[1].luts, 2);
    EXPECT_EQ(t.stages[1].muxes, 1);
    EXPECT_EQ(t.stages[1].from, "r1_q");
    EXPECT_EQ(t.stages[1].to, "r2_q");
    EXPECT_EQ(t.stages[2].levels, 0);  // r2 drives the output port directly
    EXPECT_EQ(t.loopRegisters, 1);
    EXPECT_EQ(t.loops.levels, 1);
    EXPECT_EQ(t.loops.to, "count");
    // The delay model of Timing.h, summed by hand. Stage 1: in[0] has 2 loads (net 0.31),
    // LUT a 0.13, routed net 0.30 into c1's S (carry entry 0.10), c1.O routed into c2's S
    // (0.30 + 0.10: worse than the dedicated CO -> CI chain), net 0.30, setup 0.05.
    EXPECT_NEAR(t.stages[0].ns, 0.31 + 0.13 + 0.30 + 0.10 + 0.30 + 0.10 + 0.30 + 0.05, 1e-9);
    // Stage 2: clock-to-out 0.10, r1_q has 2 loads (0.31), LUT b, b's output has 2 loads
    // (0.31) into LUT c, the dedicated LUT -> MUXF7 edge (0), MUXF7 0.08, net, setup.
    EXPECT_NEAR(t.stages[1].ns, 0.10 + 0.31 + 0.13 + 0.31 + 0.13 + 0.0 + 0.08 + 0.30 + 0.05, 1e-9);
    EXPECT_NEAR(t.loops.ns, 0.10 + 0.30 + 0.13 + 0.30 + 0.05, 1e-9);
    EXPECT_EQ(t.worst.to, "r1_q");
}
