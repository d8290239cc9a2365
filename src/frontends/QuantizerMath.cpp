// QKeras quantiser arithmetic, re-derived from qkeras/quantizers.py (google/qkeras,
// commit 78ea90f): see docs/semantics.md, "Quantisation-aware models", for each formula.
// QKeras evaluates in float32; every operation reproduced here is exact in float32 for the
// quantisers' inputs (products and quotients by powers of two, rounding to integers), so
// double arithmetic gives the same values. The data-dependent auto scales (alpha "auto",
// "auto_po2", ternary thresholds) use means and logarithms, computed here in double.
#include "frontends/QuantizerMath.h"

#include "util/Error.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

namespace tachyon {

namespace {

using nlohmann::json;

constexpr double kEpsilon = 1e-7;   // K.epsilon()

[[noreturn]] void fail(const std::string& where, const std::string& why) { throw Error(where + ": " + why); }

// Python's round(): half to even (tf.round).
double roundHalfEven(double x) { return std::nearbyint(x); }

double sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }

// Constructor argument order per class, for the string form "quantized_bits(6,0,alpha=1)".
const std::map<std::string, std::vector<std::string>>& positional() {
    static const std::map<std::string, std::vector<std::string>> m = {
        {"quantized_bits", {"bits", "integer", "symmetric", "keep_negative", "alpha", "use_stochastic_rounding"}},
        {"quantized_relu",
         {"bits", "integer", "use_sigmoid", "negative_slope", "use_stochastic_rounding", "relu_upper_bound"}},
        {"quantized_tanh", {"bits", "use_stochastic_rounding", "symmetric", "use_real_tanh"}},
        {"quantized_sigmoid", {"bits", "symmetric", "use_real_sigmoid", "use_stochastic_rounding"}},
        {"quantized_po2", {"bits", "max_value", "use_stochastic_rounding", "quadratic_approximation", "log2_rounding"}},
        {"quantized_relu_po2",
         {"bits", "max_value", "negative_slope", "use_stochastic_rounding", "quadratic_approximation", "log2_rounding"}},
        {"binary", {"use_01", "alpha", "use_stochastic_rounding"}},
        {"stochastic_binary", {"alpha", "temperature", "use_real_sigmoid"}},
        {"ternary", {"alpha", "threshold", "use_stochastic_rounding", "number_of_unrolls"}},
        {"stochastic_ternary", {"alpha", "threshold", "temperature", "use_real_sigmoid", "number_of_unrolls"}},
    };
    return m;
}

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

// A Python literal from a quantiser string: number, True/False/None or a quoted string.
json pyLiteral(const std::string& text, const std::string& where) {
    const std::string s = trim(text);
    if (s == "True") return true;
    if (s == "False") return false;
    if (s == "None") return nullptr;
    if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) return s.substr(1, s.size() - 2);
    try {
        size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
    fail(where, "cannot read quantiser argument '" + s + "'");
}

json configFromString(const std::string& text, std::string& cls, const std::string& where) {
    const std::string s = trim(text);
    const size_t open = s.find('(');
    cls = trim(s.substr(0, open));
    json cfg = json::object();
    if (open == std::string::npos) return cfg;
    if (s.back() != ')') fail(where, "malformed quantiser '" + s + "'");
    const std::string args = s.substr(open + 1, s.size() - open - 2);
    auto it = positional().find(cls);
    if (it == positional().end()) return cfg;   // reported by the caller
    std::vector<std::string> parts;
    std::string cur;
    int depth = 0;
    for (char c : args) {
        if (c == '(' || c == '[') ++depth;
        if (c == ')' || c == ']') --depth;
        if (c == ',' && depth == 0) {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!trim(cur).empty()) parts.push_back(cur);
    size_t k = 0;
    for (const std::string& p : parts) {
        const size_t eq = p.find('=');
        if (eq != std::string::npos) {
            cfg[trim(p.substr(0, eq))] = pyLiteral(p.substr(eq + 1), where);
        } else {
            if (k >= it->second.size()) fail(where, "too many arguments in '" + s + "'");
            cfg[it->second[k++]] = pyLiteral(p, where);
        }
    }
    return cfg;
}

double number(const json& cfg, const char* key, double dflt) {
    if (!cfg.contains(key) || cfg[key].is_null()) return dflt;
    if (cfg[key].is_boolean()) return cfg[key].get<bool>() ? 1.0 : 0.0;
    if (cfg[key].is_number()) return cfg[key].get<double>();
    if (cfg[key].is_array() && cfg[key].size() == 1 && cfg[key][0].is_number()) return cfg[key][0].get<double>();
    return dflt;
}

bool flag(const json& cfg, const char* key, bool dflt) { return number(cfg, key, dflt ? 1.0 : 0.0) != 0.0; }

bool isPowerOfTwo(double v) {
    if (!(v > 0) || !std::isfinite(v)) return false;
    int e;
    return std::frexp(v, &e) == 0.5;
}

// Per-output-channel reduction helpers over a tensor whose last axis has `ch` entries.
size_t channelsOf(const std::vector<size_t>& dims) { return dims.empty() ? 1 : dims.back(); }

// QKeras' least-squares scale (_get_least_squares_scale, per_channel_scale=True):
// mean(x*q)/(mean(q*q)+eps) over all axes but the last (elementwise for 1-D tensors),
// rounded to a power of two for auto_po2.
std::vector<double> leastSquaresScale(const std::string& alpha, const std::vector<double>& x,
                                      const std::vector<double>& q, const std::vector<size_t>& dims) {
    std::vector<double> scale;
    if (dims.size() <= 1) {
        for (size_t i = 0; i < x.size(); ++i) scale.push_back(x[i] * q[i] / (q[i] * q[i] + kEpsilon));
    } else {
        const size_t ch = channelsOf(dims), rows = x.size() / ch;
        std::vector<double> qx(ch, 0.0), qq(ch, 0.0);
        for (size_t i = 0; i < x.size(); ++i) {
            qx[i % ch] += x[i] * q[i];
            qq[i % ch] += q[i] * q[i];
        }
        for (size_t c = 0; c < ch; ++c) scale.push_back((qx[c] / double(rows)) / (qq[c] / double(rows) + kEpsilon));
    }
    if (alpha == "auto_po2")
        for (double& s : scale) s = std::pow(2.0, roundHalfEven(std::log(s + kEpsilon) / std::log(2.0)));
    return scale;
}

// Scale for element i: one per channel (multi-axis tensors), one per element (1-D
// least-squares) or one for all.
double scaleAt(const std::vector<double>& s, size_t i, size_t ch) {
    if (s.size() == 1) return s[0];
    if (s.size() == ch) return s[i % ch];
    return s[i];
}

// max |x| over all axes but the last (over everything for 1-D tensors).
std::vector<double> channelMaxAbs(const std::vector<double>& x, const std::vector<size_t>& dims) {
    if (dims.size() <= 1) {
        double m = 0;
        for (double v : x) m = std::max(m, std::fabs(v));
        return {m};
    }
    const size_t ch = channelsOf(dims);
    std::vector<double> m(ch, 0.0);
    for (size_t i = 0; i < x.size(); ++i) m[i % ch] = std::max(m[i % ch], std::fabs(x[i]));
    return m;
}

// Splits scale * grid into stored values: a power-of-two scale is multiplied in (exact),
// any other is kept apart for a following per-channel scaling.
QuantizedTensor withScale(std::vector<double> grid, std::vector<double> scale, size_t ch) {
    QuantizedTensor out;
    bool po2 = true;
    for (double s : scale) po2 = po2 && isPowerOfTwo(s);
    if (po2 || scale.size() > ch) {
        for (size_t i = 0; i < grid.size(); ++i) grid[i] *= scaleAt(scale, i, ch);
        out.values = std::move(grid);
        return out;
    }
    out.values = std::move(grid);
    out.channelScale = std::move(scale);
    return out;
}

}  // namespace

Quant parseQuantMode(const std::string& s, const std::string& where) {
    std::string a = s.rfind("AP_", 0) == 0 ? s.substr(3) : s;
    static const std::map<std::string, Quant> m = {{"TRN", Quant::TRN}, {"TRN_ZERO", Quant::TRN_ZERO},
                                                   {"RND", Quant::RND}, {"RND_ZERO", Quant::RND_ZERO},
                                                   {"RND_INF", Quant::RND_INF}, {"RND_MIN_INF", Quant::RND_MIN_INF},
                                                   {"RND_CONV", Quant::RND_CONV}};
    auto it = m.find(a);
    if (it == m.end()) fail(where, "unknown rounding mode '" + s + "'");
    return it->second;
}

Overflow parseOverflowMode(const std::string& s, const std::string& where) {
    std::string a = s.rfind("AP_", 0) == 0 ? s.substr(3) : s;
    static const std::map<std::string, Overflow> m = {
        {"WRAP", Overflow::WRAP}, {"SAT", Overflow::SAT}, {"SAT_ZERO", Overflow::SAT_ZERO}, {"SAT_SYM", Overflow::SAT_SYM}};
    auto it = m.find(a);
    if (it == m.end()) fail(where, "unsupported overflow mode '" + s + "'");
    return it->second;
}

std::optional<QKerasQuantizer> parseQKerasQuantizer(const json& j, const std::string& where) {
    if (j.is_null()) return std::nullopt;
    QKerasQuantizer q;
    json cfg = json::object();
    if (j.is_string()) {
        const std::string s = trim(j.get<std::string>());
        if (s.empty() || s == "linear" || s == "None") return std::nullopt;
        q.text = s;
        cfg = configFromString(s, q.cls, where);
    } else if (j.is_object() && j.contains("class_name") && j["class_name"].is_string()) {
        q.cls = j["class_name"];
        if (j.contains("config") && j["config"].is_object()) cfg = j["config"];
        q.text = q.cls + cfg.dump();
    } else {
        fail(where, "unreadable quantiser " + j.dump());
    }
    if (!positional().count(q.cls))
        fail(where, "unsupported quantiser '" + q.text +
                        "' (Tachyon reads quantized_bits, quantized_relu, quantized_tanh, quantized_sigmoid, "
                        "quantized_po2, quantized_relu_po2, binary, stochastic_binary, ternary)");
    const bool relu = q.cls == "quantized_relu";
    q.bits = int(number(cfg, "bits", q.cls == "binary" || q.cls == "stochastic_binary" ? 1 : (q.cls.find("ternary") != std::string::npos ? 2 : 8)));
    q.integer = number(cfg, "integer", 0);
    q.symmetric = flag(cfg, "symmetric", false);
    q.keepNegative = flag(cfg, "keep_negative", true);
    if (cfg.contains("alpha") && cfg["alpha"].is_string()) {
        q.alpha = cfg["alpha"];
        if (q.alpha != "auto" && q.alpha != "auto_po2") fail(where, "unsupported alpha '" + q.alpha + "' in " + q.text);
        if (q.cls == "quantized_bits") q.symmetric = true;   // QKeras: "auto*" |-> symmetric
    } else if (cfg.contains("alpha") && !cfg["alpha"].is_null()) {
        q.alphaValue = number(cfg, "alpha", 1.0);
        q.alpha = "number";
    }
    if (cfg.contains("max_value") && !cfg["max_value"].is_null()) q.maxValue = number(cfg, "max_value", 0);
    q.quadraticApproximation = flag(cfg, "quadratic_approximation", false);
    if (cfg.contains("log2_rounding") && cfg["log2_rounding"].is_string()) q.log2Rounding = cfg["log2_rounding"];
    if (cfg.contains("threshold") && !cfg["threshold"].is_null()) {
        if (!cfg["threshold"].is_number()) fail(where, "ternary threshold must be a number in " + q.text);
        q.threshold = cfg["threshold"].get<double>();
    }
    q.use01 = flag(cfg, "use_01", false);
    q.negativeSlope = number(cfg, "negative_slope", 0.0);
    q.useSigmoid = relu && flag(cfg, "use_sigmoid", false);
    q.useRealTanh = flag(cfg, "use_real_tanh", false);
    q.useRealSigmoid = q.cls == "quantized_sigmoid" && flag(cfg, "use_real_sigmoid", false);
    q.stochastic = flag(cfg, "use_stochastic_rounding", false);
    q.qnoiseFactor = number(cfg, "qnoise_factor", 1.0);
    if (cfg.contains("relu_upper_bound") && !cfg["relu_upper_bound"].is_null())
        q.reluUpperBound = number(cfg, "relu_upper_bound", 0);
    q.isQuantizedClip = flag(cfg, "is_quantized_clip", true);
    if (q.bits < 1 || q.bits > 63) fail(where, "quantiser bits out of range in " + q.text);
    if (q.integer != std::floor(q.integer) || std::fabs(q.integer) > 60) fail(where, "bad integer bits in " + q.text);
    if (q.qnoiseFactor != 1.0)
        fail(where, "qnoise_factor " + std::to_string(q.qnoiseFactor) + " mixes float and quantised values; only 1 is supported");
    return q;
}

FixedType quantizedBitsType(const QKerasQuantizer& q) {
    FixedType t = FixedType::fixed(q.bits, int(q.integer) + (q.keepNegative ? 1 : 0), q.keepNegative);
    t.quant = Quant::RND_CONV;
    t.overflow = q.symmetric && q.keepNegative ? Overflow::SAT_SYM : Overflow::SAT;
    return t;
}

FixedType exactTypeFor(const std::vector<double>& values, const std::string& where) {
    int frac = -64;
    bool negative = false, any = false;
    for (double v : values) {
        if (!std::isfinite(v)) fail(where, "non-finite value");
        negative = negative || v < 0;
        if (v == 0) continue;
        any = true;
        int f = -64;
        while (f <= 64 && std::ldexp(v, f) != std::floor(std::ldexp(v, f))) ++f;
        if (f > 64) fail(where, "value " + std::to_string(v) + " is not a fixed-point number of at most 64 fraction bits");
        frac = std::max(frac, f);
    }
    if (!any) return negative ? FixedType::fixed(2, 1, true) : FixedType::fixed(1, 1, false);
    // Bits for the largest magnitude at that LSB.
    int bits = 1;
    for (double v : values) {
        const double raw = std::ldexp(v, frac);
        int need;
        if (raw >= 0) need = raw == 0 ? 1 : int(std::floor(std::log2(raw))) + 1;
        else need = int(std::ceil(std::log2(-raw)));
        // log2 of exact powers of two is exact; guard the rounding of others.
        while (need < 63 && std::ldexp(1.0, need) <= std::fabs(raw) + (raw < 0 ? -1 : 0)) ++need;
        bits = std::max(bits, need);
    }
    const int width = bits + (negative ? 1 : 0);
    if (width > FixedType::kMaxWidth) fail(where, "the values need " + std::to_string(width) + " bits, more than 64");
    return FixedType::fixed(width, width - frac, negative);
}

namespace {

std::vector<double> quantizedBitsGrid(const QKerasQuantizer& q, const std::vector<double>& w) {
    // p = x * m / m_i; xq = m_i * clip(round(p), keep_negative * (-m + symmetric), m - 1) / m
    std::vector<double> out(w.size());
    const int unsignedBits = q.bits - (q.keepNegative ? 1 : 0);
    const double mi = std::ldexp(1.0, int(q.integer));
    if (unsignedBits <= 0) {
        for (size_t i = 0; i < w.size(); ++i) {
            double s = sign(w[i]);
            s += 1.0 - std::fabs(s);
            out[i] = q.keepNegative ? s : (s + 1.0) / 2.0;
        }
        return out;
    }
    const double m = std::ldexp(1.0, unsignedBits);
    const double lo = q.keepNegative ? -m + (q.symmetric ? 1 : 0) : 0.0, hi = m - 1;
    for (size_t i = 0; i < w.size(); ++i) out[i] = mi * std::clamp(roundHalfEven(w[i] * m / mi), lo, hi) / m;
    return out;
}

QuantizedTensor quantizedBitsAuto(const QKerasQuantizer& q, const std::vector<double>& w, const std::vector<size_t>& dims) {
    const size_t ch = channelsOf(dims);
    const double mi = std::ldexp(1.0, int(q.integer));
    const double m = std::ldexp(1.0, q.bits - (q.keepNegative ? 1 : 0));
    std::vector<double> x(w.size());
    for (size_t i = 0; i < w.size(); ++i) x[i] = w[i] / mi;
    const double levels = (std::ldexp(1.0, q.bits - 1) - 1) * 2;   // symmetric
    std::vector<double> scale = channelMaxAbs(x, dims);
    for (double& s : scale) s = s * 2 / levels;
    std::vector<double> z(x.size());
    auto quantize = [&] {
        for (size_t i = 0; i < x.size(); ++i) {
            const double v = std::floor(std::fabs(x[i]) / scaleAt(scale, i, ch) + 0.5);
            z[i] = sign(x[i]) * (v < levels / 2 ? v : levels / 2);
        }
    };
    if (q.alpha == "auto_po2") {
        for (double& s : scale) s = std::pow(2.0, roundHalfEven(std::log(s + kEpsilon) / std::log(2.0)));
        for (int it = 0; it < 5; ++it) {
            quantize();
            scale = leastSquaresScale("auto_po2", x, z, dims);
        }
    }
    quantize();
    // xq = m_i * z * scale (QKeras: scale*m times m_i*z/m)
    std::vector<double> grid(z.size());
    for (size_t i = 0; i < z.size(); ++i) grid[i] = mi * z[i];
    (void)m;
    return withScale(std::move(grid), std::move(scale), ch);
}

// quantized_po2 / quantized_relu_po2 on |x|: the exponent, as _clip_power_of_two.
double po2Exponent(const QKerasQuantizer& q, double xAbs, int minExp, int maxExp) {
    if (xAbs < kEpsilon) return minExp;
    double xf = xAbs;
    if (q.maxValue && xf >= *q.maxValue) xf = *q.maxValue;
    const double factor = q.quadraticApproximation ? 2.0 : 1.0;
    const double in = q.quadraticApproximation ? std::sqrt(xf) : xf;
    const double l = std::log(in) / std::log(2.0);
    const double e = q.log2Rounding == "floor" ? std::floor(l) : roundHalfEven(l);
    return factor * std::clamp(e, double(minExp), double(maxExp));
}

void po2Range(const QKerasQuantizer& q, int& minExp, int& maxExp) {
    const int needSign = !q.maxValue || *q.maxValue > 1 ? 1 : 0;
    const int effective = (q.cls == "quantized_po2" ? q.bits - 1 : q.bits) - needSign;
    minExp = -(1 << std::max(effective, 0));
    maxExp = (1 << std::max(effective, 0)) - 1;
    if (q.quadraticApproximation) maxExp = 2 * (maxExp / 2);
}

}  // namespace

QuantizedTensor quantizeWeights(const QKerasQuantizer& q, const std::vector<double>& w, const std::vector<size_t>& dims,
                                const std::string& where) {
    const size_t ch = channelsOf(dims);
    if (q.stochastic && q.cls != "quantized_bits" && q.cls != "quantized_relu")
        fail(where, "stochastic rounding in " + q.text + " is not supported");
    if (q.cls == "quantized_bits") {
        if (q.alpha == "auto" || q.alpha == "auto_po2") return quantizedBitsAuto(q, w, dims);
        return withScale(quantizedBitsGrid(q, w), {q.alphaValue}, ch);
    }
    if (q.cls == "binary" || q.cls == "stochastic_binary") {
        // k_sign = sign(x) with 0 -> +1 ({0, 1} with use_01); scale 1, alpha, or least squares.
        std::vector<double> k(w.size());
        for (size_t i = 0; i < w.size(); ++i) {
            double s = sign(w[i]);
            s += 1.0 - std::fabs(s);
            k[i] = q.use01 ? (s + 1.0) / 2.0 : s;
        }
        if (q.alpha == "auto" || q.alpha == "auto_po2") return withScale(k, leastSquaresScale(q.alpha, w, k, dims), ch);
        return withScale(std::move(k), {q.alphaValue}, ch);
    }
    if (q.cls == "ternary" || q.cls == "stochastic_ternary") {
        std::vector<double> t(w.size());
        if (q.alpha == "auto" || q.alpha == "auto_po2") {
            if (q.threshold) fail(where, "ternary with an auto alpha takes no threshold");
            std::vector<double> scale = channelMaxAbs(w, dims);
            for (double& s : scale) s = 2 * s / 3.0;
            if (q.alpha == "auto_po2")
                for (double& s : scale) s = std::pow(2.0, roundHalfEven(std::log(s + kEpsilon) / std::log(2.0)));
            for (int it = 0; it < 5; ++it) {
                for (size_t i = 0; i < w.size(); ++i) {
                    const double s = scaleAt(scale, i, ch);
                    const double v = s * roundHalfEven(w[i] / s);
                    t[i] = (std::fabs(v) >= s / 2.0 ? 1.0 : 0.0) * sign(w[i]);
                }
                scale = leastSquaresScale(q.alpha, w, t, dims);
            }
            return withScale(std::move(t), std::move(scale), ch);
        }
        // The threshold is a float32 constant in TensorFlow.
        const double thr = double(float(q.threshold.value_or(0.33)));
        for (size_t i = 0; i < w.size(); ++i) t[i] = (std::fabs(float(w[i])) >= thr ? 1.0 : 0.0) * sign(w[i]);
        return withScale(std::move(t), {q.alphaValue}, ch);
    }
    if (q.cls == "quantized_po2" || q.cls == "quantized_relu_po2") {
        int minExp, maxExp;
        po2Range(q, minExp, maxExp);
        QuantizedTensor out;
        for (double v : w) {
            if (q.cls == "quantized_relu_po2") {
                if (q.negativeSlope != 0) fail(where, "quantized_relu_po2 with a negative slope on weights is not supported");
                out.values.push_back(std::ldexp(1.0, int(po2Exponent(q, std::max(v, 0.0), minExp, maxExp))));
            } else {
                double s = sign(v);
                s += 1.0 - std::fabs(s);
                out.values.push_back(s * std::ldexp(1.0, int(po2Exponent(q, std::fabs(v), minExp, maxExp))));
            }
        }
        return out;
    }
    // Activation quantisers used on weights: the same cast.
    FixedType t;
    const QuantizeAttrs a = activationQuantizer(q, t, where);
    QuantizedTensor out;
    for (double v : w) {
        if (a.mode == QuantizeMode::Fixed) {
            FixedType e = FixedType::fixed(a.width[0], a.integer[0], a.isSigned[0] != 0);
            e.quant = a.quant;
            e.overflow = a.overflow;
            out.values.push_back(e.quantize(v));
        } else {
            size_t n = 0;
            for (int k = 0; k < a.nThresholds; ++k) n += a.strict[size_t(k)] ? v > a.thresholds[size_t(k)] : v >= a.thresholds[size_t(k)];
            out.values.push_back(a.levels[n]);
        }
    }
    return out;
}

FixedType levelsType(const std::vector<double>& levels, const std::string& where) {
    return exactTypeFor(levels, where);
}

FixedType unionType(const QuantizeAttrs& a) {
    // HGQ result_t_kif: k = max sign, i = max(integer - sign), f = max(width - integer),
    // over the elements with at least one bit.
    int k = 0, i = -64, f = -64;
    bool any = false;
    for (size_t e = 0; e < a.width.size(); ++e) {
        if (a.width[e] == 0) continue;
        any = true;
        k = std::max(k, a.isSigned[e]);
        i = std::max(i, a.integer[e] - a.isSigned[e]);
        f = std::max(f, a.width[e] - a.integer[e]);
    }
    if (!any) return FixedType::fixed(1, 1, false);
    int width = k + i + f;
    if (width < 1) {   // all elements below the binary point with negative integer bits
        f += 1 - width;
        width = 1;
    }
    FixedType t = FixedType::fixed(width, k + i, k != 0);
    t.quant = a.quant;
    t.overflow = a.overflow;
    return t;
}

QuantizeAttrs activationQuantizer(const QKerasQuantizer& q, FixedType& result, const std::string& where) {
    QuantizeAttrs a;
    auto single = [&](const FixedType& t) {
        a.mode = QuantizeMode::Fixed;
        a.quant = t.quant;
        a.overflow = t.overflow;
        a.width = {t.width};
        a.integer = {t.integer};
        a.isSigned = {t.isSigned ? 1 : 0};
        result = t;
        result.quant = Quant::TRN;      // the elements are already on the grid
        result.overflow = Overflow::WRAP;
    };
    auto thresholds = [&](std::vector<double> t, std::vector<int> strict, std::vector<double> levels) {
        a.mode = QuantizeMode::Threshold;
        a.nThresholds = int(t.size());
        a.thresholds = std::move(t);
        a.strict = std::move(strict);
        a.levels = std::move(levels);
        result = levelsType(a.levels, where);
    };
    if (q.stochastic) fail(where, q.text + ": stochastic rounding is not supported");
    if (q.cls == "quantized_bits") {
        if (!q.alpha.empty() && !(q.alpha == "number" && q.alphaValue == 1.0))
            fail(where, q.text + ": a scale (alpha) on an activation quantiser is not supported");
        if (q.bits - (q.keepNegative ? 1 : 0) <= 0) {
            // sign(x) with 0 -> +1: {-1, +1}, or {0, 1} without keep_negative.
            thresholds({0.0}, {0}, q.keepNegative ? std::vector<double>{-1.0, 1.0} : std::vector<double>{0.0, 1.0});
            return a;
        }
        single(quantizedBitsType(q));
        return a;
    }
    if (q.cls == "quantized_relu") {
        if (q.negativeSlope != 0.0 || q.useSigmoid)
            fail(where, q.text + ": quantized_relu with a negative slope or use_sigmoid is not supported");
        if (!q.isQuantizedClip && q.reluUpperBound)
            fail(where, q.text + ": relu_upper_bound without is_quantized_clip is not supported");
        // m_i * clip(round(x * m / m_i) / m, 0, 1 - 1/m), m = 2^bits: ap_ufixed<bits, integer, RND_CONV, SAT>.
        FixedType t = FixedType::fixed(q.bits, int(q.integer), false);
        t.quant = Quant::RND_CONV;
        t.overflow = Overflow::SAT;
        single(t);
        return a;
    }
    if (q.cls == "quantized_tanh") {
        if (q.useRealTanh) fail(where, q.text + ": use_real_tanh (float32 tanh) is not emulated bit-exactly");
        // clip(round(clip(x, -1, 1) * m) / m, -1 + symmetric/m, 1 - 1/m), m = 2^(bits-1):
        // ap_fixed<bits, 1, RND_CONV, SAT (SAT_SYM when symmetric)>.
        FixedType t = FixedType::fixed(q.bits, 1, true);
        t.quant = Quant::RND_CONV;
        t.overflow = q.symmetric ? Overflow::SAT_SYM : Overflow::SAT;
        single(t);
        return a;
    }
    if (q.cls == "quantized_sigmoid") {
        if (q.useRealSigmoid) fail(where, q.text + ": use_real_sigmoid (float32 sigmoid) is not emulated bit-exactly");
        if (q.bits > 12) fail(where, q.text + ": more than 12 bits is not supported");
        // y = clip(round(p * m) / m, symmetric/m, 1 - 1/m), p = clip(0.5 x + 0.5, 0, 1), m = 2^bits.
        // Level j/m is reached when p*m >= j - 1/2, i.e. x >= 2 (j - 1/2) / m - 1; at the tie
        // round-half-even picks the even one, so the comparison is strict for odd j.
        const int m = 1 << q.bits, lo = q.symmetric ? 1 : 0;
        std::vector<double> t, levels{double(lo) / m};
        std::vector<int> strict;
        for (int j = lo + 1; j <= m - 1; ++j) {
            t.push_back(2.0 * (j - 0.5) / m - 1.0);
            strict.push_back(j % 2);
            levels.push_back(double(j) / m);
        }
        if (t.empty()) fail(where, q.text + ": a single level");
        thresholds(t, strict, levels);
        return a;
    }
    if (q.cls == "binary" || q.cls == "stochastic_binary") {
        if (q.alpha == "auto" || q.alpha == "auto_po2")
            fail(where, q.text + ": an auto scale on an activation depends on the batch; not supported");
        const double s = q.alphaValue;
        thresholds({0.0}, {0}, q.use01 ? std::vector<double>{0.0, s} : std::vector<double>{-s, s});
        return a;
    }
    if (q.cls == "ternary" || q.cls == "stochastic_ternary") {
        if (q.alpha == "auto" || q.alpha == "auto_po2")
            fail(where, q.text + ": an auto scale on an activation depends on the batch; not supported");
        const double thr = double(float(q.threshold.value_or(0.33))), s = q.alphaValue;
        // |x| >= t -> sign(x) * alpha, else 0: -alpha for x <= -t, alpha for x >= t.
        thresholds({-thr, thr}, {1, 0}, {-s, 0.0, s});
        return a;
    }
    fail(where, q.text + " as an activation quantiser is not supported (po2 activations)");
}

}  // namespace tachyon
