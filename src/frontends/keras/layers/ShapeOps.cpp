// Data-movement layers: ZeroPadding1D/2D, UpSampling1D/2D, Flatten, Reshape, Permute, the
// merges (Add, Subtract, ..., Concatenate), and the identity at inference time (Dropout, noise).
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <map>
#include <cmath>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

std::string KerasReader::zeroPadding(const json& cfg, const std::string& name, const std::string& cls,
                                     const std::string& in) {
    channelsLast(cfg, name, cls);
    const Shape& x = b_.shape(in);
    const int rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;
    if ((int)x.size() != rank + 1) fail(name, cls, "expects a rank-" + std::to_string(rank + 1) + " input");
    PadAttrs a;
    a.padBegin.assign(x.size(), 0);
    a.padEnd.assign(x.size(), 0);
    const json p = cfg.contains("padding") ? cfg["padding"] : json(1);
    auto num = [&](const json& v) {
        if (!v.is_number_integer() || v.get<int>() < 0) fail(name, cls, "padding must hold non-negative integers");
        return v.get<int>();
    };
    // 1-D: n or [begin, end]; 2-D: n, [h, w] (symmetric) or [[top, bottom], [left, right]].
    if (p.is_number_integer()) {
        for (int d = 0; d < rank; ++d) a.padBegin[size_t(d)] = a.padEnd[size_t(d)] = num(p);
    } else if (p.is_array() && rank == 1 && p.size() == 2) {
        a.padBegin[0] = num(p[0]);
        a.padEnd[0] = num(p[1]);
    } else if (p.is_array() && rank == 2 && p.size() == 2) {
        for (int d = 0; d < 2; ++d) {
            if (p[size_t(d)].is_array() && p[size_t(d)].size() == 2) {
                a.padBegin[size_t(d)] = num(p[size_t(d)][0]);
                a.padEnd[size_t(d)] = num(p[size_t(d)][1]);
            } else {
                a.padBegin[size_t(d)] = a.padEnd[size_t(d)] = num(p[size_t(d)]);
            }
        }
    } else {
        fail(name, cls, "unsupported padding specification");
    }
    return b_.add(name, LayerKind::Pad, {in}, a);
}

std::string KerasReader::upSampling(const json& cfg, const std::string& name, const std::string& cls,
                                    const std::string& in) {
    channelsLast(cfg, name, cls);
    const Shape& x = b_.shape(in);
    const int rank = cls.size() >= 2 && cls[cls.size() - 2] == '1' ? 1 : 2;
    if ((int)x.size() != rank + 1) fail(name, cls, "expects a rank-" + std::to_string(rank + 1) + " input");
    if (cfg.contains("interpolation") && cfg["interpolation"] != "nearest")
        fail(name, cls, "only nearest-neighbour interpolation is supported");
    ResizeAttrs a;
    a.scale = ints(cfg, cfg.contains("size") ? "size" : "length", rank, 2, name, cls);
    a.scale.push_back(1);
    return b_.add(name, LayerKind::Resize, {in}, a);
}

std::string KerasReader::reshape(const json& cfg, const std::string& name, const std::string& in) {
    std::vector<int> target;
    if (cfg.contains("target_shape") && cfg["target_shape"].is_array())
        for (const auto& d : cfg["target_shape"]) target.push_back(d.is_number_integer() ? d.get<int>() : -1);
    long long known = 1;
    int unknown = -1;
    for (size_t k = 0; k < target.size(); ++k) {
        if (target[k] == -1) {
            if (unknown >= 0) fail(name, "Reshape", "more than one unknown dimension");
            unknown = int(k);
        } else if (target[k] <= 0) {
            fail(name, "Reshape", "invalid target_shape");
        } else {
            known *= target[k];
        }
    }
    if (target.empty() || known <= 0 || known > (1LL << 30)) fail(name, "Reshape", "invalid target_shape");
    if (unknown >= 0) target[size_t(unknown)] = int(b_.size(in) / known);
    return b_.reshape(name, in, target);
}

std::string KerasReader::zeroPaddingLayer(const LayerCall& c) { return zeroPadding(c.cfg, c.name, c.cls, c.ins[0]); }

std::string KerasReader::upSamplingLayer(const LayerCall& c) { return upSampling(c.cfg, c.name, c.cls, c.ins[0]); }

std::string KerasReader::reshapeLayer(const LayerCall& c) { return reshape(c.cfg, c.name, c.ins[0]); }

std::string KerasReader::flattenLayer(const LayerCall& c) { return b_.reshape(c.name, c.ins[0], {b_.size(c.ins[0])}); }

std::string KerasReader::permuteLayer(const LayerCall& c) {
    std::vector<int> perm;
    if (c.cfg.contains("dims") && c.cfg["dims"].is_array())
        for (const auto& d : c.cfg["dims"]) perm.push_back(d.is_number_integer() ? d.get<int>() - 1 : -1);
    try {
        return b_.transpose(c.name, c.ins[0], perm);
    } catch (const Error&) {
        fail(c.name, c.cls, "invalid dims");
    }
}

// Dropout and noise layers are the identity at inference time.
std::string KerasReader::identityLayer(const LayerCall& c) { return c.ins[0]; }

std::string KerasReader::mergeLayer(const LayerCall& c) {
    static const std::map<std::string, MergeOp> merges = {
        {"Add", MergeOp::Add}, {"Subtract", MergeOp::Subtract}, {"Multiply", MergeOp::Multiply},
        {"Average", MergeOp::Average}, {"Maximum", MergeOp::Maximum}, {"Minimum", MergeOp::Minimum}};
    if (c.ins.size() < 2) fail(c.name, c.cls, "needs at least two inputs");
    return b_.add(c.name, LayerKind::Merge, c.ins, MergeAttrs{merges.at(c.cls)});
}

std::string KerasReader::concatenateLayer(const LayerCall& c) {
    if (c.ins.size() < 2) fail(c.name, c.cls, "needs at least two inputs");
    const int rank = int(b_.shape(c.ins[0]).size());
    int axis = c.cfg.contains("axis") && c.cfg["axis"].is_number_integer() ? c.cfg["axis"].get<int>() : -1;
    axis = axis < 0 ? rank + axis : axis - 1;   // Keras counts the batch axis
    if (axis < 0 || axis >= rank) fail(c.name, c.cls, "axis out of range");
    return b_.add(c.name, LayerKind::Concatenate, c.ins, ConcatAttrs{axis});
}

}  // namespace tachyon::kerasfe
