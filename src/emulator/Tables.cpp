#include "emulator/Tables.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
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

}  // namespace

LookupTable buildActivationTable(const Layer& layer, const FixedType& in) {
    const ActKind kind = layer.activation();
    const double alpha = layer.kind == LayerKind::Activation ? layer.as<ActAttrs>().alpha : 0.0;
    std::function<double(double)> f;
    double range = 8.0;           // default half-range (or negative range for elu/selu)
    bool negativeOnly = false;    // elu/selu: the table covers x < 0; x >= 0 is computed exactly
    bool wholeInput = false;      // softsign approaches +-1 too slowly for a short range
    switch (kind) {
    case ActKind::Sigmoid:
    case ActKind::Swish: f = [](double x) { return 1.0 / (1.0 + std::exp(-x)); }; break;
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

SoftmaxTables buildSoftmaxTables(const Layer& layer, const FixedType& in, int n) {
    SoftmaxTables st;
    // exp(-d) for d = max - x in [0, R): e^-16 is far below any table LSB we default to.
    double range = layer.table.range > 0 ? layer.table.range : 16.0;
    int log2R = std::min(ceilLog2(range), in.integer);
    const double lsb = in.lsb();
    st.exp = buildTable(layer.type("exp_table"), log2R + in.frac(), 0, layer.table.size,
                        [&](double key) { return std::exp(-key * lsb); });
    // 1/S for S in [0, 2^c): the sum of n entries, each at most the largest entry.
    const FixedType& e = st.exp.valueType;
    int64_t maxEntry = *std::max_element(st.exp.values.begin(), st.exp.values.end());
    const double elsb = e.lsb();
    int c = std::max(1, ceilLog2(double(n) * double(std::max<int64_t>(maxEntry, 1)) * elsb));
    st.inv = buildTable(layer.type("inv_table"), c + e.frac(), 0, layer.invTable.size,
                        [&](double key) { double s = key * elsb; return s > 0 ? 1.0 / s : 1e300; });
    // Exact type of the sum: never overflows.
    st.sumType = FixedType::fixed(c + 1 + e.frac(), c + 1, false);
    return st;
}

}  // namespace tachyon
