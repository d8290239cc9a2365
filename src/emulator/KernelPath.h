// Which implementation the emulator runs a Dense or Conv layer's fixed-point arithmetic on,
// for the tests that prove every fast path against the reference (tests/test_emulator_fastpath.cpp).
#pragma once

#include "ir/Graph.h"

#include <string>

namespace tachyon {

// "pair" (AVX-512 VNNI, 16 outputs a vector), "pair-rows" (the same over 16 rows, for layers
// with few outputs), "int32" (portable), "double" or "reference" (step-by-step, 128-bit);
// "+fused" when the result cast runs in the integer epilogue. "" for other layers. Decided
// as the emulator decides it (TACHYON_EMULATOR_KERNEL included); a binary layer's
// XNOR-popcount form is not reported. inputType: the producer's result type.
std::string macKernelPath(const Layer& l, const FixedType& inputType);

}  // namespace tachyon
