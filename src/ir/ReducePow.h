// The constants and exact types of Reduce and Pow layers (docs/semantics.md, "Reduce" and
// "Pow"), computed once here so that the emulator, the HLS writer and the Verilog writer
// use the same numbers.
#pragma once

#include "ir/Graph.h"

#include <string>

namespace tachyon {

// A mean's factor 1/N as raw * 2^-frac: raw = 1, frac = k when N = 2^k (an exact shift);
// otherwise raw = cast<reciprocal>(1/N) (the exact rational, rounded in the type's mode)
// and frac = the reciprocal type's frac.
struct MeanFactor {
    Int128 raw = 1;
    int frac = 0;
    bool shift = true;   // N is a power of two
};
MeanFactor meanFactor(const Layer& reduce, int n);

// The exact type of x^k for x of type t (width k * w, k times the integer bits), or a
// message saying why none fits 64 bits.
FixedType exactPowerType(const FixedType& t, int k, std::string* whyNot = nullptr);

// The exact type of the sum of n values of type t (ceil(log2 n) more integer bits).
FixedType exactReduceSumType(const FixedType& t, int n);

}  // namespace tachyon
