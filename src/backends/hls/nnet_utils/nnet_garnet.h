// GarNet / GarNetStack (hls4ml's contrib/garnet.py, simplified, input format "xn"), io_parallel:
// exactly the fixed-point arithmetic of docs/semantics.md, "GarNet" (the Tachyon emulator is
// the reference), which is that of hls4ml's GarNet HLS with the vertex loop in one piece:
// the input transform contracted into the output kernel, edge weights exp(-d^2) read from a
// table indexed by the bits of the distance, means as sums times `norm` (1/V, or 1/n with
// mean_by_nvert; hls4ml's mean_by_nvert: the sums shifted right by norm_shift, times
// norm_t(trunc(V / count))), and every intermediate converted to its type after each step.
#ifndef NNET_GARNET_H_
#define NNET_GARNET_H_

#include "nnet_common.h"

namespace nnet {

struct garnet_config {
    // Overridden per layer in parameters.h, with the types distance_t, edge_weight_t,
    // edge_weight_aggr_t, aggr_t, norm_t, input_transform_weights_t, input_transform_biases_t,
    // aggregator_distance_weights_t, aggregator_distance_biases_t, output_transform_biases_t
    // and `template <unsigned K> struct sublayer` (n_in, n_aggregators, n_out and the offsets
    // of sublayer K in the flat constant arrays).
    static const unsigned n_vertices = 1;
    static const unsigned n_sublayers = 1;
    static const unsigned distance_width = 12;   // the edge weight table has 2^distance_width entries
    static const unsigned n_norm = 1;            // V + 1 with mean_by_nvert (1/n at n), else 1 (1/V)
    static const bool mean_by_nvert = false;
    static const bool collapse_mean = false;     // else one output row per vertex
    static const bool hls4ml_count = false;      // the mean's bias term takes the count unclamped
    static const bool hls4ml_norm = false;       // hls4ml's mean_by_nvert: shifted sums times trunc(V / count)
    static const unsigned norm_shift = 0;        // hls4ml_norm: floor(log2 V), else 0
    typedef ap_uint<32> count_t;                 // the count input's type
    typedef ap_uint<32> count_raw_t;             // an integer type of its width and signedness
    static const unsigned count_frac = 0;        // its fractional bits (hls4ml_norm: >= 0)
    static const unsigned quotient_bits = 1;     // hls4ml_norm: bits of V << count_frac
    static const unsigned reuse_factor = 1;
};

// The layer's weight arrays, flat over its sublayers (sublayer S's part starts at its
// S::*_offset), are passed down as array parameters and indexed from those offsets: no
// struct holds a pointer and nothing is addressed by pointer arithmetic (issue 26).
//   itw [o][a][x] input transform weights, itb [o][a] its biases, adw [a][x] aggregator
//   distance weights, adb [a] their biases, otb [o] output biases, edge_table
//   [2^distance_width] the edge weights.
#define NNET_GARNET_ARRAYS                                                                  \
    const typename CONFIG_T::input_transform_weights_t itw[],                               \
        const typename CONFIG_T::input_transform_biases_t itb[],                            \
        const typename CONFIG_T::aggregator_distance_weights_t adw[],                       \
        const typename CONFIG_T::aggregator_distance_biases_t adb[],                        \
        const typename CONFIG_T::output_transform_biases_t otb[],                           \
        const typename CONFIG_T::edge_weight_t edge_table[]
#define NNET_GARNET_ARRAY_ARGS itw, itb, adw, adb, otb, edge_table

// The normalisations of one layer.
template <class CONFIG_T>
struct garnet_norms {
    typename CONFIG_T::norm_t norm;            // 1/V or 1/n (hls4ml_norm: trunc(V / count))
    typename CONFIG_T::norm_t norm_vertices;   // 1/V (the collapse's bias term)
    typename CONFIG_T::count_t count;          // the count as its type holds it (hls4ml_count)
};

// Edge-table lookups of sublayer S per clock: the aggregators of one vertex in groups of
// ceil(A / reuse_factor), one group per clock.
template <class CONFIG_T, class S>
struct garnet_lookups {
    static const unsigned per_cycle = (S::n_aggregators + CONFIG_T::reuse_factor - 1) / CONFIG_T::reuse_factor;
    static const unsigned groups = (S::n_aggregators + per_cycle - 1) / per_cycle;
};

// One sublayer S on the n valid vertices of x: per-vertex outputs (y[V][n_out], zero for
// v >= n) or, with COLLAPSE, their mean over the V vertices (y[n_out]).
template <class data_T, class res_T, class CONFIG_T, class S, bool COLLAPSE>
void garnet_sublayer(const data_T x[CONFIG_T::n_vertices * S::n_in], unsigned n, NNET_GARNET_ARRAYS,
                     const garnet_norms<CONFIG_T>& c, res_T y[]) {
    typedef typename CONFIG_T::distance_t distance_t;
    typedef typename CONFIG_T::edge_weight_t edge_weight_t;
    typedef typename CONFIG_T::edge_weight_aggr_t edge_weight_aggr_t;
    typedef typename CONFIG_T::aggr_t aggr_t;
    const unsigned V = CONFIG_T::n_vertices, A = S::n_aggregators, X = S::n_in, O = S::n_out;
    const unsigned itw0 = S::itw_offset, itb0 = S::itb_offset, adw0 = S::adw_offset, adb0 = S::adb_offset,
                   otb0 = S::otb_offset;

    edge_weight_t edge[V * A];
    edge_weight_aggr_t sum_e[A];
    aggr_t sum_wf[A * X];
    for (unsigned a = 0; a < A; a++) {
        sum_e[a] = 0;
        for (unsigned i = 0; i < X; i++) sum_wf[a * X + i] = 0;
    }
    // Aggregation: edge weights of the valid vertices, summed, and the edge-weighted features.
    // The edge table is read by garnet_lookups<S>::per_cycle aggregators per clock (the
    // aggregators of a vertex spread over up to reuse_factor clocks), never by every vertex
    // at once; invalid vertices (v >= n) take their clocks but change nothing (no `break`:
    // the trip count stays constant).
    typedef garnet_lookups<CONFIG_T, S> L;
Aggregate:
    for (unsigned v = 0; v < V; v++) {
    AggregatorGroup:
        for (unsigned g = 0; g < L::groups; g++) {
            #pragma HLS PIPELINE II=1
            for (unsigned l = 0; l < L::per_cycle; l++) {
                #pragma HLS UNROLL
                const unsigned a = g * L::per_cycle + l;
                if (v < n && a < A) {
                    distance_t d = adb[adb0 + a];
                    for (unsigned i = 0; i < X; i++)
                        d = distance_t(d + distance_t(x[v * X + i] * adw[adw0 + a * X + i]));
                    const edge_weight_t e =
                        edge_table[raw_bits<ap_uint<CONFIG_T::distance_width>, CONFIG_T::distance_width>(d).to_uint()];
                    edge[v * A + a] = e;
                    sum_e[a] = edge_weight_aggr_t(sum_e[a] + e);
                    for (unsigned i = 0; i < X; i++)
                        sum_wf[a * X + i] = aggr_t(sum_wf[a * X + i] + data_T(x[v * X + i] * e));
                }
            }
        }
    }
    // Means, and the output base: base[o][a] = mean_e[a] itb[o][a] + sum_x mean_wf[a][x] itw[o][a][x].
    edge_weight_t mean_e[A];
    aggr_t mean_wf[A * X];
    aggr_t base[O * A];
    for (unsigned a = 0; a < A; a++) {
        mean_e[a] = edge_weight_t((sum_e[a] >> CONFIG_T::norm_shift) * c.norm);
        for (unsigned i = 0; i < X; i++) mean_wf[a * X + i] = aggr_t((sum_wf[a * X + i] >> CONFIG_T::norm_shift) * c.norm);
    }
    for (unsigned o = 0; o < O; o++)
        for (unsigned a = 0; a < A; a++) {
            aggr_t b = aggr_t(mean_e[a] * itb[itb0 + o * A + a]);
            for (unsigned i = 0; i < X; i++) b = aggr_t(b + mean_wf[a * X + i] * itw[itw0 + (o * A + a) * X + i]);
            base[o * A + a] = b;
        }
    if (COLLAPSE && CONFIG_T::hls4ml_norm) {
        // hls4ml's mean over the n vertices with mean_by_nvert: otb[o] + sum_a mean_e[a] base[o][a].
        for (unsigned o = 0; o < O; o++) {
            res_T acc = otb[otb0 + o];
            for (unsigned a = 0; a < A; a++) acc = res_T(acc + mean_e[a] * base[o * A + a]);
            y[o] = acc;
        }
        return;
    }
    if (COLLAPSE) {
        // The mean over V of the per-vertex outputs: otb[o] n / V + sum_a mean_e[a] base[o][a].
        for (unsigned o = 0; o < O; o++) {
            const aggr_t bias = otb[otb0 + o];
            // hls4ml_count (Compatibility: hls4ml): the count unclamped, as hls4ml scales its bias.
            const aggr_t bias_n = CONFIG_T::hls4ml_count ? aggr_t(bias * c.count) : aggr_t(bias * ap_uint<32>(n));
            const aggr_t bias_mean = aggr_t(bias_n * c.norm_vertices);
            res_T acc = typename CONFIG_T::output_transform_biases_t(bias_mean);
            for (unsigned a = 0; a < A; a++) acc = res_T(acc + mean_e[a] * base[o * A + a]);
            y[o] = acc;
        }
        return;
    }
Distribute:
    for (unsigned v = 0; v < V; v++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        for (unsigned o = 0; o < O; o++) {
            res_T acc = 0;
            if (v < n) {
                acc = otb[otb0 + o];
                for (unsigned a = 0; a < A; a++) {
                    const res_T incr = edge[v * A + a] * base[o * A + a];
                    acc = res_T(acc + incr);
                }
            }
            y[v * O + o] = acc;
        }
    }
}

// Sublayer K, then the ones after it; the last writes the layer's output.
template <class CONFIG_T, unsigned K, bool LAST = (K + 1 == CONFIG_T::n_sublayers)>
struct garnet_step;

template <class CONFIG_T, unsigned K>
struct garnet_step<CONFIG_T, K, true> {
    template <class data_T, class res_T>
    static void run(const data_T x[], unsigned n, NNET_GARNET_ARRAYS, const garnet_norms<CONFIG_T>& c, res_T res[]) {
        garnet_sublayer<data_T, res_T, CONFIG_T, typename CONFIG_T::template sublayer<K>, CONFIG_T::collapse_mean>(
            x, n, NNET_GARNET_ARRAY_ARGS, c, res);
    }
};

template <class CONFIG_T, unsigned K>
struct garnet_step<CONFIG_T, K, false> {
    template <class data_T, class res_T>
    static void run(const data_T x[], unsigned n, NNET_GARNET_ARRAYS, const garnet_norms<CONFIG_T>& c, res_T res[]) {
        typedef typename CONFIG_T::template sublayer<K> S;
        typename CONFIG_T::result_t y[CONFIG_T::n_vertices * S::n_out];
        garnet_sublayer<data_T, typename CONFIG_T::result_t, CONFIG_T, S, false>(x, n, NNET_GARNET_ARRAY_ARGS, c, y);
        garnet_step<CONFIG_T, K + 1>::run(y, n, NNET_GARNET_ARRAY_ARGS, c, res);
    }
};

// hls4ml's mean_by_nvert norm (hls4ml_norm): `(n_vertices / reuse_factor) / nvtx` at
// ReuseFactor 1, V over the count truncated towards zero as ap_fixed's operator/ does, in
// norm_t. Written as a restoring division of the constant V << count_frac by the count's
// magnitude (raw), one quotient bit per unrolled step; 0 for a zero count (hls4ml's C++
// divides by zero there; no vertex is summed, so every quotient gives the same means).
template <class CONFIG_T>
typename CONFIG_T::norm_t garnet_count_quotient(long long raw) {
    const unsigned long long num = (unsigned long long)CONFIG_T::n_vertices << CONFIG_T::count_frac;
    const unsigned long long den = (unsigned long long)(raw < 0 ? -raw : raw);
    unsigned long long q = 0, rem = 0;
    for (int b = CONFIG_T::quotient_bits - 1; b >= 0; b--) {
        #pragma HLS UNROLL
        rem = (rem << 1) | ((num >> b) & 1ULL);
        if (den != 0 && rem >= den) {
            rem -= den;
            q |= 1ULL << b;
        }
    }
    return typename CONFIG_T::norm_t(raw < 0 ? -(long long)q : (long long)q);
}

// data: [V][F] vertex features; nvtx[0]: the vertex count (truncated, clamped to [0, V]; with
// hls4ml_count a negative or fractional count means all V vertices, as in hls4ml's C++).
template <class data_T, class nvtx_T, class res_T, class CONFIG_T>
void garnet(const data_T data[], const nvtx_T nvtx[1], res_T res[],
            const typename CONFIG_T::input_transform_weights_t input_transform_weights[],
            const typename CONFIG_T::input_transform_biases_t input_transform_biases[],
            const typename CONFIG_T::aggregator_distance_weights_t aggregator_distance_weights[],
            const typename CONFIG_T::aggregator_distance_biases_t aggregator_distance_biases[],
            const typename CONFIG_T::output_transform_biases_t output_transform_biases[],
            const typename CONFIG_T::edge_weight_t edge_weight_table[],
            const typename CONFIG_T::norm_t norm_table[CONFIG_T::n_norm]) {
    const long long count = nvtx[0].to_int64();
    unsigned n = count < 0 ? 0u : (count > (long long)CONFIG_T::n_vertices ? CONFIG_T::n_vertices : (unsigned)count);
    // hls4ml_count: hls4ml's loops compare the unsigned vertex index with the count as
    // unsigned, so a negative or fractional count processes every vertex.
    if (CONFIG_T::hls4ml_count && (nvtx[0] < 0 || nvtx_T(count) != nvtx[0])) n = CONFIG_T::n_vertices;
    garnet_norms<CONFIG_T> c;
    if (CONFIG_T::hls4ml_norm)
        c.norm = garnet_count_quotient<CONFIG_T>(
            raw_bits<typename CONFIG_T::count_raw_t, CONFIG_T::count_raw_t::width>(nvtx[0]).to_int64());
    else
        c.norm = CONFIG_T::mean_by_nvert ? norm_table[n] : norm_table[0];
    c.norm_vertices = norm_table[0];
    c.count = nvtx[0];
    garnet_step<CONFIG_T, 0>::run(data, n, input_transform_weights, input_transform_biases, aggregator_distance_weights,
                                  aggregator_distance_biases, output_transform_biases, edge_weight_table, c, res);
}

#undef NNET_GARNET_ARRAYS
#undef NNET_GARNET_ARRAY_ARGS

}  // namespace nnet

#endif
