// The lowered stage: the typed graph after the passes, with each layer's quantised
// constants (lower/LayerConstants.h) and exact input types computed once. Backends read a
// LoweredGraph and never run an emulator themselves; a test forbids backends/ to include
// emulator/Emulator.h.
//
// Each op family's lowering computes its constants (lower/Lower.h, src/ops/<op>/Lower.cpp);
// the Emulator builds its kernels from them and hands them out (Emulator::lowered()), so a
// LoweredGraph is a view that lives as long as that Emulator. It also holds the bit-exact
// reference a testbench's expected outputs come from.
#pragma once

#include "lower/LayerConstants.h"
#include "ir/Graph.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tachyon {

struct LoweredLayer {
    const Layer* layer = nullptr;
    std::vector<FixedType> inputTypes;          // the producers' result types, in input order
    const LayerConstants* constants = nullptr;  // never null
};

// Fixed-point inference on raw integers of the Input type; outRaw gets raws of the output type.
using FixedReference = std::function<void(const int64_t* xRaw, size_t rows, int64_t* outRaw)>;

class LoweredGraph {
public:
    LoweredGraph(const Graph& g, std::vector<LoweredLayer> layers, FixedReference reference);

    const Graph& graph() const { return *graph_; }
    const std::vector<LoweredLayer>& layers() const { return layers_; }
    const LoweredLayer& layer(const std::string& name) const;   // throws if absent
    int inputSize() const { return graph_->inputSize(); }
    int outputSize() const { return graph_->outputSize(); }
    // Expected outputs for testbenches and ROMs (the emulator in fixed mode).
    void runFixedRaw(const int64_t* xRaw, size_t rows, int64_t* outRaw) const { reference_(xRaw, rows, outRaw); }

    // Per-layer constants by layer name (see LayerConstants for which kinds have which).
    const std::vector<int64_t>& weightRaw(const std::string& layer) const;
    const std::vector<int64_t>& biasRaw(const std::string& layer) const;   // Dense bias, BatchNorm shift
    const std::vector<int64_t>& scaleRaw(const std::string& layer) const;  // BatchNorm scale
    // Activation constants of type `param`: {alpha} (leaky_relu) or {slope, offset} (hard_sigmoid).
    const std::vector<int64_t>& paramRaw(const std::string& layer) const;
    const LookupTable* activationTable(const std::string& layer) const;    // nullptr without one
    const BinaryMac* binaryMac(const std::string& layer) const;             // nullptr: generic MAC
    const SoftmaxTables* softmaxTables(const std::string& layer) const;     // nullptr: not a softmax
    const GarNetConstants& garnetConstants(const std::string& layer) const;
    // Recurrent layers: the recurrent kernel R and bias rb, and the tables of `activation` over
    // the accumulator, of `activation` over the state (LSTM's act(c)), of `recurrent_activation`
    // over the accumulator (nullptr for a function without a table).
    enum class RecurrentTable { Activation, StateActivation, RecurrentActivation };
    const std::vector<int64_t>& recurrentWeightRaw(const std::string& layer) const;
    const std::vector<int64_t>& recurrentBiasRaw(const std::string& layer) const;
    const LookupTable* recurrentTable(const std::string& layer, RecurrentTable which) const;
    // Type of the values a layer reads (its first producer's result type).
    const FixedType& inputType(const std::string& layer) const;

private:
    const Graph* graph_;
    std::vector<LoweredLayer> layers_;
    std::map<std::string, size_t> index_;
    FixedReference reference_;
};

}  // namespace tachyon
