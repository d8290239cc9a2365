// Unit tests of the Verilog backend's pieces that need no simulator: CSD recoding, the
// CMVM adder graph (it must compute the exact matrix-vector product) and Yosys log parsing.
#include "backends/verilog/Cmvm.h"
#include "backends/verilog/Netlist.h"
#include "backends/verilog/RtlOps.h"
#include "backends/verilog/VerilogWriter.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <tuple>

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
        // Without CSE, every CSD term but one per output costs an adder.
        int nonZeroOutputs = 0;
        for (auto& o : plain.outputs) nonZeroOutputs += o.has_value();
        const int unshared = csdTerms(m) - nonZeroOutputs;
        EXPECT_EQ(plain.adders(), unshared);
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

// Pairs are shared by LUT bits saved, not by how often they occur: (x0, x1) occurs three
// times but both inputs are 2-bit (a 3-bit adder, 2 x 3 bits saved); (x1, x2) occurs
// twice with a 16-bit x2 (a 17-bit adder, 17 bits saved). They compete for x1 in y0.
TEST(VerilogCmvm, PairsChosenByBitsSavedNotFrequency) {
    // rows x0..x3, columns y0..y3: y0 = x0+x1+x2, y1 = x1+x2+x3, y2 = y3 = x0+x1
    const std::vector<int64_t> m = {1, 0, 1, 1,  1, 1, 1, 1,  1, 1, 0, 0,  0, 1, 0, 0};
    CmvmOptions opt;
    opt.inputRange = {{-1, 1}, {-1, 1}, {-32768, 32767}, {-1, 1}};
    AdderGraph g = buildCmvm(m, 4, 4, opt);
    ASSERT_FALSE(g.nodes.empty());
    EXPECT_EQ(g.nodes[0].a.sig, 1);
    EXPECT_EQ(g.nodes[0].b.sig, 2);
    expectExactProduct(g, m, 4, 4, 5);
    // With equal input widths the frequent pair saves more and comes first.
    opt.inputRange.assign(4, {-128, 127});
    AdderGraph h = buildCmvm(m, 4, 4, opt);
    ASSERT_FALSE(h.nodes.empty());
    EXPECT_EQ(h.nodes[0].a.sig, 0);
    EXPECT_EQ(h.nodes[0].b.sig, 1);
    expectExactProduct(h, m, 4, 4, 6);
    // The LUT-bit estimate: 3-bit adder (x0+x1) and 17-bit adders.
    EXPECT_EQ(adderBits(-2, 2, 0), 3);
    EXPECT_EQ(adderBits(-(1 << 20), 1 << 20, 4), 18);
}

// DelayConstraint: d >= 0 keeps every output within d adder levels of its CSD-only
// minimum depth (ceil(log2(terms))); -1 lets CSE deepen outputs for fewer adders.
TEST(VerilogCmvm, DelayConstraintBoundsDepth) {
    const int nIn = 16, nOut = 32;
    const auto m = randomMatrix(nIn, nOut, 6, 0.1, 11);
    CmvmOptions plainOpt;
    plainOpt.cse = false;
    const AdderGraph plain = buildCmvm(m, nIn, nOut, plainOpt);
    const std::vector<int> plainDepth = plain.depths();
    auto excess = [&](const AdderGraph& g) {   // the most levels any output gained over CSD-only
        const std::vector<int> d = g.depths();
        int worst = 0;
        for (int j = 0; j < nOut; ++j)
            if (g.outputs[size_t(j)])
                worst = std::max(worst, d[size_t(g.outputs[size_t(j)]->sig)] - plainDepth[size_t(plain.outputs[size_t(j)]->sig)]);
        return worst;
    };
    CmvmOptions opt;
    const AdderGraph free = buildCmvm(m, nIn, nOut, opt);
    EXPECT_GT(excess(free), 0) << "this matrix should need the budget";
    int lastAdders = free.adders();
    for (int dc : {2, 1, 0}) {
        SCOPED_TRACE(dc);
        opt.delayConstraint = dc;
        const AdderGraph g = buildCmvm(m, nIn, nOut, opt);
        expectExactProduct(g, m, nIn, nOut, uint64_t(20 + dc));
        EXPECT_LE(excess(g), dc);
        EXPECT_GE(g.adders(), lastAdders);        // a tighter budget shares less
        EXPECT_LT(g.adders(), plain.adders());    // but still shares
        lastAdders = g.adders();
    }
}

// `tachyon report`'s per-layer adder table.
TEST(VerilogReport, AdderTableListsLayers) {
    const std::string t = adderTable({{"fc1", 900, 1800, 9000, 20000}, {"fc2", 300, 500, 3000, 5500}});
    EXPECT_NE(t.find("fc1"), std::string::npos) << t;
    EXPECT_NE(t.find("900 CSE"), std::string::npos) << t;
    EXPECT_NE(t.find("1800 CSD-only"), std::string::npos) << t;
    EXPECT_NE(t.find("total"), std::string::npos) << t;
    EXPECT_NE(t.find("1200 CSE"), std::string::npos) << t;
    EXPECT_EQ(adderTable({}), "");
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

// The pipeliner on a known netlist: the input bus is registered (no logic in stage 0), and
// a net's fan-out adds to the delay (DelayModel::fanout), so the same chain that fits one
// stage with a single reader is split when its first node drives 60 readers.
TEST(VerilogNetlist, StagePlacementWithInputRegisterAndFanout) {
    auto build = [](int readers, bool registerInputs) {
        auto nl = std::make_unique<Netlist>();
        nl->setRegisterInputs(registerInputs);
        const Sig x = nl->addInput("x", 0, 8, true);
        auto node = [&](std::vector<Sig> ops, double delay) {
            Node n;
            n.name = nl->freshName("n");
            n.ops = std::move(ops);
            n.lo = -128;
            n.hi = 127;
            n.delay = delay;
            n.body = [](std::ostream&, const std::vector<std::string>&, const std::string&) {};
            return nl->add(std::move(n));
        };
        const Sig first = node({x}, 1.0);
        const Sig second = node({first}, 0.9);
        for (int k = 1; k < readers; ++k) nl->addOutput(node({first}, 0.1), 8);
        nl->addOutput(second, 8);
        nl->schedule(2.0);
        return std::make_tuple(std::move(nl), first, second);
    };
    {
        auto [nl, first, second] = build(1, true);
        EXPECT_EQ(nl->node(first).stage, 1);    // after the input register
        EXPECT_EQ(nl->node(second).stage, 1);   // 1.0 + 0.9 <= 2.0
        EXPECT_EQ(nl->latency(), 2);
        const std::vector<double> est = nl->stageEstimatesNs();
        ASSERT_EQ(est.size(), 2u);
        EXPECT_DOUBLE_EQ(est[0], 0.0);          // stage 0: the ports only
        EXPECT_NEAR(est[1], 1.9, 1e-9);
    }
    {
        auto [nl, first, second] = build(1, false);
        EXPECT_EQ(nl->node(first).stage, 0);
        EXPECT_EQ(nl->node(second).stage, 0);
    }
    {
        auto [nl, first, second] = build(60, true);   // 60 loads: +0.59 ns on first's net
        EXPECT_EQ(nl->node(first).stage, 1);
        EXPECT_EQ(nl->node(second).stage, 2);
        EXPECT_NEAR(nl->node(second).arrival, DelayModel{}.fanout(60) + 0.9, 1e-9);   // from first's register
    }
    EXPECT_DOUBLE_EQ(DelayModel{}.fanout(1), 0.0);
    EXPECT_DOUBLE_EQ(DelayModel{}.fanout(1000), 0.7);
}

// The worst bit of a net is its sign bit: a reader wider than the operand sign-extends it
// into one LUT input per extra bit, less the bits the operand is shifted left by; a node
// with no logic (a shift) passes its readers' loads on to its operand.
TEST(VerilogNetlist, SignExtensionCountsAsFanout) {
    auto arrivalOfReader = [](Int128 readerHi, int shift, bool throughWiring) {
        Netlist nl;
        nl.setRegisterInputs(false);
        const Sig x = nl.addInput("x", 0, 8, true);
        auto node = [&](std::vector<Sig> ops, Int128 hi, double delay) {
            Node n;
            n.name = nl.freshName("n");
            n.ops = std::move(ops);
            n.lo = -hi - 1;
            n.hi = hi;
            n.delay = delay;
            n.body = [](std::ostream&, const std::vector<std::string>&, const std::string&) {};
            return nl.add(std::move(n));
        };
        Sig first = node({x}, 127, 1.0);                      // 8 bits
        if (throughWiring) first = node({first}, 127, 0.0);   // a wire of the same width
        const Sig reader = node({first}, readerHi, 1.0);
        nl.node(reader).operandShifts = {shift};
        nl.addOutput(reader, 8);
        nl.schedule(100.0);
        return nl.node(reader).arrival;
    };
    const DelayModel m;
    EXPECT_NEAR(arrivalOfReader(127, 0, false), 2.0, 1e-9);                       // same width: one load
    EXPECT_NEAR(arrivalOfReader((Int128(1) << 23) - 1, 0, false), 2.0 + m.fanout(17), 1e-9);  // 24 bits: 1 + 16
    EXPECT_NEAR(arrivalOfReader((Int128(1) << 23) - 1, 10, false), 2.0 + m.fanout(7), 1e-9);  // shifted by 10: 1 + 6
    EXPECT_NEAR(arrivalOfReader((Int128(1) << 23) - 1, 0, true), 2.0 + m.fanout(17), 1e-9);   // through the wire
}

// Issue 26: two pieces of logic the scheduler used to leave out of a node's delay, found
// where Yosys measured GarNet's stack 1.25 ns over the estimate: the sticky bit of a
// rounding cast (an OR over the dropped bits, a LUT tree before the adder's carry input)
// and a ROM index's clamp after its offset adder (the comparison reads the sum).
TEST(VerilogDelayModel, StickyRoundingAndRomIndexClampAreTimed) {
    const DelayModel m;
    EXPECT_DOUBLE_EQ(m.reduce(1), 0.0);
    EXPECT_DOUBLE_EQ(m.reduce(2), m.logic());
    EXPECT_DOUBLE_EQ(m.reduce(6), m.logic());
    EXPECT_DOUBLE_EQ(m.reduce(7), 2 * m.logic());
    EXPECT_DOUBLE_EQ(m.reduce(36), 2 * m.logic());
    EXPECT_DOUBLE_EQ(m.reduce(37), 3 * m.logic());

    // A 24-bit signed raw at 20 fractional bits cast to ap_fixed<12,5> at 7: 13 bits dropped.
    auto castDelay = [](const char* type) {
        Netlist nl;
        RtlContext c{nl, DelayModel{}, false, ""};
        const Sig x = nl.addInput("x", 0, 24, true);
        const Sig q = castQuantize(c, x, 20, FixedType::parse(type));
        return nl.node(q).delay;
    };
    const double rnd = castDelay("ap_fixed<12,5,AP_RND,AP_WRAP>");
    EXPECT_GT(rnd, 0.0);                                          // the half bit: an adder, no tree
    EXPECT_DOUBLE_EQ(castDelay("ap_fixed<12,5,AP_RND_CONV,AP_WRAP>"), rnd + m.reduce(14));   // 12 sticky + half + lsb
    EXPECT_DOUBLE_EQ(castDelay("ap_fixed<12,5,AP_RND_MIN_INF,AP_WRAP>"), rnd + m.reduce(13));
    EXPECT_DOUBLE_EQ(castDelay("ap_fixed<12,5,AP_TRN_ZERO,AP_WRAP>"), rnd + m.reduce(14));
    EXPECT_DOUBLE_EQ(castDelay("ap_fixed<12,5,AP_TRN,AP_WRAP>"), 0.0);                       // a slice

    // A 1,024-entry table on a 12-bit signed key: clamped below 0 and above 1,023.
    auto romDelay = [&](int64_t offset) {
        Netlist nl;
        RtlContext c{nl, DelayModel{}, false, ""};
        const Sig key = nl.addInput("k", 0, 12, true);
        LookupTable t;
        t.valueType = FixedType::parse("ap_ufixed<8,0>");
        t.size = 1024;
        t.offset = offset;
        t.values.assign(1024, 0);
        for (int i = 0; i < 1024; ++i) t.values[size_t(i)] = i % 256;
        const Sig rom = romLookup(c, key, t, "t" + std::to_string(offset));
        return nl.node(rom).delay;
    };
    const double plain = romDelay(0), withOffset = romDelay(512);
    EXPECT_DOUBLE_EQ(plain, m.compare(12) + m.rom(1024));
    EXPECT_DOUBLE_EQ(withOffset, m.adder(12) + m.compare(13) + m.rom(1024));   // index -1536..2559
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
// A distributed-RAM read (RAM64X1S, Yosys' LUT ROMs) is a LUT level on the path, not a
// wire; block RAM (RAMB*) ends and starts paths like a register.
TEST(VerilogReport, DistributedRamIsALogicLevel) {
    using nlohmann::json;
    const auto ff = [](int d, int q) {
        return json{{"type", "FDRE"},
                    {"port_directions", {{"C", "input"}, {"D", "input"}, {"Q", "output"}}},
                    {"connections", {{"C", {100}}, {"D", {d}}, {"Q", {q}}}}};
    };
    json ram{{"type", "RAM64X1S"},
             {"port_directions", {{"A0", "input"}, {"A1", "input"}, {"WCLK", "input"}, {"O", "output"}}},
             {"connections", {{"A0", {11}}, {"A1", {11}}, {"WCLK", {100}}, {"O", {12}}}}};
    json top;
    top["ports"] = {{"in", {{"direction", "input"}, {"bits", {2}}}}, {"clk", {{"direction", "input"}, {"bits", {100}}}}};
    top["cells"] = {{"r0", ff(2, 11)}, {"rom", ram}, {"r1", ff(12, 13)}};
    const TimingReport t = analyseTiming(json{{"modules", {{"top", top}}}}, "top");
    ASSERT_TRUE(t.valid);
    ASSERT_GE(t.stages.size(), 2u);
    EXPECT_EQ(t.stages[1].luts, 1);
    EXPECT_EQ(t.stages[1].levels, 1);
}

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
    // LUT a 0.13, its only load c1's S inside the slice (0; carry entry 0.10), c1.O (a
    // carry, not a LUT) routed into c2's S (0.30 + 0.10: worse than the dedicated CO -> CI
    // chain), net 0.30, setup 0.05.
    EXPECT_NEAR(t.stages[0].ns, 0.31 + 0.13 + 0.00 + 0.10 + 0.30 + 0.10 + 0.30 + 0.05, 1e-9);
    // Stage 2: clock-to-out 0.10, r1_q has 2 loads (0.31), LUT b, b's output has 2 loads
    // (0.31) into LUT c, the dedicated LUT -> MUXF7 edge (0), MUXF7 0.08, net, setup.
    EXPECT_NEAR(t.stages[1].ns, 0.10 + 0.31 + 0.13 + 0.31 + 0.13 + 0.0 + 0.08 + 0.30 + 0.05, 1e-9);
    EXPECT_NEAR(t.loops.ns, 0.10 + 0.30 + 0.13 + 0.30 + 0.05, 1e-9);
    EXPECT_EQ(t.worst.to, "r2_q");   // stage 2 (1.41 ns) is now slower than stage 1 (1.29 ns)
}

// Netlist::reduceRegisters (Retime.cpp): the greedy placement ends stage 0 with a node whose
// value is far wider than its operand; its only reader sits in stage 1. Moving it to stage 1
// registers the 8-bit operand instead of the 40-bit value, at the same latency, when stage 1
// still fits; when it would not fit, nothing moves.
TEST(VerilogNetlist, RetimingMovesAWideNodeAcrossTheCutWhenTheStageFits) {
    auto build = [](double readerDelay) {
        auto nl = std::make_unique<Netlist>();
        nl->setRegisterInputs(false);
        const Sig x = nl->addInput("x", 0, 8, true);
        auto node = [&](std::vector<Sig> ops, double delay, int bits) {
            Node n;
            n.name = nl->freshName("n");
            n.ops = std::move(ops);
            n.lo = -(Int128(1) << (bits - 1));
            n.hi = (Int128(1) << (bits - 1)) - 1;
            n.delay = delay;
            n.body = [](std::ostream&, const std::vector<std::string>&, const std::string&) {};
            return nl->add(std::move(n));
        };
        const Sig narrow = node({x}, 2.5, 8);
        const Sig wide = node({narrow}, 0.5, 40);   // still fits stage 0: 3.0 <= 3.5
        nl->node(wide).operandLoads = {1.0};        // one LUT input per bit (no sign-extension fan-out)
        const Sig reader = node({wide}, readerDelay, 8);
        nl->addOutput(reader, 8);
        nl->schedule(3.5);
        return std::make_tuple(std::move(nl), wide, reader);
    };
    const auto bits = [](const Netlist& nl) {
        const std::vector<int> copies = nl.registerCopies();
        int64_t b = 0;
        for (int k = 0; k < nl.size(); ++k) b += int64_t(copies[size_t(k)]) * nl.node(k).width;
        return b;
    };
    {
        auto [nl, wide, reader] = build(2.5);
        ASSERT_EQ(nl->node(wide).stage, 0);
        ASSERT_EQ(nl->node(reader).stage, 1);
        const int latency = nl->latency();
        const int64_t before = bits(*nl);
        const int64_t saved = nl->reduceRegisters(3.5);
        EXPECT_EQ(nl->node(wide).stage, 1);         // 0.5 + 2.5 fits stage 1
        EXPECT_EQ(nl->latency(), latency);
        EXPECT_EQ(before - bits(*nl), saved);
        EXPECT_EQ(saved, 40 - 8);                   // the 40-bit register became an 8-bit one
        for (double ns : nl->stageEstimatesNs()) EXPECT_LE(ns, 3.5 + 1e-9);
    }
    {
        auto [nl, wide, reader] = build(3.2);        // 0.5 + 3.2 would not fit stage 1
        EXPECT_EQ(nl->reduceRegisters(3.5), 0);
        EXPECT_EQ(nl->node(wide).stage, 0);
    }
}
