// Softmax constants: the exp and inverse tables of its implementation (emulator/Tables.h).
#include "lower/Lower.h"

namespace tachyon {

LayerConstants lowerSoftmax(const Graph&, const Layer& l, const std::vector<LoweredInput>& ins) {
    LayerConstants c;
    c.hasSoftmax = true;
    c.softmax = buildSoftmaxTables(l, ins.at(0).type, l.shape.back());
    return c;
}

}  // namespace tachyon
