// SimpleRNN, LSTM and GRU over a [n_steps, n_in] sequence, io_parallel, in hls4ml's static
// form: one cell, reused at every time step, with the state carried in registers from one
// step to the next (docs/semantics.md, "Recurrent layers"; the emulator is the reference).
//
// Each step computes the two products of the cell with the Dense multiply-accumulate
// (nnet_dense.h `mac`, its own table and ReuseFactor per product):
//   ax = mac_x(x_t) over the input kernel W and bias b      (n_gates * n_units outputs)
//   ah = mac_h(h)   over the recurrent kernel R and bias rb  (GRU reset before: z and r only)
// then the gate arithmetic, every operation exact in ap_fixed and every stored value cast:
//   pre = accum(ax + ah); gate = act(pre) = accum(f(pre))   (nnet_activation.h activation_value)
//   SimpleRNN  h = state(act(pre))
//   LSTM       i, f, o = ract(pre); g = act(pre); c = state(g*i + c*f); h = state(o * act_s(c))
//              (act_s: `activation` with a table keyed on the state type)
//   GRU        z, r = ract(pre)
//              reset after:  hh = act(accum(ax_h + accum(r * ah_h)))
//              reset before: hh = act(accum(ax_h + mac_rh(state(r * h))))
//              h = state(hh * (1 - z) + h * z)
// The output is result(h) after every step (return_sequences) or after the last.
// go_backwards reads the steps last to first; the sequence is written in processing order
// (Keras) or in input order (ONNX direction=reverse, output_in_input_order).
//
// Scheduling: the time loop is a loop (not unrolled): its iterations depend on each other
// through h, so one step starts when the previous one ends; each product is pipelined as the
// Dense kernel is (II = reuse_factor, or reuse_factor cycles with the Resource strategy).
#ifndef NNET_RECURRENT_H_
#define NNET_RECURRENT_H_

#include "nnet_activation.h"
#include "nnet_common.h"
#include "nnet_dense.h"

namespace nnet {

struct recurrent_config {
    // Overridden per layer in parameters.h, which also supplies the typedefs accum_t and
    // state_t, the product configs mult_x, mult_h (and mult_rh: GRU reset before) and the
    // activation configs act, ract (LSTM, GRU) and state_act (LSTM).
    static const unsigned n_in = 1;     // features per step
    static const unsigned n_units = 1;
    static const unsigned n_steps = 1;
    static const bool return_sequences = false;
    static const bool go_backwards = false;
    static const bool output_in_input_order = false;
};

// The input of processing step k: step t of the sequence.
template <class data_T, typename CONFIG_T>
unsigned recurrent_read(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in], unsigned k, data_T xt[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    const unsigned t = CONFIG_T::go_backwards ? CONFIG_T::n_steps - 1 - k : k;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        xt[i] = x[t * CONFIG_T::n_in + i];
    }
    return t;
}

// The state after processing step k (input step t) into the output.
template <class res_T, typename CONFIG_T>
void recurrent_write(const typename CONFIG_T::state_t h[CONFIG_T::n_units], unsigned k, unsigned t,
                     res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units]) {
    #pragma HLS INLINE
    if (!CONFIG_T::return_sequences && k + 1 != CONFIG_T::n_steps) return;
    const unsigned slot = !CONFIG_T::return_sequences ? 0
                          : (CONFIG_T::go_backwards && CONFIG_T::output_in_input_order) ? t
                                                                                        : k;
    for (unsigned j = 0; j < CONFIG_T::n_units; j++) {
        #pragma HLS UNROLL
        y[slot * CONFIG_T::n_units + j] = res_T(h[j]);
    }
}

// One activation of the cell: accum(f(v)) by the function, table and parameters of ACT_T.
template <class in_T, class accum_T, typename ACT_T>
accum_T recurrent_act(const in_T& v, const typename ACT_T::table_t table[ACT_T::table::size],
                      const typename ACT_T::param_t param[ACT_T::n_param]) {
    #pragma HLS INLINE
    return activation_value<in_T, accum_T, ACT_T>(v, table, param);
}

template <typename CONFIG_T>
void recurrent_clear(typename CONFIG_T::state_t s[CONFIG_T::n_units]) {
    #pragma HLS INLINE
    for (unsigned j = 0; j < CONFIG_T::n_units; j++) {
        #pragma HLS UNROLL
        s[j] = 0;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void simple_rnn(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
                res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
                const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
                const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
                const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
                const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
                const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
                const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
                const typename CONFIG_T::act::table_t act_table[CONFIG_T::act::table::size],
                const typename CONFIG_T::act::param_t act_param[CONFIG_T::act::n_param]) {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    state_t h[CONFIG_T::n_units];
    #pragma HLS ARRAY_PARTITION variable=h complete
    recurrent_clear<CONFIG_T>(h);
    for (unsigned k = 0; k < CONFIG_T::n_steps; k++) {
        data_T xt[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=xt complete
        accum_t ax[CONFIG_T::n_units], ah[CONFIG_T::n_units];
        #pragma HLS ARRAY_PARTITION variable=ax complete
        #pragma HLS ARRAY_PARTITION variable=ah complete
        const unsigned t = recurrent_read<data_T, CONFIG_T>(x, k, xt);
        mac<data_T, accum_t, typename CONFIG_T::mult_x>(xt, ax, wx, wx_in, bx);
        mac<state_t, accum_t, typename CONFIG_T::mult_h>(h, ah, wh, wh_in, bh);
        for (unsigned j = 0; j < CONFIG_T::n_units; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[j] + ah[j];
            h[j] = state_t(recurrent_act<accum_t, accum_t, typename CONFIG_T::act>(pre, act_table, act_param));
        }
        recurrent_write<res_T, CONFIG_T>(h, k, t, y);
    }
}

// Gates in Keras' order: i, f, c (the candidate g), o.
template <class data_T, class res_T, typename CONFIG_T>
void lstm(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
          res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
          const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
          const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
          const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
          const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
          const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
          const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
          const typename CONFIG_T::act::table_t act_table[CONFIG_T::act::table::size],
          const typename CONFIG_T::act::param_t act_param[CONFIG_T::act::n_param],
          const typename CONFIG_T::state_act::table_t state_act_table[CONFIG_T::state_act::table::size],
          const typename CONFIG_T::ract::table_t ract_table[CONFIG_T::ract::table::size],
          const typename CONFIG_T::ract::param_t ract_param[CONFIG_T::ract::n_param]) {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    const unsigned n = CONFIG_T::n_units;
    state_t h[n], c[n];
    #pragma HLS ARRAY_PARTITION variable=h complete
    #pragma HLS ARRAY_PARTITION variable=c complete
    recurrent_clear<CONFIG_T>(h);
    recurrent_clear<CONFIG_T>(c);
    for (unsigned k = 0; k < CONFIG_T::n_steps; k++) {
        data_T xt[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=xt complete
        accum_t ax[4 * n], ah[4 * n], gate[4 * n];
        #pragma HLS ARRAY_PARTITION variable=ax complete
        #pragma HLS ARRAY_PARTITION variable=ah complete
        #pragma HLS ARRAY_PARTITION variable=gate complete
        const unsigned t = recurrent_read<data_T, CONFIG_T>(x, k, xt);
        mac<data_T, accum_t, typename CONFIG_T::mult_x>(xt, ax, wx, wx_in, bx);
        mac<state_t, accum_t, typename CONFIG_T::mult_h>(h, ah, wh, wh_in, bh);
        for (unsigned j = 0; j < 4 * n; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[j] + ah[j];
            if (j >= 2 * n && j < 3 * n)
                gate[j] = recurrent_act<accum_t, accum_t, typename CONFIG_T::act>(pre, act_table, act_param);
            else
                gate[j] = recurrent_act<accum_t, accum_t, typename CONFIG_T::ract>(pre, ract_table, ract_param);
        }
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            c[j] = state_t(gate[2 * n + j] * gate[j] + c[j] * gate[n + j]);
            const accum_t ac =
                recurrent_act<state_t, accum_t, typename CONFIG_T::state_act>(c[j], state_act_table, act_param);
            h[j] = state_t(gate[3 * n + j] * ac);
        }
        recurrent_write<res_T, CONFIG_T>(h, k, t, y);
    }
}

// h = state(hh * (1 - z) + h * z), exactly.
template <typename CONFIG_T>
void gru_mix(const typename CONFIG_T::accum_t hh, const typename CONFIG_T::accum_t z, typename CONFIG_T::state_t& h) {
    #pragma HLS INLINE
    const ap_uint<1> one = 1;
    h = typename CONFIG_T::state_t(hh * (one - z) + h * z);
}

// Gates in Keras' order: z, r, h. reset_after (Keras 2's default, PyTorch): r multiplies
// the recurrent product of the candidate.
template <class data_T, class res_T, typename CONFIG_T>
void gru(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
         res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
         const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
         const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
         const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
         const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
         const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
         const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
         const typename CONFIG_T::act::table_t act_table[CONFIG_T::act::table::size],
         const typename CONFIG_T::act::param_t act_param[CONFIG_T::act::n_param],
         const typename CONFIG_T::ract::table_t ract_table[CONFIG_T::ract::table::size],
         const typename CONFIG_T::ract::param_t ract_param[CONFIG_T::ract::n_param]) {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    const unsigned n = CONFIG_T::n_units;
    state_t h[n];
    #pragma HLS ARRAY_PARTITION variable=h complete
    recurrent_clear<CONFIG_T>(h);
    for (unsigned k = 0; k < CONFIG_T::n_steps; k++) {
        data_T xt[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=xt complete
        accum_t ax[3 * n], ah[3 * n], gate[2 * n];
        #pragma HLS ARRAY_PARTITION variable=ax complete
        #pragma HLS ARRAY_PARTITION variable=ah complete
        #pragma HLS ARRAY_PARTITION variable=gate complete
        const unsigned t = recurrent_read<data_T, CONFIG_T>(x, k, xt);
        mac<data_T, accum_t, typename CONFIG_T::mult_x>(xt, ax, wx, wx_in, bx);
        mac<state_t, accum_t, typename CONFIG_T::mult_h>(h, ah, wh, wh_in, bh);
        for (unsigned j = 0; j < 2 * n; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[j] + ah[j];
            gate[j] = recurrent_act<accum_t, accum_t, typename CONFIG_T::ract>(pre, ract_table, ract_param);
        }
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            const accum_t rah = gate[n + j] * ah[2 * n + j];
            const accum_t pre = ax[2 * n + j] + rah;
            const accum_t hh = recurrent_act<accum_t, accum_t, typename CONFIG_T::act>(pre, act_table, act_param);
            gru_mix<CONFIG_T>(hh, gate[j], h[j]);
        }
        recurrent_write<res_T, CONFIG_T>(h, k, t, y);
    }
}

// GRU with the reset gate applied before the candidate's recurrent product (Keras
// reset_after=False, ONNX linear_before_reset=0): mult_h covers z and r, mult_rh the
// candidate's product over state(r * h).
template <class data_T, class res_T, typename CONFIG_T>
void gru_reset_before(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
                      res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
                      const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
                      const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
                      const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
                      const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
                      const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
                      const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
                      const typename CONFIG_T::mult_rh::weight_t wr[CONFIG_T::mult_rh::n_table],
                      const typename CONFIG_T::mult_rh::index_in_t wr_in[CONFIG_T::mult_rh::n_table],
                      const typename CONFIG_T::mult_rh::bias_t br[CONFIG_T::mult_rh::n_out],
                      const typename CONFIG_T::act::table_t act_table[CONFIG_T::act::table::size],
                      const typename CONFIG_T::act::param_t act_param[CONFIG_T::act::n_param],
                      const typename CONFIG_T::ract::table_t ract_table[CONFIG_T::ract::table::size],
                      const typename CONFIG_T::ract::param_t ract_param[CONFIG_T::ract::n_param]) {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    const unsigned n = CONFIG_T::n_units;
    state_t h[n];
    #pragma HLS ARRAY_PARTITION variable=h complete
    recurrent_clear<CONFIG_T>(h);
    for (unsigned k = 0; k < CONFIG_T::n_steps; k++) {
        data_T xt[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=xt complete
        accum_t ax[3 * n], ah[2 * n], gate[2 * n], ahh[n];
        state_t rh[n];
        #pragma HLS ARRAY_PARTITION variable=ax complete
        #pragma HLS ARRAY_PARTITION variable=ah complete
        #pragma HLS ARRAY_PARTITION variable=gate complete
        #pragma HLS ARRAY_PARTITION variable=ahh complete
        #pragma HLS ARRAY_PARTITION variable=rh complete
        const unsigned t = recurrent_read<data_T, CONFIG_T>(x, k, xt);
        mac<data_T, accum_t, typename CONFIG_T::mult_x>(xt, ax, wx, wx_in, bx);
        mac<state_t, accum_t, typename CONFIG_T::mult_h>(h, ah, wh, wh_in, bh);
        for (unsigned j = 0; j < 2 * n; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[j] + ah[j];
            gate[j] = recurrent_act<accum_t, accum_t, typename CONFIG_T::ract>(pre, ract_table, ract_param);
        }
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            rh[j] = state_t(gate[n + j] * h[j]);
        }
        mac<state_t, accum_t, typename CONFIG_T::mult_rh>(rh, ahh, wr, wr_in, br);
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[2 * n + j] + ahh[j];
            const accum_t hh = recurrent_act<accum_t, accum_t, typename CONFIG_T::act>(pre, act_table, act_param);
            gru_mix<CONFIG_T>(hh, gate[j], h[j]);
        }
        recurrent_write<res_T, CONFIG_T>(h, k, t, y);
    }
}

}  // namespace nnet

#endif
