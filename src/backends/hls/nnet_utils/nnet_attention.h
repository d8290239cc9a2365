// Attention building blocks (io_parallel): the MatMul of two activations and
// LayerNormalization over the last axis, bit for bit the emulator's arithmetic
// (docs/semantics.md, "MatMul" and "LayerNormalization"; src/ops/attention/MatMulKernel.cpp and
// LayerNorm.cpp).
#ifndef NNET_ATTENTION_H_
#define NNET_ATTENTION_H_

#include "nnet_common.h"

namespace nnet {

// ---- MatMul: y[b][m][n] = result(acc), acc += accum(a[b][m][k] * b[b][k][n]) in k order ----
struct matmul_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_batch = 1, n_m = 1, n_k = 1, n_n = 1;
    static const bool transpose_b = false;   // b stored [b][n][k]
    static const unsigned reuse_factor = 1;
};

template <class a_T, class b_T, class res_T, typename CONFIG_T>
void matmul(const a_T a[CONFIG_T::n_batch * CONFIG_T::n_m * CONFIG_T::n_k],
            const b_T b[CONFIG_T::n_batch * CONFIG_T::n_k * CONFIG_T::n_n],
            res_T y[CONFIG_T::n_batch * CONFIG_T::n_m * CONFIG_T::n_n]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned bt = 0; bt < CONFIG_T::n_batch; bt++) {
        #pragma HLS UNROLL
        for (unsigned i = 0; i < CONFIG_T::n_m; i++) {
            #pragma HLS UNROLL
            for (unsigned j = 0; j < CONFIG_T::n_n; j++) {
                #pragma HLS UNROLL
                typename CONFIG_T::accum_t acc = 0;
                for (unsigned k = 0; k < CONFIG_T::n_k; k++) {
                    #pragma HLS UNROLL
                    const unsigned bi = CONFIG_T::transpose_b ? (bt * CONFIG_T::n_n + j) * CONFIG_T::n_k + k
                                                              : (bt * CONFIG_T::n_k + k) * CONFIG_T::n_n + j;
                    acc += typename CONFIG_T::accum_t(a[(bt * CONFIG_T::n_m + i) * CONFIG_T::n_k + k] * b[bi]);
                }
                y[(bt * CONFIG_T::n_m + i) * CONFIG_T::n_n + j] = acc;
            }
        }
    }
}

// ---- LayerNormalization over groups of n_feat values ----
// mean = accum(sum / n) and var = accum(sum d^2 / n) round the exact quotients (divide_cast_const);
// d = accum(x - mean); v = var + accum(epsilon) (one LSB when v <= 0); v = m * 2^(2h) with
// m in [1, 4): the table entry of m's parity and its index_bits bits below the leading one,
// times 2^-h; y = result(d * entry * gamma * 2^-h + beta), exact in total_t (whose fraction
// covers the largest h and integer part the smallest) before the one cast.
struct layernorm_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_feat = 1, n_groups = 1;
    static const unsigned index_bits = 1, table_size = 4;
    static const int accum_width = 1, accum_frac = 0;
    static const int sum_width = 1, sum_frac = 0, mean_quotient_width = 1;
    static const int square_sum_width = 1, square_sum_frac = 0, var_quotient_width = 1;
    static const int variance_width = 1;
    static const long long epsilon_raw = 0;   // accum(epsilon), raw
    static const unsigned reuse_factor = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void layernorm(const data_T x[CONFIG_T::n_feat * CONFIG_T::n_groups], res_T y[CONFIG_T::n_feat * CONFIG_T::n_groups],
               const typename CONFIG_T::table_t inv_sqrt[CONFIG_T::table_size],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_feat],
               const typename CONFIG_T::bias_t bias[CONFIG_T::n_feat]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    typedef typename CONFIG_T::accum_t accum_t;
    const int VW = CONFIG_T::variance_width;
    for (unsigned g = 0; g < CONFIG_T::n_groups; g++) {
        #pragma HLS UNROLL
        const unsigned base = g * CONFIG_T::n_feat;
        typename CONFIG_T::sum_t sum = 0;
        for (unsigned i = 0; i < CONFIG_T::n_feat; i++) {
            #pragma HLS UNROLL
            sum += x[base + i];
        }
        const accum_t mean =
            divide_cast_const<accum_t, typename CONFIG_T::mean_quotient_t, CONFIG_T::mean_quotient_width,
                              CONFIG_T::accum_frac, typename CONFIG_T::sum_t, CONFIG_T::sum_width, CONFIG_T::sum_frac,
                              CONFIG_T::n_feat>(sum);
        accum_t d[CONFIG_T::n_feat];
        #pragma HLS ARRAY_PARTITION variable=d complete
        typename CONFIG_T::square_sum_t squares = 0;
        for (unsigned i = 0; i < CONFIG_T::n_feat; i++) {
            #pragma HLS UNROLL
            d[i] = accum_t(x[base + i] - mean);
            squares += d[i] * d[i];
        }
        const accum_t var =
            divide_cast_const<accum_t, typename CONFIG_T::var_quotient_t, CONFIG_T::var_quotient_width,
                              CONFIG_T::accum_frac, typename CONFIG_T::square_sum_t, CONFIG_T::square_sum_width,
                              CONFIG_T::square_sum_frac, CONFIG_T::n_feat>(squares);
        accum_t eps;
        eps.range(CONFIG_T::accum_width - 1, 0) = CONFIG_T::epsilon_raw;
        const typename CONFIG_T::variance_t v = typename CONFIG_T::variance_t(var) + eps;
        long long vr = raw_bits<ap_int<CONFIG_T::variance_width>, CONFIG_T::variance_width>(v).to_int64();
        if (vr <= 0) vr = 1;
        // The leading one p of v's raw bits: v = 2^(p - accum_frac) * (1.bits below p).
        int p = 0;
        for (int b = 0; b < VW; b++) {
            #pragma HLS UNROLL
            if ((vr >> b) & 1) p = b;
        }
        const int B = CONFIG_T::index_bits;
        const long long j = (p >= B ? vr >> (p - B) : vr << (B - p)) & ((1LL << B) - 1);
        const int e = p - CONFIG_T::accum_frac;
        const int parity = ((e % 2) + 2) % 2, h = (e - parity) / 2;
        const typename CONFIG_T::table_t r = inv_sqrt[(parity << B) + j];
        for (unsigned i = 0; i < CONFIG_T::n_feat; i++) {
            #pragma HLS UNROLL
            typename CONFIG_T::total_t t = d[i] * r * scale[i];
            t = h >= 0 ? typename CONFIG_T::total_t(t >> h) : typename CONFIG_T::total_t(t << -h);
            t += bias[i];
            y[base + i] = res_T(t);
        }
    }
}

}  // namespace nnet

#endif
