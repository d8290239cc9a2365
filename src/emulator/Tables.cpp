#include "emulator/Tables.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>

namespace tachyon {

namespace {

constexpr int kMaxDefaultLog2Size = 12;  // 4096 entries unless table_size says otherwise

int ceilLog2(double v) { return v <= 1.0 ? 0 : int(std::ceil(std::log2(v) - 1e-12)); }

// Builds a table whose key covers [keyLo, keyLo + 2^keyBits) raw units, with at most
// `requestedSize` entries (0 = default), entry i = f(bin centre in key units).
template <class F>
LookupTable buildTable(const FixedType& valueType, int keyBits, int64_t offset, int requestedSize, F f) {
    keyBits = std::max(keyBits, 1);
    int log2Size = requestedSize > 0 ? ceilLog2(requestedSize) : std::min(keyBits, kMaxDefaultLog2Size);
    log2Size = std::min(log2Size, keyBits);
    LookupTable t;
    t.valueType = valueType;
    t.size = 1 << log2Size;
    t.shift = keyBits - log2Size;
    t.offset = offset >> t.shift;
    t.values.resize(size_t(t.size));
    const double halfBin = (std::ldexp(1.0, t.shift) - 1.0) / 2.0;
    for (int i = 0; i < t.size; ++i) {
        double keyCentre = std::ldexp(double(i - t.offset), t.shift) + halfBin;
        t.values[size_t(i)] = int64_t(valueType.castDouble(f(keyCentre)));
    }
    return t;
}

// hls4ml's sigmoid / tanh (nnet_activation.h): N entries over [-h, h) (h = 8 for sigmoid,
// 4 for tanh), entry i = f(x_i) at the bin's left edge x_i = 2h (i - N/2) / N, computed in
// float as hls4ml computes it (sigmoid 1.0 / (1 + expf(-x)), tanh tanhf(x)) and converted
// to the table type; index trunc(x * N / 2h) + h * N / 2h.
LookupTable hls4mlActivationTable(const Layer& layer, const FixedType& in) {
    const bool sigmoid = layer.activation() == ActKind::Sigmoid;
    const int halfRange = sigmoid ? 8 : 4;
    const int n = layer.table.size > 0 ? layer.table.size : 1024;
    if (n > (1 << 24))
        throw Error("layer '" + layer.name + "': table_size " + std::to_string(n) + " is too large (at most 2^24)");
    LookupTable t;
    t.valueType = layer.type("table");
    t.size = n;
    // x * N / 2h on the raw key: key * N * 2^-F / 2h, the ratio in lowest terms.
    __int128 mul = n, den = 2 * halfRange;
    const int f = in.frac();
    if (std::abs(f) > 100)
        throw Error("layer '" + layer.name + "': input type " + in.str() + " is too far from an integer scale");
    if (f >= 0) den <<= f;
    else mul <<= -f;
    __int128 a = mul, b = den;
    while (b != 0) { const __int128 r = a % b; a = b; b = r; }
    mul /= a;
    den /= a;
    const __int128 limit = __int128(1) << 62;
    if (mul >= limit || den >= limit)
        throw Error("layer '" + layer.name + "': hls4ml's table index for input type " + in.str() +
                    " needs a scale beyond 62 bits");
    t.mul = int64_t(mul);
    t.den = int64_t(den);
    t.offset = int64_t(unsigned(halfRange) * unsigned(n) / unsigned(2 * halfRange));
    t.values.resize(size_t(n));
    for (int i = 0; i < n; ++i) {
        const float x = float(2 * double(halfRange) * (i - float(n) / 2.0) / float(n));
        const float y = sigmoid ? float(1.0 / (1 + std::exp(-x))) : std::tanh(x);
        t.values[size_t(i)] = int64_t(t.valueType.castDouble(double(y)));
    }
    return t;
}

}  // namespace

LookupTable buildActivationTable(const Layer& layer, const FixedType& in) {
    const ActKind kind = layer.activation();
    if (layer.table.hls4ml && (kind == ActKind::Sigmoid || kind == ActKind::Tanh)) return hls4mlActivationTable(layer, in);
    const double alpha = layer.kind == LayerKind::Activation ? layer.as<ActAttrs>().alpha : 0.0;
    std::function<double(double)> f;
    double range = 8.0;           // default half-range (or negative range for elu/selu)
    bool negativeOnly = false;    // elu/selu: the table covers x < 0; x >= 0 is computed exactly
    bool wholeInput = false;      // softsign approaches +-1 too slowly for a short range
    switch (kind) {
    case ActKind::Sigmoid:
    case ActKind::Swish: f = [](double x) { return 1.0 / (1.0 + std::exp(-x)); }; break;
    case ActKind::GELU: f = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }; break;   // Phi(x)
    case ActKind::Tanh: f = [](double x) { return std::tanh(x); }; range = 4.0; break;
    case ActKind::Softplus: f = [](double x) { return std::log1p(std::exp(x)); }; break;
    case ActKind::Softsign: f = [](double x) { return x / (1.0 + std::fabs(x)); }; wholeInput = true; break;
    case ActKind::ELU: f = [alpha](double x) { return alpha * std::expm1(x); }; negativeOnly = true; break;
    case ActKind::SELU:
        f = [](double x) { return kSeluLambda * kSeluAlpha * std::expm1(x); };
        negativeOnly = true;
        break;
    default:
        throw Error("layer '" + layer.name + "': no lookup table for activation " + toString(kind));
    }
    // Half-range R = 2^log2R: sigmoid saturates to within 2^-11 beyond 8, tanh beyond 4.
    if (layer.table.range > 0) range = layer.table.range;
    int log2R = ceilLog2(range);
    // No point covering more than the input type can hold.
    const int inputLog2R = in.isSigned ? in.integer - 1 : in.integer;
    log2R = wholeInput && layer.table.range <= 0 ? inputLog2R : std::min(log2R, inputLog2R);
    const int keyBits = log2R + in.frac() + (negativeOnly ? 0 : 1);   // [-R, R) or [-R, 0) in input LSBs
    const double lsb = in.lsb();
    const int64_t offset = negativeOnly ? (int64_t(1) << std::max(keyBits, 1)) : (int64_t(1) << (std::max(keyBits, 1) - 1));
    return buildTable(layer.type("table"), keyBits, offset, layer.table.size, [&](double key) { return f(key * lsb); });
}

namespace {

// hls4ml's ceillog2 (nnet_helpers.h): 1 for x <= 2.
int hls4mlCeilLog2(int x) { return x <= 2 ? 1 : 1 + hls4mlCeilLog2((x + 1) / 2); }

// The value of type `t` whose top `bits` bits are `i` and whose other bits are 0
// (hls4ml's softmax_real_val_from_idx), as a double (exact).
double topBitsValue(const FixedType& t, int64_t i, int bits) {
    int64_t v = i;
    if (t.isSigned && (i >> (bits - 1)) & 1) v -= int64_t(1) << bits;
    return std::ldexp(double(v), t.width - bits - t.frac());
}

// A table indexed by the top `log2Size` bits of a value of type `key`, entry i = f(value
// whose top bits are i) as hls4ml's init_exp_table / init_invert_table compute it.
template <class F>
LookupTable slicedTable(const Layer& layer, const char* what, const FixedType& key, int requestedSize,
                        const FixedType& valueType, F f) {
    const int bits = hls4mlCeilLog2(requestedSize);
    if (bits > key.width)
        throw Error("layer '" + layer.name + "' (Softmax, Implementation " + toString(layer.softmax.implementation) + "): " +
                    what + " has " + std::to_string(requestedSize) + " entries, indexed by the top " +
                    std::to_string(bits) + " bits of " + key.str() + ", which has only " +
                    std::to_string(key.width) + " bits (hls4ml would slice out of range): use a smaller table_size");
    if (bits > 24)
        throw Error("layer '" + layer.name + "' (Softmax): " + what + " of 2^" + std::to_string(bits) +
                    " entries is too large");
    LookupTable t;
    t.valueType = valueType;
    t.size = 1 << bits;   // hls4ml's index can address 2^bits entries; a smaller size would read past its table
    t.shift = key.width - bits;
    t.offset = 0;
    t.sliced = true;
    t.values.resize(size_t(t.size));
    for (int i = 0; i < t.size; ++i) {
        const float x = float(topBitsValue(key, i, bits));   // (float)data_T, exact for <= 24 bits
        t.values[size_t(i)] = int64_t(valueType.castDouble(double(f(x))));
    }
    return t;
}

// hls4ml's table sizes: table_size (default 1024), reduced by FixSoftmaxTableSize to
// 2^min(input width, inv_table_t width) unless inv_table_size is given.
void hls4mlTableSizes(const Layer& layer, const FixedType& in, int& expSize, int& invSize) {
    int tableSize = layer.table.size > 0 ? layer.table.size : 1024;
    if (layer.invTable.size > 0) {
        expSize = tableSize;
        invSize = layer.invTable.size;
        return;
    }
    const int capBits = std::min({in.width, layer.type("inv_table").width, 30});
    if ((int64_t(1) << capBits) < tableSize) tableSize = 1 << capBits;
    expSize = invSize = tableSize;
}

}  // namespace

SoftmaxTables buildSoftmaxTables(const Layer& layer, const FixedType& in, int n) {
    SoftmaxTables st;
    st.implementation = layer.softmax.implementation;
    const SoftmaxImpl impl = st.implementation;
    if (impl == SoftmaxImpl::Argmax) return st;
    if (impl == SoftmaxImpl::Stable || impl == SoftmaxImpl::Latency) {
        int expSize = 0, invSize = 0;
        hls4mlTableSizes(layer, in, expSize, invSize);
        st.accumType = layer.type("accum");
        st.invInpType = layer.type("inv_inp");
        const FixedType expT = layer.type("exp_table");
        FixedType key = in;
        if (impl == SoftmaxImpl::Stable) {
            // inp_norm_t: the input type without its sign bit (TRN, WRAP), and the exp
            // table no larger than that type can address.
            if (in.isSigned) {
                if (in.width < 2) throw Error("layer '" + layer.name + "' (Softmax): a 1-bit signed input has no inp_norm_t");
                st.normType = FixedType::fixed(in.width - 1, in.integer - 1, false);
                if (in.width - 1 < 30) expSize = int(std::min<int64_t>(invSize, int64_t(1) << (in.width - 1)));
                else expSize = invSize;
            } else {
                st.normType = FixedType::fixed(in.width, in.integer, false);
            }
            key = st.normType;
        }
        const bool negate = impl == SoftmaxImpl::Stable;
        st.exp = slicedTable(layer, "the exp table", key, expSize, expT, [negate](float x) {
            x = x * 1.0f;   // exp_scale
            if (negate) x = -x;
            return std::exp(x);   // float, as hls4ml's exp_fcn_float
        });
        st.inv = slicedTable(layer, "the inverse table", st.invInpType, invSize, layer.type("inv_table"),
                             [](float x) { return 1 / x; });   // float division (inf at 0)
        return st;
    }
    if (impl == SoftmaxImpl::Legacy) {
        int expSize = 0, invSize = 0;
        hls4mlTableSizes(layer, in, expSize, invSize);
        st.legacyType = layer.type("table");
        auto plain = [&](int size, int64_t offset) {
            LookupTable t;
            t.valueType = st.legacyType;
            t.size = size;
            t.shift = 0;
            t.offset = offset;
            t.values.resize(size_t(size));
            return t;
        };
        // init_exp_table_legacy: x = 2 * 8.0 * (i - N / 2.0) / N (double, stored as float),
        // entry = table_t(expf(x)); index = trunc((x_j - x_i) * N / 16) + 8 * N / 16.
        st.exp = plain(expSize, int64_t(8) * expSize / 16);
        for (int i = 0; i < expSize; ++i) {
            const float x = float(2 * 8.0 * (i - float(expSize) / 2.0) / float(expSize));
            st.exp.values[size_t(i)] = int64_t(st.legacyType.castDouble(double(std::exp(x))));
        }
        // init_invert_table_legacy: x = 64.0 * i / N (as float), entry = 1.0 / x (double),
        // 0 at x = 0; index = trunc(sum * N / 64).
        st.inv = plain(invSize, 0);
        for (int i = 0; i < invSize; ++i) {
            const float x = float(64.0 * i / float(invSize));
            st.inv.values[size_t(i)] = x > 0.0 ? int64_t(st.legacyType.castDouble(1.0 / x)) : 0;
        }
        return st;
    }
    // Sizes follow the result type (F = its fraction bits; docs/semantics.md, "Tables"):
    // finer bins than 2^-(F+2) in the key cannot change a result rounded to 2^-F by more
    // than a quarter LSB, so the tables stop there (or at the input's own resolution).
    const int resultFrac = std::max(layer.type("result").frac(), 0);
    const FixedType& e = layer.type("exp_table");
    // exp(-d) for d = max - x in [0, R): R = 16, or less where exp(-R) is below half an
    // entry LSB anyway (R = 2^ceil(log2((frac + 1) ln 2))), or the input's range.
    double range = layer.table.range > 0 ? layer.table.range
                                         : std::min(16.0, std::ldexp(1.0, ceilLog2((e.frac() + 1) * std::log(2.0))));
    int log2R = std::min(ceilLog2(range), in.integer);
    const double lsb = in.lsb();
    const int expSize = layer.table.size > 0 ? layer.table.size : 1 << std::min(log2R + resultFrac + 2, kMaxDefaultLog2Size);
    st.exp = buildTable(e, log2R + in.frac(), 0, expSize, [&](double key) { return std::exp(-key * lsb); });
    // 1/S for S in [0, 2^c): the sum of n entries, each at most the largest entry.
    int64_t maxEntry = *std::max_element(st.exp.values.begin(), st.exp.values.end());
    const double elsb = e.lsb();
    int c = std::max(1, ceilLog2(double(n) * double(std::max<int64_t>(maxEntry, 1)) * elsb));
    const int invSize =
        layer.invTable.size > 0 ? layer.invTable.size : 1 << std::min(c + resultFrac + 2, kMaxDefaultLog2Size);
    st.inv = buildTable(layer.type("inv_table"), c + e.frac(), 0, invSize,
                        [&](double key) { double s = key * elsb; return s > 0 ? 1.0 / s : 1e300; });
    // Exact type of the sum: never overflows.
    st.sumType = FixedType::fixed(c + 1 + e.frac(), c + 1, false);
    return st;
}

}  // namespace tachyon
