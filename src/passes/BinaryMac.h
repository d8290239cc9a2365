// Binary x binary multiply-accumulates as XNOR-popcount (docs/semantics.md, "Binary x
// binary Dense and Conv: XNOR-popcount").
//
// When a Dense or (non-depthwise) Conv layer reads a tensor that holds only +A and -A (raw
// integers of its input type: a two-level Threshold Quantize with symmetric levels, as
// binary tanh, QKeras binary, QONNX BipolarQuant give, possibly followed by layers that
// only move values: Flatten/Reshape, Transpose/Permute) and every weight of output j is
// +H_j or -H_j, its multiply-accumulate is a popcount: with b_i = (x_i > 0) and
// c_ij = (w_ij > 0),
//     sum_i x_i w_ij = A H_j (2 popcount_j - N),   popcount_j = #{i : b_i == c_ij}
// (the XNOR of the input and weight bits). A convolution's window may cover padding: a
// padded tap holds 0 and contributes nothing, so at an output position with P padded
// window inputs the sum runs over the N - P real ones only:
//     sum = A H_j (2 popcount_j - (N - P)),   popcount_j over the real inputs.
// This is the one place that decides whether a layer has that form; the emulator, the HLS
// writer and the Verilog writer all take it from here (through Emulator::binaryMac), so
// the three compute the same integers.
#pragma once

#include "ir/Graph.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace tachyon {

// acc_j = offset[j] + halfStep_j * padded[p] + step[j] * popcount_j (halfStep_j =
// step[j] / 2 = A H_j), in LSBs of the layer's accumulator, equals the accumulator the
// generic multiply-accumulate computes at output position p (cast<accum>(bias) plus the
// cast products, docs/semantics.md "Dense", "Conv"): the form is only given when every
// product is exact in the accumulator and no partial sum can overflow it. Then y_j =
// cast<result>(acc_j), with the fused ReLU, as for any Dense or Conv.
struct BinaryMac {
    int nIn = 0, nOut = 0;             // the MAC's window (Dense: the last axis) and outputs
    int64_t inputLevel = 0;            // A > 0: the input's raw values are +A and -A
    std::vector<uint8_t> weightBit;    // [nIn][nOut]: 1 where w_ij = +H_j, 0 where -H_j
    std::vector<int64_t> weightLevel;  // H_j > 0, raw of the weight type, per output
    std::vector<int64_t> step;         // 2 A H_j in accumulator LSBs
    std::vector<int64_t> offset;       // cast<accum>(b_j) - N A H_j in accumulator LSBs
    // Conv with padding: [output position][window input] 1 where the window covers padding
    // (that input is 0, not +-A, and is left out of the popcount); padded[p] counts them.
    // Both empty when no window covers padding (every Dense).
    std::vector<uint8_t> paddedInput;
    std::vector<int> padded;
    bool hasPadding() const { return !padded.empty(); }
};

// The XNOR-popcount form of Dense or Conv layer `l` of `g` (types assigned), or nullopt
// when its input or weights are not binary, it is a depthwise convolution, or the
// accumulator would not hold the sum exactly (the layer then keeps the generic
// multiply-accumulate; both give the same bits).
std::optional<BinaryMac> binaryMacForm(const Graph& g, const Layer& l);

}  // namespace tachyon
