#include "fixed/FixedType.h"

#include <cctype>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace tachyon {

namespace {

Int128 pow2(int n) { return Int128(1) << n; }

// Floor division by 2^s with the information rounding needs about the remainder.
struct Split {
    Int128 floorQ;   // floor(raw / 2^s)
    bool remZero;    // remainder == 0
    int cmpHalf;     // sign(remainder - 2^(s-1))
};

Split splitAt(Int128 raw, int s) {
    if (s >= 127) {
        // |raw| < 2^126 <= 2^(s-1): the value is strictly inside (-half, half) of one LSB.
        if (raw >= 0) return {0, raw == 0, -1};
        return {-1, false, +1};
    }
    Int128 q = raw >> s;  // arithmetic shift == floor
    Int128 rem = raw - (q << s);
    Int128 half = pow2(s - 1);
    return {q, rem == 0, rem < half ? -1 : (rem == half ? 0 : 1)};
}

Int128 roundSplit(const Split& sp, bool negative, Quant mode) {
    const Int128 q = sp.floorQ;
    switch (mode) {
    case Quant::TRN: return q;
    case Quant::TRN_ZERO: return (negative && !sp.remZero) ? q + 1 : q;
    case Quant::RND: return sp.cmpHalf >= 0 ? q + 1 : q;
    case Quant::RND_ZERO:
        if (sp.cmpHalf > 0) return q + 1;
        if (sp.cmpHalf == 0) return negative ? q + 1 : q;
        return q;
    case Quant::RND_INF:
        if (sp.cmpHalf > 0) return q + 1;
        if (sp.cmpHalf == 0) return negative ? q : q + 1;
        return q;
    case Quant::RND_MIN_INF: return sp.cmpHalf > 0 ? q + 1 : q;
    case Quant::RND_CONV:
        if (sp.cmpHalf > 0) return q + 1;
        if (sp.cmpHalf == 0) return (q & 1) ? q + 1 : q;
        return q;
    }
    return q;
}

// AP_WRAP with N saturation bits (UG1399, "Overflow Modes"), applied to the wrapped bits
// of a value that overflowed:
//   signed:   the sign bit keeps the source's sign and the next N-1 bits take its inverse,
//             so the result never changes sign;
//   unsigned: the N most significant bits are set to 1, on overflow *and* on underflow
//             (a negative source): an unsigned type has no sign to keep.
unsigned __int128 saturateTopBits(unsigned __int128 bits, int width, int n, bool isSigned, bool negative) {
    for (int b = width - n; b < width; ++b) {
        const bool one = !isSigned || (b == width - 1 ? negative : !negative);
        const unsigned __int128 m = (unsigned __int128)1 << b;
        bits = one ? (bits | m) : (bits & ~m);
    }
    return bits;
}

}  // namespace

Int128 FixedType::minRaw() const { return isSigned ? -pow2(width - 1) : 0; }
Int128 FixedType::maxRaw() const { return isSigned ? pow2(width - 1) - 1 : pow2(width) - 1; }
double FixedType::lsb() const { return std::ldexp(1.0, -frac()); }
double FixedType::minValue() const { return toDouble(minRaw()); }
double FixedType::maxValue() const { return toDouble(maxRaw()); }

double FixedType::toDouble(Int128 raw) const {
    // Split so that both halves convert exactly for raws up to 64 bits.
    int64_t hi = int64_t(raw >> 32);
    uint32_t lo = uint32_t(raw & 0xffffffff);
    return std::ldexp(std::ldexp(double(hi), 32) + double(lo), -frac());
}

Int128 FixedType::castRaw(Int128 raw, int fracBits, CastStatus* status) const {
    const int shift = fracBits - frac();
    Int128 q;
    bool inexact = false;
    bool tooBig = false;  // magnitude certainly beyond any 64-bit range before wrapping
    if (shift > 0) {
        Split sp = splitAt(raw, shift);
        inexact = !sp.remZero;
        q = roundSplit(sp, raw < 0, quant);
    } else if (shift < 0) {
        int up = -shift;
        // Keep the low bits exactly (wrap needs them) and note whether the true value is huge.
        if (up >= 127) {
            tooBig = raw != 0;
            q = 0;
        } else {
            Int128 limit = pow2(126 - std::min(up, 126));
            tooBig = raw >= limit || raw <= -limit;
            q = Int128((unsigned __int128)raw << up);
        }
    } else {
        q = raw;
    }

    const Int128 lo = minRaw(), hi = maxRaw();
    bool over = tooBig || q > hi || q < lo;
    if (status) {
        status->inexact = status->inexact || inexact;
        status->overflow = status->overflow || over;
    }
    if (!over) {
        if (overflow == Overflow::SAT_SYM && isSigned && q == lo) return -hi;
        return q;
    }
    // Which side did it leave on? With tooBig the sign of raw decides.
    const bool negative = tooBig ? raw < 0 : q < lo;
    switch (overflow) {
    case Overflow::SAT: return negative ? lo : hi;
    case Overflow::SAT_ZERO: return 0;
    case Overflow::SAT_SYM: return negative ? (isSigned ? -hi : 0) : hi;
    case Overflow::WRAP: {
        unsigned __int128 bits = (unsigned __int128)q & (((unsigned __int128)1 << width) - 1);
        if (satBits > 0) bits = saturateTopBits(bits, width, std::min(satBits, width), isSigned, negative);
        Int128 v = Int128(bits);
        if (isSigned && ((bits >> (width - 1)) & 1)) v -= pow2(width);
        return v;
    }
    }
    return q;
}

Int128 FixedType::castDouble(double v, CastStatus* status) const {
    if (std::isnan(v)) {
        if (status) status->overflow = true;
        return 0;
    }
    if (std::isinf(v)) {
        // Treat as an enormous value of the right sign.
        Int128 big = v > 0 ? pow2(125) : -pow2(125);
        return castRaw(big, -(kMaxWidth + 4), status);
    }
    if (v == 0.0) return castRaw(0, 0, status);
    int e;
    double m = std::frexp(v, &e);           // v = m * 2^e, 0.5 <= |m| < 1
    int64_t mant = int64_t(std::ldexp(m, 53));  // exact
    return castRaw(Int128(mant), 53 - e, status);
}

std::string int128ToString(Int128 v) {
    if (v == 0) return "0";
    bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    std::string s;
    while (u) { s.insert(s.begin(), char('0' + int(u % 10))); u /= 10; }
    return neg ? "-" + s : s;
}

std::string toString(Quant q) {
    switch (q) {
    case Quant::TRN: return "AP_TRN";
    case Quant::TRN_ZERO: return "AP_TRN_ZERO";
    case Quant::RND: return "AP_RND";
    case Quant::RND_ZERO: return "AP_RND_ZERO";
    case Quant::RND_INF: return "AP_RND_INF";
    case Quant::RND_MIN_INF: return "AP_RND_MIN_INF";
    case Quant::RND_CONV: return "AP_RND_CONV";
    }
    return "?";
}

std::string toString(Overflow o) {
    switch (o) {
    case Overflow::WRAP: return "AP_WRAP";
    case Overflow::SAT: return "AP_SAT";
    case Overflow::SAT_ZERO: return "AP_SAT_ZERO";
    case Overflow::SAT_SYM: return "AP_SAT_SYM";
    }
    return "?";
}

namespace {
std::string modeSuffix(const FixedType& t, bool apPrefix) {
    bool defQ = t.quant == Quant::TRN, defO = t.overflow == Overflow::WRAP && t.satBits == 0;
    if (defQ && defO) return "";
    auto strip = [&](std::string s) { return apPrefix ? s : s.substr(3); };
    std::string s = "," + strip(toString(t.quant));
    if (!defO) s += "," + strip(toString(t.overflow));
    if (t.satBits) s += "," + std::to_string(t.satBits);
    return s;
}
bool isIntegerType(const FixedType& t) {
    return t.integer == t.width && t.quant == Quant::TRN && t.overflow == Overflow::WRAP && t.satBits == 0;
}
}  // namespace

std::string FixedType::str() const {
    if (isIntegerType(*this))
        return std::string(isSigned ? "ap_int<" : "ap_uint<") + std::to_string(width) + ">";
    return std::string(isSigned ? "ap_fixed<" : "ap_ufixed<") + std::to_string(width) + "," +
           std::to_string(integer) + modeSuffix(*this, true) + ">";
}

std::string FixedType::hls4mlStr() const {
    if (isIntegerType(*this))
        return std::string(isSigned ? "int<" : "uint<") + std::to_string(width) + ">";
    return std::string(isSigned ? "fixed<" : "ufixed<") + std::to_string(width) + "," +
           std::to_string(integer) + modeSuffix(*this, false) + ">";
}

FixedType FixedType::parse(std::string_view text) {
    std::string s;
    for (char c : text)
        if (!std::isspace(static_cast<unsigned char>(c))) s += c;
    auto fail = [&](const std::string& why) -> FixedType {
        throw std::invalid_argument("invalid fixed-point type '" + std::string(text) + "': " + why);
    };
    auto lt = s.find('<');
    if (lt == std::string::npos || s.back() != '>') return fail("expected NAME<W,...>");
    std::string name = s.substr(0, lt);
    std::vector<std::string> args;
    {
        std::string inner = s.substr(lt + 1, s.size() - lt - 2), cur;
        for (char c : inner) {
            if (c == ',') { args.push_back(cur); cur.clear(); }
            else cur += c;
        }
        args.push_back(cur);
    }
    if (name.rfind("ap_", 0) == 0) name = name.substr(3);
    FixedType t;
    bool isInt;
    if (name == "fixed") { t.isSigned = true; isInt = false; }
    else if (name == "ufixed") { t.isSigned = false; isInt = false; }
    else if (name == "int") { t.isSigned = true; isInt = true; }
    else if (name == "uint") { t.isSigned = false; isInt = true; }
    else return fail("unknown type name '" + name + "' (expected ap_fixed, ap_ufixed, ap_int, ap_uint, fixed, ufixed, int or uint)");

    auto toInt = [&](const std::string& a, const char* what) {
        if (a.empty()) fail(std::string("missing ") + what);
        size_t pos = 0;
        int v = 0;
        try { v = std::stoi(a, &pos); } catch (...) { pos = 0; }
        if (pos != a.size()) fail(std::string(what) + " '" + a + "' is not an integer");
        return v;
    };
    t.width = toInt(args[0], "width");
    if (t.width < 1 || t.width > kMaxWidth)
        fail("width " + std::to_string(t.width) + " outside 1.." + std::to_string(kMaxWidth));
    if (isInt) {
        if (args.size() != 1) fail("integer types take exactly one argument");
        t.integer = t.width;
        return t;
    }
    if (args.size() < 2) fail("expected <W,I[,Q[,O[,N]]]>");
    if (args.size() > 5) fail("too many arguments");
    t.integer = toInt(args[1], "integer bits");
    auto upper = [](std::string a) {
        for (auto& c : a) c = char(std::toupper(static_cast<unsigned char>(c)));
        if (a.rfind("AP_", 0) != 0) a = "AP_" + a;
        return a;
    };
    if (args.size() >= 3) {
        std::string q = upper(args[2]);
        bool ok = false;
        for (Quant m : {Quant::TRN, Quant::TRN_ZERO, Quant::RND, Quant::RND_ZERO, Quant::RND_INF,
                        Quant::RND_MIN_INF, Quant::RND_CONV})
            if (toString(m) == q) { t.quant = m; ok = true; }
        if (!ok) fail("unknown quantisation mode '" + args[2] + "'");
    }
    if (args.size() >= 4) {
        std::string o = upper(args[3]);
        bool ok = false;
        for (Overflow m : {Overflow::WRAP, Overflow::SAT, Overflow::SAT_ZERO, Overflow::SAT_SYM})
            if (toString(m) == o) { t.overflow = m; ok = true; }
        if (!ok) fail("unknown overflow mode '" + args[3] + "'");
    }
    if (args.size() == 5) {
        t.satBits = toInt(args[4], "saturation bits");
        if (t.satBits < 0 || t.satBits > t.width) fail("saturation bits outside 0..W");
    }
    return t;
}

}  // namespace tachyon
