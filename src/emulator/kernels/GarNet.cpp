// GarNet / GarNetStack (simplified form of hls4ml's contrib/garnet.py), float mode:
// docs/semantics.md, "GarNet". Input 0 holds the vertex features [V][F], input 1 the
// vertex count n (cast to an integer as Keras does: truncated, clamped to [0, V]).
// Per sublayer, on data d:
//   feat[v][p] = FLR_b[p] + sum_i d[v][i] FLR_w[i][p]
//   dist[v][a] = S_b[a] + sum_i d[v][i] S_w[i][a]
//   e[v][a]    = (v < n) * exp(-dist[v][a]^2)
//   agg[a][p]  = sum_v e[v][a] feat[v][p] / (mean_by_nvert ? n : V)
//   out[v][f]  = (v < n) * (Fout_b[f] + sum_{a,p} e[v][a] agg[a][p] Fout_w[a*P+p][f])
// then the collapse over vertices: mean (/V), sum or max; none keeps [V][filters].
// Fixed-point emulation of GarNet is not implemented: fixed() refuses with an error.
#include "emulator/Kernel.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

namespace {

class GarNetKernel : public Kernel {
public:
    GarNetKernel(const Layer& l, std::vector<KernelInput> ins) : Kernel(l, std::move(ins)) { a_ = l.as<GarNetAttrs>(); }

    void fixed(const std::vector<const double*>&, double*, size_t, LayerStats&) const override {
        throw Error("layer '" + layer_.name + "' (" + hlsClassName(layer_) +
                    "): fixed-point emulation of GarNet is not implemented yet; run it in float mode (--float)");
    }

    void real(const std::vector<const double*>& inputs, double* out, size_t rows) const override {
        const int V = a_.nVertices;
        const size_t outPerRow = size_t(layer_.outSize());
        std::vector<double> data, next, feat, dist, edge, agg;
        for (size_t r = 0; r < rows; ++r) {
            int nIn = a_.nInFeatures;
            data.assign(inputs[0] + r * size_t(V * nIn), inputs[0] + (r + 1) * size_t(V * nIn));
            const double nvRaw = inputs[1][r];
            const int nv = std::isfinite(nvRaw) ? int(std::clamp(std::trunc(nvRaw), 0.0, double(V))) : 0;
            for (size_t k = 0; k < a_.nFilters.size(); ++k) {
                const std::string s = std::to_string(k);
                const int P = a_.nPropagate[k], A = a_.nAggregators[k], F = a_.nFilters[k];
                const auto& flrW = layer_.param("FLR" + s + "_kernel");
                const auto& flrB = layer_.param("FLR" + s + "_bias");
                const auto& sW = layer_.param("S" + s + "_kernel");
                const auto& sB = layer_.param("S" + s + "_bias");
                const auto& oW = layer_.param("Fout" + s + "_kernel");
                const auto& oB = layer_.param("Fout" + s + "_bias");
                feat.assign(size_t(V * P), 0.0);
                edge.assign(size_t(V * A), 0.0);
                for (int v = 0; v < V; ++v) {
                    const double* d = data.data() + size_t(v * nIn);
                    for (int p = 0; p < P; ++p) {
                        double acc = flrB[size_t(p)];
                        for (int i = 0; i < nIn; ++i) acc += d[i] * flrW[size_t(i * P + p)];
                        feat[size_t(v * P + p)] = acc;
                    }
                    if (v >= nv) continue;   // masked vertex: zero edge weights
                    for (int q = 0; q < A; ++q) {
                        double acc = sB[size_t(q)];
                        for (int i = 0; i < nIn; ++i) acc += d[i] * sW[size_t(i * A + q)];
                        edge[size_t(v * A + q)] = std::exp(-acc * acc);
                    }
                }
                const double norm = a_.meanByNvert ? double(nv) : double(V);
                agg.assign(size_t(A * P), 0.0);
                for (int v = 0; v < V; ++v)
                    for (int q = 0; q < A; ++q)
                        for (int p = 0; p < P; ++p) agg[size_t(q * P + p)] += edge[size_t(v * A + q)] * feat[size_t(v * P + p)];
                for (double& x : agg) x = norm > 0 ? x / norm : 0.0;
                next.assign(size_t(V * F), 0.0);
                for (int v = 0; v < nv; ++v)
                    for (int f = 0; f < F; ++f) {
                        double acc = oB[size_t(f)];
                        for (int q = 0; q < A; ++q)
                            for (int p = 0; p < P; ++p)
                                acc += edge[size_t(v * A + q)] * agg[size_t(q * P + p)] * oW[size_t((q * P + p) * F + f)];
                        next[size_t(v * F + f)] = acc;
                    }
                data.swap(next);
                nIn = F;
            }
            double* y = out + r * outPerRow;
            const int F = a_.nFilters.back();
            if (a_.collapse.empty()) {
                std::copy(data.begin(), data.end(), y);
                continue;
            }
            for (int f = 0; f < F; ++f) {
                double acc = a_.collapse == "max" ? data[size_t(f)] : 0.0;
                for (int v = 0; v < V; ++v) {
                    const double x = data[size_t(v * F + f)];
                    acc = a_.collapse == "max" ? std::max(acc, x) : acc + x;
                }
                // Keras divides by V (mean_by_nvert: by the boolean itself, i.e. 1).
                if (a_.collapse == "mean") acc /= a_.meanByNvert ? 1.0 : double(V);
                y[f] = acc;
            }
        }
    }

private:
    GarNetAttrs a_;
};

}  // namespace

std::unique_ptr<Kernel> makeGarNetKernel(const Layer& l, std::vector<KernelInput> ins) {
    return std::make_unique<GarNetKernel>(l, std::move(ins));
}

}  // namespace tachyon
