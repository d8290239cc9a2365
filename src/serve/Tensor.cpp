#include "serve/Tensor.h"

#include "serve/Status.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace tachyon::serve {

namespace {

template <class T>
void decodeAs(const char* data, size_t n, std::vector<double>& out) {
    out.resize(n);
    for (size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, data + i * sizeof(T), sizeof(T));
        out[i] = double(v);
    }
}

template <class T>
T clampTo(double v) {
    if (std::isnan(v)) return T(0);
    if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return T(v);
}

template <class T>
void encodeAs(const std::vector<double>& values, std::string& out) {
    out.resize(values.size() * sizeof(T));
    for (size_t i = 0; i < values.size(); ++i) {
        const T v = std::is_floating_point_v<T> ? T(values[i]) : clampTo<T>(values[i]);
        std::memcpy(out.data() + i * sizeof(T), &v, sizeof(T));
    }
}

// Calls f with a value of the C++ type of the datatype (its type only matters).
template <class F>
void dispatch(const std::string& dt, const std::string& what, F&& f) {
    if (dt == "FP32") f(float{});
    else if (dt == "FP64") f(double{});
    else if (dt == "INT8") f(int8_t{});
    else if (dt == "INT16") f(int16_t{});
    else if (dt == "INT32") f(int32_t{});
    else if (dt == "INT64") f(int64_t{});
    else if (dt == "UINT8") f(uint8_t{});
    else if (dt == "UINT16") f(uint16_t{});
    else if (dt == "UINT32") f(uint32_t{});
    else if (dt == "UINT64") f(uint64_t{});
    else
        throw ServeError(Code::InvalidArgument, what + ": datatype '" + dt +
                                                    "' is not served (FP32, FP64, INT8..INT64, UINT8..UINT64)");
}

}  // namespace

size_t datatypeSize(const std::string& datatype, const std::string& what) {
    size_t s = 0;
    dispatch(datatype, what, [&](auto v) { s = sizeof(v); });
    return s;
}

size_t elementCount(const std::vector<int64_t>& shape, const std::string& what, size_t limit) {
    size_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) throw ServeError(Code::InvalidArgument, what + ": negative dimension in shape");
        if (d != 0 && n > limit / size_t(d))
            throw ServeError(Code::InvalidArgument, what + ": shape has too many elements");
        n *= size_t(d);
    }
    return n;
}

std::vector<double> decodeRaw(const std::string& datatype, const char* data, size_t bytes, size_t elements,
                              const std::string& what) {
    const size_t size = datatypeSize(datatype, what);
    if (bytes != elements * size)
        throw ServeError(Code::InvalidArgument, what + ": " + std::to_string(bytes) + " bytes of " + datatype +
                                                    " data for a shape of " + std::to_string(elements) +
                                                    " elements (expected " + std::to_string(elements * size) + ")");
    std::vector<double> out;
    dispatch(datatype, what, [&](auto v) { decodeAs<decltype(v)>(data, elements, out); });
    return out;
}

void encodeRawInto(const std::string& datatype, const std::vector<double>& values, std::string& out) {
    dispatch(datatype, "output", [&](auto v) { encodeAs<decltype(v)>(values, out); });
}

std::string encodeRaw(const std::string& datatype, const std::vector<double>& values) {
    std::string out;
    encodeRawInto(datatype, values, out);
    return out;
}

void castAll(const std::string& datatype, std::vector<double>& values) {
    dispatch(datatype, "output", [&](auto t) {
        using T = decltype(t);
        for (double& v : values) {
            if constexpr (std::is_floating_point_v<T>) v = double(T(v));
            else v = double(clampTo<T>(v));
        }
    });
}

size_t firstNonFinite(const double* values, size_t n) {
    // A branch-free pass the compiler vectorises with plain SSE2 integer adds: adding one
    // to the exponent field carries into the sign bit only when the exponent is all ones
    // (NaN or infinite). The index is looked for only when one was seen.
    constexpr uint64_t exponent = 0x7ff0000000000000ULL, exponentOne = 0x0010000000000000ULL;
    uint64_t seen = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t bits;
        std::memcpy(&bits, values + i, sizeof(bits));
        seen |= (bits & exponent) + exponentOne;
    }
    seen &= 0x8000000000000000ULL;
    if (!seen) return n;
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(values[i])) return i;
    return n;
}

}  // namespace tachyon::serve
