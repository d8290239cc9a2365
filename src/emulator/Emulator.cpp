#include "emulator/Emulator.h"

#include "util/Error.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

namespace tachyon {

// Raw fixed-point values travel between layers as doubles holding exact integers: every
// raw this emulator handles is below 2^53, and doubles let the compiler use SIMD floating
// point (with FMA) for the multiply-accumulate, which is exact under the bounds checked
// in `DenseKernel::fast`.

namespace {

// Rounds the exact value t to an integer with quantisation mode q. Valid when t came from
// an integer below 2^52 scaled by 2^-s with s <= 50, so t +- 0.5 is exact.
inline double roundMode(double t, Quant q) {
    switch (q) {
    case Quant::TRN: return std::floor(t);
    case Quant::TRN_ZERO: return std::trunc(t);
    case Quant::RND: return std::floor(t + 0.5);
    case Quant::RND_MIN_INF: return std::ceil(t - 0.5);
    case Quant::RND_ZERO: return t >= 0 ? std::ceil(t - 0.5) : std::floor(t + 0.5);
    case Quant::RND_INF: return t >= 0 ? std::floor(t + 0.5) : std::ceil(t - 0.5);
    case Quant::RND_CONV: return std::nearbyint(t);
    }
    return t;
}

// cast<dst>(a * 2^-srcFrac) for int64 a; the common modes inline, the rest via castRaw.
struct Caster {
    FixedType dst;
    int srcFrac = 0;
    int shift = 0;  // srcFrac - dst.frac()
    int64_t lo = 0, hi = 0;
    bool generic = false;

    Caster() = default;
    Caster(const FixedType& d, int sf) : dst(d), srcFrac(sf), shift(sf - d.frac()) {
        lo = int64_t(d.minRaw());
        hi = int64_t(d.maxRaw());
        generic = d.satBits != 0 || d.width > 62 || shift > 62 || shift < -62;
    }

    int64_t operator()(int64_t a, uint64_t& overflows) const {
        if (generic) {
            CastStatus st;
            int64_t r = int64_t(dst.castRaw(Int128(a), srcFrac, &st));
            overflows += st.overflow;
            return r;
        }
        int64_t q;
        if (shift > 0) {
            q = a >> shift;
            const int64_t rem = a - (q << shift), half = int64_t(1) << (shift - 1);
            switch (dst.quant) {
            case Quant::TRN: break;
            case Quant::TRN_ZERO: q += (a < 0 && rem != 0); break;
            case Quant::RND: q += (rem >= half); break;
            case Quant::RND_MIN_INF: q += (rem > half); break;
            case Quant::RND_ZERO: q += (rem > half || (rem == half && a < 0)); break;
            case Quant::RND_INF: q += (rem > half || (rem == half && a >= 0)); break;
            case Quant::RND_CONV: q += (rem > half || (rem == half && (q & 1))); break;
            }
        } else if (shift < 0) {
            const int up = -shift;
            if (a >= (int64_t(1) << (62 - up)) || a <= -(int64_t(1) << (62 - up))) {
                CastStatus st;
                int64_t r = int64_t(dst.castRaw(Int128(a), srcFrac, &st));
                overflows += st.overflow;
                return r;
            }
            q = a * (int64_t(1) << up);
        } else {
            q = a;
        }
        if (q >= lo && q <= hi) {
            if (dst.overflow == Overflow::SAT_SYM && dst.isSigned && q == lo) return -hi;
            return q;
        }
        ++overflows;
        switch (dst.overflow) {
        case Overflow::SAT: return q < lo ? lo : hi;
        case Overflow::SAT_ZERO: return 0;
        case Overflow::SAT_SYM: return q < lo ? (dst.isSigned ? -hi : 0) : hi;
        case Overflow::WRAP: {
            const int w = dst.width;
            uint64_t bits = uint64_t(q) & ((uint64_t(1) << w) - 1);
            if (dst.isSigned && (bits >> (w - 1))) return int64_t(bits) - (int64_t(1) << w);
            return int64_t(bits);
        }
        }
        return q;
    }
};

int64_t maxAbsRaw(const FixedType& t) {
    return int64_t(std::max(-t.minRaw(), t.maxRaw()));
}

std::vector<int64_t> quantizeAll(const std::vector<double>& v, const FixedType& t) {
    std::vector<int64_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = int64_t(t.castDouble(v[i]));
    return out;
}

}  // namespace

// One compiled layer: constants quantised, casts prepared, fast paths decided.
struct CompiledLayer {
    const Layer* layer = nullptr;
    FixedType inT, outT;
    int nIn = 0, nOut = 0;

    // Dense
    std::vector<int64_t> wRaw, bRaw;
    std::vector<double> wScaled;   // wRaw * 2^-prodShift (exact), row-major [nIn][nOut]
    std::vector<double> biasAcc;   // cast<accum>(bias), raw
    FixedType accT;
    int prodShift = 0;             // (Fx + Fw) - Fa
    bool fast = false;             // double SIMD path is exact
    bool accumCanOverflow = true;
    Caster accToOut;

    // BatchNorm
    std::vector<int64_t> scaleRaw, shiftRaw;
    int bnFrac = 0;                // common frac of x*scale + shift

    // Activations
    int64_t paramA = 0, paramB = 0;  // leaky alpha / hard_sigmoid slope, offset (raw of `param`)
    int paramFrac = 0;
    LookupTable table;
    SoftmaxTables softmax;
    Caster resultCast;             // from the layer's natural exact frac to result
};

struct Emulator::Impl {
    std::vector<CompiledLayer> layers;   // index = graph layer index
    std::map<std::string, size_t> index;
};

namespace {

void compileDense(CompiledLayer& c, const Layer& l) {
    c.accT = l.type("accum");
    const FixedType& wT = l.type("weight");
    const FixedType& bT = l.type("bias");
    c.wRaw = quantizeAll(l.weight, wT);
    c.bRaw = quantizeAll(l.bias, bT);
    c.prodShift = (c.inT.frac() + wT.frac()) - c.accT.frac();
    c.biasAcc.resize(size_t(c.nOut));
    for (int j = 0; j < c.nOut; ++j)
        c.biasAcc[size_t(j)] = double(int64_t(c.accT.castRaw(Int128(c.bRaw[size_t(j)]), bT.frac())));
    c.accToOut = Caster(c.outT, c.accT.frac());

    // Interval bound on every partial sum, in accumulator LSBs: if it fits, no cast in the
    // accumulation can overflow, whatever the overflow mode.
    const double maxX = double(maxAbsRaw(c.inT));
    const double scale = std::ldexp(1.0, -c.prodShift);
    double worst = 0.0, maxW = 0.0;
    bool fits = true;
    for (int j = 0; j < c.nOut; ++j) {
        double bound = std::fabs(c.biasAcc[size_t(j)]);
        for (int i = 0; i < c.nIn; ++i) {
            double w = std::fabs(double(c.wRaw[size_t(i) * c.nOut + j]));
            maxW = std::max(maxW, w);
            if (w != 0) bound += maxX * w * scale + 1.0;
        }
        worst = std::max(worst, bound);
        if (bound > double(c.accT.maxRaw()) || -bound < double(c.accT.minRaw())) fits = false;
    }
    c.accumCanOverflow = !fits;
    const bool modular = c.accT.satBits == 0 && (c.accT.overflow == Overflow::WRAP || fits);
    const bool exact = maxX * maxW < std::ldexp(1.0, 52) && c.prodShift <= 50 &&
                       worst + std::ldexp(1.0, std::min(c.accT.width, 60)) < std::ldexp(1.0, 52) &&
                       c.accT.width <= 62;
    c.fast = modular && exact;
    c.wScaled.resize(c.wRaw.size());
    for (size_t k = 0; k < c.wRaw.size(); ++k) c.wScaled[k] = std::ldexp(double(c.wRaw[k]), -c.prodShift);
}

void compileLayer(CompiledLayer& c, const Layer& l, const FixedType& inT) {
    c.layer = &l;
    c.inT = inT;
    c.outT = l.type("result");
    c.nOut = l.outSize();
    c.nIn = l.kind == LayerKind::Input ? c.nOut : l.nIn ? l.nIn : c.nOut;
    switch (l.kind) {
    case LayerKind::Input:
    case LayerKind::Reshape:
        c.resultCast = Caster(c.outT, inT.frac());
        break;
    case LayerKind::Dense:
        compileDense(c, l);
        break;
    case LayerKind::BatchNorm: {
        const FixedType& sT = l.type("scale");
        const FixedType& hT = l.type("shift");
        c.scaleRaw = quantizeAll(l.scale, sT);
        c.shiftRaw = quantizeAll(l.shift, hT);
        c.bnFrac = std::max(inT.frac() + sT.frac(), hT.frac());
        c.resultCast = Caster(c.outT, c.bnFrac);
        break;
    }
    case LayerKind::Activation: {
        switch (l.activation) {
        case ActKind::Sigmoid:
        case ActKind::Tanh:
            c.table = buildActivationTable(l, inT);
            c.resultCast = Caster(c.outT, c.table.valueType.frac());
            break;
        case ActKind::LeakyReLU:
        case ActKind::HardSigmoid: {
            const FixedType& p = l.type("param");
            c.paramFrac = p.frac();
            if (l.activation == ActKind::LeakyReLU) {
                c.paramA = int64_t(p.castDouble(l.alpha));
            } else {
                c.paramA = int64_t(p.castDouble(l.hardSlope));
                c.paramB = int64_t(p.castDouble(l.hardOffset));
            }
            c.resultCast = Caster(c.outT, inT.frac() + p.frac());
            break;
        }
        default:
            c.resultCast = Caster(c.outT, std::max(inT.frac(), 0));
            break;
        }
        break;
    }
    case LayerKind::Softmax:
        c.softmax = buildSoftmaxTables(l, inT, c.nOut);
        // y = e * r: exact product of the two table entries.
        c.resultCast = Caster(c.outT, c.softmax.exp.valueType.frac() + c.softmax.inv.valueType.frac());
        break;
    }
}

// ---- fixed-point layer kernels over a chunk of rows (in/out are raw values as doubles) ----

template <Quant Q>
void denseFastRows(const CompiledLayer& c, const double* in, double* acc, size_t rows) {
    const int nIn = c.nIn, nOut = c.nOut;
    for (size_t r = 0; r < rows; ++r) {
        double* a = acc + r * nOut;
        std::copy(c.biasAcc.begin(), c.biasAcc.end(), a);
        const double* x = in + r * nIn;
        for (int i = 0; i < nIn; ++i) {
            const double xi = x[i];
            if (xi == 0.0) continue;  // exact: a zero product adds nothing
            const double* w = c.wScaled.data() + size_t(i) * nOut;
            if (c.prodShift <= 0) {
                for (int j = 0; j < nOut; ++j) a[j] += xi * w[j];
            } else {
                for (int j = 0; j < nOut; ++j) a[j] += roundMode(xi * w[j], Q);
            }
        }
    }
}

void denseFixed(const CompiledLayer& c, const double* in, double* out, size_t rows, LayerStats& st,
                std::vector<double>& scratch) {
    const int nIn = c.nIn, nOut = c.nOut;
    const Layer& l = *c.layer;
    const bool relu = l.activation == ActKind::ReLU;
    uint64_t accOv = 0, resOv = 0;
    if (c.fast) {
        scratch.resize(rows * size_t(nOut));
        double* acc = scratch.data();
        switch (c.accT.quant) {
        case Quant::TRN: denseFastRows<Quant::TRN>(c, in, acc, rows); break;
        case Quant::TRN_ZERO: denseFastRows<Quant::TRN_ZERO>(c, in, acc, rows); break;
        case Quant::RND: denseFastRows<Quant::RND>(c, in, acc, rows); break;
        case Quant::RND_ZERO: denseFastRows<Quant::RND_ZERO>(c, in, acc, rows); break;
        case Quant::RND_INF: denseFastRows<Quant::RND_INF>(c, in, acc, rows); break;
        case Quant::RND_MIN_INF: denseFastRows<Quant::RND_MIN_INF>(c, in, acc, rows); break;
        case Quant::RND_CONV: denseFastRows<Quant::RND_CONV>(c, in, acc, rows); break;
        }
        const int64_t lo = int64_t(c.accT.minRaw()), hi = int64_t(c.accT.maxRaw());
        const int w = c.accT.width;
        for (size_t k = 0; k < rows * size_t(nOut); ++k) {
            int64_t a = int64_t(acc[k]);
            if (a < lo || a > hi) {  // only reachable with a wrapping accumulator
                ++accOv;
                uint64_t bits = uint64_t(a) & ((uint64_t(1) << w) - 1);
                a = (c.accT.isSigned && (bits >> (w - 1))) ? int64_t(bits) - (int64_t(1) << w) : int64_t(bits);
            }
            int64_t z = c.accToOut(a, resOv);
            if (relu && z < 0) z = 0;
            out[k] = double(z);
        }
    } else {
        // Exact step-by-step semantics with 128-bit products.
        const FixedType& accT = c.accT;
        const int fa = accT.frac();
        const int fp = c.inT.frac() + l.type("weight").frac();
        for (size_t r = 0; r < rows; ++r) {
            const double* x = in + r * nIn;
            for (int j = 0; j < nOut; ++j) {
                CastStatus cs;
                Int128 a = Int128(int64_t(c.biasAcc[size_t(j)]));
                for (int i = 0; i < nIn; ++i) {
                    const int64_t w = c.wRaw[size_t(i) * nOut + j];
                    if (w == 0) continue;
                    Int128 p = accT.castRaw(Int128(int64_t(x[i])) * w, fp, &cs);
                    a = accT.castRaw(a + p, fa, &cs);
                }
                accOv += cs.overflow;
                int64_t z = c.accToOut(int64_t(a), resOv);
                if (relu && z < 0) z = 0;
                out[r * nOut + j] = double(z);
            }
        }
    }
    st.accumOverflows += accOv;
    st.resultOverflows += resOv;
}

void softmaxFixed(const CompiledLayer& c, const double* in, double* out, size_t rows, LayerStats& st) {
    const int n = c.nOut;
    const SoftmaxTables& t = c.softmax;
    std::vector<int64_t> e(size_t(n), 0);
    uint64_t ov = 0;
    for (size_t r = 0; r < rows; ++r) {
        const double* x = in + r * n;
        int64_t m = int64_t(x[0]);
        for (int i = 1; i < n; ++i) m = std::max(m, int64_t(x[i]));
        int64_t sum = 0;
        for (int i = 0; i < n; ++i) {
            e[size_t(i)] = t.exp.lookup(m - int64_t(x[i]));
            sum += e[size_t(i)];
        }
        const int64_t inv = t.inv.lookup(sum);
        for (int i = 0; i < n; ++i) out[r * n + i] = double(c.resultCast(e[size_t(i)] * inv, ov));
    }
    st.resultOverflows += ov;
}

void activationFixed(const CompiledLayer& c, const double* in, double* out, size_t count, LayerStats& st) {
    const Layer& l = *c.layer;
    uint64_t ov = 0;
    const int fx = c.inT.frac();
    switch (l.activation) {
    case ActKind::Linear:
    case ActKind::ReLU:
    case ActKind::ReLU6: {
        // resultCast reads at frac max(fx, 0); for fx < 0 shift the raw up first.
        const int up = std::max(fx, 0) - fx;
        const int64_t six = int64_t(6) << std::max(fx, 0);
        for (size_t k = 0; k < count; ++k) {
            int64_t x = int64_t(in[k]) << up;
            if (l.activation != ActKind::Linear && x < 0) x = 0;
            if (l.activation == ActKind::ReLU6 && x > six) x = six;
            out[k] = double(c.resultCast(x, ov));
        }
        break;
    }
    case ActKind::LeakyReLU:
        for (size_t k = 0; k < count; ++k) {
            int64_t x = int64_t(in[k]);
            int64_t v = x >= 0 ? x << c.paramFrac : x * c.paramA;
            out[k] = double(c.resultCast(v, ov));
        }
        break;
    case ActKind::HardSigmoid: {
        const int f = fx + c.paramFrac;
        const int64_t one = int64_t(1) << f;
        for (size_t k = 0; k < count; ++k) {
            int64_t v = int64_t(in[k]) * c.paramA + (fx >= 0 ? c.paramB << fx : c.paramB >> -fx);
            v = std::clamp<int64_t>(v, 0, one);
            out[k] = double(c.resultCast(v, ov));
        }
        break;
    }
    case ActKind::Sigmoid:
    case ActKind::Tanh:
        for (size_t k = 0; k < count; ++k) out[k] = double(c.resultCast(c.table.lookup(int64_t(in[k])), ov));
        break;
    }
    st.resultOverflows += ov;
}

void batchNormFixed(const CompiledLayer& c, const double* in, double* out, size_t rows, LayerStats& st) {
    const Layer& l = *c.layer;
    const int n = c.nOut;
    const int fp = c.inT.frac() + l.type("scale").frac();
    const int fs = l.type("shift").frac();
    uint64_t ov = 0;
    for (size_t r = 0; r < rows; ++r)
        for (int i = 0; i < n; ++i) {
            Int128 v = (Int128(int64_t(in[r * n + i])) * c.scaleRaw[size_t(i)]) << (c.bnFrac - fp);
            v += Int128(c.shiftRaw[size_t(i)]) << (c.bnFrac - fs);
            CastStatus cs;
            out[r * n + i] = double(int64_t(c.outT.castRaw(v, c.bnFrac, &cs)));
            ov += cs.overflow;
        }
    st.resultOverflows += ov;
}

// ---- float kernels ----

void layerFloat(const Layer& l, const double* in, double* out, size_t rows) {
    const int nOut = l.outSize();
    const int nIn = l.kind == LayerKind::Dense ? l.nIn : nOut;
    switch (l.kind) {
    case LayerKind::Input:
    case LayerKind::Reshape:
        std::copy(in, in + rows * nOut, out);
        return;
    case LayerKind::Dense:
        for (size_t r = 0; r < rows; ++r) {
            double* a = out + r * nOut;
            std::copy(l.bias.begin(), l.bias.end(), a);
            for (int i = 0; i < nIn; ++i) {
                const double xi = in[r * nIn + i];
                const double* w = l.weight.data() + size_t(i) * nOut;
                for (int j = 0; j < nOut; ++j) a[j] += xi * w[j];
            }
            if (l.activation == ActKind::ReLU)
                for (int j = 0; j < nOut; ++j) a[j] = std::max(a[j], 0.0);
        }
        return;
    case LayerKind::BatchNorm:
        for (size_t r = 0; r < rows; ++r)
            for (int i = 0; i < nOut; ++i) out[r * nOut + i] = in[r * nOut + i] * l.scale[size_t(i)] + l.shift[size_t(i)];
        return;
    case LayerKind::Activation:
        for (size_t k = 0; k < rows * size_t(nOut); ++k) {
            const double x = in[k];
            double y = x;
            switch (l.activation) {
            case ActKind::Linear: break;
            case ActKind::ReLU: y = std::max(x, 0.0); break;
            case ActKind::ReLU6: y = std::clamp(x, 0.0, 6.0); break;
            case ActKind::LeakyReLU: y = x >= 0 ? x : l.alpha * x; break;
            case ActKind::HardSigmoid: y = std::clamp(l.hardSlope * x + l.hardOffset, 0.0, 1.0); break;
            case ActKind::Sigmoid: y = 1.0 / (1.0 + std::exp(-x)); break;
            case ActKind::Tanh: y = std::tanh(x); break;
            }
            out[k] = y;
        }
        return;
    case LayerKind::Softmax:
        for (size_t r = 0; r < rows; ++r) {
            const double* x = in + r * nOut;
            double m = *std::max_element(x, x + nOut), s = 0;
            for (int i = 0; i < nOut; ++i) s += (out[r * nOut + i] = std::exp(x[i] - m));
            for (int i = 0; i < nOut; ++i) out[r * nOut + i] /= s;
        }
        return;
    }
}

template <class Fn>
void parallelChunks(size_t rows, const EmulatorOptions& opt, Fn&& fn) {
    const size_t chunk = std::max<size_t>(1, opt.chunkRows);
    const size_t nChunks = (rows + chunk - 1) / chunk;
    unsigned threads = opt.threads > 0 ? unsigned(opt.threads) : std::max(1u, std::thread::hardware_concurrency());
    threads = unsigned(std::min<size_t>(threads, nChunks));
    std::atomic<size_t> next{0};
    auto worker = [&](unsigned tid) {
        for (size_t k; (k = next++) < nChunks;) {
            size_t begin = k * chunk;
            fn(tid, begin, std::min(rows, begin + chunk) - begin);
        }
    };
    if (threads <= 1) { worker(0); return; }
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (auto& th : pool) th.join();
}

}  // namespace

Emulator::Emulator(const Graph& g) : graph_(g), impl_(std::make_unique<Impl>()) {
    verify(graph_, true);
    impl_->layers.resize(graph_.layers.size());
    for (size_t k = 0; k < graph_.layers.size(); ++k) {
        const Layer& l = graph_.layers[k];
        impl_->index[l.name] = k;
        // The Input layer reads the float input; give it a frac for its own cast.
        FixedType inT = l.kind == LayerKind::Input ? l.type("result")
                                                    : graph_.layers[impl_->index.at(l.input)].type("result");
        compileLayer(impl_->layers[k], l, inT);
    }
}

Emulator::~Emulator() = default;

int Emulator::inputSize() const { return graph_.inputSize(); }
int Emulator::outputSize() const { return graph_.outputSize(); }

namespace {

// Runs one chunk through every layer. `trace`, when given, receives every layer's output.
void runChunkFixed(const Emulator::Impl& impl, const Graph& g, const double* inRaw, size_t rows,
                   double* outRaw, std::vector<LayerStats>& stats,
                   std::vector<std::vector<double>>* trace) {
    std::vector<std::vector<double>> bufs(g.layers.size());
    std::vector<double> scratch;
    for (size_t k = 0; k < g.layers.size(); ++k) {
        const CompiledLayer& c = impl.layers[k];
        const Layer& l = g.layers[k];
        const double* in = k == 0 ? inRaw : bufs[impl.index.at(l.input)].data();
        bufs[k].resize(rows * size_t(c.nOut));
        double* out = bufs[k].data();
        LayerStats& st = stats[k];
        st.values += rows * size_t(c.nOut);
        switch (l.kind) {
        case LayerKind::Input:
            std::copy(in, in + rows * size_t(c.nOut), out);
            break;
        case LayerKind::Reshape: {
            uint64_t ov = 0;
            for (size_t i = 0; i < rows * size_t(c.nOut); ++i) out[i] = double(c.resultCast(int64_t(in[i]), ov));
            st.resultOverflows += ov;
            break;
        }
        case LayerKind::Dense: denseFixed(c, in, out, rows, st, scratch); break;
        case LayerKind::BatchNorm: batchNormFixed(c, in, out, rows, st); break;
        case LayerKind::Activation: activationFixed(c, in, out, rows * size_t(c.nOut), st); break;
        case LayerKind::Softmax: softmaxFixed(c, in, out, rows, st); break;
        }
        // Free buffers nobody reads any more (single-consumer chains).
        if (k > 0 && g.consumers(l.input).size() == 1 && !trace) std::vector<double>().swap(bufs[impl.index.at(l.input)]);
    }
    const auto& last = bufs.back();
    std::copy(last.begin(), last.end(), outRaw);
    if (trace) *trace = std::move(bufs);
}

}  // namespace

void Emulator::runFixedRaw(const int64_t* xRaw, size_t rows, int64_t* outRaw,
                           std::vector<LayerStats>* stats, const EmulatorOptions& opt) const {
    const int nIn = inputSize(), nOut = outputSize();
    std::mutex m;
    std::vector<LayerStats> total(graph_.layers.size());
    for (size_t k = 0; k < total.size(); ++k) total[k].layer = graph_.layers[k].name;
    parallelChunks(rows, opt, [&](unsigned, size_t begin, size_t n) {
        std::vector<double> in(n * nIn), out(n * nOut);
        for (size_t i = 0; i < n * nIn; ++i) in[i] = double(xRaw[begin * nIn + i]);
        std::vector<LayerStats> local(graph_.layers.size());
        runChunkFixed(*impl_, graph_, in.data(), n, out.data(), local, nullptr);
        for (size_t i = 0; i < n * nOut; ++i) outRaw[begin * nOut + i] = int64_t(out[i]);
        std::lock_guard<std::mutex> lock(m);
        for (size_t k = 0; k < total.size(); ++k) {
            total[k].accumOverflows += local[k].accumOverflows;
            total[k].resultOverflows += local[k].resultOverflows;
            total[k].values += local[k].values;
        }
    });
    if (stats) *stats = std::move(total);
}

void Emulator::runFixed(const double* x, size_t rows, int64_t* outRaw, double* outValue,
                        std::vector<LayerStats>* stats, const EmulatorOptions& opt) const {
    const int nIn = inputSize(), nOut = outputSize();
    const FixedType& inT = graph_.input().type("result");
    std::vector<uint64_t> inputOverflows(1, 0);
    std::vector<int64_t> raw(rows * size_t(nIn));
    uint64_t inOv = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
        CastStatus cs;
        raw[i] = int64_t(inT.castDouble(x[i], &cs));
        inOv += cs.overflow;
    }
    runFixedRaw(raw.data(), rows, outRaw, stats, opt);
    if (stats && !stats->empty()) (*stats)[0].resultOverflows += inOv;
    if (outValue) {
        const FixedType& outT = graph_.output().type("result");
        for (size_t i = 0; i < rows * size_t(nOut); ++i) outValue[i] = outT.toDouble(outRaw[i]);
    }
}

void Emulator::runFloat(const double* x, size_t rows, double* out, const EmulatorOptions& opt) const {
    const int nIn = inputSize(), nOut = outputSize();
    parallelChunks(rows, opt, [&](unsigned, size_t begin, size_t n) {
        std::vector<std::vector<double>> bufs(graph_.layers.size());
        for (size_t k = 0; k < graph_.layers.size(); ++k) {
            const Layer& l = graph_.layers[k];
            const double* in = k == 0 ? x + begin * nIn : bufs[impl_->index.at(l.input)].data();
            bufs[k].resize(n * size_t(l.outSize()));
            layerFloat(l, in, bufs[k].data(), n);
        }
        std::copy(bufs.back().begin(), bufs.back().end(), out + begin * nOut);
    });
}

std::vector<std::vector<double>> Emulator::traceFixed(const double* x, size_t rows) const {
    const FixedType& inT = graph_.input().type("result");
    std::vector<double> raw(rows * size_t(inputSize()));
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = double(int64_t(inT.castDouble(x[i])));
    std::vector<double> out(rows * size_t(outputSize()));
    std::vector<LayerStats> stats(graph_.layers.size());
    std::vector<std::vector<double>> trace;
    runChunkFixed(*impl_, graph_, raw.data(), rows, out.data(), stats, &trace);
    for (size_t k = 0; k < trace.size(); ++k) {
        const FixedType& t = graph_.layers[k].type("result");
        for (double& v : trace[k]) v = t.toDouble(int64_t(v));
    }
    return trace;
}

std::vector<std::vector<double>> Emulator::traceFloat(const double* x, size_t rows) const {
    std::vector<std::vector<double>> bufs(graph_.layers.size());
    for (size_t k = 0; k < graph_.layers.size(); ++k) {
        const Layer& l = graph_.layers[k];
        const double* in = k == 0 ? x : bufs[impl_->index.at(l.input)].data();
        bufs[k].resize(rows * size_t(l.outSize()));
        layerFloat(l, in, bufs[k].data(), rows);
    }
    return bufs;
}

namespace {
const CompiledLayer& findCompiled(const Emulator::Impl& impl, const std::string& name) {
    auto it = impl.index.find(name);
    if (it == impl.index.end()) throw Error("emulator: no layer named '" + name + "'");
    return impl.layers[it->second];
}
}  // namespace

const std::vector<int64_t>& Emulator::weightRaw(const std::string& l) const { return findCompiled(*impl_, l).wRaw; }
const std::vector<int64_t>& Emulator::biasRaw(const std::string& l) const {
    const CompiledLayer& c = findCompiled(*impl_, l);
    return c.layer->kind == LayerKind::BatchNorm ? c.shiftRaw : c.bRaw;
}
const std::vector<int64_t>& Emulator::scaleRaw(const std::string& l) const { return findCompiled(*impl_, l).scaleRaw; }
const LookupTable* Emulator::activationTable(const std::string& l) const {
    const CompiledLayer& c = findCompiled(*impl_, l);
    return c.table.size ? &c.table : nullptr;
}
const SoftmaxTables* Emulator::softmaxTables(const std::string& l) const {
    const CompiledLayer& c = findCompiled(*impl_, l);
    return c.layer->kind == LayerKind::Softmax ? &c.softmax : nullptr;
}
const FixedType& Emulator::inputType(const std::string& l) const { return findCompiled(*impl_, l).inT; }

}  // namespace tachyon
