// Pooling over windows, per channel: max, or average = result(exact sum / count) with count
// the window's taps inside the input (or every tap when count_padding: ONNX
// count_include_pad). Padding never takes part in a maximum. Global pooling is a window
// covering the whole input (out_height = out_width = 1).
//
// io_parallel: one window per output position (nnet_common.h fill_window).
// io_stream: the shift-register line buffers of nnet_line_buffer.h; global pooling keeps one running maximum or
// sum per channel instead.
#ifndef NNET_POOLING_H_
#define NNET_POOLING_H_

#include "nnet_common.h"
#include "nnet_line_buffer.h"

namespace nnet {

enum pool_op { max_pool, average_pool };

struct pooling_config {
    // Overridden per layer in parameters.h, together with sum_t (exact window sums) and
    // quotient_t (see divide_cast).
    static const unsigned in_height = 1, in_width = 1, n_chan = 1;
    static const unsigned out_height = 1, out_width = 1;
    static const unsigned filt_height = 1, filt_width = 1;
    static const unsigned stride_height = 1, stride_width = 1;
    static const unsigned dilation_height = 1, dilation_width = 1;
    static const unsigned pad_top = 0, pad_left = 0;
    static const unsigned buffer_rows = 1;
    static const unsigned reuse_factor = 1;
    static const unsigned op = max_pool;
    static const bool count_padding = false;
    static const bool global = false;
};

// res(sum / count) for a window's count of taps inside the image (1..N): one constant
// divisor per possible count (divide_cast_const: a multiplication each) and a select,
// instead of a run-time divider.
template <class res_T, typename CONFIG_T, int N>
struct divide_by_count {
    static res_T divide(const typename CONFIG_T::sum_t& sum, unsigned count) {
        #pragma HLS INLINE
        if (count == N)
            return divide_cast_const<res_T, typename CONFIG_T::quotient_t, CONFIG_T::quotient_width,
                                     CONFIG_T::result_frac, typename CONFIG_T::sum_t, CONFIG_T::sum_width,
                                     CONFIG_T::sum_frac, N>(sum);
        return divide_by_count<res_T, CONFIG_T, N - 1>::divide(sum, count);
    }
};
template <class res_T, typename CONFIG_T>
struct divide_by_count<res_T, CONFIG_T, 1> {
    static res_T divide(const typename CONFIG_T::sum_t& sum, unsigned) {
        return divide_cast_const<res_T, typename CONFIG_T::quotient_t, CONFIG_T::quotient_width, CONFIG_T::result_frac,
                                 typename CONFIG_T::sum_t, CONFIG_T::sum_width, CONFIG_T::sum_frac, 1>(sum);
    }
};

// One channel of one window.
template <class data_T, class res_T, typename CONFIG_T>
res_T pool_window(const data_T win[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan],
                  const bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width], unsigned c) {
    #pragma HLS INLINE
    const unsigned taps = CONFIG_T::filt_height * CONFIG_T::filt_width;
    if (CONFIG_T::op == max_pool) {
        data_T m = 0;
        bool first = true;
        for (unsigned t = 0; t < taps; t++) {
            #pragma HLS UNROLL
            const data_T v = win[t * CONFIG_T::n_chan + c];
            if (inside[t] && (first || v > m)) m = v;
            if (inside[t]) first = false;
        }
        return res_T(m);
    }
    typename CONFIG_T::sum_t sum = 0;
    unsigned count = 0;
    for (unsigned t = 0; t < taps; t++) {
        #pragma HLS UNROLL
        if (inside[t]) {
            sum += win[t * CONFIG_T::n_chan + c];
            count++;
        }
    }
    if (CONFIG_T::count_padding) count = taps;
    return divide_by_count<res_T, CONFIG_T, CONFIG_T::filt_height * CONFIG_T::filt_width>::divide(sum, count);
}

template <class data_T, class res_T, typename CONFIG_T>
void pooling(const data_T x[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
             res_T y[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_chan]) {
    for (unsigned oh = 0; oh < CONFIG_T::out_height; oh++) {
        for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            data_T win[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan];
            #pragma HLS ARRAY_PARTITION variable=win complete
            bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width];
            fill_window<data_T, CONFIG_T, CONFIG_T::in_height>(x, oh, ow, win, inside);
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                #pragma HLS UNROLL
                y[(oh * CONFIG_T::out_width + ow) * CONFIG_T::n_chan + c] = pool_window<data_T, res_T, CONFIG_T>(win, inside, c);
            }
        }
    }
}

// io_stream: each completed window of the line buffers (nnet_line_buffer.h), pooled per channel.
template <class in_t, class out_t, typename CONFIG_T>
struct pool_window_kernel {
    static void window(const in_t win[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan],
                       const bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width], out_t y[CONFIG_T::n_chan]) {
        #pragma HLS INLINE
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            y[c] = pool_window<in_t, out_t, CONFIG_T>(win, inside, c);
        }
    }
};

template <class data_T, class res_T, typename CONFIG_T>
void pooling(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    typedef typename data_T::value_type in_t;
    typedef typename res_T::value_type out_t;
    if (CONFIG_T::global) {
        in_t m[CONFIG_T::n_chan];
        #pragma HLS ARRAY_PARTITION variable=m complete
        typename CONFIG_T::sum_t sum[CONFIG_T::n_chan];
        #pragma HLS ARRAY_PARTITION variable=sum complete
        for (unsigned p = 0; p < CONFIG_T::in_height * CONFIG_T::in_width; p++) {
            #pragma HLS PIPELINE II=1
            const data_T pixel = in.read();
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                #pragma HLS UNROLL
                if (p == 0 || pixel[c] > m[c]) m[c] = pixel[c];
                if (p == 0) sum[c] = pixel[c];
                else sum[c] += pixel[c];
            }
        }
        out_t y[CONFIG_T::n_chan];
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            if (CONFIG_T::op == max_pool) y[c] = m[c];
            else
                y[c] = divide_cast_const<out_t, typename CONFIG_T::quotient_t, CONFIG_T::quotient_width,
                                         CONFIG_T::result_frac, typename CONFIG_T::sum_t, CONFIG_T::sum_width,
                                         CONFIG_T::sum_frac, CONFIG_T::in_height * CONFIG_T::in_width>(sum[c]);
        }
        write_beat<out_t, CONFIG_T::n_chan>(y, out);
        return;
    }
    stream_windows<data_T, res_T, CONFIG_T, CONFIG_T::n_chan, pool_window_kernel<in_t, out_t, CONFIG_T> >(in, out);
}

}  // namespace nnet

#endif
