// GarNet's `mean_by_nvert` normalisation as hls4ml computes it (Compatibility: hls4ml;
// docs/semantics.md, "GarNet", step 6): the vertex sums shifted right by floor(log2 V) in
// their own types, times the integer quotient trunc(V / count) cast to `norm`. The emulator,
// the HLS writer and the Verilog builder read these helpers, so they agree on when it applies
// and by how much the sums shift. (The lowered `norm` table then holds trunc(V / n), n = 0..V.)
#pragma once

#include "ir/Graph.h"

namespace tachyon {

inline bool garnetHls4mlNorm(const GarNetAttrs& a) { return a.meanByNvert && a.hls4mlCount; }

// floor(log2 V) under hls4ml's mean_by_nvert (hls4ml's n_vertices_width), else 0.
inline int garnetNormShift(const GarNetAttrs& a) {
    int s = 0;
    if (garnetHls4mlNorm(a))
        while ((int64_t(2) << s) <= a.nVertices) ++s;
    return s;
}

}  // namespace tachyon
