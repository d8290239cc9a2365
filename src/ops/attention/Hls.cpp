// HLS C++ for the attention building blocks (nnet_utils/nnet_attention.h): the MatMul of
// two activations and LayerNormalization, io_parallel. Every type below is chosen so that
// the kernels compute exactly what the emulator computes (src/ops/attention/MatMulKernel.cpp,
// LayerNorm.cpp): exact sums and products, the emulator's rational rounding for the mean
// and the variance (nnet::divide_cast), and one cast per result.
#include "backends/hls/HlsEmit.h"

#include "backends/hls/HeaderLimits.h"
#include "util/Error.h"

#include <cctype>
#include <sstream>

namespace tachyon::hls {

namespace {

int bitsToHold(int64_t v) {   // bits of the unsigned integer v
    int b = 1;
    while (b < 63 && (int64_t(1) << b) <= v) ++b;
    return b;
}

int floorHalf(int e) { return e >= 0 ? e / 2 : -((-e + 1) / 2); }

// One emulator-quantised constant array of type `type` (values of fixed type t).
std::string rawArray(const std::string& type, const std::string& name, const std::vector<int64_t>& raw,
                     const FixedType& t) {
    return constArray(type, name, raw.size(), 8, [&](size_t k) { return literal(t, raw[k]); });
}

// divide_cast's quotient type for accum(sum / n) (nnet_common.h), or an error when the
// shifted numerator or the denominator would not fit its 62-bit integers.
FixedType quotientType(const Layer& l, const FixedType& sum, const FixedType& res, int n, const std::string& what) {
    const int resF = res.frac(), sumF = sum.frac();
    const int numBits = sum.width + std::max(0, resF - sumF);
    const int denBits = bitsToHold(n) + 1 + std::max(0, sumF - resF);
    if (numBits > 62 || denBits > 62)
        throw Error(layerError(l, "the exact " + what + " of " + std::to_string(n) + " values (" + sum.str() +
                                          ") rounded into accum " + res.str() +
                                          " needs more than 62-bit integers; narrow the input or accum type"));
    const int qw = std::min(numBits + 2, 64);
    return FixedType::fixed(qw, qw - (resF + 2), true);
}

LayerCode emitMatMul(const Layer& l, const std::string& id, const LayerInputs& in) {
    const Shape& a = in.shapes[0];
    const Shape& b = in.shapes[1];
    const size_t r = a.size();
    const bool tb = l.as<MatMulAttrs>().transposeB;
    int batch = 1;
    for (size_t d = 0; d + 2 < r; ++d) batch *= a[d];
    const int m = a[r - 2], k = a[r - 1], n = tb ? b[r - 2] : b[r - 1];
    checkWidth(l, exactProductType(in.types[0], in.types[1]), "the product of the two inputs");
    ParamsText p;
    p.id = id;
    p.os << "// " << l.name << ": MatMul of two activations, " << batch << " x (" << m << "x" << k << " . " << k << "x" << n
         << (tb ? ", B stored transposed" : "") << ")\n";
    p.typedefLine(l.type("accum").str(), "accum_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.os << "struct " << id << "_config : nnet::matmul_config {\n";
    p.constant("unsigned", "n_batch", batch);
    p.constant("unsigned", "n_m", m);
    p.constant("unsigned", "n_k", k);
    p.constant("unsigned", "n_n", n);
    p.constant("bool", "transpose_b", tb ? "true" : "false");
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.alias("accum_t");
    p.os << "};\n";
    LayerCode c;
    c.id = id;
    c.params = p.os.str();
    KernelCall call;
    call.kernel = "matmul";
    call.config = id + "_config";
    call.inputs = in.keys;
    call.output = l.name;
    c.calls.push_back(call);
    return c;
}

LayerCode emitLayerNorm(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    const FixedType& inT = in.types[0];
    const FixedType& A = l.type("accum");
    const FixedType& G = l.type("scale");
    const FixedType& Bt = l.type("bias");
    const LookupTable* table = low.activationTable(l.name);
    if (!table) throw Error(layerError(l, "the emulator built no 1/sqrt table"));
    const FixedType& T = table->valueType;
    if (!A.isSigned) throw Error(layerError(l, "an unsigned accum type (" + A.str() + ") is not supported: the "
                                                   "differences from the mean are signed"));
    const int n = l.shape.back(), fa = A.frac();
    int indexBits = 0;
    while ((2 << indexBits) < table->size) ++indexBits;
    // Exact sums: of the n inputs, and of the n squared differences.
    const int lg = bitsToHold(n);
    const FixedType sum = FixedType::fixed(inT.width + lg + 1, inT.integer + lg + 1, true);
    const FixedType squares = FixedType::fixed(2 * A.width + lg, 2 * A.integer + lg, true);
    const FixedType meanQ = quotientType(l, sum, A, n, "mean");
    const FixedType varQ = quotientType(l, squares, A, n, "variance");
    const FixedType variance = FixedType::fixed(A.width + 1, A.integer + 1, true);
    // v's raw value lies in [1, 2^wa): its exponent e = p - fa, h = floor(e / 2).
    const int hMin = floorHalf(-fa), hMax = floorHalf(A.width - 1 - fa);
    const FixedType product = exactProductType(exactProductType(A, T), G);
    const int F = std::max(product.frac() + std::max(hMax, 0), Bt.frac());
    const int integer = std::max(product.integer + std::max(-hMin, 0), Bt.integer + (Bt.isSigned ? 0 : 1)) + 1;
    const FixedType total = FixedType::fixed(integer + F, integer, true);
    checkWidth(l, product, "d * 1/sqrt(v) * gamma");
    checkWidth(l, total, "d * 1/sqrt(v) * gamma * 2^-h + beta");
    checkWidth(l, squares, "the sum of squared differences");

    ParamsText p;
    p.id = id;
    p.os << "// " << l.name << ": LayerNormalization over the last axis of " << shapeString(l.shape) << ", epsilon "
         << l.as<LayerNormAttrs>().epsilon << ", 1/sqrt table of " << table->size << " entries\n";
    p.typedefLine(A.str(), "accum_t");
    p.typedefLine(T.str(), "table_t");
    p.typedefLine(G.str(), "scale_t");
    p.typedefLine(Bt.str(), "bias_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.typedefLine(sum.str(), "sum_t");
    p.typedefLine(squares.str(), "square_sum_t");
    p.typedefLine(meanQ.str(), "mean_quotient_t");
    p.typedefLine(varQ.str(), "var_quotient_t");
    p.typedefLine(variance.str(), "variance_t");
    p.typedefLine(total.str(), "total_t");
    p.os << "struct " << id << "_config : nnet::layernorm_config {\n";
    p.constant("unsigned", "n_feat", n);
    p.constant("unsigned", "n_groups", l.outSize() / n);
    p.constant("unsigned", "index_bits", indexBits);
    p.constant("unsigned", "table_size", table->size);
    p.constant("int", "accum_width", A.width);
    p.constant("int", "accum_frac", fa);
    p.constant("int", "sum_width", sum.width);
    p.constant("int", "sum_frac", sum.frac());
    p.constant("int", "mean_quotient_width", meanQ.width);
    p.constant("int", "square_sum_width", squares.width);
    p.constant("int", "square_sum_frac", squares.frac());
    p.constant("int", "var_quotient_width", varQ.width);
    p.constant("int", "variance_width", variance.width);
    p.constant("long long", "epsilon_raw", std::to_string(int64_t(A.castDouble(l.as<LayerNormAttrs>().epsilon))) + "LL");
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    for (const char* v : {"accum_t", "table_t", "scale_t", "bias_t", "sum_t", "square_sum_t", "mean_quotient_t",
                          "var_quotient_t", "variance_t", "total_t"})
        p.alias(v);
    p.os << "};\n";

    LayerCode c;
    c.id = id;
    c.params = p.os.str();
    const std::string body =
        "// 1/sqrt(m) at the centre of each mantissa bin: entry parity * 2^index_bits + j.\n" +
        rawArray(id + "_table_t", id + "_inv_sqrt", table->values, T) +
        rawArray(id + "_scale_t", id + "_scale", low.scaleRaw(l.name), G) +
        rawArray(id + "_bias_t", id + "_bias", low.biasRaw(l.name), Bt);
    c.constants.push_back({id + "_layernorm.h", header(id, "constants", body)});
    KernelCall call;
    call.kernel = "layernorm";
    call.config = id + "_config";
    call.inputs = in.keys;
    call.output = l.name;
    call.constantArgs = {id + "_inv_sqrt", id + "_scale", id + "_bias"};
    c.calls.push_back(call);
    return c;
}

}  // namespace

LayerCode emitAttentionLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    if (in.streaming)
        throw Error(layerError(l, hlsClassName(l) + " layers are written for io_parallel only (use IOType: "
                                                        "io_parallel)"));
    if (l.kind == LayerKind::MatMul) return emitMatMul(l, id, in);
    if (l.kind == LayerKind::LayerNorm) return emitLayerNorm(l, id, in, low);
    throw Error(layerError(l, "not an attention layer"));
}

}  // namespace tachyon::hls
