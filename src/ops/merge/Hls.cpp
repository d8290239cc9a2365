// HLS C++ of Merge and Concatenate of any number of inputs (nnet_utils/nnet_merge.h).
#include "backends/hls/HlsEmit.h"

#include "util/Error.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tachyon::hls {

// Merges and concatenations of n inputs: n - 1 two-input calls; the intermediate tensors
// `<id>_partK` have exact types (merges) or the result type (concatenation).
void emitMultiInput(const Layer& l, const LayerInputs& in, const LoweredGraph&, LayerCode& c, ParamsText& p) {
    const size_t n = in.keys.size();
    const bool concat = l.kind == LayerKind::Concatenate;
    const FixedType& res = l.type("result");
    if (n < 2) throw Error(layerError(l, "needs at least two inputs"));
    const MergeOp op = concat ? MergeOp::Add : l.as<MergeAttrs>().op;
    if (!concat && op == MergeOp::Subtract && n != 2) throw Error(layerError(l, "Subtract takes exactly two inputs"));
    const int axis = concat ? l.as<ConcatAttrs>().axis : 0;
    std::string opName;
    switch (op) {
    case MergeOp::Add: opName = "add"; break;
    case MergeOp::Subtract: opName = "subtract"; break;
    case MergeOp::Multiply: opName = "multiply"; break;
    case MergeOp::Average: opName = "average"; break;
    case MergeOp::Maximum: opName = "maximum"; break;
    case MergeOp::Minimum: opName = "minimum"; break;
    }
    p.os << "// " << l.name << ": " << (concat ? "Concatenate along axis " + std::to_string(axis) : hlsClassName(l)) << " of "
         << n << " inputs -> " << shapeText(l.shape) << (n > 2 ? " (a chain of two-input steps)" : "") << "\n";
    std::string prevKey = in.keys[0];
    FixedType prevType = in.types[0];
    Shape prevShape = in.shapes[0];
    for (size_t k = 1; k < n; ++k) {
        const bool last = k + 1 == n;
        const std::string stepId = last ? c.id : c.id + "_part" + std::to_string(k);
        const FixedType& b = in.types[k];
        FixedType outT = res;
        Shape outShape = l.shape;
        if (concat) {
            outShape = prevShape;
            outShape[size_t(axis)] += in.shapes[k][size_t(axis)];
        } else if (!last) {
            outT = op == MergeOp::Multiply ? productType(prevType, b)
                   : (op == MergeOp::Maximum || op == MergeOp::Minimum) ? commonType(prevType, b)
                                                                         : sumType(prevType, b);
            checkWidth(l, outT, "the exact partial " + opName);
        }
        ParamsText q;
        q.id = stepId;
        if (!last) {
            q.typedefLine(outT.str(), "t");
            TensorInfo t;
            t.key = stepId;
            t.var = stepId;
            t.type = stepId + "_t";
            t.beat = stepId + "_beat_t";
            t.size = 1;
            for (int d : outShape) t.size *= d;
            t.chan = outShape.back();
            c.intermediates.push_back(t);
        } else {
            q.typedefLine(res.str(), "result_t");
        }
        int size = 1;
        for (int d : outShape) size *= d;
        if (concat) {
            int outer = 1, inner = 1;
            for (int d = 0; d < axis; ++d) outer *= outShape[size_t(d)];
            for (size_t d = size_t(axis) + 1; d < outShape.size(); ++d) inner *= outShape[d];
            q.beginConfig("movement_config");
            q.constant("unsigned", "n_out", size);
            q.constant("unsigned", "out_chan", outShape.back());
            q.constant("unsigned", "outer", outer);
            q.constant("unsigned", "a_block", prevShape[size_t(axis)] * inner);
            q.constant("unsigned", "b_block", in.shapes[k][size_t(axis)] * inner);
            q.constant("bool", "last_axis", boolText(size_t(axis) + 1 == outShape.size()));
            q.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
            q.endConfig();
        } else {
            const FixedType sum = sumType(prevType, b);
            checkWidth(l, sum, "the exact sum");
            if (op == MergeOp::Multiply) checkWidth(l, productType(prevType, b), "the exact product");
            const MergeOp stepOp = (op == MergeOp::Average && !last) ? MergeOp::Add : op;
            divideTypes(l, q, sum, outT, (long long)n, stepOp == MergeOp::Average);
            q.beginConfig("merge_config");
            q.constant("unsigned", "n_elem", size);
            q.constant("unsigned", "n_chan", outShape.back());
            q.constant("unsigned", "reuse_factor", l.schedule.reuseFactor);
            q.constant("unsigned", "op", "nnet::" + (stepOp == MergeOp::Add ? std::string("add") : opName));
            q.constant("unsigned", "divisor", stepOp == MergeOp::Average ? n : 1);
            q.flushLater();
            q.endConfig();
        }
        p.os << q.os.str();
        KernelCall call;
        call.kernel = concat ? "concatenate" : "merge";
        call.config = stepId + "_config";
        call.inputs = {prevKey, in.keys[k]};
        call.output = last ? l.name : stepId;
        c.calls.push_back(call);
        prevKey = stepId;
        prevType = outT;
        prevShape = outShape;
    }
}

}  // namespace tachyon::hls
