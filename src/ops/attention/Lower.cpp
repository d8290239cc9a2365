// LayerNormalization constants: gamma and beta as raws of `scale` and `bias`, and the
// 1/sqrt mantissa table (ops/attention/LayerNormKernel.cpp says how it is indexed).
#include "lower/Lower.h"

#include "emulator/Cast.h"
#include "util/Error.h"

#include <cmath>

namespace tachyon {

namespace {

// The 1/sqrt mantissa table of a LayerNorm layer: 2 * 2^B entries, index parity * 2^B + j,
// entry cast<table>(1 / sqrt((1 + (j + 0.5) / 2^B) * 2^parity)).
std::vector<int64_t> layerNormInvSqrtTable(const Layer& l) {
    const int size = l.table.size > 0 ? l.table.size : 1024;
    int indexBits = 0;
    while ((2 << indexBits) < size) ++indexBits;
    if ((2 << indexBits) != size || size < 2)
        throw Error("layer '" + l.name + "' (LayerNormalization): the table size must be a power of two >= 2, got " +
                    std::to_string(size));
    const FixedType& tT = l.type("table");
    std::vector<int64_t> t(static_cast<size_t>(size));
    const int half = size / 2;
    for (int parity = 0; parity < 2; ++parity)
        for (int j = 0; j < half; ++j) {
            const double m = (1.0 + (j + 0.5) / half) * (parity ? 2.0 : 1.0);
            t[size_t(parity * half + j)] = int64_t(tT.castDouble(1.0 / std::sqrt(m)));
        }
    return t;
}

}  // namespace

LayerConstants lowerLayerNorm(const Graph&, const Layer& l, const std::vector<LoweredInput>&) {
    LayerConstants c;
    c.scale = quantizeAll(l.param("scale"), l.type("scale"));
    c.bias = quantizeAll(l.param("bias"), l.type("bias"));
    c.table.valueType = l.type("table");
    c.table.values = layerNormInvSqrtTable(l);
    c.table.size = int(c.table.values.size());
    return c;
}

}  // namespace tachyon
