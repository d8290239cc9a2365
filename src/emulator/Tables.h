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
//
// hls4ml's sigmoid and tanh (Layer::table.hls4ml, set under Compatibility: hls4ml) scale the
// input's value by N / 16 (tanh: N / 8), truncate towards zero and add N / 2; written on the
// raw key with the fractional bits folded into the ratio (`den` > 0 selects this form):
//   idx = clamp(trunc(key * mul / den) + offset, 0, size - 1)
// with entries f(left edge of each bin) as hls4ml computes them (float arithmetic).
//
// hls4ml's softmax implementations (Layer::softmax.implementation latency / stable) index
// their tables differently: by the top bits of a fixed-point value (`sliced` tables),
//   idx = (key >> shift) & (size - 1)     (bits [shift, shift + log2 size) of the raw key)
// with entries computed exactly as hls4ml's init_exp_table / init_invert_table do (float
// arithmetic, the lower edge of each bin). See docs/semantics.md, "Softmax variants".
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
    bool sliced = false;           // hls4ml: idx = (key >> shift) & (size - 1), no clamp
    int64_t mul = 0, den = 0;      // den > 0: idx = clamp(trunc(key * mul / den) + offset), no shift

    int64_t index(int64_t key) const {
        if (sliced) return int64_t((uint64_t(key) >> shift) & uint64_t(size - 1));
        if (den > 0) {
            // C++ division truncates towards zero, as hls4ml's ap_fixed division and int conversion do.
            const __int128 i = __int128(key) * mul / den + offset;
            return i < 0 ? 0 : (i >= size ? size - 1 : int64_t(i));
        }
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

// The softmax of one layer. `implementation` (Layer::softmax.implementation):
//   tachyon : Tachyon's accurate softmax (docs/semantics.md): exp key d = max - x in input
//             LSBs, exact sum, clamped shift-indexed tables;
//   stable  : hls4ml's softmax_stable: d = cast<normType>(max - x), exp = exp[top bits of d],
//             e = cast<accumType>(exp), tree sum in accumType, s = cast<invInpType>(sum),
//             r = inv[top bits of s], y = cast<result>(e * r);
//   latency : hls4ml's softmax_latency: as stable with exp[top bits of x] (no maximum);
//   legacy  : hls4ml's softmax_legacy: exp/inv tables of `legacyType` indexed by
//             trunc((x_j - x_i) * size / 16) + size / 2 and trunc(sum * size / 64);
//   argmax  : one-hot of the first maximum (no tables).
struct SoftmaxTables {
    SoftmaxImpl implementation = SoftmaxImpl::Tachyon;
    LookupTable exp;   // tachyon: key d = max - x (raw, input LSBs); stable: key raw(d); latency: raw(x)
    LookupTable inv;   // tachyon: key = sum of exp raws; stable/latency: raw(cast<invInpType>(sum))
    FixedType sumType; // tachyon: exact type of the sum (never overflows)
    // hls4ml stable / latency:
    FixedType normType;    // inp_norm_t (stable): type of max - x
    FixedType accumType;   // accum_t: exp entries and every partial sum of the tree
    FixedType invInpType;  // inv_inp_t: the sum as the inverse table reads it
    // hls4ml legacy: both tables hold `table_t` entries; exp has expSize entries over
    // [-8, 8), inv has invSize entries over [0, 64).
    FixedType legacyType;
};
SoftmaxTables buildSoftmaxTables(const Layer& layer, const FixedType& in, int n);

// hls4ml's tree reduction (nnet::reduce): the sum of v[0..n) as op(reduce(left), reduce(right))
// with left = the largest power of two below n; `add(a, b)` is one addition with its cast.
template <class T, class Add>
T hls4mlReduce(const T* v, int n, Add add) {
    if (n == 1) return v[0];
    if (n == 2) return add(v[0], v[1]);
    int left = 1;
    while (left * 2 <= n - 1) left *= 2;   // pow2(floorlog2(n - 1))
    return add(hls4mlReduce(v, left, add), hls4mlReduce(v + left, n - left, add));
}

}  // namespace tachyon
