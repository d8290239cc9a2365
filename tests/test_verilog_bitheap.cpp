// The bit-heap compressor trees of the Verilog backend (BitHeap.h) against exact integer
// sums: the plan evaluated bit by bit must give the sum modulo 2^width for any operands
// (signed, non-negative, negated, shifted, wider than the result, joining late), any
// constant.
#include "backends/verilog/BitHeap.h"

#include "test_files.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>

using namespace tachyon;
using namespace tachyon::verilog;

namespace {

Int128 wrapSigned(Int128 v, int width) {
    const Int128 mod = Int128(1) << width;
    v = ((v % mod) + mod) % mod;
    return v >= mod / 2 ? v - mod : v;
}

}  // namespace

TEST(VerilogBitHeap, SumsExactlyOnRandomOperands) {
    std::mt19937_64 rng(26);
    for (int trial = 0; trial < 2000; ++trial) {
        const int n = 1 + int(rng() % (trial % 10 == 0 ? 120 : 24));
        std::vector<HeapOperand> ops;
        Int128 lo = 0, hi = 0;
        for (int k = 0; k < n; ++k) {
            HeapOperand o;
            o.width = 1 + int(rng() % 16);
            o.shift = int(rng() % 9);
            o.neg = rng() % 2;
            o.nonNegative = o.width > 1 && rng() % 3 == 0;
            o.ready = trial % 2 ? int(rng() % 6) : 0;   // late operands join later levels
            ops.push_back(o);
            const Int128 vlo = o.nonNegative ? 0 : -(Int128(1) << (o.width - 1));
            const Int128 vhi = (Int128(1) << (o.width - 1)) - 1;
            const Int128 s = Int128(1) << o.shift;
            lo += o.neg ? -vhi * s : vlo * s;
            hi += o.neg ? -vlo * s : vhi * s;
        }
        const Int128 constant = Int128(int64_t(rng() % 200001) - 100000);
        lo += constant;
        hi += constant;
        // The exact width, or a narrower one (a wrapping accumulator needs the sum mod 2^w).
        const int exact = signedBits(lo, hi);
        const int width = trial % 4 == 3 ? 1 + int(rng() % exact) : exact;
        const HeapPlan plan = planHeap(ops, constant, width);
        for (const auto& rows : plan.rows) ASSERT_EQ(rows.size(), 2u);
        for (int rep = 0; rep < 20; ++rep) {
            std::vector<Int128> v;
            Int128 sum = constant;
            for (const HeapOperand& o : ops) {
                const Int128 vlo = o.nonNegative ? 0 : -(Int128(1) << (o.width - 1));
                const Int128 vhi = (Int128(1) << (o.width - 1)) - 1;
                Int128 x = rep == 0 ? vlo : rep == 1 ? vhi : vlo + Int128(rng() % uint64_t(vhi - vlo + 1));
                v.push_back(x);
                sum += (o.neg ? -x : x) * (Int128(1) << o.shift);
            }
            ASSERT_TRUE(evaluateHeap(plan, ops, v) == wrapSigned(sum, width))
                << "trial " << trial << " rep " << rep << " operands " << n << " width " << width;
        }
    }
}

TEST(VerilogBitHeap, LevelsGrowLogarithmicallyAndLutsStayLinear) {
    // 64 signed 8-bit operands at shifts 0..3: column heights up to 64 + constant bits.
    std::vector<HeapOperand> ops;
    for (int k = 0; k < 64; ++k) ops.push_back({8, k % 4, k % 3 == 0, false});
    const HeapPlan plan = planHeap(ops, 12345, 18);
    // Six-input counters halve the heap per level; Dadda's rule (each level brings every
    // column down to the next of 2, 3, 6, 12, 24, 48, 96, counting the carries coming in)
    // reaches two rows from columns of up to 96 bits in 6 levels, the fewest possible.
    // Filling every counter greedily instead needed 7 here. Two-input adders would need 6
    // carry-chain levels for the same.
    EXPECT_LE(plan.levels.size(), 6u);
    EXPECT_GE(plan.levels.size(), 5u);
    int luts = 0;
    for (const HeapLevel& lv : plan.levels) luts += lv.luts();
    // About one LUT per input bit in all (three per six bits consumed, the heap halving),
    // like the 63 adders of a two-input tree (~63 x 12 carry bits).
    EXPECT_LE(luts, int(plan.bits()) * 3 / 2);
}

// The counter's two forms (BitHeap.cpp): the LUT-level function synthesis reads and the sum
// Verilator simulates are the popcount of their six bits, on all 64 inputs. Icarus runs
// each form (-DVERILATOR picks the sum), so the function is checked by a simulator that
// never sees the sum.
TEST(VerilogBitHeap, CounterLogicIsThePopcountOnAllInputs) {
    if (std::system("command -v iverilog > /dev/null 2>&1") != 0) GTEST_SKIP() << "iverilog not installed";
    const std::filesystem::path dir = freshTestDir("verilog_bitheap", "counter");
    std::ofstream(dir / "t.v") << "module t;\n" << counterVerilog()
                               << "  reg [5:0] v;\n  integer i, bad, want;\n"
                                  "  wire [2:0] byFunction = tachyon_count6(v);\n"
                                  "  wire [2:0] byMacro = `TACHYON_COUNT6(v[5], v[4], v[3], v[2], v[1], v[0]);\n"
                                  "  initial begin\n    bad = 0;\n"
                                  "    for (i = 0; i < 64; i = i + 1) begin\n      v = i; #1;\n"
                                  "      want = v[0] + v[1] + v[2] + v[3] + v[4] + v[5];\n"
                                  "      if (byFunction != want || byMacro != want) bad = bad + 1;\n    end\n"
                                  "    $display(\"checked %0d bad %0d\", i, bad);\n  end\nendmodule\n";
    for (const std::string define : {"", "-DVERILATOR"}) {
        const std::string cmd = "cd '" + dir.string() + "' && iverilog " + define +
                                " -o t.vvp t.v > build.log 2>&1 && vvp t.vvp > run.log 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << readFile(dir / "build.log");
        const std::string run = readFile(dir / "run.log");
        EXPECT_NE(run.find("checked 64 bad 0"), std::string::npos) << define << ": " << run;
    }
}
