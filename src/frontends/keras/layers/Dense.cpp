// Dense, and the quantisation-aware QDense, BinaryDense and TernaryDense.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

std::string KerasReader::dense(const json& cfg, const std::string& name, const std::string& in) {
    const std::string cls = cfg.contains("__class") ? cfg["__class"].get<std::string>() : "Dense";
    if (!cfg.contains("units") || !cfg["units"].is_number_integer() || cfg["units"].get<long long>() <= 0 ||
        cfg["units"].get<long long>() > (1 << 24))
        fail(name, cls, "no valid 'units'");
    const int units = cfg["units"];
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, cls, "no weights for this layer in " + h5_.path());
    std::vector<size_t> kdims;
    std::vector<double> kernel = weight(w, name, "kernel", kdims);
    if (kdims.size() != 2 || (int)kdims[1] != units)
        fail(name, cls, "kernel shape does not match [n_in, " + std::to_string(units) + "]");
    if ((int)kdims[0] != b_.shape(in).back())
        fail(name, cls, "kernel expects " + std::to_string(kdims[0]) + " inputs but the layer receives " +
                            shapeString(b_.shape(in)));
    std::optional<FixedType> wT, bT;
    std::vector<double> scale;
    if (cls == "BinaryDense" || cls == "TernaryDense") {
        // BinaryNet/TernaryNet (the layers hls4ml reads as binary/ternary weights):
        // binarize(W, H) = H * (W/H > 0 ? 1 : -1); ternarize(W, H) = H * (W/H > 0.5 ? 1 :
        // (W/H <= -0.5 ? -1 : 0)).
        const double h = cfg.contains("H") && cfg["H"].is_number() ? cfg["H"].get<double>() : 1.0;
        for (double& v : kernel) {
            const double x = v / h;
            v = cls == "BinaryDense" ? (x > 0 ? h : -h) : (x > 0.5 ? h : (x <= -0.5 ? -h : 0.0));
        }
        wT = exactTypeFor(kernel, archFile_ + ": layer '" + name + "' kernel");
    } else {
        kernel = quantized(cfg, "kernel_quantizer", std::move(kernel), kdims, name, cls, wT, &scale);
    }
    std::vector<double> bias = optionalBias(cfg, w, name, cls, units);
    bias = quantized(cfg, "bias_quantizer", std::move(bias), {size_t(units)}, name, cls, bT, nullptr);
    if (hgq_ && !wT) {   // HGQ proxy models store the already-quantised weights
        wT = exactTypeFor(kernel, archFile_ + ": layer '" + name + "' kernel");
        bT = exactTypeFor(bias, archFile_ + ": layer '" + name + "' bias");
    }
    std::string out;
    if (scale.empty()) {
        out = b_.dense(name, in, units, std::move(kernel), bias);
        trainedMac(out, wT, bT);
    } else {
        // A scale that is no power of two (alpha "auto"): the integer-grid weights, then
        // y = scale_j * acc_j + b_j as its own per-channel layer (hls4ml's ApplyAlpha).
        out = b_.dense(name, in, units, std::move(kernel), std::vector<double>(size_t(units), 0.0));
        trainedMac(out, wT, exactTypeFor({0.0}, ""));
        std::vector<double> gamma(static_cast<size_t>(units), 0.0);
        for (int j = 0; j < units; ++j) gamma[size_t(j)] = scale.size() == 1 ? scale[0] : scale[size_t(j)];
        out = b_.batchNorm(name + "_alpha", out, gamma, bias, std::vector<double>(size_t(units), 0.0),
                           std::vector<double>(size_t(units), 1.0), 0.0);
    }
    return cfgActivation(cfg, name, out, cls);
}

std::string KerasReader::denseLayer(const LayerCall& c) { return dense(c.cfg, c.name, c.ins[0]); }

std::string KerasReader::quantDenseLayer(const LayerCall& c) {
    json cfg = c.cfg;
    cfg["__class"] = c.cls;
    return dense(cfg, c.name, c.ins[0]);
}

}  // namespace tachyon::kerasfe
