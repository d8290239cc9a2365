// The quantised constants of one layer: raw integers of the layer's own types, lookup
// tables, the XNOR-popcount form. They are computed once, when a layer is lowered, and
// every consumer reads the same values: the emulator computes with them, the HLS and
// Verilog writers print them, so the firmware holds exactly what is emulated.
#pragma once

#include "emulator/Tables.h"
#include "passes/BinaryMac.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace tachyon {

// A GarNet layer's constants (docs/semantics.md, "GarNet"), per sublayer in hls4ml's order
// ([o][a][x], [o][a], [a][x], [a], [o]), as raws of the layer's input_transform_weights, ...,
// output_transform_biases types.
struct GarNetConstants {
    struct Sublayer {
        std::vector<int64_t> inputTransformWeights, inputTransformBiases, aggregatorDistanceWeights,
            aggregatorDistanceBiases, outputTransformBiases;
    };
    std::vector<Sublayer> sublayers;
    // exp(-d^2) as raws of edge_weight, indexed by the raw bits of d (a distance value)
    // read as an unsigned integer: 2^width(distance) entries.
    std::vector<int64_t> edgeWeightTable;
    // Raws of norm: 1/n at index n = 0..V (0 at n = 0) with mean_by_nvert, else {1/V}.
    std::vector<int64_t> norm;
};

struct LayerConstants {
    std::vector<int64_t> weight, bias;   // Dense/Conv (bias = BatchNorm shift too)
    std::vector<int64_t> scale;          // BatchNorm scale
    std::vector<int64_t> param;          // {alpha} or {slope, offset}, type `param`
    LookupTable table;                   // table activations (size 0 when none)
    bool hasSoftmax = false;
    SoftmaxTables softmax;
    // Recurrent layers: recurrent weights and bias; the tables of `activation` over the
    // accumulator (gate pre-activations) and over the state (LSTM's act(c)), and of
    // `recurrent_activation` over the accumulator (size 0 when the function needs none).
    std::vector<int64_t> recurrentWeight, recurrentBias;
    LookupTable actTable, stateActTable, recurrentTable;
    GarNetConstants garnet;   // GarNet layers
    // Conv and Pooling: each output position's window as input indices, -1 where it covers
    // padding ([position][tap]). Conv: flat indices of the taps in hls4ml's im2col order
    // (kernel positions row-major, then channels); a depthwise Conv: of channel 0 at each
    // kernel position. Pooling: spatial indices (ih * inW + iw), all positions for a global one.
    std::vector<int> window;
    // Dense and Conv layers whose input and weights are binary: the XNOR-popcount form the kernel
    // computes with (passes/BinaryMac.h), absent for the generic multiply-accumulate.
    std::optional<BinaryMac> binaryMac;
};

}  // namespace tachyon
