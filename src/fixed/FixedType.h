// FixedType: a runtime description of a Vitis HLS fixed-point type
// (ap_fixed / ap_ufixed / ap_int / ap_uint) and the exact conversion into it.
//
// A value of a FixedType is stored as its raw two's-complement integer `raw`,
// meaning raw * 2^-frac(). Every conversion goes through `castRaw`, which takes an
// exact value (an integer scaled by 2^-fracBits) and applies, in this order,
// the quantisation mode (when bits below the LSB are dropped) and then the
// overflow mode (when the quantised value does not fit), as UG1399 defines them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tachyon {

using Int128 = __int128;

enum class Quant { TRN, TRN_ZERO, RND, RND_ZERO, RND_INF, RND_MIN_INF, RND_CONV };
enum class Overflow { WRAP, SAT, SAT_ZERO, SAT_SYM };

// What happened during one cast; the emulator sums these per layer.
struct CastStatus {
    bool overflow = false;   // the quantised value was outside the type's range
    bool inexact = false;    // non-zero bits below the LSB were dropped or rounded
};

struct FixedType {
    int width = 16;          // W: total bits
    int integer = 6;         // I: integer bits, sign included (may be <0 or >W)
    bool isSigned = true;
    Quant quant = Quant::TRN;
    Overflow overflow = Overflow::WRAP;
    int satBits = 0;         // N: saturation bits for WRAP mode

    static constexpr int kMaxWidth = 64;

    int frac() const { return width - integer; }
    Int128 minRaw() const;
    Int128 maxRaw() const;
    double lsb() const;
    double minValue() const;
    double maxValue() const;

    // Exact value raw * 2^-fracBits -> raw of this type. |raw| must be < 2^126.
    Int128 castRaw(Int128 raw, int fracBits, CastStatus* status = nullptr) const;
    // Any double (exactly representable as mantissa*2^exp) -> raw of this type.
    Int128 castDouble(double v, CastStatus* status = nullptr) const;
    double toDouble(Int128 raw) const;
    // Convenience: quantise a double and give it back as a double.
    double quantize(double v) const { return toDouble(castDouble(v)); }

    // Canonical Vitis spelling, e.g. "ap_fixed<16,6,AP_RND,AP_SAT>" or "ap_int<8>".
    std::string str() const;
    // hls4ml spelling, e.g. "fixed<16,6,RND,SAT>".
    std::string hls4mlStr() const;
    bool operator==(const FixedType& o) const = default;

    // Accepts ap_fixed<..>, ap_ufixed<..>, ap_int<W>, ap_uint<W>, fixed<..>, ufixed<..>,
    // int<W>, uint<W>; optional quantisation/overflow/saturation-bit arguments with or
    // without the AP_ prefix. Throws std::invalid_argument with the reason.
    static FixedType parse(std::string_view text);

    static FixedType fixed(int w, int i, bool s = true) {
        FixedType t; t.width = w; t.integer = i; t.isSigned = s; return t;
    }
};

std::string toString(Quant q);     // "AP_RND"
std::string toString(Overflow o);  // "AP_SAT"
std::string int128ToString(Int128 v);

}  // namespace tachyon
