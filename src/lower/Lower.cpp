#include "lower/Lower.h"

#include "util/Error.h"

#include <variant>

namespace tachyon {

std::vector<LoweredInput> loweredInputs(const Graph& g, const Layer& l) {
    std::vector<LoweredInput> ins;
    if (l.kind == LayerKind::Input) ins.push_back({l.type("result"), l.shape});
    for (const std::string& name : l.inputs) {
        const Layer& p = g.at(name);
        ins.push_back({p.type("result"), p.shape});
    }
    return ins;
}

LayerConstants lowerNothing(const Graph&, const Layer&, const std::vector<LoweredInput>&) { return {}; }

LayerConstants lowerLayer(const Graph& g, const Layer& l, const std::vector<LoweredInput>& ins) {
    try {
        // The lower column of the op registry (ops/OpList.h).
        switch (l.kind) {
#define TACHYON_OP(kind, lower, kernel, hls, rtl, streamRtl, legality) \
    case LayerKind::kind: return lower(g, l, ins);
#include "ops/OpList.h"
#undef TACHYON_OP
        }
    } catch (const std::bad_variant_access&) {
        throw Error("layer '" + l.name + "': attributes do not match its kind " + toString(l.kind));
    }
    throw Error("layer '" + l.name + "': kind " + toString(l.kind) + " has no entry in the op registry (ops/OpList.h)");
}

}  // namespace tachyon
