// io_stream sliding window for convolution and pooling: shift-register line buffers, one
// pixel per clock.
//
// The pixel loop walks the *padded* grid in raster order, one position per iteration
// (PIPELINE II=1): a position inside the image reads the next input pixel, a padding
// position shifts in zeros without reading. Because padding positions get their own
// iterations, each position completes at most one output window, so there is no inner
// loop over ready windows (the padded grid adds pad_left + pad_right iterations per row,
// as a zero-padding layer in front would).
//
// Storage, every access at a compile-time address:
//  - lines[k][c][*]: span_height - 1 shift registers of grid_width values per channel;
//    line k delays its input by one grid row. Each clock shifts every register by one
//    (head written, tail read: SRL-friendly), so they need no addressable memory port.
//  - window[r][s][c]: the span_height x span_width x n_chan registers of the window,
//    shifted left by one column per clock; the new column is the pixel and the tails of
//    the line registers.
// After the shift, window[r][s] holds the padded-grid value at (row - span_height + 1 + r,
// col - span_width + 1 + s), so tap (kh, kw) of the window ending at (row, col) is
// window[kh * dilation_height][kw * dilation_width]: constant indices.
#ifndef NNET_LINE_BUFFER_H_
#define NNET_LINE_BUFFER_H_

#include "nnet_common.h"

namespace nnet {

// The compile-time shape of the padded grid a window layer walks.
template <typename CONFIG_T>
struct window_grid {
    static const unsigned span_height = (CONFIG_T::filt_height - 1) * CONFIG_T::dilation_height + 1;
    static const unsigned span_width = (CONFIG_T::filt_width - 1) * CONFIG_T::dilation_width + 1;
    // Rows/columns the last output window reaches, and those the input occupies: the grid
    // covers both (a 'valid' layer may leave trailing input unused; it is still read).
    static const unsigned reach_height = (CONFIG_T::out_height - 1) * CONFIG_T::stride_height + span_height;
    static const unsigned reach_width = (CONFIG_T::out_width - 1) * CONFIG_T::stride_width + span_width;
    static const unsigned image_height = CONFIG_T::pad_top + CONFIG_T::in_height;
    static const unsigned image_width = CONFIG_T::pad_left + CONFIG_T::in_width;
    static const unsigned height = reach_height > image_height ? reach_height : image_height;
    static const unsigned width = reach_width > image_width ? reach_width : image_width;
    static const unsigned line_count = span_height > 1 ? span_height - 1 : 1;  // no zero-size arrays
};

// The line and window registers a streaming window layer declares (completely partitioned;
// see the top of this file), as one type so kernels declare them in one line each.
template <class T, typename CONFIG_T>
struct window_storage {
    typedef window_grid<CONFIG_T> grid;
    typedef T lines_t[grid::line_count][CONFIG_T::n_chan][grid::width];
    typedef T window_t[grid::span_height][grid::span_width][CONFIG_T::n_chan];
};

template <class T, typename CONFIG_T>
void clear_window(typename window_storage<T, CONFIG_T>::lines_t lines,
                  typename window_storage<T, CONFIG_T>::window_t window) {
    #pragma HLS INLINE
    typedef window_grid<CONFIG_T> grid;
    for (unsigned k = 0; k < grid::line_count; k++) {
        #pragma HLS UNROLL
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            for (unsigned i = 0; i < grid::width; i++) {
                #pragma HLS UNROLL
                lines[k][c][i] = 0;
            }
        }
    }
    for (unsigned r = 0; r < grid::span_height; r++) {
        #pragma HLS UNROLL
        for (unsigned s = 0; s < grid::span_width; s++) {
            #pragma HLS UNROLL
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                #pragma HLS UNROLL
                window[r][s][c] = 0;
            }
        }
    }
}

// Shifts one grid position's pixel (n_chan values; zeros over padding) into the line
// registers and the window.
template <class T, typename CONFIG_T>
void shift_pixel(const T pixel[CONFIG_T::n_chan], typename window_storage<T, CONFIG_T>::lines_t lines,
                 typename window_storage<T, CONFIG_T>::window_t window) {
    #pragma HLS INLINE
    typedef window_grid<CONFIG_T> grid;
    T column[grid::span_height][CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=column complete dim=0
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        #pragma HLS UNROLL
        column[grid::span_height - 1][c] = pixel[c];
        // Line k's tail is the value k + 1 rows above the pixel; it also feeds line k + 1.
        for (unsigned k = 0; k + 1 < grid::span_height; k++) {
            #pragma HLS UNROLL
            column[grid::span_height - 2 - k][c] = lines[k][c][grid::width - 1];
        }
        for (unsigned k = 0; k + 1 < grid::span_height; k++) {
            #pragma HLS UNROLL
            for (unsigned i = grid::width - 1; i > 0; i--) {
                #pragma HLS UNROLL
                lines[k][c][i] = lines[k][c][i - 1];
            }
            lines[k][c][0] = column[grid::span_height - 1 - k][c];
        }
    }
    for (unsigned r = 0; r < grid::span_height; r++) {
        #pragma HLS UNROLL
        for (unsigned s = 0; s + 1 < grid::span_width; s++) {
            #pragma HLS UNROLL
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                #pragma HLS UNROLL
                window[r][s][c] = window[r][s + 1][c];
            }
        }
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            window[r][grid::span_width - 1][c] = column[r][c];
        }
    }
}

// One iteration of a streaming window layer's pixel loop at grid position (row, col):
// reads the next input pixel if the position is inside the image (zeros over padding),
// shifts it in, and returns whether the position completes an output window (outputs
// complete in raster order); if so, win and inside hold it in im2col order (nnet_common.h
// fill_window; inside[tap] = the tap is in the image, not padding).
template <class data_T, typename CONFIG_T>
bool slide_window(hls::stream<data_T>& in, unsigned row, unsigned col,
                  typename window_storage<typename data_T::value_type, CONFIG_T>::lines_t lines,
                  typename window_storage<typename data_T::value_type, CONFIG_T>::window_t window,
                  typename data_T::value_type win[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan],
                  bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width]) {
    #pragma HLS INLINE
    typedef typename data_T::value_type T;
    typedef window_grid<CONFIG_T> grid;
    const bool image = row >= CONFIG_T::pad_top && row < grid::image_height && col >= CONFIG_T::pad_left &&
                       col < grid::image_width;
    T pixel[CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=pixel complete
    if (image) {
        read_beat<T, CONFIG_T::n_chan>(in, pixel);
    } else {
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            #pragma HLS UNROLL
            pixel[c] = 0;
        }
    }
    shift_pixel<T, CONFIG_T>(pixel, lines, window);
    for (unsigned kh = 0; kh < CONFIG_T::filt_height; kh++) {
        #pragma HLS UNROLL
        for (unsigned kw = 0; kw < CONFIG_T::filt_width; kw++) {
            #pragma HLS UNROLL
            const unsigned r = row + 1 - grid::span_height + kh * CONFIG_T::dilation_height;
            const unsigned s = col + 1 - grid::span_width + kw * CONFIG_T::dilation_width;
            const unsigned tap = kh * CONFIG_T::filt_width + kw;
            inside[tap] = r >= CONFIG_T::pad_top && r < grid::image_height && s >= CONFIG_T::pad_left &&
                          s < grid::image_width;
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                #pragma HLS UNROLL
                win[tap * CONFIG_T::n_chan + c] = window[kh * CONFIG_T::dilation_height][kw * CONFIG_T::dilation_width][c];
            }
        }
    }
    // The window's top-left (row + 1 - span_height, col + 1 - span_width) must be on the
    // stride lattice and within the output extent.
    const bool rows_ok = row + 1 >= grid::span_height && row < grid::reach_height &&
                         (row + 1 - grid::span_height) % CONFIG_T::stride_height == 0;
    const bool cols_ok = col + 1 >= grid::span_width && col < grid::reach_width &&
                         (col + 1 - grid::span_width) % CONFIG_T::stride_width == 0;
    return rows_ok && cols_ok;
}

// The grid position after (row, col) in raster order.
template <typename CONFIG_T>
void next_position(unsigned& row, unsigned& col) {
    #pragma HLS INLINE
    if (++col == window_grid<CONFIG_T>::width) {
        col = 0;
        row++;
    }
}

// The pixel loop of every streaming window layer (conv, binary conv, pooling): declares
// and clears the line and window registers, walks the padded grid one position per II,
// and for each completed window calls KERNEL_T::window(win, inside, y, params...) and
// writes y's N_OUT values as one beat. `params` (the layer's weights and tables) reach the
// kernel unchanged; INLINE puts the loop in the layer's own function.
template <class data_T, class res_T, typename CONFIG_T, unsigned N_OUT, class KERNEL_T, class... PARAMS>
void stream_windows(hls::stream<data_T>& in, hls::stream<res_T>& out, PARAMS... params) {
    #pragma HLS INLINE
    typedef typename data_T::value_type in_t;
    typedef typename res_T::value_type out_t;
    typedef window_grid<CONFIG_T> grid;
    typename window_storage<in_t, CONFIG_T>::lines_t lines;
    #pragma HLS ARRAY_PARTITION variable=lines complete dim=1
    #pragma HLS ARRAY_PARTITION variable=lines complete dim=2
    typename window_storage<in_t, CONFIG_T>::window_t window;
    #pragma HLS ARRAY_PARTITION variable=window complete dim=0
    clear_window<in_t, CONFIG_T>(lines, window);
    unsigned row = 0, col = 0;  // the padded-grid position
    for (unsigned p = 0; p < grid::height * grid::width; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        in_t win[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan];
        #pragma HLS ARRAY_PARTITION variable=win complete
        bool inside[CONFIG_T::filt_height * CONFIG_T::filt_width];
        #pragma HLS ARRAY_PARTITION variable=inside complete
        if (slide_window<data_T, CONFIG_T>(in, row, col, lines, window, win, inside)) {
            out_t y[N_OUT];
            #pragma HLS ARRAY_PARTITION variable=y complete
            KERNEL_T::window(win, inside, y, params...);
            write_beat<out_t, N_OUT>(y, out);
        }
        next_position<CONFIG_T>(row, col);
    }
}

}  // namespace nnet

#endif
