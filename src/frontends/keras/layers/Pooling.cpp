// Max/average pooling (windowed and global, 1-D and 2-D) and QKeras' QAveragePooling2D.
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

std::string KerasReader::pooling(const json& cfg, const std::string& name, const std::string& cls, const std::string& in) {
    channelsLast(cfg, name, cls);
    PoolAttrs a;
    a.rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;
    a.op = cls.find("Max") != std::string::npos ? PoolOp::Max : PoolOp::Average;
    a.global = cls.rfind("Global", 0) == 0;
    const Shape& x = b_.shape(in);
    if ((int)x.size() != a.rank + 1)
        fail(name, cls, "expects a rank-" + std::to_string(a.rank + 1) + " input, got " + shapeString(x));
    if (!a.global) {
        // Keras 2 spells the 1-D window pool_length in old files.
        a.kernel = ints(cfg, cfg.contains("pool_size") ? "pool_size" : "pool_length", a.rank, 2, name, cls);
        a.strides = cfg.contains("strides") && !cfg["strides"].is_null() ? ints(cfg, "strides", a.rank, 1, name, cls) : a.kernel;
        windowPadding(cfg, x, a.kernel, a.strides, std::vector<int>(size_t(a.rank), 1), a.padBegin, a.padEnd, name, cls);
    }
    return b_.add(name, LayerKind::Pooling, {in}, a);
}

// QKeras QAveragePooling2D with an average_quantizer (qkeras/qpooling.py): y = (sum of the
// window) * q(1 / pool_area), i.e. a depthwise convolution whose weights are all
// q(1/pool_area), computed exactly; then its activation.
std::string KerasReader::qAveragePooling(const json& cfg, const std::string& name, const std::string& in) {
    const std::string cls = "QAveragePooling2D";
    if (!cfg.contains("average_quantizer") || cfg["average_quantizer"].is_null()) {
        const std::string out = pooling(cfg, name, "AveragePooling2D", in);
        return cfgActivation(cfg, name, out, cls);
    }
    channelsLast(cfg, name, cls);
    const Shape& x = b_.shape(in);
    if (x.size() != 3) fail(name, cls, "expects a rank-3 input, got " + shapeString(x));
    if (cfg.value("padding", "valid") != "valid") fail(name, cls, "only 'valid' padding is supported with an average_quantizer");
    ConvAttrs a;
    a.rank = 2;
    a.kernel = ints(cfg, "pool_size", 2, 2, name, cls);
    a.strides = cfg.contains("strides") && !cfg["strides"].is_null() ? ints(cfg, "strides", 2, 1, name, cls) : a.kernel;
    a.dilation = {1, 1};
    a.padBegin = a.padEnd = {0, 0};
    a.inChannels = a.outChannels = x.back();
    a.depthwise = true;
    a.depthMultiplier = 1;
    const int area = a.kernel[0] * a.kernel[1];
    const std::string where = archFile_ + ": layer '" + name + "' (" + cls + ") average_quantizer";
    auto q = parseQKerasQuantizer(cfg["average_quantizer"], where);
    const double factor = double(float(1.0 / area));
    const double qf = q ? quantizeWeights(*q, {factor}, {1}, where).values.at(0) : factor;
    std::vector<double> weight(size_t(area) * size_t(x.back()), qf);
    const std::string out = b_.add(name, LayerKind::Conv, {in}, a,
                                   {{"weight", weight}, {"bias", std::vector<double>(size_t(x.back()), 0.0)}});
    trainedMac(out, exactTypeFor({qf}, where), exactTypeFor({0.0}, where));
    return cfgActivation(cfg, name, out, cls);
}

std::string KerasReader::poolingLayer(const LayerCall& c) { return pooling(c.cfg, c.name, c.cls, c.ins[0]); }

std::string KerasReader::quantAveragePoolingLayer(const LayerCall& c) { return qAveragePooling(c.cfg, c.name, c.ins[0]); }

}  // namespace tachyon::kerasfe
