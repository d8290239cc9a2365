// The QONNX quantisers Quant, BipolarQuant, Trunc and MultiThreshold: folded into a constant,
// or Quantize layers on a computed tensor; and the exact weight types of a layer whose
// weight a quantiser produced.
#include "frontends/onnx/OnnxReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <functional>
#include <map>
#include <set>

namespace tachyon::onnxfe {

namespace {

// Index into a numpy-broadcast parameter tensor `p` for flat element `e` of a tensor with
// dims `x` (row-major).
size_t broadcastIndex(const std::vector<int64_t>& x, const std::vector<int64_t>& p, size_t e) {
    size_t idx = 0, stride = 1;
    for (size_t k = 0; k < p.size(); ++k) {
        const size_t ak = p.size() - 1 - k, xk = x.size() - 1 - k;   // align trailing axes
        const int64_t xd = k < x.size() ? x[xk] : 1;
        size_t coord = 0;
        if (k < x.size()) {
            size_t below = 1;
            for (size_t j = xk + 1; j < x.size(); ++j) below *= size_t(x[j]);
            coord = (e / below) % size_t(xd);
        }
        if (p[ak] != 1) idx += coord * stride;
        stride *= size_t(p[ak]);
    }
    return idx;
}

bool isPowerOfTwo(double v) {
    int e;
    return v > 0 && std::frexp(v, &e) == 0.5;
}

}  // namespace

// QONNX Quant (qonnx/custom_op/general/quant.py, IntQuant):
//   y = (round(clamp(x / scale + zero_point, min_int, max_int)) - zero_point) * scale
// with min_int/max_int from (bitwidth, signed, narrow), rounding ROUND (numpy: half to
// even), FLOOR or ROUND_TO_ZERO, and a 1-bit signed Quant taken as bipolar
// (x / scale + zp >= 0 ? 1 : -1). BipolarQuant: y = (x >= 0 ? 1 : -1) * scale.
// On a constant the quantiser is evaluated here in float32, as the reference does; on a
// computed tensor it becomes a Quantize layer, which is exact only for zero_point 0 and
// one power-of-two scale: then Quant is cast<ap_(u)fixed<bits, bits + log2(scale)>> with
// the rounding mode and SAT (SAT_SYM when narrow). Anything else is refused by name.
//
// Tachyon's explicit form (what tachyon.qat.export writes, docs/qat.md): rounding_mode may
// also name an ap_fixed quantisation mode (AP_TRN, AP_TRN_ZERO, AP_RND, AP_RND_ZERO,
// AP_RND_INF, AP_RND_MIN_INF, AP_RND_CONV), and an `overflow_mode` attribute (AP_WRAP,
// AP_SAT, AP_SAT_ZERO, AP_SAT_SYM) replaces the clamp, so the node reads as exactly one
// cast with no half-even/half-up ambiguity. Such a node needs power-of-two scales and a zero
// point of 0; on a constant it is evaluated exactly (in double, FixedType::castDouble).
// A Quant on a computed tensor with a scale and/or bitwidth per channel (power-of-two
// scales, explicit ap_fixed modes): a Fixed-mode Quantize layer with one type per element,
// listed in Tachyon's storage order of x (storage axis j is ONNX axis src[j]); the tensors
// broadcast against x with its batch axis (numpy rules, trailing axes aligned).
void OnnxReader::perElementQuant(const onnx::NodeProto& n, const Value& x, const ConstTensor& scale,
                                 const ConstTensor& bitwidths, const std::function<FixedType(double, int)>& typeAt) {
    std::vector<int64_t> full = {1};
    for (int d : x.onnx) full.push_back(d);
    for (const ConstTensor* t : {&scale, &bitwidths}) {
        if (t->dims.size() > full.size()) fail(n, "a scale/bitwidth tensor has more axes than the input");
        for (size_t k = 0; k < t->dims.size(); ++k) {
            const int64_t d = t->dims[t->dims.size() - 1 - k], xd = full[full.size() - 1 - k];
            if (d != 1 && d != xd)
                fail(n, "a scale/bitwidth tensor does not broadcast against the input (axis of size " +
                            std::to_string(d) + " against " + std::to_string(xd) + ")");
        }
    }
    for (double s : scale.values)
        if (!isPowerOfTwo(s)) fail(n, "a per-channel scale must hold powers of two");
    const size_t r = x.onnx.size();
    std::vector<int> storageDims(r);
    for (size_t j = 0; j < r; ++j) storageDims[j] = x.onnx[size_t(x.src[j])];
    size_t count = 1;
    for (int d : x.onnx) count *= size_t(d);
    QuantizeAttrs a;
    a.mode = QuantizeMode::Fixed;
    std::vector<size_t> coord(r, 0);   // storage coordinates, row-major
    for (size_t e = 0; e < count; ++e) {
        size_t onnxFlat = 0;           // the same element's row-major index in ONNX order
        for (size_t i = 0; i < r; ++i) {
            size_t c = 0;
            for (size_t j = 0; j < r; ++j)
                if (x.src[j] == int(i)) c = coord[j];
            onnxFlat = onnxFlat * size_t(x.onnx[i]) + c;
        }
        const FixedType t = typeAt(scale.values[broadcastIndex(full, scale.dims, onnxFlat)],
                                   int(bitwidths.values[broadcastIndex(full, bitwidths.dims, onnxFlat)]));
        a.quant = t.quant;
        a.overflow = t.overflow;
        a.width.push_back(t.width);
        a.integer.push_back(t.integer);
        a.isSigned.push_back(t.isSigned ? 1 : 0);
        for (size_t j = r; j-- > 0;) {
            if (++coord[j] < size_t(storageDims[j])) break;
            coord[j] = 0;
        }
    }
    const std::string out = b_.add(nodeName(n), LayerKind::Quantize, {x.layer}, a);
    b_.layer(out).trained["result"] = unionType(a);
    produced(n, Value{out, x.onnx, x.src});
}

void OnnxReader::qonnxQuant(const onnx::NodeProto& n) {
    const bool bipolar = n.op_type() == "BipolarQuant";
    const ConstTensor& scale = requireConst(n, 1, "scale");
    ConstTensor zeroPoint;
    zeroPoint.values = {0.0};
    int bits = 1;
    ConstTensor bitwidths;   // one value, or (Tachyon extension, explicit modes only) one per channel
    bitwidths.values = {1.0};
    bool isSigned = true, narrow = false;
    std::string rounding = "ROUND";
    if (!bipolar) {
        zeroPoint = requireConst(n, 2, "zero_point");
        bitwidths = requireConst(n, 3, "bitwidth");
        if (bitwidths.values.empty()) fail(n, "bitwidth is empty");
        for (double b : bitwidths.values)
            if (b != std::floor(b) || b < 1 || b > 32) fail(n, "bitwidth must hold integers from 1 to 32");
        bits = int(bitwidths.values[0]);
        isSigned = intAttr(n, "signed", 1) != 0;
        narrow = intAttr(n, "narrow", 0) != 0;
        rounding = stringAttr(n, "rounding_mode", "ROUND");
        for (char& c : rounding) c = char(std::toupper((unsigned char)c));
    }
    for (double s : scale.values)
        if (!(s > 0) || !std::isfinite(s)) fail(n, "scale must be positive and finite");
    const bool explicitOverflow =
        !bipolar && std::any_of(n.attribute().begin(), n.attribute().end(),
                                [](const onnx::AttributeProto& a) { return a.name() == "overflow_mode"; });
    const bool bipolarLevels = bipolar || (bits == 1 && isSigned && !explicitOverflow);
    Quant quant = Quant::RND_CONV;
    bool explicitRounding = false;   // an ap_fixed mode name instead of QONNX's
    if (!bipolarLevels) {
        if (rounding == "ROUND") quant = Quant::RND_CONV;
        else if (rounding == "FLOOR") quant = Quant::TRN;
        else if (rounding == "ROUND_TO_ZERO") quant = Quant::TRN_ZERO;
        else if (rounding.rfind("AP_", 0) == 0) {
            quant = parseQuantMode(rounding, path_ + ": node '" + nodeName(n) + "': rounding_mode");
            explicitRounding = true;
        } else
            fail(n, "rounding_mode '" + rounding + "' is not supported (ROUND, FLOOR, ROUND_TO_ZERO and the ap_fixed "
                    "modes AP_TRN, AP_TRN_ZERO, AP_RND, AP_RND_ZERO, AP_RND_INF, AP_RND_MIN_INF, AP_RND_CONV are)");
    }
    Overflow overflow = narrow ? Overflow::SAT_SYM : Overflow::SAT;
    if (explicitOverflow) {
        std::string o = stringAttr(n, "overflow_mode", "");
        for (char& c : o) c = char(std::toupper((unsigned char)c));
        overflow = parseOverflowMode(o, path_ + ": node '" + nodeName(n) + "': overflow_mode");
    }
    if (bitwidths.values.size() != 1 && !explicitRounding && !explicitOverflow)
        fail(n, "a bitwidth per channel needs an ap_fixed rounding_mode/overflow_mode (one cast per element)");
    // The explicit form is one ap_fixed cast per element: power-of-two scales, zero point 0.
    auto fixedTypeAt = [&](double s, int width) {
        int e;
        std::frexp(s, &e);   // s = 2^(e-1)
        FixedType t;
        t.width = width;
        t.integer = width + (e - 1);
        t.isSigned = isSigned;
        t.quant = quant;
        t.overflow = overflow;
        return t;
    };
    if (explicitRounding || explicitOverflow) {
        for (double s : scale.values)
            if (!isPowerOfTwo(s)) fail(n, "an explicit rounding_mode/overflow_mode needs power-of-two scales");
        for (double z : zeroPoint.values)
            if (z != 0) fail(n, "an explicit rounding_mode/overflow_mode needs a zero_point of 0");
        if (narrow && !explicitOverflow) fail(n, "narrow with an ap_fixed rounding_mode: give overflow_mode AP_SAT_SYM");
        if (const ConstTensor* x = constant(n.input(0))) {
            ConstTensor y;
            y.dims = x->dims;
            for (size_t e = 0; e < x->values.size(); ++e) {
                const FixedType t = fixedTypeAt(scale.values[broadcastIndex(x->dims, scale.dims, e)],
                                                int(bitwidths.values[broadcastIndex(x->dims, bitwidths.dims, e)]));
                if (!std::isfinite(x->values[e])) fail(n, "a constant value is not finite");
                y.values.push_back(t.quantize(x->values[e]));
            }
            consts_[n.output(0)] = std::move(y);
            quantizedConsts_.insert(n.output(0));
            return;
        }
    }
    const double minInt = bipolarLevels ? -1 : isSigned ? -std::ldexp(1.0, bits - 1) + (narrow ? 1 : 0) : 0;
    const double maxInt = bipolarLevels ? 1 : isSigned ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1 - (narrow ? 1 : 0);

    if (const ConstTensor* x = constant(n.input(0))) {
        // Fold: evaluate in float32 like the QONNX reference.
        ConstTensor y;
        y.dims = x->dims;
        bool po2 = true;
        for (size_t e = 0; e < x->values.size(); ++e) {
            const float s = float(scale.values[broadcastIndex(x->dims, scale.dims, e)]);
            const float zp = float(zeroPoint.values[broadcastIndex(x->dims, zeroPoint.dims, e)]);
            po2 = po2 && isPowerOfTwo(s) && zp == 0.0f;
            const float v = bipolar ? float(x->values[e]) : float(x->values[e]) / s + zp;
            float q;
            if (bipolarLevels) q = v >= 0.0f ? 1.0f : -1.0f;
            else {
                q = std::min(std::max(v, float(minInt)), float(maxInt));
                q = rounding == "FLOOR" ? std::floor(q) : rounding == "ROUND_TO_ZERO" ? std::trunc(q) : std::nearbyint(q);
            }
            y.values.push_back(double(bipolar ? q * s : (q - zp) * s));
        }
        consts_[n.output(0)] = std::move(y);
        // Power-of-two scales make the folded values fixed-point numbers of a small type.
        if (po2) quantizedConsts_.insert(n.output(0));
        return;
    }

    const Value& x = value(n, n.input(0));
    for (double z : zeroPoint.values)
        if (z != 0) fail(n, "a non-zero zero_point on a computed tensor is not supported");
    if (scale.values.size() != 1 || bitwidths.values.size() != 1) {
        if (!explicitRounding && !explicitOverflow)
            fail(n, "a per-channel scale on a computed tensor needs an ap_fixed rounding_mode/overflow_mode (one "
                    "ap_fixed cast per element); with QONNX's modes only one scale for the tensor is supported");
        perElementQuant(n, x, scale, bitwidths, [&](double s, int w) { return fixedTypeAt(s, w); });
        return;
    }
    const double s = scale.values[0];
    QuantizeAttrs a;
    if (bipolarLevels) {
        // y = x >= 0 ? s : -s (x / s >= 0 is x >= 0 for s > 0).
        a.mode = QuantizeMode::Threshold;
        a.nThresholds = 1;
        a.thresholds = {0.0};
        a.strict = {0};
        a.levels = {-s, s};
    } else {
        if (!isPowerOfTwo(s))
            fail(n, "scale " + std::to_string(s) + " on a computed tensor is not a power of two; only power-of-two "
                    "scales are exact fixed-point casts");
        if (narrow && !isSigned)
            fail(n, "narrow range on an unsigned Quant (maximum 2^bits - 2) has no ap_fixed overflow mode");
        const FixedType t = fixedTypeAt(s, bits);
        a.mode = QuantizeMode::Fixed;
        a.quant = t.quant;
        a.overflow = t.overflow;
        a.width = {t.width};
        a.integer = {t.integer};
        a.isSigned = {isSigned ? 1 : 0};
    }
    const std::string where = path_ + ": node '" + nodeName(n) + "'";
    const FixedType result = a.mode == QuantizeMode::Threshold ? levelsType(a.levels, where) : unionType(a);
    const std::string out = b_.add(nodeName(n), LayerKind::Quantize, {x.layer}, a);
    b_.layer(out).trained["result"] = result;
    produced(n, Value{out, x.onnx, x.src});
}

// QONNX Trunc (qonnx/custom_op/general/trunc.py; Brevitas' TruncIntQuant), dropping low bits
// of an integer held at `scale`. Version 1 (5 inputs: x, scale, zeropt, in_bitwidth,
// out_bitwidth): k = in_bitwidth - out_bitwidth,
//   y = (rounding(round(x / scale + zp) / 2^k) - zp) * scale              (no clamp)
// Version 2 (6 inputs: ..., out_scale, out_bitwidth; attrs signed, narrow):
//   k = round(log2(out_scale / scale)),
//   y = (rounding(clamp(round(x / scale + zp) / 2^k, min_int, max_int)) - zp / 2^k) * out_scale
// `round` is half to even, `rounding` the rounding_mode (FLOOR by default, ROUND, CEIL).
// With zp = 0 and power-of-two scales this is two casts, i.e. two Quantize layers:
//   1. cast<ap_fixed<in_bitwidth + 1, .., RND_CONV, SAT>> at LSB `scale` (the input is by
//      definition an in_bitwidth-bit integer at `scale`; the extra bit covers either sign;
//      v2 widens it to the clamp's range, so that v2 is exact for any input);
//   2. cast at LSB scale * 2^k with the rounding mode: v2 to out_bitwidth bits with SAT
//      (SAT_SYM when narrow), v1 wide enough that nothing saturates;
//   3. (v1 only, k != 0) the exact scaling by 2^-k that v1's "* scale" makes.
// CEIL has no ap_fixed quantisation mode and is refused, as are zero points and other scales.
void OnnxReader::qonnxTrunc(const onnx::NodeProto& n) {
    const bool v2 = n.input_size() >= 6;
    auto single = [&](int i, const char* what) {
        const ConstTensor& t = requireConst(n, i, what);
        if (t.values.size() != 1) fail(n, std::string(what) + " must be a single value");
        return t.values[0];
    };
    auto bitwidth = [&](int i, const char* what) {
        const double b = single(i, what);
        if (b != std::floor(b) || b < 1 || b > 32) fail(n, std::string(what) + " must be one integer from 1 to 32");
        return int(b);
    };
    auto log2Exact = [&](double v, const char* what) {
        if (!(v > 0) || !std::isfinite(v) || !isPowerOfTwo(v))
            fail(n, std::string(what) + " " + std::to_string(v) + " is not a power of two; only power-of-two scales "
                    "are exact fixed-point casts");
        int e;
        std::frexp(v, &e);
        return e - 1;
    };
    const int lsb = log2Exact(single(1, "scale"), "scale");
    for (double z : requireConst(n, 2, "zeropt").values)
        if (z != 0) fail(n, "a non-zero zeropt is not supported");
    const int inBits = bitwidth(3, "in_bitwidth");
    int k, outBits;
    if (v2) {
        const double ratio = single(4, "out_scale") / single(1, "scale");
        const double kr = std::round(std::log2(ratio));
        if (!(ratio > 0) || std::ldexp(1.0, int(kr)) != ratio)
            fail(n, "out_scale / scale is not a power of two; Trunc would rescale by a non-integer factor");
        k = int(kr);
        outBits = bitwidth(5, "out_bitwidth");
    } else {
        outBits = bitwidth(4, "out_bitwidth");
        k = inBits - outBits;
    }
    std::string rounding = stringAttr(n, "rounding_mode", "FLOOR");
    for (char& c : rounding) c = char(std::toupper((unsigned char)c));
    Quant quant;
    if (rounding == "ROUND") quant = Quant::RND_CONV;
    else if (rounding == "FLOOR") quant = Quant::TRN;
    else if (rounding == "ROUND_TO_ZERO") quant = Quant::TRN_ZERO;
    else fail(n, "rounding_mode '" + rounding + "' is not supported (ROUND, FLOOR and ROUND_TO_ZERO are; CEIL has "
                 "no ap_fixed quantisation mode)");
    const bool isSigned = !v2 || intAttr(n, "signed", 1) != 0;
    const bool narrow = v2 && intAttr(n, "narrow", 0) != 0;
    if (narrow && !isSigned) fail(n, "narrow range on an unsigned Trunc has no ap_fixed overflow mode");
    if (constant(n.input(0))) fail(n, "Trunc of a constant is not supported (Brevitas truncates activations)");

    const Value& x = value(n, n.input(0));
    auto quantize = [&](const std::string& name, const std::string& in, int width, int frac, Quant q, Overflow o,
                        bool sign) {
        QuantizeAttrs a;
        a.mode = QuantizeMode::Fixed;
        a.quant = q;
        a.overflow = o;
        a.width = {width};
        a.integer = {width - frac};
        a.isSigned = {sign ? 1 : 0};
        const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
        b_.layer(out).trained["result"] = unionType(a);
        return out;
    };
    // Version 2 clamps afterwards: saturating the first cast at a range no narrower than the
    // clamp's (out_bitwidth + k bits) gives the same result for any input.
    const int w1 = v2 ? std::max(inBits + 1, outBits + k + 1) : inBits + 1;
    const std::string rounded =
        quantize(nodeName(n) + "_round", x.layer, w1, -lsb, Quant::RND_CONV, Overflow::SAT, true);
    // v1 keeps every value: w1 bits shifted right by k, plus one for a round-up carry.
    const int w2 = v2 ? outBits : std::max(w1 - k + 1, 2);
    const std::string cut = quantize(v2 || k == 0 ? nodeName(n) : nodeName(n) + "_cut", rounded, w2, -(lsb + k), quant,
                                     narrow ? Overflow::SAT_SYM : Overflow::SAT, isSigned);
    if (v2 || k == 0) {
        produced(n, Value{cut, x.onnx, x.src});
        return;
    }
    // Version 1 multiplies the truncated integer by the input's scale again: the value
    // shrinks by 2^k. That is an exact power-of-two scaling (a BatchNorm layer whose types
    // are exact), the raw bits unchanged.
    const size_t channels = size_t(b_.shape(cut).back());
    const std::string out = b_.add(nodeName(n), LayerKind::BatchNorm, {cut}, NoAttrs{},
                                   {{"scale", std::vector<double>(channels, std::ldexp(1.0, -k))},
                                    {"shift", std::vector<double>(channels, 0.0)}});
    const std::string where = path_ + ": node '" + nodeName(n) + "'";
    Layer& l = b_.layer(out);
    l.trained["scale"] = exactTypeFor({std::ldexp(1.0, -k)}, where + " scale");
    l.trained["shift"] = exactTypeFor({0.0}, where + " shift");
    l.trained["result"] = FixedType::fixed(w2, w2 + lsb, isSigned);
    produced(n, Value{out, x.onnx, x.src});
}

// FINN/QONNX MultiThreshold (qonnx custom_op/general/multithreshold.py):
//   y = out_scale * #{t in thresholds[c] : x >= t} + out_bias
// per channel c (axis 1 for data_layout NCHW/NCW/NC, the last axis for NHWC/NWC), with one
// row of thresholds per channel or one row for all. A Threshold-mode Quantize layer; the
// count does not depend on the order of a row, so rows are sorted ascending.
void OnnxReader::multiThreshold(const onnx::NodeProto& n) {
    const Value& x = value(n, n.input(0));
    const ConstTensor& t = requireConst(n, 1, "thresholds");
    if (t.dims.size() != 2) fail(n, "thresholds must be 2-D [channels, thresholds]");
    const std::string layout = stringAttr(n, "data_layout", "NCHW");
    const bool channelsFirst = layout.size() >= 2 && layout[1] == 'C';
    if (!channelsFirst && layout.back() != 'C') fail(n, "data_layout '" + layout + "' is not supported");
    if (x.onnx.empty()) fail(n, "input has no channel axis");
    const int channels = channelsFirst ? x.onnx.front() : x.onnx.back();
    const int rows = int(t.dims[0]), nT = int(t.dims[1]);
    if (rows != 1 && rows != channels)
        fail(n, "thresholds have " + std::to_string(rows) + " rows, expected 1 or " + std::to_string(channels));
    if (nT < 1) fail(n, "no thresholds");
    const double outScale = floatAttr(n, "out_scale", 1.0), outBias = floatAttr(n, "out_bias", 0.0);
    QuantizeAttrs a;
    a.mode = QuantizeMode::Threshold;
    a.nThresholds = nT;
    a.thresholds = t.values;
    for (int r = 0; r < rows; ++r)
        std::sort(a.thresholds.begin() + long(r) * nT, a.thresholds.begin() + long(r + 1) * nT);
    a.strict.assign(size_t(nT), 0);
    for (int k = 0; k <= nT; ++k) a.levels.push_back(outScale * k + outBias);
    const FixedType result = levelsType(a.levels, path_ + ": node '" + nodeName(n) + "'");
    // Threshold rows run along the last storage axis: store channels-last.
    const std::vector<int> order = channelsFirst ? channelsLastOrder(x.onnx.size()) : identityOrder(x.onnx.size());
    const std::string in = inOrder(n, x, order);
    const std::string out = b_.add(nodeName(n), LayerKind::Quantize, {in}, a);
    b_.layer(out).trained["result"] = result;
    produced(n, Value{out, x.onnx, order});
}

void OnnxReader::quantizedWeightTypes(const onnx::NodeProto& n, const std::string& layer) {
    if (n.input_size() < 2 || !quantizedConsts_.count(n.input(1))) return;
    Layer& l = b_.layer(layer);
    const std::string where = path_ + ": node '" + nodeName(n) + "'";
    l.trained["weight"] = exactTypeFor(l.param("weight"), where + " weight");
    if (n.input_size() > 2 && quantizedConsts_.count(n.input(2)))
        l.trained["bias"] = exactTypeFor(l.param("bias"), where + " bias");
}

}  // namespace tachyon::onnxfe
