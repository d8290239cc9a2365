// The ONNX reader (frontends/onnx/): reads the model's protobuf, its constants
// (initializers, Constant nodes), its opset and the layout of every tensor, and walks the
// (topologically sorted) node list, handing each node to the handler that the op table
// (OpTable.cpp) names for its op_type. The handlers live in ops/, one file per op family;
// every one of them appends layers to the GraphBuilder and records the tensor it produced.
// Shape-only nodes (Flatten/Reshape/Squeeze/Unsqueeze) and no-ops (Identity/Dropout)
// become aliases of their input tensor unless they really reorder dimensions.
#pragma once

#include "frontends/GraphBuilder.h"
#include "frontends/QuantizerMath.h"

#include <onnx/onnx-ml.pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tachyon::onnxfe {

// A constant tensor (initializer or Constant output), values widened to double.
struct ConstTensor {
    std::vector<int64_t> dims;
    std::vector<double> values;
    bool numeric = true;   // false for types no layer reads (bool, strings, ...)
};

// ONNX stores float attributes (alpha, epsilon, clip bounds) as float32, so torch's
// LeakyReLU(0.1) arrives as 0.100000001490116 and HardSigmoid's 1/6 as 0.1666666716.
// Recover the value the user wrote: the simplest fraction p/q (q <= 100), else the
// shortest decimal, that rounds to the same float32.
double intendedValue(float f);

// An ONNX tensor as Tachyon holds it: the layer whose output it is, its ONNX per-sample
// shape, and the order of its axes in Tachyon's storage: storage axis j holds ONNX axis
// src[j]. Channels-first tensors feeding convolutions are stored channels-last
// (src = [1, .., r-1, 0]); ONNX Transpose nodes only change `src`, so the transpose
// pairs tf2onnx writes around channels-first ops cost nothing.
struct Value {
    std::string layer;
    Shape onnx;
    std::vector<int> src;
};

std::vector<int> identityOrder(size_t r);
std::vector<int> channelsLastOrder(size_t r);

// True when storing `onnx` in axis order `src` puts the values in the same memory order
// as `want` does (axes of length 1 do not matter).
bool sameOrder(const Shape& onnx, const std::vector<int>& src, const std::vector<int>& want);

// An index or axis read from a constant, clamped so that malformed values convert safely.
int64_t constIndex(double v);

class OnnxReader;

// One row of the op table: the ONNX op_type, the domain it belongs to, the fewest inputs
// a node needs (the handlers index inputs by position), and the handler (nullptr for
// Constant, which readConstants reads before the walk).
enum class OpDomain { Standard, Qonnx };
struct OnnxOp {
    const char* opType;
    OpDomain domain;
    int minInputs;
    void (OnnxReader::*handle)(const onnx::NodeProto&);
};

class OnnxReader {
public:
    OnnxReader(const onnx::ModelProto& model, const std::string& path)
        : model_(model), graph_(model.graph()), path_(path), b_(std::filesystem::path(path).stem().string(), path) {}

    Graph read();

private:
    [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& why) const {
        b_.fail("node '" + nodeName(n) + "' (" + n.op_type() + "): " + why);
    }
    static std::string nodeName(const onnx::NodeProto& n) {
        return !n.name().empty() ? n.name() : (n.output_size() ? n.output(0) : n.op_type());
    }

    void checkOperators() const;
    void checkArity() const;
    void readOpset();
    void readConstants();
    ConstTensor toConst(const onnx::TensorProto& t, const std::string& what) const;
    void readInput();

    const ConstTensor* constant(const std::string& name) const {
        auto it = consts_.find(name);
        return it == consts_.end() ? nullptr : &it->second;
    }
    const ConstTensor& requireConst(const onnx::NodeProto& n, int i, const std::string& role) const;
    // The non-constant input tensors of a node, in order.
    std::vector<std::string> dataInputs(const onnx::NodeProto& n) const;
    const Value& value(const onnx::NodeProto& n, const std::string& tensor) const;
    // The node's single data input.
    const Value& dataInput(const onnx::NodeProto& n) const;
    void produced(const onnx::NodeProto& n, Value v) {
        if (n.output_size() == 0) fail(n, "has no output");
        values_[n.output(0)] = std::move(v);
    }
    // The layer holding `v` in the wanted storage order (a Transpose layer when needed).
    std::string inOrder(const onnx::NodeProto& n, const Value& v, const std::vector<int>& want);
    std::string plain(const onnx::NodeProto& n, const Value& v) { return inOrder(n, v, identityOrder(v.onnx.size())); }
    std::string channelsLast(const onnx::NodeProto& n, const Value& v) {
        return inOrder(n, v, channelsLastOrder(v.onnx.size()));
    }
    // The storage axis that holds ONNX per-sample axis `axis`.
    int storageAxis(const Value& v, int axis) const;

    int64_t intAttr(const onnx::NodeProto& n, const std::string& name, int64_t dflt) const;
    double floatAttr(const onnx::NodeProto& n, const std::string& name, double dflt) const;
    std::string stringAttr(const onnx::NodeProto& n, const std::string& name, const std::string& dflt) const;
    std::optional<std::vector<int64_t>> intsAttr(const onnx::NodeProto& n, const std::string& name) const;
    // Axes from the attribute (older opsets) or the second input (opset 13+).
    std::optional<std::vector<int64_t>> axes(const onnx::NodeProto& n) const;
    // A per-sample axis from an ONNX axis that counts the batch (negative from the end).
    int sampleAxis(const onnx::NodeProto& n, int64_t axis, size_t sampleRank) const;

    void gemm(const onnx::NodeProto& n);
    void matMul(const onnx::NodeProto& n);
    void elementwise(const onnx::NodeProto& n);
    void constantAffine(const onnx::NodeProto& n);
    void activation(const onnx::NodeProto& n);
    void batchNorm(const onnx::NodeProto& n);
    void clip(const onnx::NodeProto& n);
    void softmax(const onnx::NodeProto& n);
    void layerNorm(const onnx::NodeProto& n);
    void conv(const onnx::NodeProto& n);
    void pooling(const onnx::NodeProto& n);
    void concat(const onnx::NodeProto& n);
    void pad(const onnx::NodeProto& n);
    void resize(const onnx::NodeProto& n);
    void transpose(const onnx::NodeProto& n);
    void activationMatMul(const onnx::NodeProto& n);
    void square(const onnx::NodeProto& n);
    void reduceLastAxis(const onnx::NodeProto& n);
    void shapeOnly(const onnx::NodeProto& n);
    void slice(const onnx::NodeProto& n);
    // Identity and Dropout (the identity at inference time; its optional mask output is unused).
    void passThrough(const onnx::NodeProto& n);
    // Erf outside the GELU pattern (findGelu) is refused by name.
    void erfOutsideGelu(const onnx::NodeProto& n);
    // LSTM/GRU/RNN and the shape arithmetic around them (recurrentNode).
    void recurrentOp(const onnx::NodeProto& n);
    // Hands the node to its op table row's handler.
    void dispatch(const onnx::NodeProto& n);
    // The op table (OpTable.cpp): every op the reader supports, and its handler.
    static const std::vector<OnnxOp>& opTable();
    // The row of the node's op_type in its domain, or nullptr when the op is unsupported.
    static const OnnxOp* findOp(const onnx::NodeProto& n);
    // Attention as PyTorch exports it (nn.MultiheadAttention, OnnxReader::unbatchedNode):
    // the batch (exported as 1) moves into the middle of tensors and is then merged with the
    // heads ([tokens, batch * heads, head_dim]). Such tensors are "unbatched": their Value
    // holds the whole ONNX shape, batch included, as if it were one sample's. A node reading
    // one runs through the ordinary handlers with its axes shifted by one; its output
    // becomes an ordinary tensor again once its first axis has size 1.
    void unbatchedNode(const onnx::NodeProto& n);
    bool readsUnbatched(const onnx::NodeProto& n) const;
    // Shape arithmetic (Shape, Gather, Add, Div, ... on shapes) evaluated with a batch of one,
    // so that Slice bounds computed from a tensor's size become constants.
    void foldShapeArithmetic(const onnx::NodeProto& n);
    std::optional<Shape> fullShape(const std::string& tensor) const;
    std::set<std::string> unbatched_;
    // The exact GELU as PyTorch exports it: x / sqrt(2) -> Erf -> + 1 -> x * . -> * 0.5. The
    // first four nodes are skipped; the last one is a GELU activation of x.
    void findGelu();
    std::set<std::string> geluInner_;                 // outputs of the skipped nodes
    std::map<std::string, std::string> geluOutput_;   // last node's output -> x
    bool unbatchedMode_ = false;   // the node being read has unbatched operands
    // QONNX quantisers (Quant, BipolarQuant): folded into a constant input, or a Quantize
    // layer on a computed tensor (OnnxReader::qonnxQuant).
    void qonnxQuant(const onnx::NodeProto& n);
    void perElementQuant(const onnx::NodeProto& n, const Value& x, const ConstTensor& scale,
                         const ConstTensor& bitwidths, const std::function<FixedType(double, int)>& typeAt);
    void qonnxTrunc(const onnx::NodeProto& n);
    void multiThreshold(const onnx::NodeProto& n);
    // A Gemm/MatMul/Conv whose weight (input 1) a QONNX quantiser produced keeps the exact
    // type of its weights (and of its bias, input 2, when quantised too), as QKeras
    // kernels do; the precision pass sizes the rest.
    void quantizedWeightTypes(const onnx::NodeProto& n, const std::string& layer);
    std::set<std::string> quantizedConsts_;   // constants produced by folding a QONNX quantiser
    // Recurrent networks as PyTorch exports them (OnnxReader::recurrentNode): LSTM/GRU/RNN
    // nodes, the sequence-major tensors around them, the last-step Gather, and the shape
    // arithmetic that builds their zero initial states. True when the node was handled.
    bool recurrentNode(const onnx::NodeProto& n);
    void recurrent(const onnx::NodeProto& n);
    void batchTranspose(const onnx::NodeProto& n, const Value& x, int batch);
    bool zeroState(const onnx::NodeProto& n, int i) const;
    // Spatial padding of a Conv/Pool node: `pads` or `auto_pad`.
    void windowPads(const onnx::NodeProto& n, const Shape& spatial, const std::vector<int>& k,
                    const std::vector<int>& s, const std::vector<int>& d, std::vector<int>& pb, std::vector<int>& pe) const;

    const onnx::ModelProto& model_;
    const onnx::GraphProto& graph_;
    std::string path_;
    GraphBuilder b_;
    int64_t opset_ = 1;
    std::map<std::string, ConstTensor> consts_;
    std::map<std::string, Value> values_;
    std::map<std::string, int> uses_;                  // how many nodes read each tensor
    std::map<std::string, std::string> reordered_;     // (layer, orders) -> transposed layer
    // Recurrent support: tensors computed from Shape (batch and sequence sizes), tensors
    // filled with one constant value, and tensors whose batch axis is not axis 0 (ONNX
    // recurrent ops are sequence-major: X [T, B, F], Y [T, dirs, B, H]). For those, the
    // Value describes the axes without the batch; `batch` is the batch's ONNX axis.
    struct SeqValue {
        Value v;
        int batch = 0;
    };
    std::set<std::string> shapeDerived_;
    std::map<std::string, double> filled_;
    std::map<std::string, SeqValue> seq_;
};

}  // namespace tachyon::onnxfe
