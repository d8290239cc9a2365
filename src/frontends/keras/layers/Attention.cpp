// MultiHeadAttention of a functional model (query, value and optional key inputs).
#include "frontends/keras/KerasReader.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <map>

namespace tachyon::kerasfe {

// Keras MultiHeadAttention (Keras 2 layout: EinsumDense sublayers query, key, value
// [features, heads, head_dim] and attention_output [heads, value_dim, output]), called on
// query and value (key = value unless given), default attention_axes (the token axis of a
// [tokens, features] sample). As Keras computes it: Q = x_q Wq + bq scaled by 1/sqrt(key_dim),
// K, V likewise unscaled; per head softmax(Q K^T) V; the heads concatenated and projected.
// Layers: Dense, Reshape + Transpose to [heads, tokens, head_dim], a BatchNorm (the scale),
// MatMul (transpose_b), Softmax, MatMul, Transpose + Reshape back, Dense.
std::string KerasReader::multiHeadAttention(const json& l, const json& cfg, const std::string& name) {
    const std::string cls = "MultiHeadAttention";
    // Operands: [[["q", 0, 0, {"value": ["v", 0, 0], "key": [...]}], ["v", 0, 0, {}]...]] (Keras 2)
    // or [{"args": [...], "kwargs": {...}}] with keras_history references.
    auto ref = [&](const json& j) -> std::string {
        if (j.is_array() && j.size() >= 3 && j[0].is_string()) return j[0];
        if (j.is_object() && j.contains("config") && j["config"].is_object() && j["config"].contains("keras_history"))
            return j["config"]["keras_history"][0];
        return "";
    };
    std::vector<std::string> positional;
    json kwargs = json::object();
    const json& nodes = l.contains("inbound_nodes") ? l["inbound_nodes"] : json::array();
    if (!nodes.is_array() || nodes.size() != 1) fail(name, cls, "must be called exactly once (shared layers are not supported)");
    const json& node = nodes[0];
    if (node.is_array()) {
        for (const json& e : node) {
            const std::string r = ref(e);
            if (r.empty()) fail(name, cls, "unreadable inbound node");
            positional.push_back(r);
            if (e.size() >= 4 && e[3].is_object()) kwargs.update(e[3]);
        }
    } else if (node.is_object()) {
        if (node.contains("args") && node["args"].is_array())
            for (const json& a : node["args"]) positional.push_back(ref(a));
        if (node.contains("kwargs") && node["kwargs"].is_object()) kwargs = node["kwargs"];
    }
    for (const char* refused : {"attention_mask", "query_mask", "value_mask", "key_mask"})
        if (kwargs.contains(refused) && !kwargs[refused].is_null())
            fail(name, cls, std::string("masks are not supported (") + refused + ")");
    for (const char* refused : {"use_causal_mask", "return_attention_scores"})
        if (kwargs.contains(refused) && kwargs[refused].is_boolean() && kwargs[refused].get<bool>())
            fail(name, cls, std::string(refused) + " is not supported");
    auto operand = [&](size_t pos, const char* key, const std::string& dflt) {
        std::string k = pos < positional.size() ? positional[pos] : "";
        if (kwargs.contains(key) && !kwargs[key].is_null()) k = ref(kwargs[key]);
        if (k.empty()) return dflt;
        auto it = outputOf_.find(k);
        if (it == outputOf_.end()) fail(name, cls, "reads unknown layer '" + k + "'");
        return it->second;
    };
    const std::string query = operand(0, "query", "");
    if (query.empty()) fail(name, cls, "has no query input");
    const std::string value = operand(1, "value", "");
    if (value.empty()) fail(name, cls, "has no value input");
    const std::string key = operand(2, "key", value);

    auto positive = [&](const char* k) {
        if (!cfg.contains(k) || !cfg[k].is_number_integer() || cfg[k].get<long long>() <= 0 || cfg[k].get<long long>() > 4096)
            fail(name, cls, std::string("no valid '") + k + "'");
        return cfg[k].get<int>();
    };
    const int heads = positive("num_heads"), keyDim = positive("key_dim");
    const int valueDim = cfg.contains("value_dim") && !cfg["value_dim"].is_null() ? positive("value_dim") : keyDim;
    // Copies: adding layers below moves the graph's layers.
    const Shape qs = b_.shape(query), vs = b_.shape(value), ks = b_.shape(key);
    if (qs.size() != 2 || vs.size() != 2 || ks.size() != 2)
        fail(name, cls, "expects [tokens, features] inputs per sample, got " + shapeString(qs) + ", " + shapeString(vs) +
                            ", " + shapeString(ks));
    if (ks[0] != vs[0]) fail(name, cls, "key and value have different numbers of tokens");
    if (cfg.contains("attention_axes") && !cfg["attention_axes"].is_null()) {
        json axes = cfg["attention_axes"];
        if (axes.is_array() && axes.size() == 1) axes = axes[0];
        if (!axes.is_number_integer() || (axes.get<int>() != 1 && axes.get<int>() != -3))
            fail(name, cls, "attention_axes other than the default (the token axis) are not supported");
    }
    int outDim = qs[1];
    if (cfg.contains("output_shape") && !cfg["output_shape"].is_null()) {
        json o = cfg["output_shape"];
        if (o.is_array() && o.size() == 1) o = o[0];
        if (!o.is_number_integer() || o.get<int>() <= 0) fail(name, cls, "only an integer output_shape is supported");
        outDim = o.get<int>();
    }
    const bool useBias = !cfg.contains("use_bias") || !cfg["use_bias"].is_boolean() || cfg["use_bias"].get<bool>();
    // dropout only acts in training.
    const WeightIndex w = weightsOf(name);
    auto read = [&](const std::string& k, const std::vector<size_t>& want) {
        std::vector<size_t> dims;
        std::vector<double> v = weight(w, name, k, dims);
        if (dims != want) {
            std::string ws;
            for (size_t d : want) ws += (ws.empty() ? "" : ", ") + std::to_string(d);
            fail(name, cls, k + " has the wrong shape (expected [" + ws + "])");
        }
        return v;
    };
    auto bias = [&](const std::string& k, const std::vector<size_t>& want) {
        size_t n = 1;
        for (size_t d : want) n *= d;
        return useBias ? read(k, want) : std::vector<double>(n, 0.0);
    };
    const size_t N = size_t(heads), H = size_t(keyDim), Hv = size_t(valueDim);
    // [tokens, heads * dim] -> [heads, tokens, dim]
    auto project = [&](const std::string& part, const std::string& in, size_t dim) {
        const Shape x = b_.shape(in);
        const std::string d = b_.dense(name + "_" + part, in, int(N * dim), read(part + "/kernel", {size_t(x[1]), N, dim}),
                                       bias(part + "/bias", {N, dim}));
        const std::string r = b_.reshape(name + "_" + part + "_heads", d, {x[0], heads, int(dim)});
        return b_.transpose(name + "_" + part + "_t", r, {1, 0, 2});
    };
    const std::string q = project("query", query, H);
    const double s = 1.0 / std::sqrt(double(keyDim));
    const std::string qScaled = b_.add(name + "_query_scale", LayerKind::BatchNorm, {q}, NoAttrs{},
                                       {{"scale", std::vector<double>(H, s)}, {"shift", std::vector<double>(H, 0.0)}});
    const std::string k = project("key", key, H);
    const std::string v = project("value", value, Hv);
    MatMulAttrs qk;
    qk.transposeB = true;
    const std::string scores = b_.add(name + "_scores", LayerKind::MatMul, {qScaled, k}, qk);
    const std::string probs = b_.softmax(name + "_softmax", scores);
    const std::string ctx = b_.add(name + "_context", LayerKind::MatMul, {probs, v}, MatMulAttrs{});
    const std::string merged = b_.transpose(name + "_context_t", ctx, {1, 0, 2});
    const std::string flat = b_.reshape(name + "_context_flat", merged, {qs[0], int(N * Hv)});
    return b_.dense(name, flat, outDim, read("attention_output/kernel", {N, Hv, size_t(outDim)}),
                    bias("attention_output/bias", {size_t(outDim)}));
}

// The walk reads a functional model's MultiHeadAttention itself (it needs the query, value
// and key links); a Sequential model gives the layer one input, which cannot say which is
// which.
std::string KerasReader::sequentialAttentionLayer(const LayerCall& c) {
    fail(c.name, c.cls, "MultiHeadAttention in a Sequential model is not supported; use the functional API");
}

}  // namespace tachyon::kerasfe
