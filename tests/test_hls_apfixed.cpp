// The bundled ap_fixed/ap_int/hls::stream headers (src/backends/hls/include) must compute
// exactly what tachyon::FixedType::castRaw computes. Small types are checked exhaustively:
// every raw value of a source type is converted into destination types covering every
// quantisation and overflow mode (and saturation bits), and every pair of operand values
// is added, multiplied and accumulated.
#include "backends/hls/include/ap_fixed.h"
#include "backends/hls/include/hls_stream.h"
#include "fixed/FixedType.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <tuple>
#include <utility>

using tachyon::FixedType;
using tachyon::Int128;

namespace {

tachyon::Quant toQuant(ap_q_mode q) {
    switch (q) {
    case AP_TRN: return tachyon::Quant::TRN;
    case AP_TRN_ZERO: return tachyon::Quant::TRN_ZERO;
    case AP_RND: return tachyon::Quant::RND;
    case AP_RND_ZERO: return tachyon::Quant::RND_ZERO;
    case AP_RND_INF: return tachyon::Quant::RND_INF;
    case AP_RND_MIN_INF: return tachyon::Quant::RND_MIN_INF;
    case AP_RND_CONV: return tachyon::Quant::RND_CONV;
    }
    return tachyon::Quant::TRN;
}

tachyon::Overflow toOverflow(ap_o_mode o) {
    switch (o) {
    case AP_SAT: return tachyon::Overflow::SAT;
    case AP_SAT_ZERO: return tachyon::Overflow::SAT_ZERO;
    case AP_SAT_SYM: return tachyon::Overflow::SAT_SYM;
    default: return tachyon::Overflow::WRAP;
    }
}

template <class T> FixedType typeOf() {
    FixedType t;
    t.width = T::width;
    t.integer = T::iwidth;
    t.isSigned = T::sign_flag;
    t.quant = toQuant(T::qmode);
    t.overflow = toOverflow(T::omode);
    t.satBits = T::sat_bits;
    return t;
}

// Set a value from its raw integer through the public bit-slice API.
template <class T> T fromRaw(int64_t raw) {
    T x;
    x.range(T::width - 1, 0) = raw;
    return x;
}

// Raw integer of a value through the public API: the bit pattern, sign-extended.
template <class T> int64_t rawOf(const T& x) {
    uint64_t bits = x.range(T::width - 1, 0).to_uint64();
    if (T::sign_flag && T::width < 64 && ((bits >> (T::width - 1)) & 1)) bits |= ~0ULL << T::width;
    return int64_t(bits);
}

template <class T> std::vector<int64_t> allRaws() {
    FixedType t = typeOf<T>();
    std::vector<int64_t> v;
    for (Int128 r = t.minRaw(); r <= t.maxRaw(); ++r) v.push_back(int64_t(r));
    return v;
}

// Destination shapes: ordinary, integer bits beyond the width, negative integer bits,
// unsigned; each instantiated with every Q x O mode (and N for WRAP).
template <ap_q_mode Q, ap_o_mode O, int N>
using Dests = std::tuple<ap_fixed<5, 2, Q, O, N>, ap_ufixed<4, 1, Q, O, N>, ap_fixed<4, 6, Q, O, N>,
                         ap_fixed<4, -1, Q, O, N>, ap_ufixed<3, 4, Q, O, N>>;

template <class Tuple, class F> void forEachType(F&& f) {
    std::apply([&](auto... t) { (f(t), ...); }, Tuple{});
}

// Call f(destValue) for every destination type of every mode.
template <class F> void forEachDest(F&& f) {
    auto withModes = [&](auto qTag) {
        constexpr ap_q_mode Q = decltype(qTag)::value;
        forEachType<Dests<Q, AP_WRAP, 0>>(f);
        forEachType<Dests<Q, AP_WRAP, 1>>(f);
        forEachType<Dests<Q, AP_WRAP, 2>>(f);
        forEachType<Dests<Q, AP_SAT, 0>>(f);
        forEachType<Dests<Q, AP_SAT_ZERO, 0>>(f);
        forEachType<Dests<Q, AP_SAT_SYM, 0>>(f);
    };
    withModes(std::integral_constant<ap_q_mode, AP_TRN>{});
    withModes(std::integral_constant<ap_q_mode, AP_TRN_ZERO>{});
    withModes(std::integral_constant<ap_q_mode, AP_RND>{});
    withModes(std::integral_constant<ap_q_mode, AP_RND_ZERO>{});
    withModes(std::integral_constant<ap_q_mode, AP_RND_INF>{});
    withModes(std::integral_constant<ap_q_mode, AP_RND_MIN_INF>{});
    withModes(std::integral_constant<ap_q_mode, AP_RND_CONV>{});
}

using Sources = std::tuple<ap_fixed<9, 3>, ap_ufixed<8, 5>, ap_fixed<6, -1>, ap_fixed<7, 9>>;

}  // namespace

TEST(HlsApFixed, ConversionMatchesCastRawExhaustively) {
    size_t checked = 0;
    auto perSource = [&](auto srcTag) {
        using Src = decltype(srcTag);
        const FixedType srcT = typeOf<Src>();
        forEachDest([&](auto dstTag) {
            using Dst = decltype(dstTag);
            const FixedType dstT = typeOf<Dst>();
            for (int64_t r : allRaws<Src>()) {
                Src x = fromRaw<Src>(r);
                ASSERT_EQ(rawOf(x), r);
                Dst y = x;  // conversion with Dst's modes
                int64_t want = int64_t(dstT.castRaw(r, srcT.frac()));
                ASSERT_EQ(rawOf(y), want) << srcT.str() << " " << r << " -> " << dstT.str();
                ++checked;
            }
        });
    };
    std::apply([&](auto... s) { (perSource(s), ...); }, Sources{});
    EXPECT_GT(checked, 50000u);
}

TEST(HlsApFixed, AddMultiplyAccumulateMatchCastRaw) {
    using A = ap_fixed<5, 2>;
    using B = ap_ufixed<4, 3>;
    const FixedType aT = typeOf<A>(), bT = typeOf<B>();
    // Result types follow the UG1399 width rules, so the operators are exact.
    static_assert(decltype(A() * B())::width == 9 && decltype(A() * B())::iwidth == 5, "mult type");
    static_assert(decltype(A() + B())::iwidth == 5 && decltype(A() + B())::width == 8, "plus type");
    static_assert(decltype(B() - B())::sign_flag, "minus is signed");
    size_t checked = 0;
    forEachDest([&](auto dstTag) {
        using Dst = decltype(dstTag);
        const FixedType dT = typeOf<Dst>();
        for (int64_t ra : allRaws<A>())
            for (int64_t rb : allRaws<B>()) {
                A a = fromRaw<A>(ra);
                B b = fromRaw<B>(rb);
                // Exact sum/difference/product in the finer of the two LSBs.
                const int f = std::max(aT.frac(), bT.frac());
                const Int128 sa = Int128(ra) << (f - aT.frac()), sb = Int128(rb) << (f - bT.frac());
                Dst s = a + b, d = a - b, p = a * b;
                ASSERT_EQ(rawOf(s), int64_t(dT.castRaw(sa + sb, f))) << dT.str();
                ASSERT_EQ(rawOf(d), int64_t(dT.castRaw(sa - sb, f))) << dT.str();
                ASSERT_EQ(rawOf(p), int64_t(dT.castRaw(Int128(ra) * rb, aT.frac() + bT.frac())));
                // acc += x*w: the product cast to the accumulator first, then the sum cast.
                Dst acc = fromRaw<Dst>(int64_t(dT.castRaw(ra, aT.frac())));
                Int128 accRaw = rawOf(acc);
                acc += Dst(a * b);
                Int128 prod = dT.castRaw(Int128(ra) * rb, aT.frac() + bT.frac());
                ASSERT_EQ(rawOf(acc), int64_t(dT.castRaw(accRaw + prod, dT.frac())));
                ++checked;
            }
    });
    EXPECT_GT(checked, 10000u);
}

TEST(HlsApFixed, DoublesAndIntsConvertLikeFixedType) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(-40.0, 40.0);
    forEachDest([&](auto dstTag) {
        using Dst = decltype(dstTag);
        const FixedType dT = typeOf<Dst>();
        for (int k = 0; k < 300; ++k) {
            double v = k < 100 ? std::ldexp(std::round(u(rng) * 64), -6) : u(rng);
            Dst x = v;
            ASSERT_EQ(rawOf(x), int64_t(dT.castDouble(v))) << dT.str() << " " << v;
            int n = int(v);
            Dst y = n;
            ASSERT_EQ(rawOf(y), int64_t(dT.castRaw(n, 0))) << dT.str() << " " << n;
        }
    });
}

TEST(HlsApFixed, WideTypesAndValueAccessors) {
    using Acc = ap_fixed<64, 30, AP_RND, AP_SAT>;
    using Wt = ap_fixed<32, 4>;
    const FixedType accT = typeOf<Acc>(), wT = typeOf<Wt>();
    std::mt19937_64 rng(3);
    for (int k = 0; k < 20000; ++k) {
        int64_t rw = int64_t(rng() >> 32) - (int64_t(1) << 31);
        int64_t ra = int64_t(rng());
        Wt w = fromRaw<Wt>(rw);
        Acc a = fromRaw<Acc>(ra);
        ASSERT_EQ(rawOf(a), ra);
        Acc p = w * a;  // 96-bit exact product, rounded and saturated into 64 bits
        ASSERT_EQ(rawOf(p), int64_t(accT.castRaw(Int128(rw) * ra, wT.frac() + accT.frac())));
        Acc s = a;
        s += w;
        int f = accT.frac();
        ASSERT_EQ(rawOf(s), int64_t(accT.castRaw(Int128(ra) + (Int128(rw) << (f - wT.frac())), f)));
    }
    ap_fixed<8, 4> x = -2.75;
    EXPECT_EQ(x.to_double(), -2.75);
    EXPECT_EQ(x.to_float(), -2.75f);
    EXPECT_EQ(x.to_int(), -2);  // towards zero
    EXPECT_EQ((-x).to_double(), 2.75);
    EXPECT_TRUE(x < 0 && x > -3 && x != 1 && x == -2.75 && -x > x);
    std::ostringstream os;
    os << x;
    EXPECT_EQ(os.str(), "-2.75");
    ap_uint<8> bits = x.range(7, 0);          // the two's-complement pattern 1101.0100
    EXPECT_EQ(bits.to_uint(), 0xD4u);
    EXPECT_EQ(x.range(7, 4).to_uint(), 0xDu);
    x.range(3, 0) = 0xF;                     // 1101.1111 = -2.0625
    EXPECT_EQ(x.to_double(), -2.0625);
    ap_int<6> k = -20;
    EXPECT_EQ((k >> 2).to_int(), -5);        // arithmetic shift inside the type
    ap_int<6> k2 = k >> 1;                   // an operator result converts to the derived type
    EXPECT_EQ(k2.to_int(), -10);
    EXPECT_EQ(int(k) + 1, -19);              // integer types convert to native integers
    ap_uint<4> u = 17;                       // wraps
    EXPECT_EQ(u.to_int(), 1);
}

TEST(HlsApFixed, StreamIsAFifo) {
    hls::stream<ap_fixed<8, 3>> s("s");
    EXPECT_TRUE(s.empty());
    for (int i = 0; i < 5; ++i) s << ap_fixed<8, 3>(i * 0.5);
    s.write(ap_fixed<8, 3>(-1));
    EXPECT_EQ(s.size(), 6u);
    ap_fixed<8, 3> v;
    s >> v;
    EXPECT_EQ(v.to_double(), 0.0);
    EXPECT_EQ(s.read().to_double(), 0.5);
    ap_fixed<8, 3> w;
    s.read(w);
    EXPECT_EQ(w.to_double(), 1.0);
    EXPECT_TRUE(s.read_nb(w));
    EXPECT_EQ(s.size(), 2u);
    s.read();
    EXPECT_EQ(s.read().to_double(), -1.0);
    EXPECT_FALSE(s.read_nb(w));
}
