// SimpleRNN, LSTM and GRU constants: the input and recurrent kernels and biases as raws of
// their types; the tables of `activation` over the accumulator (gate pre-activations) and,
// for an LSTM, over the state (act(c)); of `recurrent_activation` over the accumulator;
// hard_sigmoid's slope 0.2 and offset 0.5 as raws of `param`.
#include "lower/Lower.h"

#include "emulator/Cast.h"

namespace tachyon {

namespace {

// The table of activation `k` indexed by raws of `keyT`: the one an Activation layer with
// this layer's table settings would read (emulator/Tables.h); size 0 for a function computed
// without one.
LookupTable activationTableOf(const Layer& l, ActKind k, const FixedType& keyT) {
    switch (k) {
    case ActKind::Sigmoid:
    case ActKind::Tanh:
    case ActKind::Softsign:
    case ActKind::Softplus: {
        Layer t;
        t.name = l.name;
        t.kind = LayerKind::Activation;
        t.attrs = ActAttrs{k};
        t.precision["table"] = l.type("table");
        t.table = l.table;
        return buildActivationTable(t, keyT);
    }
    default: return {};
    }
}

}  // namespace

LayerConstants lowerRecurrent(const Graph&, const Layer& l, const std::vector<LoweredInput>&) {
    const RecurrentAttrs& a = l.as<RecurrentAttrs>();
    const FixedType& accT = l.type("accum");
    const FixedType& stateT = l.hasType("state") ? l.type("state") : l.type("result");
    const FixedType& wT = l.type("weight");
    const FixedType& rT = l.hasType("recurrent_weight") ? l.type("recurrent_weight") : wT;
    const FixedType& bT = l.type("bias");
    const FixedType& rbT = l.hasType("recurrent_bias") ? l.type("recurrent_bias") : bT;
    LayerConstants c;
    c.weight = quantizeAll(l.param("weight"), wT);
    c.bias = quantizeAll(l.param("bias"), bT);
    c.recurrentWeight = quantizeAll(l.param("recurrent_weight"), rT);
    c.recurrentBias = quantizeAll(l.param("recurrent_bias"), rbT);
    c.actTable = activationTableOf(l, a.activation, accT);
    if (a.cell != RnnCell::SimpleRNN) c.recurrentTable = activationTableOf(l, a.recurrentActivation, accT);
    if (a.cell == RnnCell::LSTM) c.stateActTable = activationTableOf(l, a.activation, stateT);
    // Keras 2's hard_sigmoid, clip(0.2 x + 0.5, 0, 1), for either function.
    const bool hardSigmoid = a.activation == ActKind::HardSigmoid ||
                             (a.cell != RnnCell::SimpleRNN && a.recurrentActivation == ActKind::HardSigmoid);
    if (hardSigmoid) {
        const FixedType& p = l.type("param");
        c.param = {int64_t(p.castDouble(0.2)), int64_t(p.castDouble(0.5))};
    }
    return c;
}

}  // namespace tachyon
