// Lowering: each layer's quantised constants (lower/LayerConstants.h) computed from the
// typed layer and the types it reads, once, before anything runs. One function per op
// family, in its folder (src/ops/<op>/Lower.cpp), named in the op registry's `lower` column
// (ops/OpList.h). The emulator's kernels are built from what this returns; the HLS and
// Verilog writers print the same values (lower/LoweredGraph.h).
#pragma once

#include "ir/Graph.h"
#include "lower/LayerConstants.h"

#include <vector>

namespace tachyon {

// What a layer reads from one of its inputs: the producer's result type and shape. An Input
// layer reads the model input already cast to its own type.
struct LoweredInput {
    FixedType type;
    Shape shape;
};

// The registry's lower column: one signature for every op. The graph is there for what a
// layer's constants depend on beyond the layer (a binary Dense's XNOR form, passes/BinaryMac.h).
using LowerFn = LayerConstants (*)(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);

// The inputs of layer `l` of `g` as its lowering and its kernel see them.
std::vector<LoweredInput> loweredInputs(const Graph& g, const Layer& l);

// The constants of `l` by its registry line (throws tachyon::Error with the layer named when
// a type or attribute makes them impossible).
LayerConstants lowerLayer(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);

// Per op family (src/ops/<op>/Lower.cpp).
LayerConstants lowerNothing(const Graph&, const Layer&, const std::vector<LoweredInput>&);   // no constants
LayerConstants lowerMac(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);         // Dense, Conv
LayerConstants lowerPooling(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);
LayerConstants lowerBatchNorm(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);
LayerConstants lowerActivation(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);
LayerConstants lowerSoftmax(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);
LayerConstants lowerRecurrent(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);   // SimpleRNN, LSTM, GRU
LayerConstants lowerGarNet(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);
LayerConstants lowerLayerNorm(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins);

}  // namespace tachyon
