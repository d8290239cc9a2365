#include "serve/Infer.h"

#include <algorithm>
#include <cmath>

namespace tachyon::serve {

namespace {

bool dimsMatch(const std::vector<int64_t>& want, const int64_t* got, size_t n) {
    if (want.size() != n) return false;
    for (size_t i = 0; i < n; ++i)
        if (want[i] != -1 && want[i] != got[i]) return false;
    return true;
}

std::string shapeText(const std::vector<int64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
    return t + "]";
}

// Rows (samples) in the input, after checking its shape against the model's:
// [batch, dims...] with max_batch_size > 0, [dims...] without, any shape holding whole
// rows for a ragged input.
size_t rowsOf(const ModelVersion& mv, const Tensor& in, size_t rowSize) {
    const size_t n = in.values.size();
    const size_t maxBatch = size_t(std::max(0, mv.config.max_batch_size()));
    const std::string what = "model '" + mv.name + "': input '" + in.name + "'";
    if (mv.input.ragged) {
        if (n == 0 || n % rowSize != 0)
            throw ServeError(Code::InvalidArgument, what + ": a ragged input must hold whole rows of " +
                                                        std::to_string(rowSize) + " values, got " + std::to_string(n));
        return n / rowSize;
    }
    const auto& s = in.shape;
    const std::string expected = (maxBatch > 0 ? "[-1," + shapeText(mv.input.dims).substr(1) : shapeText(mv.input.dims));
    if (maxBatch > 0) {
        if (s.empty() || !dimsMatch(mv.input.dims, s.data() + 1, s.size() - 1))
            throw ServeError(Code::InvalidArgument, what + ": shape " + shapeText(s) + " does not match the model's " + expected);
        if (s[0] < 1) throw ServeError(Code::InvalidArgument, what + ": the batch dimension must be at least 1");
    } else if (!dimsMatch(mv.input.dims, s.data(), s.size())) {
        throw ServeError(Code::InvalidArgument, what + ": shape " + shapeText(s) + " does not match the model's " + expected);
    }
    if (n % rowSize != 0 || n == 0)
        throw ServeError(Code::InvalidArgument, what + ": " + std::to_string(n) + " values are not whole samples of " +
                                                    std::to_string(rowSize));
    return n / rowSize;
}

// [rows, output dims...] (a variable output dim takes what the row leaves), or the
// output dims alone for an unbatched model (max_batch_size 0) given exactly one sample.
std::vector<int64_t> outputShape(const ModelVersion& mv, size_t rows) {
    std::vector<int64_t> dims = mv.output.dims;
    int64_t known = 1;
    for (int64_t d : dims) known *= d == -1 ? 1 : d;
    const int64_t rowSize = int64_t(mv.batcher->backend().outputSize());
    for (int64_t& d : dims)
        if (d == -1) d = rowSize / known;
    const bool fixedSample = std::find(mv.input.dims.begin(), mv.input.dims.end(), -1) == mv.input.dims.end();
    if (mv.config.max_batch_size() == 0 && !mv.input.ragged && rows == 1 && fixedSample) return dims;
    dims.insert(dims.begin(), int64_t(rows));
    return dims;
}

}  // namespace

InferResponse runInfer(const ModelVersion& mv, const InferRequest& rq) {
    const std::string model = "model '" + mv.name + "'";
    if (rq.inputs.size() != 1)
        throw ServeError(Code::InvalidArgument, model + " has one input ('" + mv.input.name + "'), the request has " +
                                                    std::to_string(rq.inputs.size()));
    const Tensor& in = rq.inputs[0];
    if (in.shm.used())
        throw ServeError(Code::Internal, model + ": input '" + in.name + "' was not read from shared memory");
    if (in.name != mv.input.name)
        throw ServeError(Code::InvalidArgument, model + ": unknown input '" + in.name + "' (the model's input is '" +
                                                    mv.input.name + "')");
    if (in.datatype != mv.input.datatype)
        throw ServeError(Code::InvalidArgument, model + ": input '" + in.name + "': datatype " + in.datatype +
                                                    ", the model expects " + mv.input.datatype);
    for (const auto& o : rq.outputs)
        if (o.name != mv.output.name)
            throw ServeError(Code::InvalidArgument, model + ": unknown output '" + o.name + "' (the model's output is '" +
                                                        mv.output.name + "')");
    const size_t rowSize = mv.batcher->backend().inputSize();
    const size_t rows = rowsOf(mv, in, rowSize);
    if (const size_t i = firstNonFinite(in.values.data(), in.values.size()); i < in.values.size())
        throw ServeError(Code::InvalidArgument, model + ": input '" + in.name + "': value " + std::to_string(i) +
                                                    " is " + (std::isnan(in.values[i]) ? "NaN" : "infinite"));
    InferResponse r;
    r.model = mv.name;
    r.version = mv.versionString();
    r.id = rq.id;
    r.output.name = mv.output.name;
    r.output.datatype = mv.output.datatype;
    r.output.values = mv.batcher->infer(in.values.data(), rows, rq.timeout);
    castAll(r.output.datatype, r.output.values);
    r.output.shape = outputShape(mv, rows);
    r.binary = rq.binaryOutputs || (!rq.outputs.empty() && rq.outputs[0].binary);
    r.finalFlag = rq.finalFlag;
    return r;
}

}  // namespace tachyon::serve
