// Which implementation the emulator runs a Dense or Conv layer's fixed-point arithmetic on,
// for the tests that prove every fast path against the reference (tests/test_emulator_fastpath.cpp).
#pragma once

#include "lower/LoweredGraph.h"

#include "ir/Graph.h"

#include <cstddef>
#include <string>

namespace tachyon {

// "pair" (AVX-512 VNNI, 16 outputs a vector), "pair-rows" (the same over 16 rows, for layers
// with few outputs), "pair8" (the same arithmetic on AVX2, 8 outputs a vector, int16 rows:
// ops/mac/Int16Pair.h), "int32" (portable), "int32-lanes" (the same over output positions, for
// convolutions with fewer than 16 filters; "nolanes" rules it out), "double" or "reference"
// (step-by-step, 128-bit);
// "+fused" when the result cast runs in the integer epilogue. "" for other layers. Decided
// as the emulator decides it (TACHYON_EMULATOR_KERNEL included); a binary layer's
// XNOR-popcount form is not reported. `low`: the layer as lowered (Emulator::lowered()).
// TACHYON_EMULATOR_KERNEL=avx2 chooses "pair8" even where the VNNI kernel is built.
std::string macKernelPath(const LoweredLayer& low);

// How many layers the last Emulator built on this thread computes inside their producer's kernel
// in fixed-mode runs (elementwise layers folded into a binary Dense/Conv, Kernel::foldFollowers).
size_t foldedLayersOfLastEmulator();

}  // namespace tachyon
