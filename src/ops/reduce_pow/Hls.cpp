// HLS C++ of Reduce and Pow layers (nnet_utils/nnet_reduce.h): the types and the mean's
// constant of ir/ReducePow.h, so the firmware computes what the emulator computes.
#include "backends/hls/HlsEmit.h"
#include "ir/ReducePow.h"
#include "util/Error.h"

namespace tachyon::hls {

namespace {

KernelCall call(const std::string& kernel, const LayerCode& c, const LayerInputs& in, const Layer& l) {
    KernelCall k;
    k.kernel = kernel;
    k.config = c.id + "_config";
    k.inputs = in.keys;
    k.output = l.name;
    return k;
}

}  // namespace

void emitReduce(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    const auto& a = l.as<ReduceAttrs>();
    const ReduceDims d = reduceDims(a, in.shapes[0]);
    const bool lastAxis = a.axis + 1 == int(in.shapes[0].size());
    if (in.streaming && !lastAxis)
        throw Error(layerError(l, "io_stream reduces over the last axis only (axis " + std::to_string(a.axis) +
                                      " of " + std::to_string(in.shapes[0].size()) + "); use io_parallel"));
    const FixedType& inT = in.types[0];
    p.os << "// " << l.name << ": " << hlsClassName(l) << " over axis " << a.axis << " of " << in.shapes[0].size()
         << " (" << d.n << " values each)\n";
    p.typedefLine(l.type("result").str(), "result_t");
    std::string reciprocal;
    if (a.op != ReduceOp::Max) {
        const FixedType& acc = l.type("accum");
        p.typedefLine(acc.str(), "accum_t");
        checkWidth(l, exactSumType(acc, inT), "the sum accum + x");
        if (a.op == ReduceOp::Mean) {
            const MeanFactor f = meanFactor(l, d.n);
            // 2^-k as ap_ufixed<k + 1, 1> (raw 1), else the configured reciprocal type.
            const FixedType rT = f.shift ? FixedType::fixed(f.frac + 1, 1, false) : l.type("reciprocal");
            checkWidth(l, exactProductType(acc, rT), "the mean's accum x 1/N");
            p.typedefLine(rT.str(), "reciprocal_t");
            reciprocal = "    static " + c.id + "_reciprocal_t reciprocal() { return " + c.id + "_reciprocal_t(" +
                         literal(rT, int64_t(f.raw)) + "); }\n";
        }
    }
    p.beginConfig("reduce_config");
    p.constant("unsigned", "outer", d.outer);
    p.constant("unsigned", "n", d.n);
    p.constant("unsigned", "inner", d.inner);
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "op", std::string(a.op == ReduceOp::Sum ? "nnet::reduce_sum" : a.op == ReduceOp::Mean ? "nnet::reduce_mean" : "nnet::reduce_max"));
    if (a.op != ReduceOp::Max) p.alias("accum_t");
    if (a.op == ReduceOp::Mean) p.alias("reciprocal_t");
    p.os << reciprocal;
    p.endConfig();
    c.calls.push_back(call("reduce", c, in, l));
    // Estimate: the additions (a tree when accum is the exact sum, else a chain of casts),
    // kAddsPerCycle per cycle, the mean's product, a register; comparisons as additions.
    int adds = 0;
    if (a.op != ReduceOp::Max && l.type("accum") != exactReduceSumType(inT, d.n)) adds = d.n - 1;
    else
        while ((1 << adds) < d.n) ++adds;
    const bool product = a.op == ReduceOp::Mean && !isPowerOfTwo(d.n);
    const long long one = 1 + (adds + kAddsPerCycle - 1) / kAddsPerCycle + (product ? kMultiplyCycles : 0);
    const long long beats = in.streaming ? d.outer : 1;
    c.timing.latency = (beats - 1) * l.schedule.reuseFactor + std::max<long long>(one, l.schedule.reuseFactor);
    c.timing.ii = beats * l.schedule.reuseFactor;
    c.timing.detail = std::to_string(beats) + " x reduce(" + std::to_string(one) + " cycles)";
}

void emitPow(const Layer& l, const LayerInputs& in, const LoweredGraph& low, LayerCode& c, ParamsText& p) {
    const bool stream = in.streaming;
    const int k = l.as<PowAttrs>().exponent;
    const FixedType& inT = in.types[0];
    const FixedType& acc = l.type("accum");
    checkWidth(l, exactProductType(inT, inT), "x * x");
    if (k > 2) checkWidth(l, exactProductType(acc, inT), "accum * x");
    p.os << "// " << l.name << ": Pow x^" << k << " over " << l.outSize() << " values\n";
    p.typedefLine(acc.str(), "accum_t");
    p.typedefLine(l.type("result").str(), "result_t");
    p.beginConfig("pow_config");
    p.constant("unsigned", "n_in", l.outSize());
    p.constant("unsigned", "n_chan", l.shape.back());
    p.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
    p.constant("unsigned", "exponent", k);
    p.alias("accum_t");
    p.endConfig();
    c.calls.push_back(call("pow", c, in, l));
    // Estimate: k - 1 products one after the other, then a register.
    const long long one = 1 + (k - 1) * kMultiplyCycles;
    const long long beats = stream ? l.outSize() / l.shape.back() : 1;
    c.timing.latency = (beats - 1) * l.schedule.reuseFactor + std::max<long long>(one, l.schedule.reuseFactor);
    c.timing.ii = beats * l.schedule.reuseFactor;
    c.timing.detail = std::to_string(beats) + " x pow(" + std::to_string(one) + " cycles)";
}

}  // namespace tachyon::hls
