// Overflow modes against bit patterns derived by hand from UG1399 ("Overflow Modes"), not
// from any implementation, so that FixedType and the bundled ap_fixed header cannot share
// a mistake with the test. The rules, as UG1399 states them:
//   AP_SAT       overflow -> largest value, negative overflow -> smallest value
//   AP_SAT_ZERO  any overflow -> 0
//   AP_SAT_SYM   overflow -> largest value, negative overflow -> -largest (signed) or 0
//   AP_WRAP N=0  the bits above the type are dropped
//   AP_WRAP N>0  on any overflow: signed types keep the source's sign in the sign bit and
//                fill the next N-1 bits with its inverse; unsigned types set their N
//                most significant bits to 1; the remaining low bits are the wrapped ones
//   (N only matters to AP_WRAP.)
#include "backends/hls/include/ap_fixed.h"
#include "fixed/FixedType.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>

using tachyon::FixedType;
using tachyon::Int128;

namespace {

// Inputs (integers, so only overflow matters) with their low four bits, worked out by hand:
//    19 = 1 0011       -> 0011        -19 = ...10 1101 -> 1101
//     9 =   1001       -> 1001         -5 = ...1 1011  -> 1011
//     5 =   0101       -> 0101         -9 = ...1 0111  -> 0111
//    16 = 1 0000       -> 0000
const int kInputs[] = {19, -19, 9, -5, 5, -9, 16};

struct Row {
    const char* mode;  // the destination's overflow arguments
    unsigned bits[7];  // expected 4-bit patterns, one per kInputs entry
};

// ap_fixed<4,4,AP_TRN,mode>: range -8..7.
const Row kSigned[] = {
    {"AP_SAT", {0b0111, 0b1000, 0b0111, 0b1011, 0b0101, 0b1000, 0b0111}},
    {"AP_SAT,2", {0b0111, 0b1000, 0b0111, 0b1011, 0b0101, 0b1000, 0b0111}},
    {"AP_SAT_ZERO", {0b0000, 0b0000, 0b0000, 0b1011, 0b0101, 0b0000, 0b0000}},
    {"AP_SAT_SYM", {0b0111, 0b1001, 0b0111, 0b1011, 0b0101, 0b1001, 0b0111}},
    // Plain wrap: the low four bits.
    {"AP_WRAP,0", {0b0011, 0b1101, 0b1001, 0b1011, 0b0101, 0b0111, 0b0000}},
    // N=1: sign bit := source sign (19 -> 0|011, -19 -> 1|101, 9 -> 0|001, -9 -> 1|111).
    {"AP_WRAP,1", {0b0011, 0b1101, 0b0001, 0b1011, 0b0101, 0b1111, 0b0000}},
    // N=2: sign, then its inverse (19 -> 01|11, -19 -> 10|01, 9 -> 01|01, -9 -> 10|11, 16 -> 01|00).
    {"AP_WRAP,2", {0b0111, 0b1001, 0b0101, 0b1011, 0b0101, 0b1011, 0b0100}},
    // N=3: sign, inverse, inverse (19 -> 011|1, -19 -> 100|1, 9 -> 011|1, -9 -> 100|1, 16 -> 011|0).
    {"AP_WRAP,3", {0b0111, 0b1001, 0b0111, 0b1011, 0b0101, 0b1001, 0b0110}},
};

// ap_ufixed<4,4,AP_TRN,mode>: range 0..15; every negative input underflows.
const Row kUnsigned[] = {
    {"AP_SAT", {0b1111, 0b0000, 0b1001, 0b0000, 0b0101, 0b0000, 0b1111}},
    {"AP_SAT,2", {0b1111, 0b0000, 0b1001, 0b0000, 0b0101, 0b0000, 0b1111}},
    {"AP_SAT_ZERO", {0b0000, 0b0000, 0b1001, 0b0000, 0b0101, 0b0000, 0b0000}},
    {"AP_SAT_SYM", {0b1111, 0b0000, 0b1001, 0b0000, 0b0101, 0b0000, 0b1111}},
    // Plain wrap (UG1399's own example: -19 -> 13 = 1101).
    {"AP_WRAP,0", {0b0011, 0b1101, 0b1001, 0b1011, 0b0101, 0b0111, 0b0000}},
    // N>0: the top N bits become 1 on overflow and on underflow alike.
    {"AP_WRAP,1", {0b1011, 0b1101, 0b1001, 0b1011, 0b0101, 0b1111, 0b1000}},
    {"AP_WRAP,2", {0b1111, 0b1101, 0b1001, 0b1111, 0b0101, 0b1111, 0b1100}},
    {"AP_WRAP,3", {0b1111, 0b1111, 0b1001, 0b1111, 0b0101, 0b1111, 0b1110}},
};

unsigned low4(Int128 raw) { return unsigned(raw) & 0xF; }

// The bundled header, for one destination type.
template <bool S, ap_o_mode O, int N>
unsigned headerBits(int v) {
    return low4(ap_fixed_base<4, 4, S, AP_TRN, O, N>(v).V);
}

using HeaderFn = unsigned (*)(int);
HeaderFn headerFor(bool s, const std::string& mode) {
#define TACHYON_MODE(TEXT, O, N) \
    if (mode == TEXT) return s ? &headerBits<true, O, N> : &headerBits<false, O, N>;
    TACHYON_MODE("AP_SAT", AP_SAT, 0)
    TACHYON_MODE("AP_SAT,2", AP_SAT, 2)
    TACHYON_MODE("AP_SAT_ZERO", AP_SAT_ZERO, 0)
    TACHYON_MODE("AP_SAT_SYM", AP_SAT_SYM, 0)
    TACHYON_MODE("AP_WRAP,0", AP_WRAP, 0)
    TACHYON_MODE("AP_WRAP,1", AP_WRAP, 1)
    TACHYON_MODE("AP_WRAP,2", AP_WRAP, 2)
    TACHYON_MODE("AP_WRAP,3", AP_WRAP, 3)
#undef TACHYON_MODE
    return nullptr;
}

void checkRows(bool s, const Row* rows, size_t n) {
    for (size_t r = 0; r < n; ++r) {
        const std::string text = std::string(s ? "ap_fixed" : "ap_ufixed") + "<4,4,AP_TRN," + rows[r].mode + ">";
        const FixedType t = FixedType::parse(text);
        const HeaderFn header = headerFor(s, rows[r].mode);
        ASSERT_NE(header, nullptr) << rows[r].mode;
        for (int k = 0; k < 7; ++k) {
            EXPECT_EQ(low4(t.castRaw(kInputs[k], 0)), rows[r].bits[k]) << "FixedType " << text << " of " << kInputs[k];
            EXPECT_EQ(header(kInputs[k]), rows[r].bits[k]) << "ap_fixed.h " << text << " of " << kInputs[k];
        }
    }
}

}  // namespace

TEST(Ug1399Wrap, SignedBitPatternsForEveryModeAndN) { checkRows(true, kSigned, std::size(kSigned)); }

TEST(Ug1399Wrap, UnsignedBitPatternsForEveryModeAndN) { checkRows(false, kUnsigned, std::size(kUnsigned)); }

TEST(Ug1399Wrap, IssueExampleAndRoundingIntoOverflow) {
    // The issue's case: raw 0xffff of ap_fixed<16,12> (-1 LSB, same 4 fractional bits) into
    // ap_ufixed<6,2,AP_TRN,AP_WRAP,3>: wrapped bits 111111, top three set -> 0x3f.
    const FixedType u = FixedType::parse("ap_ufixed<6,2,AP_TRN,AP_WRAP,3>");
    EXPECT_EQ(u.castRaw(-1, 4), 0x3f);
    // -1.0 (raw -16): wrapped 110000, top three set -> 111000.
    EXPECT_EQ(u.castRaw(-16, 4), 0x38);
    ap_fixed<16, 12> src;
    src.V = -1;
    EXPECT_EQ(int(ap_ufixed<6, 2, AP_TRN, AP_WRAP, 3>(src).V), 0x3f);
    src.V = -16;
    EXPECT_EQ(int(ap_ufixed<6, 2, AP_TRN, AP_WRAP, 3>(src).V), 0x38);

    // Quantisation first, then overflow: 15.5 rounds to 16, which overflows ap_ufixed<4,4>:
    // wrapped 0000, top bit set -> 1000.
    EXPECT_EQ(FixedType::parse("ap_ufixed<4,4,AP_RND,AP_WRAP,1>").castDouble(15.5), 0b1000);
    EXPECT_EQ(int((ap_ufixed<4, 4, AP_RND, AP_WRAP, 1>(15.5)).V), 0b1000);
    // 7.5 rounds to 8, a positive overflow of ap_fixed<4,4>: wrapped 1000 -> 01|00 = 4.
    EXPECT_EQ(FixedType::parse("ap_fixed<4,4,AP_RND,AP_WRAP,2>").castDouble(7.5), 0b0100);
    EXPECT_EQ(int((ap_fixed<4, 4, AP_RND, AP_WRAP, 2>(7.5)).V), 0b0100);
    // No overflow, no change: N never touches a value that fits.
    EXPECT_EQ(FixedType::parse("ap_ufixed<4,4,AP_TRN,AP_WRAP,3>").castDouble(3.0), 3);
}
