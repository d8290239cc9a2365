// Activation layers and activations named in a layer's config: Keras names and QKeras
// quantisers.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <map>

namespace tachyon::kerasfe {

std::string KerasReader::activation(const std::string& name, const std::string& in, const std::string& act,
                                    const std::string& layer, const std::string& cls) {
    if (act == "linear") return in;
    if (act == "softmax") return b_.softmax(name, in);
    // BinaryNet / TernaryNet activations (as hls4ml reads them): binary_tanh(x) =
    // 2 round(clip((x+1)/2, 0, 1)) - 1, i.e. x > 0 ? 1 : -1; ternary_tanh(x) = x > 0.5 ? 1 :
    // (x <= -0.5 ? -1 : 0).
    if (act == "binary_tanh") return thresholdLayer(name, in, {0.0}, {1}, {-1.0, 1.0});
    if (act == "ternary_tanh") return thresholdLayer(name, in, {-0.5, 0.5}, {1, 1}, {-1.0, 0.0, 1.0});
    if (act.find('(') != std::string::npos || act.rfind("quantized_", 0) == 0 || act == "binary" || act == "ternary" ||
        act == "stochastic_binary" || act == "stochastic_ternary")
        return quantizer(name, in, *parseQKerasQuantizer(json(act), archFile_ + ": layer '" + layer + "' (" + cls + ")"));
    auto kind = parseActivation(act);
    // Keras 2 names: "leaky_relu" has no fixed slope as a string activation, so only the
    // LeakyReLU layer (with its alpha) is accepted.
    if (!kind || *kind == ActKind::LeakyReLU) fail(layer, cls, "unsupported activation '" + act + "'");
    ActAttrs a;
    a.kind = *kind;
    if (*kind == ActKind::HardSigmoid) {   // Keras 2: clip(0.2 * x + 0.5, 0, 1)
        a.slope = 0.2;
        a.offset = 0.5;
    }
    if (*kind == ActKind::ELU) a.alpha = 1.0;
    return b_.activation(name, in, a);
}

std::string KerasReader::cfgActivation(const json& cfg, const std::string& name, const std::string& out,
                                       const std::string& cls) {
    if (!cfg.contains("activation") || cfg["activation"].is_null()) return out;
    const json& act = cfg["activation"];
    if (act.is_object()) {
        const auto q = parseQKerasQuantizer(act, archFile_ + ": layer '" + name + "' (" + cls + ") activation");
        return q ? quantizer(name + "_" + q->cls, out, *q) : out;
    }
    if (!act.is_string()) fail(name, cls, "unreadable activation");
    return activation(name + "_" + act.get<std::string>(), out, act.get<std::string>(), name, cls);
}

std::string KerasReader::activationLayer(const LayerCall& c) {
    if (!c.cfg.contains("activation") || !c.cfg["activation"].is_string())
        fail(c.name, c.cls, "no 'activation' given");
    return activation(c.name, c.ins[0], c.cfg["activation"], c.name, c.cls);
}

std::string KerasReader::quantActivationLayer(const LayerCall& c) {
    if (!c.cfg.contains("activation")) fail(c.name, c.cls, "no 'activation' given");
    const json& act = c.cfg["activation"];
    if (act.is_string()) return activation(c.name, c.ins[0], act, c.name, c.cls);
    const auto q = parseQKerasQuantizer(act, archFile_ + ": layer '" + c.name + "' (" + c.cls + ")");
    return q ? quantizer(c.name, c.ins[0], *q) : c.ins[0];
}

std::string KerasReader::reluLayer(const LayerCall& c) {
    const json& cfg = c.cfg;
    const double maxValue = cfg.contains("max_value") && cfg["max_value"].is_number() ? cfg["max_value"].get<double>() : -1;
    const double slope = cfg.contains("negative_slope") && cfg["negative_slope"].is_number() ? cfg["negative_slope"].get<double>() : 0;
    const double threshold = cfg.contains("threshold") && cfg["threshold"].is_number() ? cfg["threshold"].get<double>() : 0;
    if (threshold != 0) fail(c.name, c.cls, "a non-zero threshold is not supported");
    ActAttrs a;
    if (slope != 0 && maxValue < 0) a.kind = ActKind::LeakyReLU, a.alpha = slope;
    else if (slope == 0 && maxValue == 6) a.kind = ActKind::ReLU6;
    else if (slope == 0 && maxValue < 0) a.kind = ActKind::ReLU;
    else fail(c.name, c.cls, "only plain relu, relu6 (max_value 6) or a leaky slope is supported");
    return b_.activation(c.name, c.ins[0], a);
}

std::string KerasReader::leakyReluOrEluLayer(const LayerCall& c) {
    // Keras 2 calls the slope alpha (LeakyReLU default 0.3, ELU 1.0); Keras 3 negative_slope.
    ActAttrs a;
    a.kind = c.cls == "ELU" ? ActKind::ELU : ActKind::LeakyReLU;
    a.alpha = c.cls == "ELU" ? 1.0 : 0.3;
    for (const char* key : {"alpha", "negative_slope"})
        if (c.cfg.contains(key) && c.cfg[key].is_number()) a.alpha = c.cfg[key];
    return b_.activation(c.name, c.ins[0], a);
}

std::string KerasReader::softmaxLayer(const LayerCall& c) {
    if (c.cfg.contains("axis") && !(c.cfg["axis"].is_number_integer() && c.cfg["axis"].get<int>() == -1))
        fail(c.name, c.cls, "only softmax over the last axis is supported");
    return b_.softmax(c.name, c.ins[0]);
}

}  // namespace tachyon::kerasfe
