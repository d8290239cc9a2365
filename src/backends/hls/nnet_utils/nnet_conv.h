// Convolution, 1-D and 2-D, plain and depthwise: at every output position the window is
// gathered in im2col order (kernel rows, kernel columns, input channels; zeros over
// padding) and multiplied by the non-zero weights with the Dense multiply-accumulate
// (nnet_dense.h): acc = accum(b), acc += accum(x_i * w_i) in ascending window order,
// y = result(acc), then the optional fused ReLU.
//
// The weight table is the Dense one (nnet_dense.h): grouped by output channel, entry t
// multiplies window value w_in[t] into its output channel. For a depthwise convolution
// (output channel c * depth_multiplier + m reads input channel c) w_in[t] = tap * n_chan + c,
// so both kinds share this kernel; zero weights are not stored.
//
// io_parallel: one window per output position (positions pipelined with II = reuse_factor
// under Latency; under Resource each window's products are folded over reuse_factor cycles).
// io_stream: pixels arrive in raster order into shift-register line buffers
// (nnet_line_buffer.h), one padded-grid position per clock; an output pixel is computed and
// written at the position that completes its window, so outputs leave in raster order
// while the input is still arriving.
//
// conv_xnor (below): the same schedules for a binary x binary convolution as XNOR-popcount.
#ifndef NNET_CONV_H_
#define NNET_CONV_H_

#include "nnet_common.h"
#include "nnet_line_buffer.h"
#include "nnet_dense.h"

namespace nnet {

struct conv_config : dense_config {
    // Overridden per layer in parameters.h (with the dense_config fields: n_in = the window
    // size, n_out = the output channels).
    static const unsigned in_height = 1, in_width = 1, n_chan = 1;
    static const unsigned out_height = 1, out_width = 1, n_filt = 1;
    static const unsigned filt_height = 1, filt_width = 1;
    static const unsigned stride_height = 1, stride_width = 1;
    static const unsigned dilation_height = 1, dilation_width = 1;
    static const unsigned pad_top = 0, pad_left = 0;
    static const unsigned buffer_rows = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void conv(const data_T x[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
          res_T y[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
          const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
          const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
          const typename CONFIG_T::bias_t b[CONFIG_T::n_filt]) {
    for (unsigned oh = 0; oh < CONFIG_T::out_height; oh++) {
        for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
            data_T win[CONFIG_T::n_in];
            #pragma HLS ARRAY_PARTITION variable=win complete
            bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width];
            res_T yp[CONFIG_T::n_filt];
            #pragma HLS ARRAY_PARTITION variable=yp complete
            fill_window<data_T, CONFIG_T, CONFIG_T::in_height>(x, oh, ow, win, inside);
            mac<data_T, res_T, CONFIG_T>(win, yp, w, w_in, b);
            for (unsigned j = 0; j < CONFIG_T::n_filt; j++) {
                #pragma HLS UNROLL
                y[(oh * CONFIG_T::out_width + ow) * CONFIG_T::n_filt + j] = yp[j];
            }
        }
    }
}

// io_stream: one output pixel per completed window of the line buffers (nnet_line_buffer.h).
template <class in_t, class out_t, typename CONFIG_T>
struct conv_window_mac {
    static void window(const in_t win[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan],
                       const bool[CONFIG_T::filt_height * CONFIG_T::filt_width], out_t y[CONFIG_T::n_filt],
                       const typename CONFIG_T::weight_t* w, const typename CONFIG_T::index_in_t* w_in,
                       const typename CONFIG_T::bias_t* b) {
        #pragma HLS INLINE
        mac<in_t, out_t, CONFIG_T>(win, y, w, w_in, b);   // padding taps hold 0: no mask needed
    }
};

template <class data_T, class res_T, typename CONFIG_T>
void conv(hls::stream<data_T>& in, hls::stream<res_T>& out,
          const typename CONFIG_T::weight_t w[CONFIG_T::n_table],
          const typename CONFIG_T::index_in_t w_in[CONFIG_T::n_table],
          const typename CONFIG_T::bias_t b[CONFIG_T::n_filt]) {
    typedef conv_window_mac<typename data_T::value_type, typename res_T::value_type, CONFIG_T> kernel;
    stream_windows<data_T, res_T, CONFIG_T, CONFIG_T::n_filt, kernel>(in, out, w, w_in, b);
}

// Binary x binary convolution as XNOR-popcount (docs/semantics.md, "Binary x binary Dense
// and Conv"): dense_xnor's arithmetic over each output position's window. A window input
// over padding holds 0, not +-a: it is left out of the popcount (its bit is masked by
// `inside`), and with agree_j agreeing real inputs and `padded` padded ones
//     acc_j = offset_j + half_j * (2 agree_j + padded)
// (offset_j = accum(b_j) - n_in a h_j, half_j = a h_j, in accum_t's LSBs), exactly the
// accumulator of conv() above; then the usual cast and ReLU.
struct conv_xnor_config : dense_xnor_config {
    // Overridden per layer in parameters.h (n_in = the window size, n_out = n_filt).
    static const unsigned in_height = 1, in_width = 1, n_chan = 1;
    static const unsigned out_height = 1, out_width = 1, n_filt = 1;
    static const unsigned filt_height = 1, filt_width = 1;
    static const unsigned stride_height = 1, stride_width = 1;
    static const unsigned dilation_height = 1, dilation_width = 1;
    static const unsigned pad_top = 0, pad_left = 0;
    static const unsigned buffer_rows = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void conv_xnor_window(const data_T win[CONFIG_T::n_in], const bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width],
                      res_T y[CONFIG_T::n_filt],
                      const typename CONFIG_T::word_t w[CONFIG_T::n_filt * CONFIG_T::n_words],
                      const typename CONFIG_T::accum_t offset[CONFIG_T::n_filt],
                      const typename CONFIG_T::step_t half[CONFIG_T::n_filt]) {
    #pragma HLS INLINE
    typename CONFIG_T::word_t xb[CONFIG_T::n_words], real[CONFIG_T::n_words];
    #pragma HLS ARRAY_PARTITION variable=xb complete
    #pragma HLS ARRAY_PARTITION variable=real complete
    for (unsigned k = 0; k < CONFIG_T::n_words; k++) {
        #pragma HLS UNROLL
        xb[k] = 0;
        real[k] = 0;
    }
    typename CONFIG_T::count_t padded = 0;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        const bool in = inside[i / CONFIG_T::n_chan];
        xb[i / CONFIG_T::word_bits][i % CONFIG_T::word_bits] = win[i] > 0;
        real[i / CONFIG_T::word_bits][i % CONFIG_T::word_bits] = in;
        padded += in ? 0 : 1;
    }
    typename CONFIG_T::accum_t acc[CONFIG_T::n_filt];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    for (unsigned j = 0; j < CONFIG_T::n_filt; j++) {
        #pragma HLS UNROLL
        typename CONFIG_T::count_t count = 0;
        for (unsigned k = 0; k < CONFIG_T::n_words; k++) {
            #pragma HLS UNROLL
            const typename CONFIG_T::word_t agree = ~(xb[k] ^ w[j * CONFIG_T::n_words + k]) & real[k];
            for (unsigned b = 0; b < CONFIG_T::word_bits; b++) {
                #pragma HLS UNROLL
                if (k * CONFIG_T::word_bits + b < CONFIG_T::n_in) count += agree[b] ? 1 : 0;
            }
        }
        acc[j] = offset[j] + half[j] * (2 * count + padded);
    }
    dense_finish<res_T, CONFIG_T>(acc, y);
}

template <class data_T, class res_T, typename CONFIG_T>
void conv_xnor(const data_T x[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
               res_T y[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
               const typename CONFIG_T::word_t w[CONFIG_T::n_filt * CONFIG_T::n_words],
               const typename CONFIG_T::accum_t offset[CONFIG_T::n_filt],
               const typename CONFIG_T::step_t half[CONFIG_T::n_filt]) {
    #pragma HLS ARRAY_PARTITION variable=w complete
    #pragma HLS ARRAY_PARTITION variable=offset complete
    #pragma HLS ARRAY_PARTITION variable=half complete
    for (unsigned oh = 0; oh < CONFIG_T::out_height; oh++) {
        for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            data_T win[CONFIG_T::n_in];
            #pragma HLS ARRAY_PARTITION variable=win complete
            bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width];
            res_T yp[CONFIG_T::n_filt];
            #pragma HLS ARRAY_PARTITION variable=yp complete
            fill_window<data_T, CONFIG_T, CONFIG_T::in_height>(x, oh, ow, win, inside);
            conv_xnor_window<data_T, res_T, CONFIG_T>(win, inside, yp, w, offset, half);
            for (unsigned j = 0; j < CONFIG_T::n_filt; j++) {
                #pragma HLS UNROLL
                y[(oh * CONFIG_T::out_width + ow) * CONFIG_T::n_filt + j] = yp[j];
            }
        }
    }
}

// io_stream: the line buffers and one-position-per-clock schedule of conv() above.
template <class in_t, class out_t, typename CONFIG_T>
struct conv_xnor_window_kernel {
    static void window(const in_t win[CONFIG_T::n_in], const bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width],
                       out_t y[CONFIG_T::n_filt], const typename CONFIG_T::word_t* w,
                       const typename CONFIG_T::accum_t* offset, const typename CONFIG_T::step_t* half) {
        #pragma HLS INLINE
        conv_xnor_window<in_t, out_t, CONFIG_T>(win, inside, y, w, offset, half);
    }
};

template <class data_T, class res_T, typename CONFIG_T>
void conv_xnor(hls::stream<data_T>& in, hls::stream<res_T>& out,
               const typename CONFIG_T::word_t w[CONFIG_T::n_filt * CONFIG_T::n_words],
               const typename CONFIG_T::accum_t offset[CONFIG_T::n_filt],
               const typename CONFIG_T::step_t half[CONFIG_T::n_filt]) {
    #pragma HLS ARRAY_PARTITION variable=w complete
    #pragma HLS ARRAY_PARTITION variable=offset complete
    #pragma HLS ARRAY_PARTITION variable=half complete
    typedef conv_xnor_window_kernel<typename data_T::value_type, typename res_T::value_type, CONFIG_T> kernel;
    stream_windows<data_T, res_T, CONFIG_T, CONFIG_T::n_filt, kernel>(in, out, w, offset, half);
}

}  // namespace nnet

#endif
