// Lookup tables for the table activations and softmax, computed once at conversion time.
// The emulator, the HLS writer and the Verilog writer all use these same objects,
// so the contents and the index arithmetic below are the single definition.
//
// Index arithmetic (integers only, no floating point at run time):
//   idx = clamp((key >> shift) + offset, 0, size - 1)
// where `key` is
//   activations  : the input's raw value
//   softmax exp  : d = raw(max) - raw(x_i) >= 0, in the input's LSB units
//   softmax inv  : S = sum of exp-table raws, in the exp table's LSB units
// Every entry is f(centre of the bin it covers), quantised to the table's type.
#pragma once

#include "ir/Graph.h"

#include <cstdint>
#include <vector>

namespace tachyon {

struct LookupTable {
    FixedType valueType;           // type of the entries
    int size = 0;                  // number of entries (power of two)
    int shift = 0;                 // right shift applied to the key
    int64_t offset = 0;            // added after the shift
    std::vector<int64_t> values;   // raw entries of valueType

    int64_t index(int64_t key) const {
        int64_t i = (key >> shift) + offset;
        return i < 0 ? 0 : (i >= size ? size - 1 : i);
    }
    int64_t lookup(int64_t key) const { return values[size_t(index(key))]; }
};

// SELU's constants (Klambauer et al.; the values Keras and PyTorch use).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluLambda = 1.0507009873554804934193349852946;

// The table of a table activation (sigmoid, tanh, softplus, softsign; elu and selu over
// x < 0; swish's sigmoid factor) for an input of type `in`.
LookupTable buildActivationTable(const Layer& layer, const FixedType& in);

struct SoftmaxTables {
    LookupTable exp;   // key: d = max - x (raw, input LSBs)
    LookupTable inv;   // key: sum of exp raws
    FixedType sumType; // exact type of the sum (never overflows)
};
SoftmaxTables buildSoftmaxTables(const Layer& layer, const FixedType& in, int n);

}  // namespace tachyon
