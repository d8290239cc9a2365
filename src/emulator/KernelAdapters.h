// Adapters that give every kernel factory of emulator/Kernel.h the registry's signature
// (emulator/KernelFactory.h): read by the two places that build the registry from
// ops/OpList.h (emulator/Emulator.cpp, ops/Registry.cpp).
#pragma once

#include "emulator/Kernel.h"
#include "emulator/KernelFactory.h"

namespace tachyon {

// A factory that needs only the layer.
template <std::unique_ptr<Kernel> (*Make)(const Layer&, std::vector<KernelInput>)>
std::unique_ptr<Kernel> layerKernel(const Graph&, const Layer& l, std::vector<KernelInput> ins) {
    return Make(l, std::move(ins));
}

// Dense, Conv: with the layer's XNOR-popcount form when the graph makes it binary x binary
// (passes/BinaryMac.h).
std::unique_ptr<Kernel> macKernel(const Graph& g, const Layer& l, std::vector<KernelInput> ins);

}  // namespace tachyon
