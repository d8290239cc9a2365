// The server's per-tensor conversions: the vectorised finiteness check must find exactly
// the first NaN or infinity at every position and stay silent on every finite value
// (the largest, the smallest subnormal, negative zero), and castAll must equal the
// datatype's own conversion.
#include "serve/Status.h"
#include "serve/Tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace tachyon::serve;

TEST(ServeTensor, FirstNonFiniteFindsEachPosition) {
    const double finite[] = {0.0, -0.0, 1.0, -1.5, std::numeric_limits<double>::max(),
                             -std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::min(), 1e308, -1e-308};
    for (size_t n : {size_t(0), size_t(1), size_t(3), size_t(8), size_t(17), size_t(1000)}) {
        std::vector<double> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = finite[i % std::size(finite)];
        EXPECT_EQ(firstNonFinite(v.data(), n), n) << n;
        for (double bad : {std::nan(""), -std::nan(""), std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()}) {
            for (size_t at : {size_t(0), n / 2, n ? n - 1 : 0}) {
                if (at >= n) continue;
                std::vector<double> w = v;
                w[at] = bad;
                if (at + 1 < n) w[n - 1] = std::numeric_limits<double>::infinity();   // a later one is not reported
                EXPECT_EQ(firstNonFinite(w.data(), n), at) << n << " " << at << " " << bad;
            }
        }
    }
}

TEST(ServeTensor, CastAllMatchesTheDatatype) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1e6, 1e6);
    std::vector<double> v(257);
    for (double& x : v) x = u(rng);
    v[0] = 300.7;   // past INT8 and UINT8
    v[1] = -300.7;
    auto fp32 = v, i8 = v, u16 = v, i64 = v;
    castAll("FP32", fp32);
    castAll("INT8", i8);
    castAll("UINT16", u16);
    castAll("INT64", i64);
    for (size_t i = 0; i < v.size(); ++i) {
        EXPECT_EQ(fp32[i], double(float(v[i])));
        EXPECT_EQ(i8[i], double(int8_t(std::clamp(v[i], -128.0, 127.0))));
        EXPECT_EQ(u16[i], double(uint16_t(std::clamp(v[i], 0.0, 65535.0))));
        EXPECT_EQ(i64[i], double(int64_t(v[i])));
    }
    EXPECT_THROW(castAll("BYTES", fp32), ServeError);
}
