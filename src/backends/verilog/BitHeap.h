// A multi-operand sum as a compressor tree ("bit heap") of LUT-sized parallel counters.
//
// A tree of two-input adders halves the number of operands per adder level, and each
// level is a LUT and a carry chain (~1 ns on the measured paths, docs/verilog.md,
// "Calibration"). A parallel counter that adds up to six bits of one column into a 3-bit
// count is one LUT6 per output bit and needs no carry chain: one LUT level (~0.45 ns)
// also halves the heap, for about the same LUTs (three LUTs per six bits consumed). So the
// sum of n operands is ~log2(n) LUT levels and one carry-propagate adder at the end,
// instead of ~log2(n) adders in a row. Signed operands need no sign extension: the sign
// bit of x enters the heap inverted with a constant -2^p (-x_p 2^p = (~x_p - 1) 2^p), a
// negated operand enters with its other bits inverted likewise, and all the constants (the
// bias included) join the heap as one constant's 1-bits. Everything is computed modulo
// 2^width, the width of the result's exact range, so no bit above it is built.
#pragma once

#include "backends/verilog/Netlist.h"

#include <array>
#include <vector>

namespace tachyon::verilog {

// One operand ±(x << shift) of a heap sum; x is a signed wire of `width` bits whose top
// bit is known to be 0 when nonNegative. `ready`: the first counter level that may read
// it (a late operand, e.g. a shared adder deeper than the layer's inputs, joins the heap
// after the early bits have been compressed, instead of holding the first level back).
struct HeapOperand {
    int width = 1;
    int shift = 0;
    bool neg = false;
    bool nonNegative = false;
    int ready = 0;
};

// A bit entering the heap: bit `bit` of operand `src`, optionally inverted, or the
// constant 1.
struct HeapBit {
    enum class Kind { Operand, One } kind = Kind::One;
    int src = 0, bit = 0;
    bool inverted = false;
    int column = 0;
};

// A parallel counter: adds up to six bits of one column; output k (weight 2^k) lands in
// column + k. Three or fewer inputs need two outputs.
struct HeapCounter {
    std::vector<int> inputs;   // indices into the level's input bits
    int column = 0;
    int outputs() const { return inputs.size() <= 3 ? 2 : 3; }
};

// One LUT level. Its input bits are the previous level's outputs followed by `injected`
// (bits of operands that join here). Its output vector is the counters' outputs (in
// order; an output whose column is >= width is dropped) followed by the bits passed
// through unchanged.
struct HeapLevel {
    std::vector<HeapBit> injected;
    std::vector<HeapCounter> counters;
    std::vector<int> passThrough;                    // indices into the level's input bits
    std::vector<int> outputColumn;                   // column of every output bit
    std::vector<int> counterSum;                     // per counter: output index of bit 0 (-1: dropped)
    std::vector<std::array<int, 2>> counterOutputs;  // per counter: output index of bit 1, bit 2 (-1: dropped)
    int luts() const;
};

struct HeapPlan {
    int width = 1;
    std::vector<HeapLevel> levels;    // counter levels, until no column holds more than two bits
    // The final carry-propagate adder reads the last level's outputs followed by
    // `finalInjected` (all the bits when the heap needs no level): per column the index of
    // each of its two rows' bits among those, -1: 0.
    std::vector<HeapBit> finalInjected;
    std::vector<std::array<int, 2>> rows;
    size_t bits() const;              // bits entering the heap
};

// Plans sum_k ±(x_k << shift_k) + constant modulo 2^width.
HeapPlan planHeap(const std::vector<HeapOperand>& operands, Int128 constant, int width);

// The plan run on operand values (for tests): the sum as a signed `width`-bit value.
Int128 evaluateHeap(const HeapPlan& plan, const std::vector<HeapOperand>& operands, const std::vector<Int128>& values);

struct RtlContext;
// The heap sum on the netlist: one node per counter level and the final adder, whose
// range is [lo, hi] (the caller's exact range of the sum, or the wrapped range of
// `width` bits). Returns the final adder's signal.
Sig heapSum(RtlContext& c, const std::vector<Sig>& operandSigs, const std::vector<HeapOperand>& operands, Int128 constant,
            int width, Int128 lo, Int128 hi);

}  // namespace tachyon::verilog
