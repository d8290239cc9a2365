// Dense and Conv constants: weights and biases as raws of their types, a convolution's
// windows (convWindowIndex), and a binary x binary layer's XNOR-popcount form
// (passes/BinaryMac.h; a depthwise convolution has none).
#include "lower/Lower.h"

#include "emulator/Cast.h"

namespace tachyon {

LayerConstants lowerMac(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins) {
    LayerConstants c;
    c.weight = quantizeAll(l.param("weight"), l.type("weight"));
    c.bias = quantizeAll(l.param("bias"), l.type("bias"));
    const bool depthwise = l.kind == LayerKind::Conv && l.as<ConvAttrs>().depthwise;
    if (l.kind == LayerKind::Conv) c.window = convWindowIndex(l.as<ConvAttrs>(), ins.at(0).shape, l.shape, depthwise);
    if (!depthwise) c.binaryMac = binaryMacForm(g, l);
    return c;
}

}  // namespace tachyon
