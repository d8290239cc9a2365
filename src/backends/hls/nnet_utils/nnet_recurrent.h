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

// One activation of a cell: accum(f(v)) by the function, table and parameters of ACT_T
// (nnet_activation.h activation_value). The cells hold their tables and weights as
// references to arrays of known size, not pointers: the bounds are part of the type and
// nothing is addressed by arithmetic (issue 26).
template <typename ACT_T, class accum_T>
struct recurrent_activation {
    const typename ACT_T::table_t (&table)[ACT_T::table::size];
    const typename ACT_T::param_t (&param)[ACT_T::n_param];

    template <class in_T>
    accum_T operator()(const in_T& v) const {
        #pragma HLS INLINE
        return activation_value<in_T, accum_T, ACT_T>(v, table, param);
    }
};

template <typename CONFIG_T>
void recurrent_clear(typename CONFIG_T::state_t s[CONFIG_T::n_units]) {
    #pragma HLS INLINE
    for (unsigned j = 0; j < CONFIG_T::n_units; j++) {
        #pragma HLS UNROLL
        s[j] = 0;
    }
}

// The time loop every cell shares: per processing step, read the step's input, compute the
// two products ax = mac_x(x_t) and ah = mac_h(h), let the cell update h (and any state of
// its own) from them, write h to the output. The cells differ only in CELL_T::step, the
// gate arithmetic.
template <class data_T, class res_T, typename CONFIG_T, class CELL_T>
void recurrent_sequence(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
                        res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
                        const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
                        const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
                        const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
                        const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
                        const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
                        const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out], const CELL_T& cell) {
    #pragma HLS INLINE
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    state_t h[CONFIG_T::n_units];
    #pragma HLS ARRAY_PARTITION variable=h complete
    recurrent_clear<CONFIG_T>(h);
    for (unsigned k = 0; k < CONFIG_T::n_steps; k++) {
        data_T xt[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=xt complete
        accum_t ax[CONFIG_T::mult_x::n_out], ah[CONFIG_T::mult_h::n_out];
        #pragma HLS ARRAY_PARTITION variable=ax complete
        #pragma HLS ARRAY_PARTITION variable=ah complete
        const unsigned t = recurrent_read<data_T, CONFIG_T>(x, k, xt);
        mac<data_T, accum_t, typename CONFIG_T::mult_x>(xt, ax, wx, wx_in, bx);
        mac<state_t, accum_t, typename CONFIG_T::mult_h>(h, ah, wh, wh_in, bh);
        cell.step(ax, ah, h);
        recurrent_write<res_T, CONFIG_T>(h, k, t, y);
    }
}

// ---- The cells: the gate arithmetic of one step, from ax and ah to the new h ----

// SimpleRNN: h = state(act(ax + ah)).
template <typename CONFIG_T>
struct simple_rnn_cell {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    recurrent_activation<typename CONFIG_T::act, accum_t> act;

    void step(const accum_t ax[CONFIG_T::n_units], const accum_t ah[CONFIG_T::n_units],
              state_t h[CONFIG_T::n_units]) const {
        #pragma HLS INLINE
        for (unsigned j = 0; j < CONFIG_T::n_units; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[j] + ah[j];
            h[j] = state_t(act(pre));
        }
    }
};

// LSTM, gates in Keras' order i, f, c (the candidate g), o; the cell state c is the
// kernel's (lstm below), updated in place.
template <typename CONFIG_T>
struct lstm_cell {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    static const unsigned n = CONFIG_T::n_units;
    recurrent_activation<typename CONFIG_T::act, accum_t> act;
    recurrent_activation<typename CONFIG_T::ract, accum_t> ract;
    recurrent_activation<typename CONFIG_T::state_act, accum_t> state_act;
    state_t (&c)[n];

    void step(const accum_t ax[4 * n], const accum_t ah[4 * n], state_t h[n]) const {
        #pragma HLS INLINE
        accum_t gate[4 * n];
        #pragma HLS ARRAY_PARTITION variable=gate complete
        for (unsigned j = 0; j < 4 * n; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[j] + ah[j];
            if (j >= 2 * n && j < 3 * n)
                gate[j] = act(pre);
            else
                gate[j] = ract(pre);
        }
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            c[j] = state_t(gate[2 * n + j] * gate[j] + c[j] * gate[n + j]);
            const accum_t ac = state_act(c[j]);
            h[j] = state_t(gate[3 * n + j] * ac);
        }
    }
};

// h = state(hh * (1 - z) + h * z), exactly.
template <typename CONFIG_T>
void gru_mix(const typename CONFIG_T::accum_t hh, const typename CONFIG_T::accum_t z, typename CONFIG_T::state_t& h) {
    #pragma HLS INLINE
    const ap_uint<1> one = 1;
    h = typename CONFIG_T::state_t(hh * (one - z) + h * z);
}

// The GRU candidate's recurrent term, where the two GRU forms differ (r = gate[n .. 2n)).
// Reset after (Keras 2's default, PyTorch): r * the candidate's columns of ah.
template <typename CONFIG_T>
struct gru_reset_after_term {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    static const unsigned n = CONFIG_T::n_units;

    void operator()(const accum_t gate[2 * n], const accum_t ah[CONFIG_T::mult_h::n_out], const state_t h[n],
                    accum_t term[n]) const {
        #pragma HLS INLINE
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            term[j] = gate[n + j] * ah[2 * n + j];
        }
    }
};

// Reset before (Keras reset_after=False, ONNX linear_before_reset=0): mult_h covered z
// and r only; the candidate's product mult_rh runs over state(r * h).
template <typename CONFIG_T>
struct gru_reset_before_term {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    static const unsigned n = CONFIG_T::n_units;
    const typename CONFIG_T::mult_rh::weight_t (&w)[CONFIG_T::mult_rh::n_table];
    const typename CONFIG_T::mult_rh::index_in_t (&w_in)[CONFIG_T::mult_rh::n_table];
    const typename CONFIG_T::mult_rh::bias_t (&b)[CONFIG_T::mult_rh::n_out];

    void operator()(const accum_t gate[2 * n], const accum_t ah[CONFIG_T::mult_h::n_out], const state_t h[n],
                    accum_t term[n]) const {
        #pragma HLS INLINE
        state_t rh[n];
        #pragma HLS ARRAY_PARTITION variable=rh complete
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            rh[j] = state_t(gate[n + j] * h[j]);
        }
        mac<state_t, accum_t, typename CONFIG_T::mult_rh>(rh, term, w, w_in, b);
    }
};

// GRU, gates in Keras' order z, r, h: z, r = ract(ax + ah); hh = act(ax_h + TERM_T's
// recurrent term); h = state(hh * (1 - z) + h * z).
template <typename CONFIG_T, class TERM_T>
struct gru_cell {
    typedef typename CONFIG_T::accum_t accum_t;
    typedef typename CONFIG_T::state_t state_t;
    static const unsigned n = CONFIG_T::n_units;
    recurrent_activation<typename CONFIG_T::act, accum_t> act;
    recurrent_activation<typename CONFIG_T::ract, accum_t> ract;
    TERM_T recurrent_term;

    void step(const accum_t ax[3 * n], const accum_t ah[CONFIG_T::mult_h::n_out], state_t h[n]) const {
        #pragma HLS INLINE
        accum_t gate[2 * n], term[n];
        #pragma HLS ARRAY_PARTITION variable=gate complete
        #pragma HLS ARRAY_PARTITION variable=term complete
        for (unsigned j = 0; j < 2 * n; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[j] + ah[j];
            gate[j] = ract(pre);
        }
        recurrent_term(gate, ah, h, term);
        for (unsigned j = 0; j < n; j++) {
            #pragma HLS UNROLL
            const accum_t pre = ax[2 * n + j] + term[j];
            const accum_t hh = act(pre);
            gru_mix<CONFIG_T>(hh, gate[j], h[j]);
        }
    }
};

// ---- The kernels parameters.h calls: each a cell over the shared time loop ----

template <class data_T, class res_T, typename CONFIG_T>
void simple_rnn(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
                res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
                const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
                const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
                const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
                const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
                const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
                const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
                const typename CONFIG_T::act::table_t (&act_table)[CONFIG_T::act::table::size],
                const typename CONFIG_T::act::param_t (&act_param)[CONFIG_T::act::n_param]) {
    const simple_rnn_cell<CONFIG_T> cell = {{act_table, act_param}};
    recurrent_sequence<data_T, res_T, CONFIG_T>(x, y, wx, wx_in, bx, wh, wh_in, bh, cell);
}

// The state activation (of c) has its own table, keyed on state_t, and shares act's
// parameters.
template <class data_T, class res_T, typename CONFIG_T>
void lstm(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
          res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
          const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
          const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
          const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
          const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
          const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
          const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
          const typename CONFIG_T::act::table_t (&act_table)[CONFIG_T::act::table::size],
          const typename CONFIG_T::act::param_t (&act_param)[CONFIG_T::act::n_param],
          const typename CONFIG_T::state_act::table_t (&state_act_table)[CONFIG_T::state_act::table::size],
          const typename CONFIG_T::ract::table_t (&ract_table)[CONFIG_T::ract::table::size],
          const typename CONFIG_T::ract::param_t (&ract_param)[CONFIG_T::ract::n_param]) {
    typename CONFIG_T::state_t c[CONFIG_T::n_units];
    #pragma HLS ARRAY_PARTITION variable=c complete
    recurrent_clear<CONFIG_T>(c);
    const lstm_cell<CONFIG_T> cell = {{act_table, act_param}, {ract_table, ract_param}, {state_act_table, act_param}, c};
    recurrent_sequence<data_T, res_T, CONFIG_T>(x, y, wx, wx_in, bx, wh, wh_in, bh, cell);
}

template <class data_T, class res_T, typename CONFIG_T>
void gru(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
         res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
         const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
         const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
         const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
         const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
         const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
         const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
         const typename CONFIG_T::act::table_t (&act_table)[CONFIG_T::act::table::size],
         const typename CONFIG_T::act::param_t (&act_param)[CONFIG_T::act::n_param],
         const typename CONFIG_T::ract::table_t (&ract_table)[CONFIG_T::ract::table::size],
         const typename CONFIG_T::ract::param_t (&ract_param)[CONFIG_T::ract::n_param]) {
    const gru_cell<CONFIG_T, gru_reset_after_term<CONFIG_T> > cell = {{act_table, act_param}, {ract_table, ract_param}, {}};
    recurrent_sequence<data_T, res_T, CONFIG_T>(x, y, wx, wx_in, bx, wh, wh_in, bh, cell);
}

// mult_rh (wr, wr_in, br): the candidate's product over state(r * h).
template <class data_T, class res_T, typename CONFIG_T>
void gru_reset_before(const data_T x[CONFIG_T::n_steps * CONFIG_T::n_in],
                      res_T y[(CONFIG_T::return_sequences ? CONFIG_T::n_steps : 1) * CONFIG_T::n_units],
                      const typename CONFIG_T::mult_x::weight_t wx[CONFIG_T::mult_x::n_table],
                      const typename CONFIG_T::mult_x::index_in_t wx_in[CONFIG_T::mult_x::n_table],
                      const typename CONFIG_T::mult_x::bias_t bx[CONFIG_T::mult_x::n_out],
                      const typename CONFIG_T::mult_h::weight_t wh[CONFIG_T::mult_h::n_table],
                      const typename CONFIG_T::mult_h::index_in_t wh_in[CONFIG_T::mult_h::n_table],
                      const typename CONFIG_T::mult_h::bias_t bh[CONFIG_T::mult_h::n_out],
                      const typename CONFIG_T::mult_rh::weight_t (&wr)[CONFIG_T::mult_rh::n_table],
                      const typename CONFIG_T::mult_rh::index_in_t (&wr_in)[CONFIG_T::mult_rh::n_table],
                      const typename CONFIG_T::mult_rh::bias_t (&br)[CONFIG_T::mult_rh::n_out],
                      const typename CONFIG_T::act::table_t (&act_table)[CONFIG_T::act::table::size],
                      const typename CONFIG_T::act::param_t (&act_param)[CONFIG_T::act::n_param],
                      const typename CONFIG_T::ract::table_t (&ract_table)[CONFIG_T::ract::table::size],
                      const typename CONFIG_T::ract::param_t (&ract_param)[CONFIG_T::ract::n_param]) {
    const gru_cell<CONFIG_T, gru_reset_before_term<CONFIG_T> > cell = {
        {act_table, act_param}, {ract_table, ract_param}, {wr, wr_in, br}};
    recurrent_sequence<data_T, res_T, CONFIG_T>(x, y, wx, wx_in, bx, wh, wh_in, bh, cell);
}

}  // namespace nnet

#endif
