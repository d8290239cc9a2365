// Conv1D/2D, DepthwiseConv1D/2D, SeparableConv1D/2D and their QKeras forms.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

std::string KerasReader::conv(const json& cfg, const std::string& name, const std::string& cls, const std::string& in) {
    channelsLast(cfg, name, cls);
    const int rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;   // ...1D / ...2D
    const bool depthwise = cls.rfind("Depthwise", 0) == 0, separable = cls.rfind("Separable", 0) == 0;
    const Shape& x = b_.shape(in);
    if ((int)x.size() != rank + 1)
        fail(name, cls, "expects a rank-" + std::to_string(rank + 1) + " input, got " + shapeString(x));
    if (cfg.contains("groups") && cfg["groups"].is_number_integer() && cfg["groups"].get<int>() != 1)
        fail(name, cls, "grouped convolution (groups > 1) is not supported");
    const int cin = x.back();
    ConvAttrs a;
    a.rank = rank;
    a.kernel = ints(cfg, "kernel_size", rank, 1, name, cls);
    a.strides = ints(cfg, "strides", rank, 1, name, cls);
    a.dilation = ints(cfg, "dilation_rate", rank, 1, name, cls);
    windowPadding(cfg, x, a.kernel, a.strides, a.dilation, a.padBegin, a.padEnd, name, cls);
    a.inChannels = cin;
    const WeightIndex w = weightsOf(name);
    if (w.empty()) fail(name, cls, "no weights for this layer in " + h5_.path());
    long long window = 1;
    for (int k : a.kernel) window *= k;
    std::optional<FixedType> kernelT, biasT, pointT;
    auto bias = [&](int n) {
        return quantized(cfg, "bias_quantizer", optionalBias(cfg, w, name, cls, n), {size_t(n)}, name, cls, biasT, nullptr);
    };
    auto kernelOf = [&](const char* key, long long expectPerOut, int& outCount) {
        std::vector<size_t> dims;
        std::vector<double> k = weight(w, name, key, dims);
        const std::string qkey = std::string(key) == "kernel" ? "kernel_quantizer" : "depthwise_quantizer";
        k = quantized(cfg, qkey.c_str(), std::move(k), dims, name, cls, kernelT, nullptr);
        if (dims.size() != size_t(rank) + 2) fail(name, cls, std::string(key) + " has rank " + std::to_string(dims.size()));
        for (int d = 0; d < rank; ++d)
            if ((int)dims[size_t(d)] != a.kernel[size_t(d)]) fail(name, cls, std::string(key) + " does not match kernel_size");
        outCount = int(dims.back());
        if ((long long)dims[size_t(rank)] * 1 != (depthwise || separable ? cin : cin) || (long long)k.size() != expectPerOut * outCount)
            fail(name, cls, std::string(key) + " does not match the " + std::to_string(cin) + " input channels");
        return k;
    };
    int count = 0;
    if (!depthwise && !separable) {
        std::vector<double> k = kernelOf("kernel", window * cin, count);
        a.outChannels = count;
        std::string out = b_.add(name, LayerKind::Conv, {in}, a, {{"weight", std::move(k)}, {"bias", bias(count)}});
        trainedMac(out, kernelT, biasT);
        return cfgActivation(cfg, name, out, cls);
    }
    // Depthwise part (its own layer for SeparableConv, as hls4ml splits it).
    std::vector<double> dk = kernelOf("depthwise_kernel", window * cin, count);
    a.depthwise = true;
    a.depthMultiplier = count;
    a.outChannels = cin * count;
    if (depthwise) {
        std::string out = b_.add(name, LayerKind::Conv, {in}, a, {{"weight", std::move(dk)}, {"bias", bias(a.outChannels)}});
        trainedMac(out, kernelT, biasT);
        return cfgActivation(cfg, name, out, cls);
    }
    std::string dw = b_.add(name + "_depthwise", LayerKind::Conv, {in}, a,
                            {{"weight", std::move(dk)}, {"bias", std::vector<double>(size_t(a.outChannels), 0.0)}});
    trainedMac(dw, kernelT, kernelT ? std::optional<FixedType>(exactTypeFor({0.0}, "")) : std::nullopt);
    std::vector<size_t> pdims;
    std::vector<double> pk = weight(w, name, "pointwise_kernel", pdims);
    pk = quantized(cfg, "pointwise_quantizer", std::move(pk), pdims, name, cls, pointT, nullptr);
    if (pdims.size() != size_t(rank) + 2 || (int)pdims[size_t(rank)] != a.outChannels)
        fail(name, cls, "pointwise_kernel does not match the depthwise output");
    ConvAttrs p;
    p.rank = rank;
    p.kernel = p.strides = p.dilation = std::vector<int>(size_t(rank), 1);
    p.padBegin = p.padEnd = std::vector<int>(size_t(rank), 0);
    p.inChannels = a.outChannels;
    p.outChannels = int(pdims.back());
    std::string out = b_.add(name + "_pointwise", LayerKind::Conv, {dw}, p, {{"weight", std::move(pk)}, {"bias", bias(p.outChannels)}});
    trainedMac(out, pointT, biasT);
    return cfgActivation(cfg, name, out, cls);
}

std::string KerasReader::convLayer(const LayerCall& c) { return conv(c.cfg, c.name, c.cls, c.ins[0]); }

// QConv2D reads as Conv2D with quantised weights, and so on.
std::string KerasReader::quantConvLayer(const LayerCall& c) { return conv(c.cfg, c.name, c.cls.substr(1), c.ins[0]); }

}  // namespace tachyon::kerasfe
