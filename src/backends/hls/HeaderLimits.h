// Widths of the exact intermediates in the generated firmware, against what the bundled
// ap_fixed header (used by `tachyon csim`) can hold.
#pragma once

#include "ir/Graph.h"

namespace tachyon {

// The bundled header keeps every value in 128 bits (127 for unsigned results). Vitis
// itself allows up to AP_INT_MAX_W (1024 by default) bits.
constexpr int kBundledHeaderMaxWidth = 128;

// UG1399 result types of exact operators (as the bundled header and Vitis form them).
FixedType exactProductType(const FixedType& a, const FixedType& b);
FixedType exactSumType(const FixedType& a, const FixedType& b);

// Throws tachyon::Error naming the layer, the expression and the types when a layer's
// exact intermediate (BatchNorm x*scale+shift, hard_sigmoid slope*x+offset) is wider than
// the bundled header supports. Called by the HLS writer before it writes anything.
void checkHeaderWidths(const Graph& g);

}  // namespace tachyon
