// SimpleRNN, LSTM and GRU for the HLS backend: the calls of nnet_recurrent.h's static
// kernels, their configs, and their constants, all taken from the lowered graph (quantised
// weights, the very lookup tables the emulator computes with), so C simulation is bit-exact to it.
//
// A layer `<id>` gets, in parameters.h:
//   <id>_x_config, <id>_h_config (and <id>_rh_config)   the products (nnet::dense_config)
//   <id>_act_config, <id>_ract_config, <id>_state_act_config   its activations
//   <id>_config : nnet::recurrent_config                  sizes, options, the above as members
// and in weights/ the product tables (<id>_x_w.h ...) and the activation tables.
#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace tachyon::hls {

namespace {

bool tableFunction(ActKind k) {
    return k == ActKind::Sigmoid || k == ActKind::Tanh || k == ActKind::Softsign || k == ActKind::Softplus;
}

void checkFunction(const Layer& l, ActKind k, const char* role) {
    if (tableFunction(k) || k == ActKind::Linear || k == ActKind::ReLU || k == ActKind::HardSigmoid) return;
    throw Error(layerError(l, std::string(role) + " " + toString(k) +
                                  " is not supported in a recurrent layer (linear, relu, sigmoid, tanh, hard_sigmoid, "
                                  "softsign, softplus)"));
}

struct RecurrentEmitter {
    const Layer& l;
    const LayerInputs& in;
    const LoweredGraph& low;
    LayerCode& c;
    ParamsText& p;
    RecurrentAttrs a;
    FixedType A, S;
    std::vector<std::string> args;   // the kernel's constant arguments, in order
    // The configs written so far, as members of <id>_config: {tag, member name}.
    std::vector<std::pair<std::string, std::string>> members;

    // One product of the cell: columns [c0, c1) of a [nInputs][gates * units] kernel and
    // its bias, as a dense_config `<id>_<tag>_config` with its own table (member `mult_<tag>`).
    LayerTiming product(const std::string& tag, const std::string& what, const std::vector<int64_t>& wAll,
                        const FixedType& wT, const std::vector<int64_t>& bAll, const FixedType& bT,
                        const FixedType& xT, int nInputs, int c0, int c1) {
        const int cols = a.gates() * a.units, nOut = c1 - c0;
        std::vector<int64_t> w(size_t(nInputs) * size_t(nOut)), b(size_t(nOut), 0);
        for (int i = 0; i < nInputs; ++i)
            for (int j = c0; j < c1; ++j) w[size_t(i) * size_t(nOut) + size_t(j - c0)] = wAll[size_t(i) * size_t(cols) + size_t(j)];
        if (!bAll.empty())
            for (int j = c0; j < c1; ++j) b[size_t(j - c0)] = bAll[size_t(j)];
        checkWidth(l, exactProductType(xT, wT), "the product " + what);
        const std::vector<MacEntry> nz = macEntries(w, nOut);
        const MacTable t = macTable(nz, nOut, l.schedule.reuseFactor, strategyName(l) == "resource");
        const std::string sub = c.id + "_" + tag;
        ParamsText q;
        q.id = sub;
        q.os << "// " << l.name << ", product " << what << ": " << nInputs << " -> " << nOut << ", " << nz.size() << " of "
             << w.size() << " weights non-zero\n";
        q.typedefLine(wT.str(), "weight_t");
        q.typedefLine(bT.str(), "bias_t");
        q.typedefLine(A.str(), "accum_t");
        q.typedefLine(macIndexType(nInputs), "index_in_t");
        q.beginConfig("dense_config");
        q.constant("unsigned", "n_in", nInputs);
        q.constant("unsigned", "n_out", nOut);
        q.constant("unsigned", "n_positions", 1);
        macScheduleConstants(q, t, l, nz);
        q.constant("bool", "relu", "false");
        for (const char* v : {"accum_t", "weight_t", "bias_t", "index_in_t"}) q.alias(v);
        q.endConfig();
        p.os << q.os.str();
        const std::string body = macTableArrays(sub, wT, w, nz, t, nOut, "") +
                                 constArray(sub + "_bias_t", sub + "_b", b.size(), 8,
                                            [&](size_t k) { return literal(bT, b[k]); });
        c.constants.push_back({sub + "_w.h", header(sub, "w", body)});
        args.insert(args.end(), {sub + "_w", sub + "_w_in", sub + "_b"});
        members.emplace_back(tag, "mult_" + tag);
        return macTiming(t);
    }

    // One activation of the cell keyed on `keyT`: `<id>_<tag>_config` (member `<tag>`), its
    // table (the emulator's) and the shared hard_sigmoid constants.
    void activation(const std::string& tag, ActKind k, const FixedType& keyT, LoweredGraph::RecurrentTable which,
                    bool passParam) {
        const std::string sub = c.id + "_" + tag;
        const LookupTable* table = tableFunction(k) ? low.recurrentTable(l.name, which) : nullptr;
        if (tableFunction(k) && !table)
            throw Error(layerError(l, "the emulator built no lookup table for " + toString(k)));
        const bool param = k == ActKind::HardSigmoid;
        if (k == ActKind::HardSigmoid) {
            const FixedType prod = exactProductType(l.type("param"), keyT);
            checkWidth(l, prod, "hard_sigmoid's slope * x");
            checkWidth(l, exactSumType(prod, l.type("param")), "hard_sigmoid's slope * x + offset");
        }
        ParamsText q;
        q.id = sub;
        if (table) q.typedefLine(table->valueType.str(), "table_t");
        q.typedefLine(rawIntType(keyT), "key_t");
        q.beginConfig("activation_config");
        q.constant("unsigned", "n_in", a.units);
        q.constant("unsigned", "n_chan", a.units);
        q.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
        q.constant("unsigned", "function", "nnet::" + functionName(k));
        q.constant("unsigned", "in_width", keyT.width);
        q.alias("key_t");
        if (param) {
            q.constant("unsigned", "n_param", 2);
            q.os << "    typedef " << c.id << "_param_t param_t;\n";
        }
        if (table) {
            q.alias("table_t");
            tableStruct(q, "table", *table);
        }
        q.endConfig();
        p.os << q.os.str();
        if (table) {
            c.constants.push_back({sub + "_table.h", header(sub, "table", tableArray(sub + "_table_t", sub + "_table", *table))});
            args.push_back(sub + "_table");
        } else {
            args.push_back("nnet::none");
        }
        if (passParam) args.push_back(param ? c.id + "_param" : "nnet::none");
        members.emplace_back(tag, tag);
    }

    void emit() {
        a = l.as<RecurrentAttrs>();
        if (in.types.size() != 1) throw Error(layerError(l, "a recurrent layer reads one input"));
        const int n = a.units, G = a.gates();
        const FixedType& x = in.types[0];
        A = l.type("accum");
        S = l.hasType("state") ? l.type("state") : l.type("result");
        const FixedType& W = l.type("weight");
        const FixedType& R = l.hasType("recurrent_weight") ? l.type("recurrent_weight") : W;
        const FixedType& B = l.type("bias");
        const FixedType& RB = l.hasType("recurrent_bias") ? l.type("recurrent_bias") : B;
        const bool gru = a.cell == RnnCell::GRU, lstm = a.cell == RnnCell::LSTM;
        const bool before = gru && !a.resetAfter;
        checkFunction(l, a.activation, "activation");
        if (a.cell != RnnCell::SimpleRNN) checkFunction(l, a.recurrentActivation, "recurrent_activation");

        // The exact intermediates of the gate arithmetic (nnet_recurrent.h) must fit the header.
        checkWidth(l, exactSumType(A, A), "ax + ah");
        if (lstm) {
            checkWidth(l, exactSumType(exactProductType(A, A), exactProductType(S, A)), "LSTM's g*i + c*f");
        }
        if (gru) {
            const FixedType oneMinusZ = exactSumType(FixedType::fixed(1, 1, false), A);
            checkWidth(l, exactSumType(exactProductType(A, oneMinusZ), exactProductType(S, A)), "GRU's hh*(1-z) + h*z");
            checkWidth(l, exactProductType(A, before ? S : A), before ? "GRU's r * h" : "GRU's r * ah");
        }

        const std::string kernel = a.cell == RnnCell::SimpleRNN ? "simple_rnn" : lstm ? "lstm" : before ? "gru_reset_before" : "gru";
        p.os << "// " << l.name << ": " << hlsClassName(l) << " over " << a.steps << " steps x " << a.nIn << " features, "
             << n << " units" << (a.returnSequences ? ", the whole sequence" : ", the last state")
             << (a.goBackwards ? ", go_backwards" : "") << (gru ? (a.resetAfter ? ", reset_after" : ", reset before") : "")
             << "; activation " << toString(a.activation)
             << (a.cell != RnnCell::SimpleRNN ? ", recurrent_activation " + toString(a.recurrentActivation) : "")
             << "; nnet::" << kernel << ", " << toString(l.schedule.strategy) << " ReuseFactor " << l.schedule.reuseFactor << "\n";
        p.typedefLine(A.str(), "accum_t");
        p.typedefLine(S.str(), "state_t");
        p.typedefLine(l.type("result").str(), "result_t");
        const std::vector<int64_t>& param = low.paramRaw(l.name);
        if (!param.empty()) p.typedefLine(l.type("param").str(), "param_t");

        const LayerTiming mx = product("x", "x * W", low.weightRaw(l.name), W, low.biasRaw(l.name), B, x, a.nIn, 0, G * n);
        const LayerTiming mh = product("h", "h * R", low.recurrentWeightRaw(l.name), R, low.recurrentBiasRaw(l.name), RB, S,
                                       n, 0, before ? 2 * n : G * n);
        LayerTiming mrh;
        if (before)
            mrh = product("rh", "(r*h) * R_h", low.recurrentWeightRaw(l.name), R, low.recurrentBiasRaw(l.name), RB, S, n,
                          2 * n, 3 * n);
        activation("act", a.activation, A, LoweredGraph::RecurrentTable::Activation, true);
        if (lstm) activation("state_act", a.activation, S, LoweredGraph::RecurrentTable::StateActivation, false);
        if (a.cell != RnnCell::SimpleRNN)
            activation("ract", a.recurrentActivation, A, LoweredGraph::RecurrentTable::RecurrentActivation, true);

        p.beginConfig("recurrent_config");
        p.constant("unsigned", "n_in", a.nIn);
        p.constant("unsigned", "n_units", n);
        p.constant("unsigned", "n_steps", a.steps);
        p.constant("bool", "return_sequences", boolText(a.returnSequences));
        p.constant("bool", "go_backwards", boolText(a.goBackwards));
        p.constant("bool", "output_in_input_order", boolText(a.outputInInputOrder));
        p.alias("accum_t");
        p.alias("state_t");
        for (const auto& [tag, name] : members) p.os << "    typedef " << c.id << "_" << tag << "_config " << name << ";\n";
        p.endConfig();
        if (!param.empty()) {
            const FixedType& pT = l.type("param");
            c.constants.push_back({c.id + "_param.h",
                                   header(c.id, "param", "// hard_sigmoid's {slope, offset}\n" +
                                                             constArray(c.id + "_param_t", c.id + "_param", param.size(), 8,
                                                                        [&](size_t k) { return literal(pT, param[k]); }))});
        }

        KernelCall k;
        k.kernel = kernel;
        k.config = c.id + "_config";
        k.inputs = in.keys;
        k.output = l.name;
        k.constantArgs = args;
        c.calls.push_back(k);

        // Schedule estimate: the products of a step run side by side, then the gate
        // arithmetic, one register stage per dependent operation (a table read counts
        // kTableReadCycles); the steps run one after another (each needs the previous h).
        const long long tbl = kTableReadCycles;
        long long gates = 0;
        std::string how;
        switch (a.cell) {
        case RnnCell::SimpleRNN: gates = 1 + tbl; how = "ax+ah, act"; break;
        case RnnCell::LSTM: gates = 1 + tbl + 1 + tbl + 1; how = "ax+ah, act, g*i+c*f, act(c), o*act(c)"; break;
        case RnnCell::GRU:
            gates = before ? 1 + tbl + 1 + mrh.latency + 1 + tbl + 1 : 1 + tbl + 1 + 1 + tbl + 1;
            how = before ? "ax+ah, ract, r*h, (r*h)*R_h, ax_h+.., act, mix" : "ax+ah, ract, r*ah, ax_h+.., act, mix";
            break;
        }
        const long long step = std::max(mx.latency, mh.latency) + gates;
        c.timing.latency = a.steps * step + 1;   // + the output register
        c.timing.ii = c.timing.latency;          // one cell, busy for the whole sequence
        c.timing.detail = std::to_string(a.steps) + " steps x (max(x*W " + std::to_string(mx.latency) + ", h*R " +
                          std::to_string(mh.latency) + ") + " + std::to_string(gates) + " [" + how + "]) + 1";
    }
};

}  // namespace

void emitRecurrent(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    RecurrentEmitter e{l, in, low, c, p, {}, {}, {}, {}, {}};
    e.emit();
}

}  // namespace tachyon::hls
