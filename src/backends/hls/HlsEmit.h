// Internal to the HLS backend: turning one layer into C++ text (its typedefs and config
// structs for parameters.h, its constant arrays for firmware/weights/, and its kernel calls).
#pragma once

#include "backends/hls/HeaderLimits.h"
#include "lower/LoweredGraph.h"
#include "ir/Graph.h"

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace tachyon::hls {

// A C++ identifier for every layer name, unique within the graph.
std::map<std::string, std::string> cppNames(const Graph& g);

// A C++ expression of type `t` with exactly the value raw * 2^-frac (a decimal literal
// whenever a double holds it exactly).
std::string literal(const FixedType& t, int64_t raw);

struct ConstantFile {
    std::string name;     // file name under firmware/weights/
    std::string text;
};

// A tensor of the top function: a layer's output, or an intermediate of a layer that
// needs several kernel calls (a merge or concatenation of more than two inputs).
struct TensorInfo {
    std::string key;    // layer name, or "<layer id>_partK"
    std::string var;    // C++ variable
    std::string type;   // element typedef
    std::string beat;   // io_stream beat typedef (nnet::array<type, chan>)
    int size = 0;       // elements per sample
    int chan = 0;       // last axis: values per stream beat
};

struct KernelCall {
    std::string kernel;                     // nnet:: function
    std::string config;                     // config struct
    std::vector<std::string> inputs;        // tensor keys, in operand order
    std::string output;                     // tensor key
    std::vector<std::string> constantArgs;  // arguments after the tensors
};

// An analytic estimate of one layer's schedule in clock cycles (docs/hls.md, "Latency
// estimate"): not a synthesis result (Vitis HLS is not run here).
struct LayerTiming {
    long long latency = 1;   // cycles from the layer's input to its output
    long long ii = 1;        // cycles before the layer accepts the next sample
    std::string detail;      // how the figure was composed
};

struct LayerCode {
    std::string id;                          // C++ name of the layer
    std::string params;                      // typedefs + config structs for parameters.h
    std::vector<ConstantFile> constants;     // weights / tables / index maps
    std::vector<TensorInfo> intermediates;   // tensors besides the layer's own output
    std::vector<KernelCall> calls;           // in order; the last one writes the layer's output
    LayerTiming timing;                      // estimated from the schedule emitted
};

// What a layer reads: its producers' result types and shapes, and their tensor keys.
struct LayerInputs {
    std::vector<FixedType> types;
    std::vector<Shape> shapes;
    std::vector<std::string> keys;
    bool streaming = false;   // io_stream (the Target's io type): each tensor is a stream of beats
};

// GarNet / GarNetStack (src/ops/garnet/Hls.cpp): typedefs, config and constants of layer `l`.
void emitGarNet(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c);

// The layer's whole C++: the hls column of the op registry (ops/OpList.h) for its kind.
LayerCode emitLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low);

// ---- shared by the layer emitters (HlsEmit.cpp; each op's in src/ops/<op>/Hls.cpp) -------------

// The config structs and typedefs of one layer, as parameters.h text: every typedef is
// `<id>_<var>`, the config `struct <id>_config : nnet::<base>`.
struct ParamsText {
    std::ostringstream os;
    std::string id;
    void typedefLine(const std::string& type, const std::string& var) {
        os << "typedef " << type << " " << id << "_" << var << ";\n";
    }
    void beginConfig(const std::string& base) { os << "struct " << id << "_config : nnet::" << base << " {\n"; }
    template <class V> void constant(const std::string& type, const std::string& name, V v) {
        os << "    static const " << type << " " << name << " = " << v << ";\n";
    }
    void alias(const std::string& var) { os << "    typedef " << id << "_" << var << " " << var << ";\n"; }
    void endConfig() { os << "};\n"; }
    // Members declared before the config opens (divideTypes), written by flushLater.
    struct Later { std::string type, name, value; };
    std::vector<std::string> aliasLater;
    std::vector<Later> constantsLater;
    void flushLater() {
        for (const Later& c : constantsLater) constant(c.type, c.name, c.value);
        for (const std::string& a : aliasLater) alias(a);
        constantsLater.clear();
        aliasLater.clear();
    }
};

// `static const T name[n] = { ... };` with `perLine` values per line.
template <class F>
std::string constArray(const std::string& type, const std::string& name, size_t n, size_t perLine, F value) {
    std::ostringstream os;
    os << "static const " << type << " " << name << "[" << n << "] = {";
    for (size_t k = 0; k < n; ++k) {
        os << (k % perLine == 0 ? "\n    " : " ") << value(k) << (k + 1 < n ? "," : "");
    }
    os << "\n};\n";
    return os.str();
}

std::string layerError(const Layer& l, const std::string& why);           // "HLS backend: layer 'x' (Kind): why"
std::string rawIntType(const FixedType& t);                               // ap_int/ap_uint of the same width
std::string header(const std::string& id, const std::string& what, const std::string& body);  // a weights/ file
void tableStruct(ParamsText& p, const std::string& name, const LookupTable& t);  // index parameters
std::string tableArray(const std::string& type, const std::string& name, const LookupTable& t);
std::string strategyName(const Layer& l);                                 // "latency" or "resource"
std::string shapeText(const Shape& s);                                    // "AxBxC"
// The one call of a layer with a single kernel: its inputs' tensors -> the tensor `out`.
KernelCall oneCall(const std::string& kernel, const LayerCode& c, const LayerInputs& in, const std::string& out);
std::string boolText(bool b);
int bitsFor(int64_t maxValue);                                            // bits of an unsigned up to maxValue
// The exact type of a + b, of a * b, and the smallest type holding both a and b exactly.
FixedType sumType(const FixedType& a, const FixedType& b);
FixedType productType(const FixedType& a, const FixedType& b);
FixedType commonType(const FixedType& a, const FixedType& b);
// sum_t / quotient_t for result(sum / den) (nnet_common.h divide_cast), den up to maxDen;
// `needed`: refuse (naming the layer) a quotient wider than 62-bit integers.
void divideTypes(const Layer& l, ParamsText& p, const FixedType& sum, const FixedType& res, long long maxDen,
                 bool needed);

// Spatial geometry of a window layer (conv, pooling) as 2-D (1-D has height 1).
struct Geometry {
    int inH = 1, inW = 1, C = 1, outH = 1, outW = 1, kH = 1, kW = 1, sH = 1, sW = 1, dH = 1, dW = 1, pT = 0, pL = 0;
    void emit(ParamsText& p) const {
        p.constant("unsigned", "in_height", inH);
        p.constant("unsigned", "in_width", inW);
        p.constant("unsigned", "n_chan", C);
        p.constant("unsigned", "out_height", outH);
        p.constant("unsigned", "out_width", outW);
        p.constant("unsigned", "filt_height", kH);
        p.constant("unsigned", "filt_width", kW);
        p.constant("unsigned", "stride_height", sH);
        p.constant("unsigned", "stride_width", sW);
        p.constant("unsigned", "dilation_height", dH);
        p.constant("unsigned", "dilation_width", dW);
        p.constant("unsigned", "pad_top", pT);
        p.constant("unsigned", "pad_left", pL);
        p.constant("unsigned", "buffer_rows", std::min((kH - 1) * dH + 1, inH));
    }
};

Geometry windowGeometry(int rank, const Shape& in, const Shape& out, const std::vector<int>& kernel,
                        const std::vector<int>& strides, const std::vector<int>& dilation,
                        const std::vector<int>& padBegin);
std::string functionName(ActKind a);                                      // nnet::activation_function
// Refuses (naming the layer) an exact intermediate wider than the generated code supports.
void checkWidth(const Layer& l, const FixedType& t, const std::string& what, int limit = kBundledHeaderMaxWidth);

// The multiply-accumulate of nnet_dense.h (Dense, Conv, the recurrent layers' products;
// src/ops/mac/Hls.cpp):
// the non-zero weights of a [n_in][n_out] matrix, weight index k, in ascending input order.
struct MacEntry {
    size_t k;
    int in, out;
};
std::vector<MacEntry> macEntries(const std::vector<int64_t>& w, int nOut);
// Its table: n_cycles x n_out x per_output slots, each an index into the entries or kPad.
struct MacTable {
    static constexpr size_t kPad = size_t(-1);
    size_t nonzero = 0, longest = 1, perOutput = 1, cycles = 1, block = 1;
    int reuseFactor = 1;
    bool resource = false;
    std::vector<size_t> slot;
};
MacTable macTable(const std::vector<MacEntry>& nz, int nOut, int rf, bool resource);
std::string macIndexType(int nIn);
// n_nonzero .. strategy, and for Latency the compile-time input wiring gather() (nnet_dense.h).
void macScheduleConstants(ParamsText& p, const MacTable& t, const Layer& l, const std::vector<MacEntry>& nz);
// The `<id>_w` and `<id>_w_in` arrays (types `<id>_weight_t`, `<id>_index_in_t`).
std::string macTableArrays(const std::string& id, const FixedType& wT, const std::vector<int64_t>& w,
                           const std::vector<MacEntry>& nz, const MacTable& t, int nOut, const std::string& xNote);

// One call of the multiply-accumulate with this table: a product is one registered
// multiply, each output's additions chain kAddsPerCycle per cycle.
constexpr int kMultiplyCycles = 1, kAddsPerCycle = 4, kTableReadCycles = 1;
LayerTiming macTiming(const MacTable& t);

// SimpleRNN, LSTM and GRU (src/ops/recurrent/Hls.cpp): nnet_recurrent.h's static kernels.
void emitRecurrent(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);

// MatMul and LayerNorm layers (src/ops/attention/Hls.cpp, nnet_utils/nnet_attention.h), io_parallel.
LayerCode emitAttentionLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low);

// TreeEnsemble layers (src/ops/trees/Hls.cpp, nnet_utils/nnet_bdt.h), io_parallel.
LayerCode emitTreeEnsemble(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low);
// Reduce and Pow (src/ops/reduce_pow/Hls.cpp).
void emitReduce(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);
void emitPow(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);

// ---- the op registry's hls column (ops/OpList.h) ----------------------------------------

// One layer's whole C++ (typedefs and config, constants, calls, timing).
using LayerEmitter = LayerCode (*)(const Layer& l, const std::string& id, const LayerInputs& in,
                                   const LoweredGraph& low);
// Most layers write their typedefs and configs into a ParamsText and their constants and
// calls into a LayerCode: emitWithParams frames that (a nominal one-register timing where
// the emitter models none), withParams<F> makes it a LayerEmitter.
using ParamsEmitter = void (*)(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c,
                               ParamsText& p);
LayerCode emitWithParams(ParamsEmitter emit, const Layer& l, const std::string& id, const LayerInputs& in,
                         const LoweredGraph& low);
template <ParamsEmitter Emit>
LayerCode withParams(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low) {
    return emitWithParams(Emit, l, id, in, low);
}

// One per op family, src/ops/<op>/Hls.cpp.
void emitMac(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);  // Dense, Conv
void emitPooling(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);
void emitBatchNorm(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);
void emitActivation(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);
void emitSoftmax(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);
// Reshape, Transpose, Pad, Resize.
void emitMovement(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);
// Merge, Concatenate.
void emitMultiInput(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);
void emitQuantize(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p);  // ops/quantize/Hls.cpp
// The Input layer has no kernel: refused, naming the layer.
LayerCode inputLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low);
// GarNet (emitGarNet) and MatMul / LayerNorm (emitAttentionLayer) with nominal timing.
LayerCode emitGarNetLayer(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low);
LayerCode emitAttentionNominal(const Layer& l, const std::string& id, const LayerInputs& in, const LoweredGraph& low);

}  // namespace tachyon::hls
