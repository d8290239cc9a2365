#include "backends/hls/HeaderLimits.h"

#include "util/Error.h"

#include <algorithm>

namespace tachyon {

FixedType exactProductType(const FixedType& a, const FixedType& b) {
    return FixedType::fixed(a.width + b.width, a.integer + b.integer, a.isSigned || b.isSigned);
}

FixedType exactSumType(const FixedType& a, const FixedType& b) {
    // An unsigned operand added to a signed one needs one more integer bit once signed.
    const int frac = std::max(a.frac(), b.frac());
    const int integer = std::max(a.integer + (b.isSigned && !a.isSigned), b.integer + (a.isSigned && !b.isSigned)) + 1;
    return FixedType::fixed(integer + frac, integer, a.isSigned || b.isSigned);
}

namespace {

bool fitsHeader(const FixedType& t) {
    return t.width <= kBundledHeaderMaxWidth && (t.isSigned || t.width <= kBundledHeaderMaxWidth - 1);
}

// x * m + c, the multiply-add both BatchNorm and hard_sigmoid compute exactly.
void checkMultiplyAdd(const Layer& l, const std::string& expr, const FixedType& x, const FixedType& m,
                      const FixedType& c, const std::string& mName, const std::string& cName) {
    const FixedType product = exactProductType(x, m);
    const FixedType sum = exactSumType(product, c);
    for (const FixedType* t : {&product, &sum}) {
        if (fitsHeader(*t)) continue;
        throw Error("HLS backend: layer '" + l.name + "' (" + toString(l.kind) + "): " + expr + " with input " +
                    x.str() + ", " + mName + " " + m.str() + " and " + cName + " " + c.str() + " needs a " +
                    std::to_string(t->width) + "-bit exact intermediate; the bundled ap_fixed header that "
                    "`tachyon csim` compiles against holds at most " + std::to_string(kBundledHeaderMaxWidth) +
                    " bits: narrow the input, " + mName + " or " + cName + " type");
    }
}

}  // namespace

void checkHeaderWidths(const Graph& g) {
    for (const Layer& l : g.layers) {
        if (l.kind == LayerKind::Input) continue;
        const Layer* in = g.find(l.input());
        if (!in || !in->hasType("result")) continue;
        const FixedType& x = in->type("result");
        if (l.kind == LayerKind::BatchNorm)
            checkMultiplyAdd(l, "x * scale + shift", x, l.type("scale"), l.type("shift"), "scale", "shift");
        if (l.kind == LayerKind::Activation && l.activation() == ActKind::HardSigmoid)
            checkMultiplyAdd(l, "slope * x + offset", x, l.type("param"), l.type("param"), "param", "param");
    }
}

}  // namespace tachyon
