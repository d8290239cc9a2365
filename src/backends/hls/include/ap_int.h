// Arbitrary-precision fixed-point and integer types for C simulation without vendor tools.
//
// Written for Tachyon from the semantics in AMD/Xilinx UG1399 ("Arbitrary Precision Data
// Types"); it implements the subset of the ap_fixed / ap_ufixed / ap_int / ap_uint API that
// generated firmware uses, with conversion results identical to tachyon::FixedType::castRaw
// (quantisation first, then overflow). Generated code only uses the standard API, so the same
// sources also compile against the vendor headers.
//
// Model: every type is ap_fixed_base<W, I, S, Q, O, N>; a value is the integer V (kept
// sign- or zero-extended in an __int128) times 2^-(W-I). Operators are exact: their result
// types are wide enough (UG1399 rules: a*b has W1+W2 bits and I1+I2 integer bits, a+b one
// more integer bit than the wider operand, a-b is always signed) and only an assignment or a
// conversion into a narrower type rounds/overflows, using the destination's Q/O/N modes.
// Supported widths: 1..64 for user types; operator results may use up to 128 bits (signed).
#ifndef TACHYON_AP_INT_H
#define TACHYON_AP_INT_H

#include <cmath>
#include <cstdint>
#include <ostream>
#include <type_traits>

enum ap_q_mode { AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN, AP_TRN_ZERO };
enum ap_o_mode { AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP, AP_WRAP_SM };

typedef long long ap_slong;
typedef unsigned long long ap_ulong;

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N> struct ap_fixed_base;
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N> struct af_range_ref;
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N> struct af_bit_ref;
template <int W> struct ap_uint;

namespace ap_detail {

typedef __int128 i128;
typedef unsigned __int128 u128;

constexpr i128 pow2(int n) { return (i128)((u128)1 << n); }   // n <= 126
constexpr i128 shl(i128 v, int n) { return (i128)((u128)v << n); }  // wraps, no UB

constexpr i128 min_raw(int w, bool s) { return s ? -(i128)((u128)1 << (w - 1)) : 0; }
constexpr i128 max_raw(int w, bool s) {
    if (s) return (i128)(((u128)1 << (w - 1)) - 1);
    return (i128)(((u128)1 << w) - 1);  // unsigned widths stay below 127
}

// Keep the low w bits of v and sign-extend (signed) or zero-extend (unsigned) them.
constexpr i128 wrap_bits(i128 v, int w, bool s) {
    if (w >= 128) return v;
    u128 bits = (u128)v & (((u128)1 << w) - 1);
    if (s && ((bits >> (w - 1)) & 1)) return (i128)(bits | ~(((u128)1 << w) - 1));
    return (i128)bits;
}

// Round raw * 2^-shift to an integer (shift > 0) with quantisation mode q.
constexpr i128 quantise(i128 raw, int shift, ap_q_mode q) {
    i128 floor_q = 0;
    bool rem_zero = false;
    int cmp_half = 0;  // sign of (remainder - half an output LSB)
    if (shift >= 127) {
        // |raw| < 2^126 <= half an LSB: the value lies strictly inside (-half, half).
        floor_q = raw >= 0 ? 0 : -1;
        rem_zero = raw == 0;
        cmp_half = raw >= 0 ? -1 : +1;
    } else {
        floor_q = raw >> shift;  // arithmetic shift: floor
        i128 rem = raw - shl(floor_q, shift);
        i128 half = pow2(shift - 1);
        rem_zero = rem == 0;
        cmp_half = rem < half ? -1 : (rem == half ? 0 : 1);
    }
    const bool negative = raw < 0;
    switch (q) {
    case AP_TRN: return floor_q;
    case AP_TRN_ZERO: return (negative && !rem_zero) ? floor_q + 1 : floor_q;
    case AP_RND: return cmp_half >= 0 ? floor_q + 1 : floor_q;
    case AP_RND_ZERO:
        return (cmp_half > 0 || (cmp_half == 0 && negative)) ? floor_q + 1 : floor_q;
    case AP_RND_INF:
        return (cmp_half > 0 || (cmp_half == 0 && !negative)) ? floor_q + 1 : floor_q;
    case AP_RND_MIN_INF: return cmp_half > 0 ? floor_q + 1 : floor_q;
    case AP_RND_CONV:
        return (cmp_half > 0 || (cmp_half == 0 && (floor_q & 1))) ? floor_q + 1 : floor_q;
    }
    return floor_q;
}

// The conversion of the exact value raw * 2^-frac_bits into ap_fixed_base<w,i,s,q,o,n>:
// quantisation first, then overflow handling. |raw| must be below 2^126.
constexpr i128 cast_raw(i128 raw, int frac_bits, int w, int i, bool s, ap_q_mode q, ap_o_mode o,
                     int n) {
    const int shift = frac_bits - (w - i);
    i128 v = 0;
    bool huge = false;  // certainly beyond the range of any destination before wrapping
    if (shift > 0) {
        v = quantise(raw, shift, q);
    } else if (shift < 0) {
        const int up = -shift;
        if (up >= 127) {
            huge = raw != 0;
            v = 0;
        } else {
            i128 limit = pow2(126 - (up < 126 ? up : 126));
            huge = raw >= limit || raw <= -limit;
            v = shl(raw, up);  // low bits stay exact for wrapping
        }
    } else {
        v = raw;
    }
    const i128 lo = min_raw(w, s), hi = max_raw(w, s);
    if (!huge && v >= lo && v <= hi) {
        if (o == AP_SAT_SYM && s && v == lo) return -hi;
        return v;
    }
    const bool negative = huge ? raw < 0 : v < lo;
    switch (o) {
    case AP_SAT: return negative ? lo : hi;
    case AP_SAT_ZERO: return 0;
    case AP_SAT_SYM: return negative ? (s ? -hi : 0) : hi;
    default: break;  // AP_WRAP
    }
    if (n <= 0) return wrap_bits(v, w, s);
    // AP_WRAP with N saturation bits (UG1399): signed types keep the source's sign in the
    // sign bit and put its inverse in the next N-1 bits; unsigned types set their N most
    // significant bits to 1 on any overflow or underflow.
    u128 bits = (u128)v & (w >= 128 ? ~(u128)0 : (((u128)1 << w) - 1));
    const int sat = n < w ? n : w;
    for (int b = w - sat; b < w; ++b) {
        const bool one = !s || (b == w - 1 ? negative : !negative);
        u128 m = (u128)1 << b;
        bits = one ? (bits | m) : (bits & ~m);
    }
    return wrap_bits((i128)bits, w, s);
}

// frexp that compilers can evaluate in constant expressions, so that constant tables of
// ap types are initialised at compile time (fast C simulation builds): GCC folds its
// builtin; elsewhere exact halving/doubling finds the exponent.
constexpr double const_frexp(double a, int* e) {
#if defined(__GNUC__) && !defined(__clang__)
    return __builtin_frexp(a, e);
#else
    int k = 0;
    double m = a < 0 ? -a : a;
    while (m >= 1.0) { m *= 0.5; ++k; }
    while (m < 0.5) { m *= 2.0; --k; }
    *e = k;
    return a < 0 ? -m : m;
#endif
}

// Any finite double is mantissa * 2^exp exactly, so it converts like any other exact value.
constexpr i128 cast_double(double d, int w, int i, bool s, ap_q_mode q, ap_o_mode o, int n) {
    if (d != d) return 0;  // NaN
    if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
        return cast_raw(d > 0 ? pow2(125) : -pow2(125), -(64 + 4), w, i, s, q, o, n);
    if (d == 0.0) return 0;
    int e = 0;
    const double m = const_frexp(d, &e);                 // d = m * 2^e, 0.5 <= |m| < 1
    const i128 mant = (i128)(long long)(m * 9007199254740992.0);  // m * 2^53, exact
    return cast_raw(mant, 53 - e, w, i, s, q, o, n);
}

inline double raw_to_double(i128 raw, int frac) {
    // Up to 64 bits: one correctly rounded conversion. Wider raws (operator results only):
    // exact high part plus the low 64 bits.
    if ((raw >> 63) == 0 || (raw >> 63) == -1) return std::ldexp((double)(long long)raw, -frac);
    long long hi = (long long)(raw >> 64);
    unsigned long long lo = (unsigned long long)raw;
    return std::ldexp(std::ldexp((double)hi, 64) + (double)lo, -frac);
}

// Exact comparison of a * 2^-fa with b * 2^-fb: sign of (a - b) after aligning.
inline int compare(i128 a, int fa, i128 b, int fb) {
    if (fa < fb) return -compare(b, fb, a, fa);
    // fa >= fb: scale b up; if that would overflow, b's magnitude dominates.
    const int up = fa - fb;
    if (b != 0 && up >= 1) {
        i128 limit = up >= 126 ? 1 : pow2(126 - up);
        if (b >= limit) return -1;
        if (b <= -limit) return 1;
    }
    i128 bs = up >= 126 ? 0 : shl(b, up);
    return a < bs ? -1 : (a > bs ? 1 : 0);
}

struct raw_tag {};
struct no_conversion { no_conversion() = delete; };

// The ap type a native integer behaves as in mixed arithmetic (UG1399: int is ap_int<32>).
template <class T> struct native_int {
    static const int width = std::is_same<T, bool>::value ? 1 : int(sizeof(T) * 8);
    static const bool is_signed = std::is_signed<T>::value;
    typedef ap_fixed_base<width, width, is_signed, AP_TRN, AP_WRAP, 0> type;
};

template <class T, class R = void>
using if_native_int = typename std::enable_if<std::is_integral<T>::value, R>::type;
template <class T, class R = void>
using if_native_float = typename std::enable_if<std::is_floating_point<T>::value, R>::type;

constexpr int max_int(int a, int b) { return a > b ? a : b; }

}  // namespace ap_detail

// ---------------------------------------------------------------------------------------
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
struct ap_fixed_base {
    static_assert(W >= 1 && W <= 128, "ap types support widths 1..64 (operator results up to 128)");
    static_assert(S || W <= 127, "unsigned results wider than 127 bits are not supported");
    static_assert(O != AP_WRAP_SM, "AP_WRAP_SM is not supported by this header");

    static const int width = W;
    static const int iwidth = I;
    static const bool sign_flag = S;
    static const ap_q_mode qmode = Q;
    static const ap_o_mode omode = O;
    static const int sat_bits = N;  // not in the vendor API; for introspection in tests

    ap_detail::i128 V;  // the raw integer, always within [min_raw, max_raw]

    constexpr ap_fixed_base() : V(0) {}
    constexpr ap_fixed_base(ap_detail::raw_tag, ap_detail::i128 raw) : V(raw) {}

    template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2>
    constexpr ap_fixed_base(const ap_fixed_base<W2, I2, S2, Q2, O2, N2>& o)
        : V(ap_detail::cast_raw(o.V, W2 - I2, W, I, S, Q, O, N)) {}

    template <class T, class = ap_detail::if_native_int<T>>
    constexpr ap_fixed_base(T v) : V(ap_detail::cast_raw((ap_detail::i128)v, 0, W, I, S, Q, O, N)) {}

    constexpr ap_fixed_base(double d) : V(ap_detail::cast_double(d, W, I, S, Q, O, N)) {}
    constexpr ap_fixed_base(float f) : V(ap_detail::cast_double(f, W, I, S, Q, O, N)) {}

    // A bit slice converts as the unsigned integer it holds.
    template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2>
    ap_fixed_base(const af_range_ref<W2, I2, S2, Q2, O2, N2>& r)
        : V(ap_detail::cast_raw((ap_detail::i128)r.bits(), 0, W, I, S, Q, O, N)) {}

    // ---- conversions out
    double to_double() const { return ap_detail::raw_to_double(V, W - I); }
    float to_float() const { return (float)to_double(); }
    // Integer part, truncated towards zero (like a C cast).
    ap_detail::i128 integer_part() const {
        const int f = W - I;
        if (f <= 0) return ap_detail::shl(V, -f);
        if (f >= 127) return 0;
        ap_detail::i128 q = V >> f;  // floor
        if (V < 0 && ap_detail::shl(q, f) != V) q += 1;
        return q;
    }
    int to_int() const { return (int)integer_part(); }
    unsigned to_uint() const { return (unsigned)integer_part(); }
    long to_long() const { return (long)integer_part(); }
    unsigned long to_ulong() const { return (unsigned long)integer_part(); }
    ap_slong to_int64() const { return (ap_slong)integer_part(); }
    ap_ulong to_uint64() const { return (ap_ulong)integer_part(); }
    int length() const { return W; }
    bool is_neg() const { return V < 0; }
    bool iszero() const { return V == 0; }

    // Integer-valued types (ap_int / ap_uint and their operator results) convert to native
    // integers implicitly, as in the vendor headers; fixed-point types do not.
    typedef typename std::conditional<
        (I == W && Q == AP_TRN && O == AP_WRAP && N == 0),
        typename std::conditional<S, ap_slong, ap_ulong>::type, ap_detail::no_conversion>::type
        native_type;
    operator native_type() const { return (native_type)V; }

    // ---- bit access
    af_range_ref<W, I, S, Q, O, N> range(int hi, int lo) { return {this, hi, lo}; }
    af_range_ref<W, I, S, Q, O, N> range(int hi, int lo) const {
        return {const_cast<ap_fixed_base*>(this), hi, lo};
    }
    af_range_ref<W, I, S, Q, O, N> range() const { return range(W - 1, 0); }
    af_range_ref<W, I, S, Q, O, N> operator()(int hi, int lo) const { return range(hi, lo); }
    af_bit_ref<W, I, S, Q, O, N> operator[](int i) const {
        return {const_cast<ap_fixed_base*>(this), i};
    }
    af_bit_ref<W, I, S, Q, O, N> bit(int i) const { return (*this)[i]; }

    // ---- compound assignment: exact operation, then conversion into this type
    template <class T> ap_fixed_base& operator+=(const T& b) { return *this = ap_fixed_base(*this + b); }
    template <class T> ap_fixed_base& operator-=(const T& b) { return *this = ap_fixed_base(*this - b); }
    template <class T> ap_fixed_base& operator*=(const T& b) { return *this = ap_fixed_base(*this * b); }
    ap_fixed_base& operator++() { return *this += 1; }
    ap_fixed_base& operator--() { return *this -= 1; }
    ap_fixed_base operator++(int) { ap_fixed_base t = *this; *this += 1; return t; }
    ap_fixed_base operator--(int) { ap_fixed_base t = *this; *this -= 1; return t; }

    // Shifts move the bit pattern inside this type (bits shifted out are lost).
    ap_fixed_base operator<<(int n) const {
        if (n < 0) return *this >> -n;
        return {ap_detail::raw_tag(), ap_detail::wrap_bits(n >= 128 ? 0 : ap_detail::shl(V, n), W, S)};
    }
    ap_fixed_base operator>>(int n) const {
        if (n < 0) return *this << -n;
        return {ap_detail::raw_tag(), n >= 127 ? (V < 0 ? -1 : 0) : (V >> n)};
    }
    ap_fixed_base& operator<<=(int n) { return *this = *this << n; }
    ap_fixed_base& operator>>=(int n) { return *this = *this >> n; }

    // Bitwise operations on the W-bit pattern of this type.
    ap_fixed_base operator~() const { return {ap_detail::raw_tag(), ap_detail::wrap_bits(~V, W, S)}; }
    ap_fixed_base operator&(const ap_fixed_base& b) const { return {ap_detail::raw_tag(), V & b.V}; }
    ap_fixed_base operator|(const ap_fixed_base& b) const { return {ap_detail::raw_tag(), V | b.V}; }
    ap_fixed_base operator^(const ap_fixed_base& b) const { return {ap_detail::raw_tag(), V ^ b.V}; }
    bool operator!() const { return V == 0; }

    ap_fixed_base<W + 1, I + 1, true, AP_TRN, AP_WRAP, 0> operator-() const {
        return {ap_detail::raw_tag(), -V};
    }
    ap_fixed_base operator+() const { return *this; }
};

// ---- bit slices ------------------------------------------------------------------------
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
struct af_range_ref {
    typedef ap_fixed_base<W, I, S, Q, O, N> ref_type;
    ref_type* d_bv;
    int h_index, l_index;

    af_range_ref(ref_type* bv, int h, int l) : d_bv(bv), h_index(h), l_index(l) {}
    af_range_ref(const af_range_ref&) = default;

    int length() const { return h_index - l_index + 1; }
    ap_detail::u128 mask() const {
        return length() >= 128 ? ~(ap_detail::u128)0 : (((ap_detail::u128)1 << length()) - 1);
    }
    // The selected bits of the W-bit two's-complement pattern, as an unsigned integer.
    ap_detail::u128 bits() const { return ((ap_detail::u128)d_bv->V >> l_index) & mask(); }
    void set_bits(ap_detail::u128 v) {
        ap_detail::u128 m = mask() << l_index;
        ap_detail::u128 all = ((ap_detail::u128)d_bv->V & ~m) | ((v << l_index) & m);
        d_bv->V = ap_detail::wrap_bits((ap_detail::i128)all, W, S);
    }

    template <class T, class = ap_detail::if_native_int<T>>
    af_range_ref& operator=(T v) { set_bits((ap_detail::u128)(ap_detail::i128)v); return *this; }
    template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2>
    af_range_ref& operator=(const ap_fixed_base<W2, I2, S2, Q2, O2, N2>& v) {
        set_bits((ap_detail::u128)v.V);
        return *this;
    }
    template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2>
    af_range_ref& operator=(const af_range_ref<W2, I2, S2, Q2, O2, N2>& r) {
        set_bits(r.bits());
        return *this;
    }
    af_range_ref& operator=(const af_range_ref& r) { set_bits(r.bits()); return *this; }

    operator ap_ulong() const { return (ap_ulong)bits(); }
    int to_int() const { return (int)bits(); }
    unsigned to_uint() const { return (unsigned)bits(); }
    long to_long() const { return (long)bits(); }
    unsigned long to_ulong() const { return (unsigned long)bits(); }
    ap_slong to_int64() const { return (ap_slong)bits(); }
    ap_ulong to_uint64() const { return (ap_ulong)bits(); }
    ap_uint<W> get() const;
};

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
struct af_bit_ref {
    ap_fixed_base<W, I, S, Q, O, N>* d_bv;
    int d_index;
    af_bit_ref(ap_fixed_base<W, I, S, Q, O, N>* bv, int i) : d_bv(bv), d_index(i) {}
    operator bool() const { return ((ap_detail::u128)d_bv->V >> d_index) & 1; }
    bool get() const { return bool(*this); }
    af_bit_ref& operator=(bool b) {
        af_range_ref<W, I, S, Q, O, N>(d_bv, d_index, d_index) = (int)b;
        return *this;
    }
    af_bit_ref& operator=(const af_bit_ref& o) { return *this = bool(o); }
};

// ---- exact arithmetic between ap types ------------------------------------------------
#define AP_FIXED_PARAMS(n) int W##n, int I##n, bool S##n, ap_q_mode Q##n, ap_o_mode O##n, int N##n
#define AP_FIXED_TYPE(n) ap_fixed_base<W##n, I##n, S##n, Q##n, O##n, N##n>

namespace ap_detail {
// UG1399 result types. An unsigned operand mixed with a signed one needs one more integer
// bit to keep its range once it is signed.
template <AP_FIXED_PARAMS(1), AP_FIXED_PARAMS(2)> struct result {
    static const int F1 = W1 - I1, F2 = W2 - I2;
    static const int frac = max_int(F1, F2);
    static const int int_sum =
        max_int(I1 + (S2 && !S1 ? 1 : 0), I2 + (S1 && !S2 ? 1 : 0)) + 1;
    typedef ap_fixed_base<int_sum + frac, int_sum, S1 || S2, AP_TRN, AP_WRAP, 0> plus;
    typedef ap_fixed_base<int_sum + frac, int_sum, true, AP_TRN, AP_WRAP, 0> minus;
    typedef ap_fixed_base<W1 + W2, I1 + I2, S1 || S2, AP_TRN, AP_WRAP, 0> mult;
};
}  // namespace ap_detail

template <AP_FIXED_PARAMS(1), AP_FIXED_PARAMS(2)>
typename ap_detail::result<W1, I1, S1, Q1, O1, N1, W2, I2, S2, Q2, O2, N2>::plus
operator+(const AP_FIXED_TYPE(1)& a, const AP_FIXED_TYPE(2)& b) {
    typedef ap_detail::result<W1, I1, S1, Q1, O1, N1, W2, I2, S2, Q2, O2, N2> R;
    return {ap_detail::raw_tag(), ap_detail::shl(a.V, R::frac - R::F1) + ap_detail::shl(b.V, R::frac - R::F2)};
}

template <AP_FIXED_PARAMS(1), AP_FIXED_PARAMS(2)>
typename ap_detail::result<W1, I1, S1, Q1, O1, N1, W2, I2, S2, Q2, O2, N2>::minus
operator-(const AP_FIXED_TYPE(1)& a, const AP_FIXED_TYPE(2)& b) {
    typedef ap_detail::result<W1, I1, S1, Q1, O1, N1, W2, I2, S2, Q2, O2, N2> R;
    return {ap_detail::raw_tag(), ap_detail::shl(a.V, R::frac - R::F1) - ap_detail::shl(b.V, R::frac - R::F2)};
}

template <AP_FIXED_PARAMS(1), AP_FIXED_PARAMS(2)>
typename ap_detail::result<W1, I1, S1, Q1, O1, N1, W2, I2, S2, Q2, O2, N2>::mult
operator*(const AP_FIXED_TYPE(1)& a, const AP_FIXED_TYPE(2)& b) {
    return {ap_detail::raw_tag(), a.V * b.V};
}

#define AP_FIXED_COMPARE(OP)                                                               \
    template <AP_FIXED_PARAMS(1), AP_FIXED_PARAMS(2)>                                      \
    bool operator OP(const AP_FIXED_TYPE(1)& a, const AP_FIXED_TYPE(2)& b) {               \
        return ap_detail::compare(a.V, W1 - I1, b.V, W2 - I2) OP 0;                       \
    }                                                                                      \
    template <AP_FIXED_PARAMS(1), class T, class = ap_detail::if_native_int<T>>            \
    bool operator OP(const AP_FIXED_TYPE(1)& a, T b) {                                     \
        return a OP typename ap_detail::native_int<T>::type(b);                            \
    }                                                                                      \
    template <AP_FIXED_PARAMS(1), class T, class = ap_detail::if_native_int<T>>            \
    bool operator OP(T a, const AP_FIXED_TYPE(1)& b) {                                     \
        return typename ap_detail::native_int<T>::type(a) OP b;                            \
    }                                                                                      \
    template <AP_FIXED_PARAMS(1), class T, class = ap_detail::if_native_float<T>, int = 0> \
    bool operator OP(const AP_FIXED_TYPE(1)& a, T b) { return a.to_double() OP double(b); } \
    template <AP_FIXED_PARAMS(1), class T, class = ap_detail::if_native_float<T>, int = 0> \
    bool operator OP(T a, const AP_FIXED_TYPE(1)& b) { return double(a) OP b.to_double(); }
AP_FIXED_COMPARE(==)
AP_FIXED_COMPARE(!=)
AP_FIXED_COMPARE(<)
AP_FIXED_COMPARE(<=)
AP_FIXED_COMPARE(>)
AP_FIXED_COMPARE(>=)
#undef AP_FIXED_COMPARE

// Native integers in arithmetic behave as the ap_int of their width.
#define AP_FIXED_NATIVE_ARITH(OP)                                                          \
    template <AP_FIXED_PARAMS(1), class T, class = ap_detail::if_native_int<T>>            \
    auto operator OP(const AP_FIXED_TYPE(1)& a, T b)                                       \
        -> decltype(a OP typename ap_detail::native_int<T>::type(b)) {                     \
        return a OP typename ap_detail::native_int<T>::type(b);                            \
    }                                                                                      \
    template <AP_FIXED_PARAMS(1), class T, class = ap_detail::if_native_int<T>>            \
    auto operator OP(T a, const AP_FIXED_TYPE(1)& b)                                       \
        -> decltype(typename ap_detail::native_int<T>::type(a) OP b) {                     \
        return typename ap_detail::native_int<T>::type(a) OP b;                            \
    }
AP_FIXED_NATIVE_ARITH(+)
AP_FIXED_NATIVE_ARITH(-)
AP_FIXED_NATIVE_ARITH(*)
#undef AP_FIXED_NATIVE_ARITH

template <AP_FIXED_PARAMS(1)>
std::ostream& operator<<(std::ostream& os, const AP_FIXED_TYPE(1)& x) {
    return os << x.to_double();
}
template <AP_FIXED_PARAMS(1)>
std::ostream& operator<<(std::ostream& os, const af_range_ref<W1, I1, S1, Q1, O1, N1>& r) {
    return os << r.to_uint64();
}

#undef AP_FIXED_PARAMS
#undef AP_FIXED_TYPE

// ---- the four user-facing types --------------------------------------------------------
// Each inherits every constructor of its base. The conversion from any ap_fixed_base is
// also declared explicitly, because C++ does not let an inherited constructor take the
// derived type's own base (e.g. ap_uint<8> from the ap_fixed_base<8,8,false,...> that
// `u >> 1` returns).
#define AP_DERIVED_TYPE(NAME)                                                                 \
    using Base::ap_fixed_base;                                                                \
    NAME() = default;                                                                         \
    template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2>                    \
    constexpr NAME(const ap_fixed_base<W2, I2, S2, Q2, O2, N2>& o) : Base(o) {}

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_fixed : ap_fixed_base<W, I, true, Q, O, N> {
    typedef ap_fixed_base<W, I, true, Q, O, N> Base;
    AP_DERIVED_TYPE(ap_fixed)
};

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_ufixed : ap_fixed_base<W, I, false, Q, O, N> {
    typedef ap_fixed_base<W, I, false, Q, O, N> Base;
    AP_DERIVED_TYPE(ap_ufixed)
};

template <int W>
struct ap_int : ap_fixed_base<W, W, true, AP_TRN, AP_WRAP, 0> {
    typedef ap_fixed_base<W, W, true, AP_TRN, AP_WRAP, 0> Base;
    AP_DERIVED_TYPE(ap_int)
};

template <int W>
struct ap_uint : ap_fixed_base<W, W, false, AP_TRN, AP_WRAP, 0> {
    typedef ap_fixed_base<W, W, false, AP_TRN, AP_WRAP, 0> Base;
    AP_DERIVED_TYPE(ap_uint)
};
#undef AP_DERIVED_TYPE

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
ap_uint<W> af_range_ref<W, I, S, Q, O, N>::get() const {
    return ap_uint<W>(ap_fixed_base<W, W, false, AP_TRN, AP_WRAP, 0>(ap_detail::raw_tag(), (ap_detail::i128)bits()));
}

#endif  // TACHYON_AP_INT_H
