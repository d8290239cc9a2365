// HLS C++ of Dense and Conv (nnet_utils/nnet_dense.h, nnet_conv.h): the non-zero weight tables
// and their schedule (shared with the recurrent layers' products), and the XNOR-popcount form
// of binary x binary layers.
#include "backends/hls/HlsEmit.h"

#include "emulator/Cast.h"
#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::hls {

std::vector<MacEntry> macEntries(const std::vector<int64_t>& w, int nOut) {
    std::vector<MacEntry> nz;
    for (size_t k = 0; k < w.size(); ++k)
        if (w[k] != 0) nz.push_back({k, int(k / size_t(nOut)), int(k % size_t(nOut))});
    return nz;
}

// The kernel's table (nnet_dense.h): grouped by output, n_cycles x n_out x per_output, so
// each unrolled lane adds into a fixed output; short outputs padded with weight 0.
MacTable macTable(const std::vector<MacEntry>& nz, int nOut, int rf, bool resource) {
    std::vector<std::vector<size_t>> perOut(static_cast<size_t>(nOut));  // indices into nz, ascending input
    for (size_t e = 0; e < nz.size(); ++e) perOut[size_t(nz[e].out)].push_back(e);
    MacTable t;
    t.reuseFactor = rf;
    t.resource = resource;
    t.nonzero = nz.size();
    t.longest = 1;
    for (const auto& list : perOut) t.longest = std::max(t.longest, list.size());
    // Resource: ceil(longest / RF) products per output per cycle, in at most RF cycles (fewer
    // when an output has fewer than RF weights: more cycles would only add padding).
    t.perOutput = resource ? (t.longest + size_t(rf) - 1) / size_t(rf) : t.longest;
    t.cycles = (t.longest + t.perOutput - 1) / t.perOutput;
    t.block = size_t(nOut) * t.perOutput;
    t.slot.assign(t.cycles * t.block, MacTable::kPad);
    for (size_t j = 0; j < size_t(nOut); ++j)
        for (size_t q = 0; q < perOut[j].size(); ++q)
            t.slot[((q / t.perOutput) * size_t(nOut) + j) * t.perOutput + q % t.perOutput] = perOut[j][q];
    return t;
}

LayerTiming macTiming(const MacTable& t) {
    LayerTiming r;
    const long long chain = (static_cast<long long>(t.perOutput) + kAddsPerCycle - 1) / kAddsPerCycle;
    if (t.resource) {
        // n_cycles iterations pipelined at II = 1, each a multiply and per_output additions.
        r.ii = static_cast<long long>(t.cycles);
        r.latency = r.ii + kMultiplyCycles + chain;
    } else {
        // Every product in parallel, the function pipelined at II = reuse_factor.
        r.ii = t.reuseFactor;
        r.latency = std::max<long long>(kMultiplyCycles + chain, t.reuseFactor);
    }
    return r;
}

std::string macIndexType(int nIn) { return "ap_uint<" + std::to_string(bitsFor(nIn - 1)) + ">"; }

// Latency configs: gather(x, xt), the input of every weight-table entry as a literal index
// (nnet_dense.h dense_latency), so the products need no index-table multiplexer. Resource
// folds the products over cycles and reads x through w_in (a per-cycle selection by nature).
void macGather(ParamsText& p, const MacTable& t, const std::vector<MacEntry>& nz) {
    p.os << "    template <class data_T>\n"
         << "    static void gather(const data_T x[n_in], data_T xt[n_table]) {\n"
         << "        #pragma HLS INLINE\n";
    for (size_t k = 0; k < t.slot.size(); ++k) {
        const int in = t.slot[k] == MacTable::kPad ? 0 : nz[t.slot[k]].in;
        p.os << (k % 8 == 0 ? "        " : " ") << "xt[" << k << "] = x[" << in << "];"
             << (k % 8 == 7 || k + 1 == t.slot.size() ? "\n" : "");
    }
    p.os << "    }\n";
}

void macScheduleConstants(ParamsText& p, const MacTable& t, const Layer& l, const std::vector<MacEntry>& nz) {
    p.constant("unsigned", "n_nonzero", t.nonzero);
    p.constant("unsigned", "n_cycles", t.cycles);
    p.constant("unsigned", "per_output", t.perOutput);
    p.constant("unsigned", "block_factor", t.block);
    p.constant("unsigned", "n_table", t.slot.size());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "strategy", "nnet::" + strategyName(l));
    if (!t.resource) macGather(p, t, nz);
}

std::string macTableArrays(const std::string& id, const FixedType& wT, const std::vector<int64_t>& w,
                           const std::vector<MacEntry>& nz, const MacTable& t, int nOut, const std::string& xNote) {
    std::string body = "// Non-zero weights grouped by output; entry (c * " + std::to_string(nOut) + " + j) * " +
                       std::to_string(t.perOutput) + " + m adds " + id + "_w[t] * x[" + id +
                       "_w_in[t]] to output j in cycle c" + xNote + ".\n";
    body += constArray(id + "_weight_t", id + "_w", t.slot.size(), 8, [&](size_t k) {
        return t.slot[k] == MacTable::kPad ? std::string("0") : literal(wT, w[nz[t.slot[k]].k]);
    });
    body += constArray(id + "_index_in_t", id + "_w_in", t.slot.size(), 16, [&](size_t k) {
        return std::to_string(t.slot[k] == MacTable::kPad ? 0 : nz[t.slot[k]].in);
    });
    return body;
}

// A binary x binary Dense or Conv (passes/BinaryMac.h, as the emulator computes it):
// nnet_dense.h's dense_xnor or nnet_conv.h's conv_xnor, the weight signs packed in ap_uint
// words, a popcount of the XNOR per output. The convolution's constants are the offset and
// half the step (its count is 2 agree + padded, docs/semantics.md).
void emitMacXnor(const Layer& l, const LayerInputs& in, const BinaryMac& f, LayerCode& c, ParamsText& p) {
    const bool conv = l.kind == LayerKind::Conv;
    const int nIn = f.nIn, nOut = f.nOut, positions = l.outSize() / nOut;
    const int wordBits = std::min(nIn, 64), nWords = (nIn + wordBits - 1) / wordBits;
    const FixedType& accT = l.type("accum");
    // step_j = 2 a h_j <= accum's whole range (the sum +-n a h_j fits it): unsigned, one bit more.
    const FixedType stepT = FixedType::fixed(accT.width + 1, accT.integer + 1, false);
    const bool relu = l.activation() == ActKind::ReLU;
    Geometry geo;
    if (conv) {
        const ConvAttrs& a = l.as<ConvAttrs>();
        if (a.rank != 1 && a.rank != 2) throw Error(layerError(l, "only 1-D and 2-D convolutions are supported"));
        geo = windowGeometry(a.rank, in.shapes[0], l.shape, a.kernel, a.strides, a.dilation, a.padBegin);
    }
    p.os << "// " << l.name << ": " << hlsClassName(l) << " " << shapeText(in.shapes[0]) << " -> " << shapeText(l.shape);
    if (conv)
        p.os << ", kernel " << geo.kH << "x" << geo.kW << ", stride " << geo.sH << "x" << geo.sW << ", dilation "
             << geo.dH << "x" << geo.dW;
    p.os << (relu ? ", with ReLU" : "") << ", binary input (+-" << f.inputLevel << " LSB) x binary weights: XNOR-popcount, "
         << nWords << " word(s) of " << wordBits << " bits per output, ReuseFactor " << l.schedule.reuseFactor << "\n";
    p.typedefLine("ap_uint<" + std::to_string(wordBits) + ">", "word_t");
    p.typedefLine("ap_uint<" + std::to_string(bitsFor(nIn)) + ">", "count_t");
    p.typedefLine(accT.str(), "accum_t");
    p.typedefLine(stepT.str(), "step_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig(conv ? "conv_xnor_config" : "dense_xnor_config");
    p.constant("unsigned", "n_in", nIn);
    p.constant("unsigned", "n_out", nOut);
    if (conv) {
        geo.emit(p);
        p.constant("unsigned", "n_filt", nOut);
    }
    p.constant("unsigned", "n_positions", positions);
    p.constant("unsigned", "word_bits", wordBits);
    p.constant("unsigned", "n_words", nWords);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("bool", "relu", boolText(relu));
    for (const char* v : {"word_t", "count_t", "accum_t", "step_t"}) p.alias(v);
    p.endConfig();

    std::string body = "// Weight signs (1: +h, 0: -h) of output j in words j * " + std::to_string(nWords) +
                       " .. ; bit i % " + std::to_string(wordBits) + " of word i / " + std::to_string(wordBits) +
                       " is " + (conv ? "window input i (kernel positions row-major, then input channels)" : "input i") +
                       ".\n";
    body += constArray(c.id + "_word_t", c.id + "_wbits", size_t(nOut) * size_t(nWords), 4, [&](size_t k) {
        const size_t j = k / size_t(nWords), word = k % size_t(nWords);
        uint64_t v = 0;
        for (int b = 0; b < wordBits; ++b) {
            const size_t i = word * size_t(wordBits) + size_t(b);
            if (i < size_t(nIn) && f.weightBit[i * size_t(nOut) + j]) v |= uint64_t(1) << b;
        }
        std::ostringstream os;
        os << "0x" << std::hex << v << "ULL";
        return os.str();
    });
    if (conv)
        body += "// acc_j = offset_j + half_j * (2 * agree_j + padded) (offset_j = accum(b_j) - n_in a h_j, half_j = a h_j).\n";
    else
        body += "// acc_j = offset_j + step_j * popcount_j (offset_j = accum(b_j) - n_in a h_j, step_j = 2 a h_j).\n";
    body += constArray(c.id + "_accum_t", c.id + "_offset", size_t(nOut), 8,
                       [&](size_t j) { return literal(accT, f.offset[j]); });
    const std::string stepName = c.id + (conv ? "_half" : "_step");
    body += constArray(c.id + "_step_t", stepName, size_t(nOut), 8,
                       [&](size_t j) { return literal(stepT, conv ? f.step[j] / 2 : f.step[j]); });
    c.constants.push_back({c.id + "_w.h", header(c.id, "w", body)});
    KernelCall k = oneCall(conv ? "conv_xnor" : "dense_xnor", c, in, l.name);
    k.constantArgs = {c.id + "_wbits", c.id + "_offset", stepName};
    c.calls.push_back(k);
    // One register stage for the XNORs, the popcount tree kAddsPerCycle levels per cycle,
    // then the offset + step * count.
    int levels = 0;
    while ((1 << levels) < nIn) ++levels;
    const long long one = 1 + (levels + kAddsPerCycle - 1) / kAddsPerCycle + kMultiplyCycles;
    c.timing.latency = positions * std::max<long long>(one, l.schedule.reuseFactor);
    c.timing.ii = static_cast<long long>(positions) * l.schedule.reuseFactor;
    c.timing.detail = std::to_string(positions) + " x xnor-popcount(" + std::to_string(one) + " cycles, II " +
                      std::to_string(l.schedule.reuseFactor) + ")";
}

// Dense (over the last axis) and Conv (1-D/2-D, plain or depthwise): the non-zero weights
// as (value, window index, output) entries in ascending window order.
void emitMac(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    if (const BinaryMac* f = low.binaryMac(l.name)) {
        emitMacXnor(l, in, *f, c, p);
        return;
    }
    const auto& w = low.weightRaw(l.name);
    const auto& b = low.biasRaw(l.name);
    const bool conv = l.kind == LayerKind::Conv;
    const ActKind act = l.activation();
    if (act != ActKind::Linear && act != ActKind::ReLU)
        throw Error(layerError(l, "only linear and relu can be fused into a " + toString(l.kind) + " layer, got " +
                                      toString(act)));
    int nIn = 0, nOut = 0, positions = 1, mult = 1;
    bool depthwise = false;
    Geometry geo;
    if (conv) {
        const ConvAttrs& a = l.as<ConvAttrs>();
        if (a.rank != 1 && a.rank != 2) throw Error(layerError(l, "only 1-D and 2-D convolutions are supported"));
        geo = windowGeometry(a.rank, in.shapes[0], l.shape, a.kernel, a.strides, a.dilation, a.padBegin);
        depthwise = a.depthwise;
        mult = a.depthMultiplier;
        nIn = geo.kH * geo.kW * geo.C;
        nOut = a.outChannels;
    } else {
        const DenseAttrs& a = l.as<DenseAttrs>();
        nIn = a.nIn;
        nOut = a.nOut;
        positions = l.outSize() / nOut;
    }
    // Entries sorted by window index, so every output accumulates in ascending order.
    std::vector<MacEntry> nz;
    if (depthwise) {
        for (size_t k = 0; k < w.size(); ++k)
            if (w[k] != 0) {
                const int tap = int(k / size_t(nOut)), o = int(k % size_t(nOut));
                nz.push_back({k, tap * geo.C + o / mult, o});
            }
    } else {
        nz = macEntries(w, nOut);
    }
    const int rf = l.schedule.reuseFactor;
    const MacTable table = macTable(nz, nOut, rf, strategyName(l) == "resource");
    const FixedType& wT = l.type("weight");

    p.os << "// " << l.name << ": " << hlsClassName(l) << " " << shapeText(in.shapes[0]) << " -> " << shapeText(l.shape);
    if (conv) {
        p.os << ", kernel " << geo.kH << "x" << geo.kW << ", stride " << geo.sH << "x" << geo.sW << ", dilation "
             << geo.dH << "x" << geo.dW;
    }
    p.os << (act == ActKind::ReLU ? ", with ReLU" : "") << ", " << nz.size() << " of " << w.size()
         << " weights non-zero, " << toString(l.schedule.strategy) << " ReuseFactor " << rf << "\n";
    p.typedefLine(wT.str(), "weight_t");
    p.typedefLine(l.type("bias").str(), "bias_t");
    p.typedefLine(l.type("accum").str(), "accum_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.typedefLine(macIndexType(nIn), "index_in_t");
    p.beginConfig(conv ? "conv_config" : "dense_config");
    p.constant("unsigned", "n_in", nIn);
    p.constant("unsigned", "n_out", nOut);
    if (conv) {
        geo.emit(p);
        p.constant("unsigned", "n_filt", nOut);
    } else {
        p.constant("unsigned", "n_positions", positions);
    }
    macScheduleConstants(p, table, l, nz);
    p.constant("bool", "relu", boolText(act == ActKind::ReLU));
    for (const char* v : {"accum_t", "weight_t", "bias_t", "index_in_t"}) p.alias(v);
    p.endConfig();

    c.constants.push_back({c.id + "_w.h", header(c.id, "w", macTableArrays(c.id, wT, w, nz, table, nOut,
                                                                           conv ? " (x: the window, kernel positions "
                                                                                  "row-major, then input channels)"
                                                                                : ""))});
    const FixedType& bT = l.type("bias");
    c.constants.push_back({c.id + "_b.h", header(c.id, "b", constArray(c.id + "_bias_t", c.id + "_b", b.size(), 8,
                                                                  [&](size_t k) { return literal(bT, b[k]); }))});
    KernelCall k = oneCall(conv ? "conv" : "dense", c, in, l.name);
    k.constantArgs = {c.id + "_w", c.id + "_w_in", c.id + "_b"};
    c.calls.push_back(k);
    // One product per output position, in sequence.
    const LayerTiming one = macTiming(table);
    const long long where = conv ? static_cast<long long>(geo.outH) * geo.outW : positions;
    c.timing.latency = where * one.latency;
    c.timing.ii = where * one.ii;
    c.timing.detail = std::to_string(where) + " x product(" + std::to_string(one.latency) + " cycles, II " +
                      std::to_string(one.ii) + ")";
}

}  // namespace tachyon::hls
