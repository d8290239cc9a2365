// The bit-exact emulator: runs a typed Graph on a batch of rows, either in double
// precision (float mode, for comparison with the training framework) or in the
// exact fixed-point arithmetic the generated HLS and Verilog compute.
//
// Construction "compiles" the graph: weights are quantised to their raw integers and
// lookup tables are built once; running is then pure integer arithmetic, row-chunked
// across threads. See docs/semantics.md for the arithmetic of every layer.
#pragma once

#include "emulator/Tables.h"
#include "ir/Graph.h"
#include "lower/LoweredGraph.h"
#include "passes/BinaryMac.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tachyon {

// Per-layer counts of values that did not fit their type (summed over the batch).
struct LayerStats {
    std::string layer;
    uint64_t resultOverflows = 0;   // result casts that saturated or wrapped
    uint64_t accumOverflows = 0;    // accumulator casts that saturated or wrapped
    uint64_t values = 0;            // result values produced
};

struct EmulatorOptions {
    int threads = 1;                // 0 = all cores
    size_t chunkRows = 256;         // rows per work item: buffers stay in cache, memory bounded
};

class Emulator {
public:
    explicit Emulator(const Graph& g);   // g must be verified with types assigned
    ~Emulator();
    Emulator(const Emulator&) = delete;
    Emulator& operator=(const Emulator&) = delete;

    const Graph& graph() const { return graph_; }
    int inputSize() const;
    int outputSize() const;

    // Float mode: double arithmetic, no quantisation. out: rows * outputSize().
    void runFloat(const double* x, size_t rows, double* out, const EmulatorOptions& = {}) const;

    // Fixed mode from doubles: inputs are cast to the Input layer's result type.
    // outRaw: raw integers of the output type; outValue (optional): their values.
    void runFixed(const double* x, size_t rows, int64_t* outRaw, double* outValue,
                  std::vector<LayerStats>* stats = nullptr, const EmulatorOptions& = {}) const;

    // Fixed mode from raw input integers (already of the Input type).
    void runFixedRaw(const int64_t* xRaw, size_t rows, int64_t* outRaw,
                     std::vector<LayerStats>* stats = nullptr, const EmulatorOptions& = {}) const;

    // Every layer's output for the given rows (fixed mode, as values), in layer order.
    // trace[k] has rows * layers[k].outSize() entries.
    std::vector<std::vector<double>> traceFixed(const double* x, size_t rows) const;
    std::vector<std::vector<double>> traceFloat(const double* x, size_t rows) const;

    // The lowered graph (lower/LoweredGraph.h): every layer's quantised constants, computed once
    // when the kernels were built, and this emulator as the fixed-point reference. Backends read
    // only this; it lives as long as the emulator. An Emulator converts to it, so code that hands
    // an emulator to a backend keeps compiling.
    const LoweredGraph& lowered() const;
    operator const LoweredGraph&() const { return lowered(); }

    // Quantised constants (the lowered graph's, by layer name).
    const std::vector<int64_t>& weightRaw(const std::string& layer) const;
    const std::vector<int64_t>& biasRaw(const std::string& layer) const;   // Dense bias, BatchNorm shift
    const std::vector<int64_t>& scaleRaw(const std::string& layer) const;  // BatchNorm scale
    // Activation constants of type `param`: {alpha} (leaky_relu) or {slope, offset} (hard_sigmoid).
    const std::vector<int64_t>& paramRaw(const std::string& layer) const;
    const LookupTable* activationTable(const std::string& layer) const;
    // A Dense or Conv layer's XNOR-popcount form (passes/BinaryMac.h) when its input and weights
    // are binary and the emulator computes it that way; nullptr otherwise.
    const BinaryMac* binaryMac(const std::string& layer) const;
    const SoftmaxTables* softmaxTables(const std::string& layer) const;
    const GarNetConstants& garnetConstants(const std::string& layer) const;
    // Recurrent layers (weightRaw/biasRaw: the input kernel W and bias b; paramRaw: hard_sigmoid's
    // {slope, offset}): the recurrent kernel R and bias rb, and the tables of `activation` over the
    // accumulator, of `activation` over the state (LSTM's act(c)), of `recurrent_activation` over
    // the accumulator (nullptr for a function without a table).
    using RecurrentTable = LoweredGraph::RecurrentTable;
    const std::vector<int64_t>& recurrentWeightRaw(const std::string& layer) const;
    const std::vector<int64_t>& recurrentBiasRaw(const std::string& layer) const;
    const LookupTable* recurrentTable(const std::string& layer, RecurrentTable which) const;
    // Type of the values a layer reads (its producer's result type).
    const FixedType& inputType(const std::string& layer) const;

    struct Impl;
private:
    Graph graph_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tachyon
