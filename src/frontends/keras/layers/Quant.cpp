// Quantisation-aware training: QKeras quantisers on weights and activations, HGQ's
// FixedPointQuantizer, and the exact types of quantised weights (QuantizerMath.h).
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <map>
#include <optional>

namespace tachyon::kerasfe {

void KerasReader::trainedMac(const std::string& layer, const std::optional<FixedType>& w,
                             const std::optional<FixedType>& b) {
    if (!w) return;
    Layer& l = b_.layer(layer);
    l.trained["weight"] = *w;
    if (b) l.trained["bias"] = *b;
}

std::vector<double> KerasReader::quantized(const json& cfg, const char* quantizerKey, std::vector<double> values,
                                           const std::vector<size_t>& dims, const std::string& name,
                                           const std::string& cls, std::optional<FixedType>& type,
                                           std::vector<double>* channelScale) {
    if (!cfg.contains(quantizerKey)) return values;
    const std::string where = archFile_ + ": layer '" + name + "' (" + cls + ") " + quantizerKey;
    const auto q = parseQKerasQuantizer(cfg[quantizerKey], where);
    if (!q) return values;
    QuantizedTensor t = quantizeWeights(*q, values, dims, where);
    if (!t.channelScale.empty()) {
        if (!channelScale)
            throw Error(where + ": a scale that is not a power of two (alpha 'auto' or a non-dyadic alpha) is only "
                                "supported on Dense kernels");
        *channelScale = t.channelScale;
    }
    // The quantiser's own type (as hls4ml names it) when it holds every value, else the
    // exact type of the quantised values.
    type = exactTypeFor(t.values, where);
    if (q->cls == "quantized_bits" && t.channelScale.empty() && (q->alpha.empty() || q->alpha == "number")) {
        const FixedType qt = quantizedBitsType(*q);
        bool fits = true;
        for (double v : t.values) fits = fits && qt.quantize(v) == v;
        if (fits) type = qt;
    }
    return std::move(t.values);
}

std::string KerasReader::quantizer(const std::string& name, const std::string& in, const QKerasQuantizer& q) {
    FixedType result;
    QuantizeAttrs a = activationQuantizer(q, result, archFile_ + ": layer '" + name + "'");
    const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
    b_.layer(out).trained["result"] = result;
    return out;
}

std::string KerasReader::thresholdLayer(const std::string& name, const std::string& in, std::vector<double> t,
                                        std::vector<int> strict, std::vector<double> levels) {
    QuantizeAttrs a;
    a.mode = QuantizeMode::Threshold;
    a.nThresholds = int(t.size());
    a.thresholds = std::move(t);
    a.strict = std::move(strict);
    a.levels = std::move(levels);
    const FixedType result = levelsType(a.levels, archFile_ + ": layer '" + name + "'");
    const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
    b_.layer(out).trained["result"] = result;
    return out;
}

// HGQ proxy models (calad0i/HGQ, src/HGQ/proxy/fixed_point_quantizer.py): a
// FixedPointQuantizer holds keep_negative, bits and integers (sign bit included), one
// per element, broadcast as numpy does over [1, per-sample shape...], and one rounding
// and overflow mode: y = cast<fixed<bits, integers, keep_negative, RND, SAT>>(x), 0 where
// bits is 0.
std::string KerasReader::fixedPointQuantizer(const json& cfg, const std::string& name, const std::string& in) {
    const std::string cls = "FixedPointQuantizer";
    const WeightIndex w = weightsOf(name);
    std::vector<size_t> kd, bd, id;
    const std::vector<double> kn = weight(w, name, "keep_negative", kd), bits = weight(w, name, "bits", bd),
                              ints = weight(w, name, "integers", id);
    if (kd != bd || bd != id) fail(name, cls, "keep_negative, bits and integers differ in shape");
    QuantizeAttrs a;
    const std::string where = archFile_ + ": layer '" + name + "' (" + cls + ")";
    a.quant = parseQuantMode(cfg.value("RND", "TRN"), where);
    a.overflow = parseOverflowMode(cfg.value("SAT", "WRAP"), where);
    const Shape& shape = b_.shape(in);
    // Drop the batch axis, then align the remaining axes to the per-sample shape from the right.
    std::vector<size_t> q(bd.begin() + (bd.empty() ? 0 : 1), bd.end());
    if (q.size() > shape.size()) fail(name, cls, "quantiser shape does not broadcast to " + shapeString(shape));
    q.insert(q.begin(), shape.size() - q.size(), 1);
    for (size_t d = 0; d < shape.size(); ++d)
        if (q[d] != 1 && (int)q[d] != shape[d]) fail(name, cls, "quantiser shape does not broadcast to " + shapeString(shape));
    const size_t n = size_t(b_.size(in));
    std::vector<int> wv(n), iv(n), sv(n);
    for (size_t e = 0; e < n; ++e) {
        size_t rest = e, src = 0, stride = 1;
        std::vector<size_t> idx(shape.size());
        for (size_t d = shape.size(); d-- > 0;) {
            idx[d] = rest % size_t(shape[d]);
            rest /= size_t(shape[d]);
        }
        for (size_t d = shape.size(); d-- > 0;) {
            src += (q[d] == 1 ? 0 : idx[d]) * stride;
            stride *= q[d];
        }
        wv[e] = int(bits[src]);
        iv[e] = wv[e] == 0 ? 0 : int(ints[src]);
        sv[e] = wv[e] == 0 ? 0 : int(kn[src]);
        if (wv[e] < 0 || wv[e] > 64) fail(name, cls, "element width " + std::to_string(wv[e]) + " is outside 0..64");
    }
    bool same = true;
    for (size_t e = 1; e < n; ++e) same = same && wv[e] == wv[0] && iv[e] == iv[0] && sv[e] == sv[0];
    if (same) wv.resize(1), iv.resize(1), sv.resize(1);
    a.width = wv;
    a.integer = iv;
    a.isSigned = sv;
    const FixedType result = unionType(a);
    // A quantiser right after the model input decides the input's type: truncation composes
    // (cast to the union type, then to each element's type, equals the element's cast).
    Layer& src = b_.layer(in);
    if (src.kind == LayerKind::Input && (a.quant == Quant::TRN || a.quant == Quant::TRN_ZERO)) src.trained["result"] = result;
    const std::string out = b_.add(name, LayerKind::Quantize, {in}, a);
    FixedType r = result;
    r.quant = Quant::TRN;
    r.overflow = Overflow::WRAP;
    b_.layer(out).trained["result"] = r;
    return out;
}

std::string KerasReader::fixedPointQuantizerLayer(const LayerCall& c) { return fixedPointQuantizer(c.cfg, c.name, c.ins[0]); }

}  // namespace tachyon::kerasfe
