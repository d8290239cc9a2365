// BatchNormalization constants: scale and shift as raws of their types.
#include "lower/Lower.h"

#include "emulator/Cast.h"

namespace tachyon {

LayerConstants lowerBatchNorm(const Graph&, const Layer& l, const std::vector<LoweredInput>&) {
    LayerConstants c;
    c.scale = quantizeAll(l.param("scale"), l.type("scale"));
    c.bias = quantizeAll(l.param("shift"), l.type("shift"));
    return c;
}

}  // namespace tachyon
