// The bit-heap compressor trees of the Verilog backend (BitHeap.h) against exact integer
// sums: the plan evaluated bit by bit must give the sum modulo 2^width for any operands
// (signed, non-negative, negated, shifted, wider than the result, joining late), any
// constant.
#include "backends/verilog/BitHeap.h"

#include <gtest/gtest.h>

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
    // Six-input counters halve the heap per level: 64 -> 32 -> ... -> 2 is ~6 levels
    // (carries from the two columns below add a little); two-input adders would need 6
    // carry-chain levels for the same.
    EXPECT_LE(plan.levels.size(), 8u);
    EXPECT_GE(plan.levels.size(), 5u);
    int luts = 0;
    for (const HeapLevel& lv : plan.levels) luts += lv.luts();
    // About one LUT per input bit in all (three per six bits consumed, the heap halving),
    // like the 63 adders of a two-input tree (~63 x 12 carry bits).
    EXPECT_LE(luts, int(plan.bits()) * 3 / 2);
}
