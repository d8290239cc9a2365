// Layers that only move values: Reshape (Flatten), Transpose, ZeroPadding, UpSampling
// (nearest, integer factors) and Concatenate. Each output element is one input element
// (or a padding zero) converted to the result type: the identity when the types agree
// (the precision pass gives Reshape, Transpose, ZeroPadding and UpSampling their input's
// type), a cast for Concatenate and for hand-set types.
//
// Padding and upsampling see every tensor as [d0, d1, d2] (rank-1/2 shapes get leading 1s;
// d2 is the last axis, one stream beat). Concatenation sees [outer, axis block]: per outer
// index, a_block values of the first input, then b_block of the second.
#ifndef NNET_MOVEMENT_H_
#define NNET_MOVEMENT_H_

#include "nnet_common.h"

namespace nnet {

struct movement_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_in = 1, n_out = 1;          // elements per sample
    static const unsigned in_chan = 1, out_chan = 1;    // values per stream beat
    static const unsigned in_d0 = 1, in_d1 = 1, in_d2 = 1;
    static const unsigned out_d0 = 1, out_d1 = 1, out_d2 = 1;
    static const unsigned pad0 = 0, pad1 = 0, pad2 = 0;      // zero padding before each axis
    static const unsigned scale0 = 1, scale1 = 1, scale2 = 1;  // upsampling factors
    static const unsigned outer = 1, a_block = 1, b_block = 1;  // concatenation
    static const bool last_axis = true;                 // concatenation along the last axis
    static const unsigned reuse_factor = 1;
};

// ---- Reshape: the same values in the same order ----
template <class data_T, class res_T, typename CONFIG_T>
void reshape(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        #pragma HLS UNROLL
        y[i] = x[i];
    }
}

// io_stream: repacks beats of in_chan values into beats of out_chan values.
template <class data_T, class res_T, typename CONFIG_T>
void reshape(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    data_T a;
    res_T b;
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        #pragma HLS PIPELINE II=1
        if (i % CONFIG_T::in_chan == 0) a = in.read();
        b[i % CONFIG_T::out_chan] = a[i % CONFIG_T::in_chan];
        if (i % CONFIG_T::out_chan == CONFIG_T::out_chan - 1) out.write(b);
    }
}

// ---- Transpose: output element i is input element index[i] ----
template <class data_T, class res_T, typename CONFIG_T>
void transpose(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out], const unsigned index[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        #pragma HLS UNROLL
        y[i] = x[index[i]];
    }
}

// io_stream: the whole sample is buffered, then written in the new order. Every memory
// port is used once per clock: the buffer is partitioned cyclically by in_chan, so an
// input beat (in_chan consecutive elements) writes each bank once; the output side reads
// one element per clock (one buffer read and one index-table read at index[i]) and writes
// a beat every out_chan clocks. (A gathering read of a whole output beat per clock would
// need out_chan reads at run-time addresses that may fall in one bank.)
template <class data_T, class res_T, typename CONFIG_T>
void transpose(hls::stream<data_T>& in, hls::stream<res_T>& out, const unsigned index[CONFIG_T::n_out]) {
    typename data_T::value_type buf[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=buf cyclic factor=CONFIG_T::in_chan
Fill:
    for (unsigned b = 0; b < CONFIG_T::n_in / CONFIG_T::in_chan; b++) {
        #pragma HLS PIPELINE II=1
        const data_T beat = in.read();
        for (unsigned c = 0; c < CONFIG_T::in_chan; c++) {
            #pragma HLS UNROLL
            buf[b * CONFIG_T::in_chan + c] = beat[c];
        }
    }
    res_T beat;
Drain:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        #pragma HLS PIPELINE II=1
        beat[i % CONFIG_T::out_chan] = buf[index[i]];
        if (i % CONFIG_T::out_chan == CONFIG_T::out_chan - 1) out.write(beat);
    }
}

// ---- ZeroPadding ----
template <class data_T, class res_T, typename CONFIG_T>
void zeropad(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned o0 = 0; o0 < CONFIG_T::out_d0; o0++) {
        for (unsigned o1 = 0; o1 < CONFIG_T::out_d1; o1++) {
            for (unsigned o2 = 0; o2 < CONFIG_T::out_d2; o2++) {
                const int i0 = int(o0) - int(CONFIG_T::pad0), i1 = int(o1) - int(CONFIG_T::pad1);
                const int i2 = int(o2) - int(CONFIG_T::pad2);
                const bool in = i0 >= 0 && i0 < int(CONFIG_T::in_d0) && i1 >= 0 && i1 < int(CONFIG_T::in_d1) &&
                                i2 >= 0 && i2 < int(CONFIG_T::in_d2);
                const unsigned out = (o0 * CONFIG_T::out_d1 + o1) * CONFIG_T::out_d2 + o2;
                if (in) y[out] = x[(unsigned(i0) * CONFIG_T::in_d1 + unsigned(i1)) * CONFIG_T::in_d2 + unsigned(i2)];
                else y[out] = 0;
            }
        }
    }
}

// io_stream: padding pixels are written as zeros, input pixels pass through.
template <class data_T, class res_T, typename CONFIG_T>
void zeropad(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    for (unsigned o0 = 0; o0 < CONFIG_T::out_d0; o0++) {
        for (unsigned o1 = 0; o1 < CONFIG_T::out_d1; o1++) {
            #pragma HLS PIPELINE II=1
            const int i0 = int(o0) - int(CONFIG_T::pad0), i1 = int(o1) - int(CONFIG_T::pad1);
            const bool in_pixel = i0 >= 0 && i0 < int(CONFIG_T::in_d0) && i1 >= 0 && i1 < int(CONFIG_T::in_d1);
            data_T a;
            if (in_pixel) a = in.read();
            res_T b;
            for (unsigned o2 = 0; o2 < CONFIG_T::out_d2; o2++) {
                #pragma HLS UNROLL
                const int i2 = int(o2) - int(CONFIG_T::pad2);
                if (in_pixel && i2 >= 0 && i2 < int(CONFIG_T::in_d2)) b[o2] = a[unsigned(i2)];
                else b[o2] = 0;
            }
            out.write(b);
        }
    }
}

// ---- UpSampling (nearest): output (o0, o1, o2) reads input (o0 / scale0, o1 / scale1, o2 / scale2) ----
template <class data_T, class res_T, typename CONFIG_T>
void resize_nearest(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned o0 = 0; o0 < CONFIG_T::out_d0; o0++)
        for (unsigned o1 = 0; o1 < CONFIG_T::out_d1; o1++)
            for (unsigned o2 = 0; o2 < CONFIG_T::out_d2; o2++)
                y[(o0 * CONFIG_T::out_d1 + o1) * CONFIG_T::out_d2 + o2] =
                    x[((o0 / CONFIG_T::scale0) * CONFIG_T::in_d1 + o1 / CONFIG_T::scale1) * CONFIG_T::in_d2 +
                      o2 / CONFIG_T::scale2];
}

// io_stream: each input row is buffered and written scale0 times, each pixel scale1 times.
template <class data_T, class res_T, typename CONFIG_T>
void resize_nearest(hls::stream<data_T>& in, hls::stream<res_T>& out) {
    data_T row[CONFIG_T::in_d1];
    for (unsigned i0 = 0; i0 < CONFIG_T::in_d0; i0++) {
        for (unsigned i1 = 0; i1 < CONFIG_T::in_d1; i1++) {
            #pragma HLS PIPELINE II=1
            row[i1] = in.read();
        }
        for (unsigned r = 0; r < CONFIG_T::scale0; r++) {
            for (unsigned o1 = 0; o1 < CONFIG_T::out_d1; o1++) {
                #pragma HLS PIPELINE II=1
                res_T b;
                for (unsigned o2 = 0; o2 < CONFIG_T::out_d2; o2++) {
                    #pragma HLS UNROLL
                    b[o2] = row[o1 / CONFIG_T::scale1][o2 / CONFIG_T::scale2];
                }
                out.write(b);
            }
        }
    }
}

// ---- Concatenate (two inputs; more are chained), each input converted to the result type ----
template <class data1_T, class data2_T, class res_T, typename CONFIG_T>
void concatenate(const data1_T x1[CONFIG_T::outer * CONFIG_T::a_block],
                 const data2_T x2[CONFIG_T::outer * CONFIG_T::b_block],
                 res_T y[CONFIG_T::outer * (CONFIG_T::a_block + CONFIG_T::b_block)]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    for (unsigned o = 0; o < CONFIG_T::outer; o++) {
        for (unsigned i = 0; i < CONFIG_T::a_block; i++) {
            #pragma HLS UNROLL
            y[o * (CONFIG_T::a_block + CONFIG_T::b_block) + i] = x1[o * CONFIG_T::a_block + i];
        }
        for (unsigned i = 0; i < CONFIG_T::b_block; i++) {
            #pragma HLS UNROLL
            y[o * (CONFIG_T::a_block + CONFIG_T::b_block) + CONFIG_T::a_block + i] = x2[o * CONFIG_T::b_block + i];
        }
    }
}

// io_stream: along the last axis one beat of each input makes one output beat; along
// another axis the beats of the first input's block, then the second's, pass through.
template <class data1_T, class data2_T, class res_T, typename CONFIG_T>
void concatenate(hls::stream<data1_T>& in1, hls::stream<data2_T>& in2, hls::stream<res_T>& out) {
    for (unsigned o = 0; o < CONFIG_T::outer; o++) {
        if (CONFIG_T::last_axis) {
            #pragma HLS PIPELINE II=1
            const data1_T a = in1.read();
            const data2_T b = in2.read();
            res_T y;
            for (unsigned i = 0; i < CONFIG_T::a_block; i++) {
                #pragma HLS UNROLL
                y[i] = a[i];
            }
            for (unsigned i = 0; i < CONFIG_T::b_block; i++) {
                #pragma HLS UNROLL
                y[CONFIG_T::a_block + i] = b[i];
            }
            out.write(y);
        } else {
            for (unsigned k = 0; k < CONFIG_T::a_block / CONFIG_T::out_chan; k++) {
                #pragma HLS PIPELINE II=1
                const data1_T a = in1.read();
                res_T y;
                for (unsigned c = 0; c < CONFIG_T::out_chan; c++) y[c] = a[c];
                out.write(y);
            }
            for (unsigned k = 0; k < CONFIG_T::b_block / CONFIG_T::out_chan; k++) {
                #pragma HLS PIPELINE II=1
                const data2_T b = in2.read();
                res_T y;
                for (unsigned c = 0; c < CONFIG_T::out_chan; c++) y[c] = b[c];
                out.write(y);
            }
        }
    }
}

}  // namespace nnet

#endif
