#include "frontends/onnx/ChannelsLast.h"

#include "util/Error.h"

#include <onnx/onnx-ml.pb.h>

#include <functional>
#include <map>
#include <set>
#include <vector>

namespace tachyon {

namespace {

const char* kChannelsLastDomain = "qonnx.custom_op.channels_last";

// ONNX Transpose perms (batch axis included) between [N, C, s...] and [N, s..., C].
std::vector<int64_t> toChannelsFirst(int rank) {
    std::vector<int64_t> p = {0, rank - 1};
    for (int i = 1; i < rank - 1; ++i) p.push_back(i);
    return p;
}
std::vector<int64_t> toChannelsLast(int rank) {
    std::vector<int64_t> p = {0};
    for (int i = 2; i < rank; ++i) p.push_back(i);
    p.push_back(1);
    return p;
}

// Element k of the transposed tensor (dims out[i] = dims[perm[i]]) comes from element
// source[k] of the original.
std::vector<size_t> transposedSources(const std::vector<int64_t>& dims, const std::vector<int64_t>& perm) {
    const size_t r = dims.size();
    std::vector<int64_t> inStride(r, 1);
    for (size_t i = r; i-- > 1;) inStride[i - 1] = inStride[i] * dims[i];
    size_t total = 1;
    for (int64_t d : dims) total *= size_t(d);
    std::vector<size_t> source(total);
    std::vector<int64_t> outIdx(r, 0);
    for (size_t k = 0; k < total; ++k) {
        int64_t s = 0;
        for (size_t i = 0; i < r; ++i) s += outIdx[i] * inStride[size_t(perm[i])];
        source[k] = size_t(s);
        for (size_t i = r; i-- > 0;) {   // next output index, last axis fastest
            if (++outIdx[i] < dims[size_t(perm[i])]) break;
            outIdx[i] = 0;
        }
    }
    return source;
}

size_t elementBytes(int dataType) {
    switch (dataType) {
    case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32: case onnx::TensorProto::UINT32: return 4;
    case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64: case onnx::TensorProto::UINT64: return 8;
    case onnx::TensorProto::FLOAT16: case onnx::TensorProto::BFLOAT16: case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16: return 2;
    case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: case onnx::TensorProto::BOOL: return 1;
    default: return 0;
    }
}

template <class Field>
void permuteField(Field* field, const std::vector<size_t>& source) {
    if (field->size() == 0) return;
    const Field original = *field;
    for (size_t k = 0; k < source.size(); ++k) field->Set(int(k), original.Get(int(source[k])));
}

class ChannelsLastLowering {
public:
    ChannelsLastLowering(onnx::ModelProto& model, const std::string& path) : model_(model), path_(path) {}

    void run() {
        onnx::GraphProto& g = *model_.mutable_graph();
        bool any = false;
        for (const auto& n : g.node()) any = any || n.domain() == kChannelsLastDomain;
        if (!any) return;
        for (int i = 0; i < g.initializer_size(); ++i) initializers_[g.initializer(i).name()] = i;
        for (const auto& n : g.node())
            for (const auto& o : n.output()) producers_[o] = n;
        for (const auto& v : g.value_info()) shapes_[v.name()] = &v;
        for (const auto& v : g.input()) shapes_[v.name()] = &v;
        for (const auto& v : g.output()) shapes_[v.name()] = &v;

        std::vector<onnx::NodeProto> nodes;
        for (const auto& n : g.node()) {
            if (n.domain() != kChannelsLastDomain) {
                nodes.push_back(n);
                continue;
            }
            lower(n, nodes);
        }
        g.clear_node();
        for (auto& n : nodes) *g.add_node() = std::move(n);
    }

private:
    [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& why) const {
        throw Error(path_ + ": node '" + (n.name().empty() ? n.output(0) : n.name()) + "' (" + n.op_type() + ", domain " +
                    kChannelsLastDomain + "): " + why);
    }

    // The rank (batch included) of the node's data tensors: from its kernel_shape, else
    // from the recorded shape of its input or output, else traced back through the nodes
    // that keep their input's rank (activations, quantisers, Transpose, BatchNormalization).
    int rankOf(const onnx::NodeProto& n) const {
        for (const auto& a : n.attribute())
            if (a.name() == "kernel_shape" && a.ints_size() > 0) return a.ints_size() + 2;
        for (const std::string& t : {n.input(0), n.output(0)}) {
            const int r = tensorRankTraced(t, 0);
            if (r > 0) return r;
        }
        fail(n, "the rank of its input '" + n.input(0) + "' is unknown (no value_info, and no node before it that "
                "tells): run QONNX's InferShapes before saving");
    }
    int tensorRankTraced(const std::string& t, int depth) const {
        auto it = shapes_.find(t);
        if (it != shapes_.end() && it->second->type().tensor_type().has_shape())
            return it->second->type().tensor_type().shape().dim_size();
        auto prod = producers_.find(t);
        if (prod == producers_.end() || depth > 1000 || prod->second.input_size() == 0) return -1;
        const onnx::NodeProto& p = prod->second;
        for (const auto& a : p.attribute()) {
            if (a.name() == "kernel_shape" && a.ints_size() > 0) return a.ints_size() + 2;
            if (p.op_type() == "Transpose" && a.name() == "perm" && a.ints_size() > 0) return a.ints_size();
        }
        static const std::set<std::string> kSameRank = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Selu", "Elu",
                                                        "HardSigmoid", "Clip", "Identity", "Quant", "BipolarQuant",
                                                        "Trunc", "MultiThreshold", "BatchNormalization", "Transpose"};
        return kSameRank.count(p.op_type()) ? tensorRankTraced(p.input(0), depth + 1) : -1;
    }

    std::string fresh(const std::string& base) {
        std::string name = base;
        for (int k = 1; producers_.count(name) || initializers_.count(name) || shapes_.count(name); ++k)
            name = base + "_" + std::to_string(k);
        producers_[name] = onnx::NodeProto();   // reserve
        return name;
    }

    onnx::NodeProto transposeNode(const std::string& name, const std::string& in, const std::string& out,
                                  const std::vector<int64_t>& perm) {
        onnx::NodeProto t;
        t.set_op_type("Transpose");
        t.set_name(name);
        t.add_input(in);
        t.add_output(out);
        onnx::AttributeProto* a = t.add_attribute();
        a->set_name("perm");
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t p : perm) a->add_ints(p);
        return t;
    }

    void lower(const onnx::NodeProto& n, std::vector<onnx::NodeProto>& nodes) {
        static const std::set<std::string> kOps = {"Conv", "MaxPool", "AveragePool", "BatchNormalization"};
        if (!kOps.count(n.op_type()))
            fail(n, "is not supported: Tachyon reads Conv, MaxPool, AveragePool and BatchNormalization of this domain");
        if (n.input_size() < 1 || n.output_size() < 1 || n.input(0).empty() || n.output(0).empty())
            fail(n, "needs a data input and an output");
        const int rank = rankOf(n);
        if (rank != 3 && rank != 4) fail(n, "has " + std::to_string(rank) + "-D data; channels-last nodes are 3-D or 4-D");
        const std::string base = n.name().empty() ? n.output(0) : n.name();
        onnx::NodeProto standard = n;
        standard.clear_domain();
        const std::string in = fresh(n.input(0) + "_channels_first");
        nodes.push_back(transposeNode(base + "_to_channels_first", n.input(0), in, toChannelsFirst(rank)));
        standard.set_input(0, in);
        if (n.op_type() == "Conv") {
            if (n.input_size() < 2 || n.input(1).empty()) fail(n, "has no weight input");
            standard.set_input(1, channelsFirstWeight(n, n.input(1), rank, nodes));
        }
        const std::string out = fresh(n.output(0) + "_channels_first");
        standard.set_output(0, out);
        nodes.push_back(standard);
        nodes.push_back(transposeNode(base + "_to_channels_last", out, n.output(0), toChannelsLast(rank)));
    }

    // The Conv weight `tensor` ([O, k..., C/group]) as a channels-first tensor ([O, C/group,
    // k...]): a transposed copy of an initializer or Constant, or a copy of the QONNX
    // quantiser that produces it with its full-rank inputs transposed (scales and zero points
    // per output channel or per tensor are the same in both layouts).
    std::string channelsFirstWeight(const onnx::NodeProto& conv, const std::string& tensor, int rank,
                                    std::vector<onnx::NodeProto>& nodes) {
        const std::vector<int64_t> perm = toChannelsFirst(rank);
        auto init = initializers_.find(tensor);
        if (init != initializers_.end()) return addTransposed(conv, model_.graph().initializer(init->second), perm);
        auto prod = producers_.find(tensor);
        if (prod == producers_.end()) fail(conv, "its weight '" + tensor + "' is neither an initializer nor computed by a node");
        const onnx::NodeProto& p = prod->second;
        if (p.op_type() == "Constant") {
            for (const auto& a : p.attribute())
                if (a.name() == "value" && a.has_t()) {
                    onnx::TensorProto t = a.t();
                    t.set_name(tensor);
                    return addTransposed(conv, t, perm);
                }
            fail(conv, "its weight comes from a Constant node without a tensor `value`");
        }
        static const std::set<std::string> kQuantisers = {"Quant", "BipolarQuant", "Identity"};
        if (!kQuantisers.count(p.op_type()))
            fail(conv, "its weight is computed by a " + p.op_type() +
                           " node; Tachyon reads a channels-last Conv weight from an initializer, a Constant or a "
                           "QONNX quantiser of one");
        onnx::NodeProto copy = p;
        copy.set_name(p.name() + "_channels_first");
        for (int i = 0; i < p.input_size(); ++i) {
            const std::string& x = p.input(i);
            if (x.empty()) continue;
            const int r = tensorRank(x);
            if (r == rank) copy.set_input(i, channelsFirstWeight(conv, x, rank, nodes));
            else if (r > 1 && !leadingAxisOnly(x))
                fail(conv, "its weight quantiser's input '" + x + "' has rank " + std::to_string(r) +
                               ", which does not broadcast the same way in both layouts");
        }
        const std::string out = fresh(tensor + "_channels_first");
        copy.set_output(0, out);
        for (int i = copy.output_size(); i-- > 1;) copy.mutable_output()->RemoveLast();
        nodes.push_back(copy);
        return out;
    }

    // Rank of a constant tensor (initializer or Constant), -1 when not constant.
    int tensorRank(const std::string& name) const {
        auto init = initializers_.find(name);
        if (init != initializers_.end()) return model_.graph().initializer(init->second).dims_size();
        auto prod = producers_.find(name);
        if (prod != producers_.end() && prod->second.op_type() == "Constant")
            for (const auto& a : prod->second.attribute())
                if (a.name() == "value" && a.has_t()) return a.t().dims_size();
        return -1;
    }
    // True for a constant whose only axis longer than 1 is its first (a vector over O).
    bool leadingAxisOnly(const std::string& name) const {
        auto init = initializers_.find(name);
        if (init == initializers_.end()) return false;
        const auto& t = model_.graph().initializer(init->second);
        for (int i = 1; i < t.dims_size(); ++i)
            if (t.dims(i) != 1) return false;
        return true;
    }

    std::string addTransposed(const onnx::NodeProto& conv, const onnx::TensorProto& original,
                              const std::vector<int64_t>& perm) {
        if (original.dims_size() != int(perm.size()))
            fail(conv, "its weight '" + original.name() + "' has rank " + std::to_string(original.dims_size()) +
                           ", the data " + std::to_string(perm.size()));
        std::vector<int64_t> dims(original.dims().begin(), original.dims().end());
        for (int64_t d : dims)
            if (d < 1) fail(conv, "its weight '" + original.name() + "' has an empty axis");
        const std::vector<size_t> source = transposedSources(dims, perm);
        onnx::TensorProto t = original;
        t.set_name(fresh(original.name() + "_channels_first"));
        for (size_t i = 0; i < perm.size(); ++i) t.set_dims(int(i), dims[size_t(perm[i])]);
        if (!t.raw_data().empty()) {
            const size_t bytes = elementBytes(t.data_type());
            if (bytes == 0 || original.raw_data().size() != source.size() * bytes)
                fail(conv, "its weight '" + original.name() + "' has raw data of an unsupported type or size");
            std::string raw(original.raw_data().size(), '\0');
            for (size_t k = 0; k < source.size(); ++k)
                raw.replace(k * bytes, bytes, original.raw_data(), source[k] * bytes, bytes);
            t.set_raw_data(raw);
        } else {
            const size_t stored = size_t(t.float_data_size() + t.double_data_size() + t.int32_data_size() +
                                         t.int64_data_size());
            if (stored != source.size())
                fail(conv, "its weight '" + original.name() + "' holds " + std::to_string(stored) + " values, its shape " +
                               std::to_string(source.size()) + " (external data is not supported)");
            permuteField(t.mutable_float_data(), source);
            permuteField(t.mutable_double_data(), source);
            permuteField(t.mutable_int32_data(), source);
            permuteField(t.mutable_int64_data(), source);
        }
        onnx::GraphProto& g = *model_.mutable_graph();
        initializers_[t.name()] = g.initializer_size();
        *g.add_initializer() = std::move(t);
        return g.initializer(g.initializer_size() - 1).name();
    }

    onnx::ModelProto& model_;
    std::string path_;
    std::map<std::string, int> initializers_;
    std::map<std::string, onnx::NodeProto> producers_;
    std::map<std::string, const onnx::ValueInfoProto*> shapes_;
};

}  // namespace

void lowerChannelsLastNodes(onnx::ModelProto& model, const std::string& path) {
    ChannelsLastLowering(model, path).run();
}

}  // namespace tachyon
