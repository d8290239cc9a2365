// FixedType against UG1399's documented examples and, exhaustively for small widths,
// against a straightforward exact-rational reference written independently below.
#include "fixed/FixedType.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace tachyon;

namespace {

FixedType T(const char* s) { return FixedType::parse(s); }

// Reference: the exact value num / 2^srcFrac into type t, by rational arithmetic
// (division and comparison of cross products), not by shifts.
Int128 floorDiv(Int128 a, Int128 b) {  // b > 0
    Int128 q = a / b;
    if ((a % b != 0) && (a < 0)) --q;
    return q;
}

Int128 reference(const FixedType& t, Int128 num, int srcFrac) {
    // value / lsb = num * 2^F / 2^srcFrac = A / B
    Int128 A = num, B = 1;
    int e = t.frac() - srcFrac;
    if (e >= 0) A = num * (Int128(1) << e);
    else B = Int128(1) << (-e);
    Int128 fl = floorDiv(A, B);
    Int128 remTwice = 2 * (A - fl * B);  // in [0, 2B)
    bool exact = remTwice == 0, half = remTwice == B, above = remTwice > B;
    bool neg = num < 0;
    Int128 q = fl;
    switch (t.quant) {
    case Quant::TRN: break;
    case Quant::TRN_ZERO: if (neg && !exact) q = fl + 1; break;
    case Quant::RND: if (above || half) q = fl + 1; break;
    case Quant::RND_ZERO: if (above || (half && neg)) q = fl + 1; break;
    case Quant::RND_INF: if (above || (half && !neg)) q = fl + 1; break;
    case Quant::RND_MIN_INF: if (above) q = fl + 1; break;
    case Quant::RND_CONV: if (above || (half && (fl % 2 != 0))) q = fl + 1; break;
    }
    Int128 lo = t.isSigned ? -(Int128(1) << (t.width - 1)) : 0;
    Int128 hi = t.isSigned ? (Int128(1) << (t.width - 1)) - 1 : (Int128(1) << t.width) - 1;
    if (q >= lo && q <= hi) {
        if (t.overflow == Overflow::SAT_SYM && t.isSigned && q == lo) return -hi;
        return q;
    }
    switch (t.overflow) {
    case Overflow::SAT: return q < lo ? lo : hi;
    case Overflow::SAT_ZERO: return 0;
    case Overflow::SAT_SYM: return q < lo ? (t.isSigned ? -hi : 0) : hi;
    case Overflow::WRAP: {
        Int128 m = Int128(1) << t.width;
        Int128 r = q - lo;
        r = ((r % m) + m) % m;
        return r + lo;
    }
    }
    return q;
}

const Quant kQuants[] = {Quant::TRN, Quant::TRN_ZERO, Quant::RND, Quant::RND_ZERO,
                         Quant::RND_INF, Quant::RND_MIN_INF, Quant::RND_CONV};
const Overflow kOverflows[] = {Overflow::WRAP, Overflow::SAT, Overflow::SAT_ZERO, Overflow::SAT_SYM};

}  // namespace

TEST(FixedType, ParsesVitisAndHls4mlSpellings) {
    FixedType a = T("ap_fixed<16,6,AP_RND,AP_SAT>");
    EXPECT_EQ(a.width, 16);
    EXPECT_EQ(a.integer, 6);
    EXPECT_TRUE(a.isSigned);
    EXPECT_EQ(a.quant, Quant::RND);
    EXPECT_EQ(a.overflow, Overflow::SAT);
    EXPECT_EQ(T("fixed<16,6,RND,SAT>"), a);
    FixedType u = T("ap_ufixed<8,0>");
    EXPECT_FALSE(u.isSigned);
    EXPECT_EQ(u.frac(), 8);
    EXPECT_EQ(T("ap_int<8>"), T("int<8>"));
    EXPECT_EQ(T("ap_int<8>").frac(), 0);
    EXPECT_EQ(T("uint<5>").str(), "ap_uint<5>");
    EXPECT_EQ(T("ufixed<10, 2, RND_CONV, SAT_SYM>").str(), "ap_ufixed<10,2,AP_RND_CONV,AP_SAT_SYM>");
    EXPECT_EQ(T("ap_fixed<8,3,AP_TRN,AP_WRAP,2>").satBits, 2);
    EXPECT_EQ(a.hls4mlStr(), "fixed<16,6,RND,SAT>");
    EXPECT_EQ(T("ap_fixed<64,32>").width, 64);
}

TEST(FixedType, RejectsBadTypesWithReason) {
    for (const char* bad : {"ap_fixed<0,1>", "ap_fixed<65,1>", "ap_fixed<16>", "float", "ap_fixed<16,6,AP_FOO>",
                            "ap_fixed<16,6,AP_RND,AP_BAR>", "ap_fixed<a,6>", "ap_int<8,2>", "ap_fixed<16,6"}) {
        try {
            FixedType::parse(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
}

TEST(FixedType, Ug1399OverflowExamples) {
    // ap_fixed<4,4,AP_RND,MODE> = +-19.0 and ap_ufixed<4,4,...>
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_SAT>").quantize(19.0), 7.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_SAT>").quantize(-19.0), -8.0);
    EXPECT_EQ(T("ap_ufixed<4,4,AP_RND,AP_SAT>").quantize(19.0), 15.0);
    EXPECT_EQ(T("ap_ufixed<4,4,AP_RND,AP_SAT>").quantize(-19.0), 0.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_SAT_ZERO>").quantize(19.0), 0.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_SAT_ZERO>").quantize(-19.0), 0.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_SAT_SYM>").quantize(19.0), 7.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_SAT_SYM>").quantize(-19.0), -7.0);
    EXPECT_EQ(T("ap_ufixed<4,4,AP_RND,AP_SAT_SYM>").quantize(-19.0), 0.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_WRAP>").quantize(31.0), -1.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_WRAP>").quantize(19.0), 3.0);
    EXPECT_EQ(T("ap_ufixed<4,4,AP_RND,AP_WRAP>").quantize(19.0), 3.0);
}

TEST(FixedType, Ug1399QuantisationExamples) {
    struct Case { const char* mode; double pos, neg; };  // ap_fixed<3,2,MODE,AP_SAT> of 1.25 / -1.25
    for (Case c : {Case{"AP_RND", 1.5, -1.0}, Case{"AP_RND_ZERO", 1.0, -1.0}, Case{"AP_RND_MIN_INF", 1.0, -1.5},
                   Case{"AP_RND_INF", 1.5, -1.5}, Case{"AP_RND_CONV", 1.0, -1.0}, Case{"AP_TRN", 1.0, -1.5},
                   Case{"AP_TRN_ZERO", 1.0, -1.0}}) {
        FixedType t = T((std::string("ap_fixed<3,2,") + c.mode + ",AP_SAT>").c_str());
        EXPECT_EQ(t.quantize(1.25), c.pos) << c.mode;
        EXPECT_EQ(t.quantize(-1.25), c.neg) << c.mode;
    }
    EXPECT_EQ(T("ap_fixed<3,2,AP_RND_CONV,AP_SAT>").quantize(0.75), 1.0);
    EXPECT_EQ(T("ap_fixed<3,2,AP_RND_CONV,AP_SAT>").quantize(-0.75), -1.0);
}

TEST(FixedType, BitPatternEdgeCases) {
    // Rounding up into overflow: 7.75 in ap_fixed<4,4,RND> rounds to 8, which wraps to -8
    // and saturates to 7.
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_WRAP>").quantize(7.75), -8.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_RND,AP_SAT>").quantize(7.75), 7.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_TRN,AP_SAT>").quantize(7.75), 7.0);
    // The most negative value: kept by SAT, made symmetric by SAT_SYM.
    EXPECT_EQ(T("ap_fixed<8,8,AP_TRN,AP_SAT>").castDouble(-128.0), -128);
    EXPECT_EQ(T("ap_fixed<8,8,AP_TRN,AP_SAT_SYM>").castDouble(-128.0), -127);
    // Raw bit patterns of ap_fixed<16,6>: 1.5 -> 0x0600, -1.5 -> 0xFA00 (as signed -1536).
    EXPECT_EQ(T("ap_fixed<16,6>").castDouble(1.5), 0x600);
    EXPECT_EQ(T("ap_fixed<16,6>").castDouble(-1.5), -0x600);
    // Negative integer bits and integer bits beyond the width.
    EXPECT_EQ(T("ap_ufixed<1,-1>").quantize(0.25), 0.25);
    EXPECT_EQ(T("ap_ufixed<1,-1,AP_TRN,AP_SAT>").quantize(0.3), 0.25);
    EXPECT_EQ(T("ap_fixed<4,8>").quantize(37.0), 32.0);      // LSB is 16
    EXPECT_EQ(T("ap_fixed<4,8,AP_RND>").quantize(40.0), 48.0);
    // 64-bit types.
    FixedType w64 = T("ap_int<64>");
    EXPECT_EQ(w64.castDouble(-9.0e18), Int128(-9000000000000000000LL));
    EXPECT_EQ(T("ap_uint<64>").maxRaw(), (Int128(1) << 64) - 1);
    // WRAP with saturation bits keeps the sign of the source.
    EXPECT_EQ(T("ap_fixed<4,4,AP_TRN,AP_WRAP,1>").quantize(19.0), 3.0);
    EXPECT_EQ(T("ap_fixed<4,4,AP_TRN,AP_WRAP,1>").quantize(-19.0), -3.0);
    // NaN/inf never crash.
    EXPECT_EQ(T("ap_fixed<8,4,AP_TRN,AP_SAT>").quantize(INFINITY), T("ap_fixed<8,4>").maxValue());
    EXPECT_EQ(T("ap_fixed<8,4,AP_TRN,AP_SAT>").quantize(-INFINITY), -8.0);
}

TEST(FixedType, ExhaustiveSmallWidthsAgainstRationalReference) {
    // Every source value of a 9-bit grid with 5 fractional bits, into every signed and
    // unsigned type of width 1..6 with integer bits -2..7, in every mode.
    size_t checked = 0;
    for (int w = 1; w <= 6; ++w)
        for (int i = -2; i <= 7; ++i)
            for (bool s : {true, false})
                for (Quant q : kQuants)
                    for (Overflow o : kOverflows) {
                        FixedType t = FixedType::fixed(w, i, s);
                        t.quant = q;
                        t.overflow = o;
                        for (int srcFrac : {0, 3, 5})
                            for (int num = -300; num <= 300; ++num) {
                                Int128 got = t.castRaw(num, srcFrac);
                                Int128 want = reference(t, num, srcFrac);
                                ASSERT_EQ(int64_t(got), int64_t(want))
                                    << t.str() << " of " << num << "*2^-" << srcFrac;
                                ++checked;
                            }
                    }
    EXPECT_GT(checked, 1000000u);
}

TEST(FixedType, DoubleConversionMatchesReferenceOnWideTypes) {
    // Doubles are exact dyadic rationals: mantissa * 2^exp.
    uint64_t seed = 12345;
    auto next = [&] { seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; return seed >> 11; };
    for (int n = 0; n < 200000; ++n) {
        int w = 2 + int(next() % 63);
        int i = int(next() % 80) - 10;
        FixedType t = FixedType::fixed(w, i, next() & 1);
        t.quant = kQuants[next() % 7];
        t.overflow = kOverflows[next() % 4];
        int64_t mant = int64_t(next() % (1ULL << 40)) - (int64_t(1) << 39);
        int e = int(next() % 60) - 40;
        if (t.frac() + e > 80) continue;  // keep the reference's cross products inside 128 bits
        double v = std::ldexp(double(mant), e);
        ASSERT_EQ(int64_t(t.castDouble(v)), int64_t(reference(t, mant, -e))) << t.str() << " of " << v;
    }
}
