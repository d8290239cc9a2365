// SimpleRNN, LSTM and GRU.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

// Keras 2 SimpleRNN / LSTM / GRU: kernel [nIn][G*units], recurrent_kernel [units][G*units],
// bias [G*units] (GRU reset_after: [2][3*units], input and recurrent bias). Keras' gate
// order (i, f, c, o; z, r, h) is the IR's.
std::string KerasReader::recurrent(const json& cfg, const std::string& name, const std::string& cls,
                                   const std::string& in) {
    const Shape& x = b_.shape(in);
    if (x.size() != 2) fail(name, cls, "expects a [steps, features] sequence input, got " + shapeString(x));
    for (const char* key : {"return_state", "stateful", "time_major", "unroll_state"})
        if (cfg.contains(key) && cfg[key].is_boolean() && cfg[key].get<bool>())
            fail(name, cls, std::string("'") + key + "' is not supported");
    if (!cfg.contains("units") || !cfg["units"].is_number_integer() || cfg["units"].get<int>() <= 0)
        fail(name, cls, "no valid 'units'");
    RecurrentAttrs a;
    a.cell = cls == "LSTM" ? RnnCell::LSTM : cls == "GRU" ? RnnCell::GRU : RnnCell::SimpleRNN;
    a.units = cfg["units"];
    a.steps = x[0];
    a.nIn = x[1];
    a.returnSequences = cfg.value("return_sequences", false);
    a.goBackwards = cfg.value("go_backwards", false);
    a.resetAfter = a.cell == RnnCell::GRU && cfg.value("reset_after", false);
    auto act = [&](const char* key, const char* dflt) {
        const std::string s = cfg.contains(key) && cfg[key].is_string() ? cfg[key].get<std::string>() : dflt;
        auto k = parseActivation(s);
        if (!k || (*k != ActKind::Linear && *k != ActKind::ReLU && *k != ActKind::Sigmoid && *k != ActKind::Tanh &&
                   *k != ActKind::HardSigmoid && *k != ActKind::Softsign && *k != ActKind::Softplus))
            fail(name, cls, std::string("unsupported ") + key + " '" + s + "'");
        return *k;
    };
    a.activation = act("activation", "tanh");
    if (a.cell != RnnCell::SimpleRNN) a.recurrentActivation = act("recurrent_activation", "sigmoid");
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, cls, "no weights for this layer in " + h5_.path());
    const size_t g = size_t(a.gates()) * size_t(a.units);
    std::vector<size_t> kd, rd, bd;
    std::vector<double> kernel = weight(w, name, "kernel", kd);
    std::vector<double> rec = weight(w, name, "recurrent_kernel", rd);
    if (kernel.size() != size_t(a.nIn) * g) fail(name, cls, "kernel does not match [" + std::to_string(a.nIn) + ", " + std::to_string(g) + "]");
    if (rec.size() != size_t(a.units) * g) fail(name, cls, "recurrent_kernel does not match [" + std::to_string(a.units) + ", " + std::to_string(g) + "]");
    std::vector<double> bias(g, 0.0), rbias(g, 0.0);
    const bool useBias = !cfg.contains("use_bias") || !cfg["use_bias"].is_boolean() || cfg["use_bias"].get<bool>();
    if (useBias) {
        std::vector<double> bv = weight(w, name, "bias", bd);
        if (a.resetAfter && bv.size() == 2 * g) {
            std::copy(bv.begin(), bv.begin() + long(g), bias.begin());
            std::copy(bv.begin() + long(g), bv.end(), rbias.begin());
        } else if (bv.size() == g) {
            bias = bv;
        } else {
            fail(name, cls, "bias has " + std::to_string(bv.size()) + " values, expected " + std::to_string(a.resetAfter ? 2 * g : g));
        }
    }
    return b_.add(name, LayerKind::Recurrent, {in}, a,
                  {{"weight", std::move(kernel)}, {"recurrent_weight", std::move(rec)}, {"bias", std::move(bias)},
                   {"recurrent_bias", std::move(rbias)}});
}

std::string KerasReader::recurrentLayer(const LayerCall& c) { return recurrent(c.cfg, c.name, c.cls, c.ins[0]); }

}  // namespace tachyon::kerasfe
