// Activation constants: leaky_relu's alpha, hard_sigmoid's slope and offset, selu's lambda
// as raws of `param`; the lookup table of the functions that read one (emulator/Tables.h),
// indexed by the input type.
#include "lower/Lower.h"

#include "emulator/Cast.h"

namespace tachyon {

LayerConstants lowerActivation(const Graph&, const Layer& l, const std::vector<LoweredInput>& ins) {
    LayerConstants c;
    const ActAttrs& a = l.as<ActAttrs>();
    const FixedType& inT = ins.at(0).type;
    switch (a.kind) {
    case ActKind::LeakyReLU: c.param = {int64_t(l.type("param").castDouble(a.alpha))}; break;
    case ActKind::HardSigmoid: {
        const FixedType& p = l.type("param");
        c.param = {int64_t(p.castDouble(a.slope)), int64_t(p.castDouble(a.offset))};
        break;
    }
    case ActKind::SELU:
        c.param = {int64_t(l.type("param").castDouble(kSeluLambda))};
        c.table = buildActivationTable(l, inT);
        break;
    case ActKind::Sigmoid:
    case ActKind::Tanh:
    case ActKind::Softplus:
    case ActKind::Softsign:
    case ActKind::ELU:
    case ActKind::Swish:
    case ActKind::GELU: c.table = buildActivationTable(l, inT); break;
    default: break;
    }
    return c;
}

}  // namespace tachyon
