// The op registry's kernel column (ops/OpList.h): one factory signature for every op, so
// that the emulator builds any layer's kernel from its registry line. Only the type: the
// backends see the registry (ops/Registry.h) without seeing the emulator's kernels.
#pragma once

#include "ir/Graph.h"

#include <memory>
#include <vector>

namespace tachyon {

class Kernel;
struct LayerConstants;
struct LoweredInput;

using KernelFactory = std::unique_ptr<Kernel> (*)(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c);

}  // namespace tachyon
