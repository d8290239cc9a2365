// The types a model fixes by itself (QKeras/HGQ/QONNX/binary quantisers, a GarNet vertex
// count's integer range), shared by the `-g name` template and --auto-precision so that
// neither replaces them with a guess.
#pragma once

#include "ir/Graph.h"

#include <optional>
#include <string>

namespace tachyon {

// The type the trained model fixes for `var` of `l` (its quantiser's type, `auto` for what
// follows exactly from trained types), or nothing when the choice is free.
std::optional<std::string> trainedType(const Graph& g, const Layer& l, const std::string& var);

// Whether a configuration may name `var` under Precision (result, accum, weight, ...).
bool isPrecisionVariable(const std::string& var);

}  // namespace tachyon
