// The emulator driver: builds one kernel per layer (src/ops/<op>/Kernel.cpp, one per op
// family), then runs the graph over chunks of rows, in parallel. Within a chunk every
// layer's output is kept until the chunk is done, so layers may read any earlier layer
// (residual additions, concatenations). See docs/semantics.md for each layer's arithmetic.
#include "emulator/Emulator.h"

#include "emulator/Cast.h"
#include "emulator/Kernel.h"
#include "emulator/KernelPath.h"
#include "config/Config.h"
#include "util/Error.h"
#include "util/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

namespace tachyon {

std::string emulatorKernelChoice() {
    const char* kernel = std::getenv("TACHYON_EMULATOR_KERNEL");
    return kernel ? std::string(kernel) : std::string();
}

namespace {
thread_local size_t foldedByLastEmulator = 0;   // foldedLayersOfLastEmulator (emulator/KernelPath.h)
}

size_t foldedLayersOfLastEmulator() { return foldedByLastEmulator; }

std::vector<double>& scratch(int slot) {
    static thread_local std::vector<double> buffers[4];
    return buffers[slot];
}

struct Emulator::Impl {
    std::vector<std::unique_ptr<Kernel>> kernels;   // index = graph layer index
    std::vector<std::vector<size_t>> inputsOf;      // producer indices per layer
    std::vector<size_t> sizes;                      // per-sample output size per layer
    std::map<std::string, size_t> index;
    size_t valuesPerRow = 0;                        // all layers' outputs together
    // Multi-input models: the model row is the Input layers' values concatenated; offset
    // and size of each Input layer's part (one entry per Input layer).
    std::vector<size_t> inputOffset, inputWidth;
    size_t inputRow = 0;
    // Fixed-mode execution groups: groupEnd[k] is the last layer that layer k's kernel
    // computes (k itself, or the elementwise followers it folded in: their outputs are then
    // not materialised). Traces run every layer on its own.
    std::vector<size_t> groupEnd;
    // Each layer's lowered constants (lower/Lower.h), which its kernel reads; a deque, so
    // that the kernels' references stay valid while it grows.
    std::deque<LayerConstants> constants;
    std::unique_ptr<LoweredGraph> lowered;          // views into `constants`

    // Rows per chunk: the requested number, fewer for big tensors, so that one chunk's
    // buffers stay around 32 MB whatever the model.
    size_t chunkRows(const EmulatorOptions& opt) const {
        const size_t budget = size_t(4) << 20;
        return std::max<size_t>(1, std::min(opt.chunkRows, budget / std::max<size_t>(valuesPerRow, 1)));
    }
};

namespace {

// The kernel column of the op registry (ops/OpList.h).
std::unique_ptr<Kernel> makeKernel(const Layer& l, std::vector<LoweredInput> ins, const LayerConstants& c) {
    switch (l.kind) {
#define TACHYON_OP(kind, lower, kernel, hls, rtl, streamRtl, legality) \
    case LayerKind::kind: return kernel(l, std::move(ins), c);
#include "ops/OpList.h"
#undef TACHYON_OP
    }
    throw Error("layer '" + l.name + "': no emulator kernel for " + toString(l.kind));
}

template <class Fn>
void parallelChunks(size_t rows, const EmulatorOptions& opt, Fn&& fn) {
    const size_t chunk = std::max<size_t>(1, opt.chunkRows);
    const size_t nChunks = (rows + chunk - 1) / chunk;
    unsigned threads = opt.threads > 0 ? unsigned(opt.threads) : util::hardwareThreads();
    threads = unsigned(std::min<size_t>(threads, nChunks));   // one chunk (batch 1): inline
    std::atomic<size_t> next{0};
    auto worker = [&](unsigned tid) {
        for (size_t k; (k = next++) < nChunks;) {
            size_t begin = k * chunk;
            fn(tid, begin, std::min(rows, begin + chunk) - begin);
        }
    };
    if (threads <= 1) { worker(0); return; }
    util::runOnPool(threads, worker);
}

// Lets each kernel fold the chain of elementwise layers after it (Kernel::foldFollowers):
// consecutive layers, each reading only the one before, which nothing else reads.
void planFolds(Emulator::Impl& impl) {
    foldedByLastEmulator = 0;
    const size_t n = impl.kernels.size();
    std::vector<size_t> readers(n, 0);
    for (const auto& producers : impl.inputsOf)
        for (size_t p : producers) ++readers[p];
    impl.groupEnd.resize(n);
    for (size_t k = 0; k < n; ++k) impl.groupEnd[k] = k;
    // The followers offered: the longest run of one kind, elementwise layers or Dense layers
    // (which a Dense kernel may chain on int16 activations, ops/mac/Int16Pair.h).
    auto followersOf = [&](size_t k, bool chain) {
        std::vector<const Kernel*> followers;
        for (size_t j = k + 1; j < n && impl.inputsOf[j] == std::vector<size_t>{j - 1} && readers[j - 1] == 1; ++j) {
            const Kernel& f = *impl.kernels[j];
            if (chain ? f.layer().kind != LayerKind::Dense : f.elementPeriod() == 0) break;
            followers.push_back(&f);
        }
        return followers;
    };
    for (size_t k = 0; k < n; ++k) {
        std::vector<const Kernel*> followers = followersOf(k, false);
        if (followers.empty() || !impl.kernels[k]->foldFollowers(followers)) {
            followers = followersOf(k, true);
            if (followers.empty() || !impl.kernels[k]->foldFollowers(followers)) continue;
        }
        const size_t j = k + 1 + followers.size();
        impl.groupEnd[k] = j - 1;
        foldedByLastEmulator += j - 1 - k;
        k = j - 1;
    }
}

// Runs one chunk through every layer; bufs[k] receives layer k's output. `fixedMode`
// selects the kernels' fixed-point or float arithmetic; `fold` runs fixed-mode groups
// (planFolds) as one, leaving their inner layers' buffers unwritten.
void runChunk(const Emulator::Impl& impl, const double* in, size_t rows, bool fixedMode,
              std::vector<std::vector<double>>& bufs, std::vector<LayerStats>* stats, bool fold = false) {
    bufs.resize(impl.kernels.size());
    std::vector<const double*> ins;
    for (size_t k = 0; k < impl.kernels.size(); ++k) {
        bufs[k].resize(rows * impl.sizes[k]);
        const size_t end = fold && fixedMode ? impl.groupEnd[k] : k;
        ins.clear();
        if (k < impl.inputOffset.size()) {
            if (impl.inputOffset.size() == 1) {
                ins.push_back(in);
            } else {
                // This Input layer's columns of the concatenated model row.
                static thread_local std::vector<double> part;
                const size_t w = impl.inputWidth[k], off = impl.inputOffset[k];
                part.resize(rows * w);
                for (size_t r = 0; r < rows; ++r)
                    std::copy(in + r * impl.inputRow + off, in + r * impl.inputRow + off + w, part.data() + r * w);
                ins.push_back(part.data());
            }
        }
        for (size_t i : impl.inputsOf[k]) ins.push_back(bufs[i].data());
        if (end != k) {
            for (size_t f = k; f <= end; ++f) {
                bufs[f].resize(rows * impl.sizes[f]);
                (*stats)[f].values += rows * impl.sizes[f];
            }
            impl.kernels[k]->fixedFolded(ins, bufs[end].data(), rows, &(*stats)[k]);
            k = end;
        } else if (fixedMode) {
            LayerStats& st = (*stats)[k];
            st.values += rows * impl.sizes[k];
            impl.kernels[k]->fixed(ins, bufs[k].data(), rows, st);
        } else {
            impl.kernels[k]->real(ins, bufs[k].data(), rows);
        }
    }
}

// Each layer with the constants and input types its kernel was built with.
std::vector<LoweredLayer> lowerLayers(const Graph& g, const Emulator::Impl& impl) {
    std::vector<LoweredLayer> layers;
    for (size_t k = 0; k < g.layers.size(); ++k) {
        const Kernel& kernel = *impl.kernels[k];
        LoweredLayer low{&g.layers[k], {}, &impl.constants[k]};
        for (const LoweredInput& in : kernel.inputs()) low.inputTypes.push_back(in.type);
        layers.push_back(std::move(low));
    }
    return layers;
}

}  // namespace

Emulator::Emulator(const Graph& g) : graph_(g), impl_(std::make_unique<Impl>()) {
    verify(graph_, true);
    requireEmulatedArithmetic(graph_);  // settings recorded from the config but not emulated yet
    for (size_t k = 0; k < graph_.layers.size(); ++k) {
        const Layer& l = graph_.layers[k];
        impl_->index[l.name] = k;
        std::vector<size_t> producers;
        for (const auto& name : l.inputs) producers.push_back(impl_->index.at(name));
        std::vector<LoweredInput> ins = loweredInputs(graph_, l);
        impl_->constants.push_back(lowerLayer(graph_, l, ins));
        try {
            impl_->kernels.push_back(makeKernel(l, std::move(ins), impl_->constants.back()));
        } catch (const std::bad_variant_access&) {
            throw Error("layer '" + l.name + "': attributes do not match its kind " + toString(l.kind));
        }
        impl_->inputsOf.push_back(std::move(producers));
        impl_->sizes.push_back(size_t(l.outSize()));
        impl_->valuesPerRow += size_t(l.outSize());
        if (l.kind == LayerKind::Input) {
            impl_->inputOffset.push_back(impl_->inputRow);
            impl_->inputWidth.push_back(size_t(l.outSize()));
            impl_->inputRow += size_t(l.outSize());
        }
    }
    planFolds(*impl_);
    impl_->lowered = std::make_unique<LoweredGraph>(graph_, lowerLayers(graph_, *impl_),
                                                    [this](const int64_t* x, size_t rows, int64_t* out) {
                                                        runFixedRaw(x, rows, out);
                                                    });
}

Emulator::~Emulator() = default;

int Emulator::inputSize() const { return graph_.inputSize(); }
int Emulator::outputSize() const { return graph_.outputSize(); }

namespace {

// Runs the fixed-point graph over row chunks in parallel. `fill(begin, n, dst, stats)` writes
// the raw input values of rows [begin, begin+n) into dst and counts the values that overflowed
// in the stats of the Input layer they belong to.
template <class Fill>
std::vector<LayerStats> runFixedChunks(const Emulator::Impl& impl, const Graph& g, size_t rows, int64_t* outRaw,
                                       EmulatorOptions opt, Fill&& fill) {
    const size_t nIn = size_t(g.inputSize()), nOut = size_t(g.outputSize());
    std::mutex m;
    std::vector<LayerStats> total(g.layers.size());
    for (size_t k = 0; k < total.size(); ++k) total[k].layer = g.layers[k].name;
    opt.chunkRows = impl.chunkRows(opt);
    parallelChunks(rows, opt, [&](unsigned, size_t begin, size_t n) {
        static thread_local std::vector<double> in;
        static thread_local std::vector<std::vector<double>> bufs;
        in.resize(n * nIn);
        std::vector<LayerStats> local(g.layers.size());
        fill(begin, n, in.data(), local);
        runChunk(impl, in.data(), n, true, bufs, &local, true);
        const std::vector<double>& out = bufs.back();
        for (size_t i = 0; i < n * nOut; ++i) outRaw[begin * nOut + i] = int64_t(out[i]);
        std::lock_guard<std::mutex> lock(m);
        for (size_t k = 0; k < total.size(); ++k) {
            total[k].accumOverflows += local[k].accumOverflows;
            total[k].resultOverflows += local[k].resultOverflows;
            total[k].values += local[k].values;
        }
    });
    return total;
}

// Casts float inputs to the Input type: vectorised when the chunk's values allow it.
uint64_t castInputs(const FixedType& inT, const double* x, size_t n, double* dst) {
    double maxAbs = 0;
    bool finite = true;
    for (size_t i = 0; i < n; ++i) {
        maxAbs = std::max(maxAbs, std::fabs(x[i]));
        finite = finite && std::isfinite(x[i]);
    }
    DoubleCaster cast(inT, 0, finite ? maxAbs : INFINITY);  // NaN/inf take the scalar path
    if (cast.vectorised()) return cast.run(x, dst, n, false);
    uint64_t ov = 0;
    for (size_t i = 0; i < n; ++i) {
        CastStatus cs;
        dst[i] = double(int64_t(inT.castDouble(x[i], &cs)));
        ov += cs.overflow;
    }
    return ov;
}

}  // namespace

void Emulator::runFixedRaw(const int64_t* xRaw, size_t rows, int64_t* outRaw,
                           std::vector<LayerStats>* stats, const EmulatorOptions& opt) const {
    const size_t nIn = size_t(inputSize());
    auto total = runFixedChunks(*impl_, graph_, rows, outRaw, opt,
                                [&](size_t begin, size_t n, double* dst, std::vector<LayerStats>&) {
                                    for (size_t i = 0; i < n * nIn; ++i) dst[i] = double(xRaw[begin * nIn + i]);
                                });
    if (stats) *stats = std::move(total);
}

void Emulator::runFixed(const double* x, size_t rows, int64_t* outRaw, double* outValue,
                        std::vector<LayerStats>* stats, const EmulatorOptions& opt) const {
    const size_t nIn = size_t(inputSize()), nOut = size_t(outputSize());
    const FixedType& inT = graph_.input().type("result");
    const auto inputs = graph_.inputs();
    // Where each Input layer's overflow count goes: its own row of the summary, not the first
    // layer's (GarNet's vertex count is the second input).
    std::vector<size_t> statsIndex;
    for (const Layer* l : inputs) statsIndex.push_back(size_t(l - graph_.layers.data()));
    auto total = runFixedChunks(*impl_, graph_, rows, outRaw, opt,
                                [&](size_t begin, size_t n, double* dst, std::vector<LayerStats>& stats) {
        if (inputs.size() == 1) {
            stats[statsIndex[0]].resultOverflows += castInputs(inT, x + begin * nIn, n * nIn, dst);
            return;
        }
        // Several inputs: each part of the row is cast to its own Input layer's type.
        for (size_t r = 0; r < n; ++r)
            for (size_t k = 0; k < inputs.size(); ++k) {
                const size_t off = impl_->inputOffset[k];
                stats[statsIndex[k]].resultOverflows += castInputs(
                    inputs[k]->type("result"), x + (begin + r) * nIn + off, impl_->inputWidth[k], dst + r * nIn + off);
            }
    });
    if (stats) *stats = std::move(total);
    if (outValue) {
        // Every raw here came from a double (below 2^53), so scaling by a power of two is
        // exact: the same value as FixedType::toDouble, without its two ldexp calls a value.
        const double scale = std::ldexp(1.0, -graph_.output().type("result").frac());
        for (size_t i = 0; i < rows * nOut; ++i) outValue[i] = double(outRaw[i]) * scale;
    }
}

void Emulator::runFloat(const double* x, size_t rows, double* out, const EmulatorOptions& options) const {
    const size_t nIn = size_t(inputSize()), nOut = size_t(outputSize());
    EmulatorOptions opt = options;
    opt.chunkRows = impl_->chunkRows(options);
    parallelChunks(rows, opt, [&](unsigned, size_t begin, size_t n) {
        static thread_local std::vector<std::vector<double>> bufs;
        runChunk(*impl_, x + begin * nIn, n, false, bufs, nullptr);
        std::copy(bufs.back().begin(), bufs.back().end(), out + begin * nOut);
    });
}

std::vector<std::vector<double>> Emulator::traceFixed(const double* x, size_t rows) const {
    std::vector<double> raw(rows * size_t(inputSize()));
    const auto inputs = graph_.inputs();
    for (size_t k = 0; k < inputs.size(); ++k) {
        const FixedType& inT = inputs[k]->type("result");
        for (size_t r = 0; r < rows; ++r)
            for (size_t i = impl_->inputOffset[k]; i < impl_->inputOffset[k] + impl_->inputWidth[k]; ++i)
                raw[r * impl_->inputRow + i] = double(int64_t(inT.castDouble(x[r * impl_->inputRow + i])));
    }
    std::vector<LayerStats> stats(graph_.layers.size());
    std::vector<std::vector<double>> trace;
    runChunk(*impl_, raw.data(), rows, true, trace, &stats);
    for (size_t k = 0; k < trace.size(); ++k) {
        const FixedType& t = graph_.layers[k].type("result");
        for (double& v : trace[k]) v = t.toDouble(int64_t(v));
    }
    return trace;
}

std::vector<std::vector<double>> Emulator::traceFloat(const double* x, size_t rows) const {
    std::vector<std::vector<double>> trace;
    runChunk(*impl_, x, rows, false, trace, nullptr);
    return trace;
}

const LoweredGraph& Emulator::lowered() const { return *impl_->lowered; }

const std::vector<int64_t>& Emulator::weightRaw(const std::string& l) const { return lowered().weightRaw(l); }
const std::vector<int64_t>& Emulator::biasRaw(const std::string& l) const { return lowered().biasRaw(l); }
const std::vector<int64_t>& Emulator::scaleRaw(const std::string& l) const { return lowered().scaleRaw(l); }
const std::vector<int64_t>& Emulator::paramRaw(const std::string& l) const { return lowered().paramRaw(l); }
const BinaryMac* Emulator::binaryMac(const std::string& l) const { return lowered().binaryMac(l); }
const LookupTable* Emulator::activationTable(const std::string& l) const { return lowered().activationTable(l); }
const SoftmaxTables* Emulator::softmaxTables(const std::string& l) const { return lowered().softmaxTables(l); }
const GarNetConstants& Emulator::garnetConstants(const std::string& l) const { return lowered().garnetConstants(l); }
const std::vector<int64_t>& Emulator::recurrentWeightRaw(const std::string& l) const {
    return lowered().recurrentWeightRaw(l);
}
const std::vector<int64_t>& Emulator::recurrentBiasRaw(const std::string& l) const { return lowered().recurrentBiasRaw(l); }
const LookupTable* Emulator::recurrentTable(const std::string& l, RecurrentTable which) const {
    return lowered().recurrentTable(l, which);
}
const FixedType& Emulator::inputType(const std::string& l) const { return lowered().inputType(l); }

}  // namespace tachyon
