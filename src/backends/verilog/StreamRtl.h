// A whole graph as one netlist: dense-family layers fully unrolled, spatial tensors
// (1-D/2-D, channels last) streamed one pixel (all channels) per clock through line
// buffers. See StreamRtl.cpp and docs/verilog.md ("Streaming CNNs").
#pragma once

#include "backends/verilog/RtlOps.h"
#include "lower/LoweredGraph.h"

#include <cstdint>
#include <vector>

namespace tachyon::verilog {

// How frames enter a streaming design (video-style raster timing): pixel (r, c) of a
// frame is presented on in_data (its C channels) with in_valid high exactly
// r * rowStep + c * colStep cycles after the frame's first pixel; a new frame may start
// every `interval` cycles (or later).
struct StreamTiming {
    bool streaming = false;
    int height = 1, width = 1, channels = 1;
    int64_t rowStep = 1, colStep = 1, interval = 1;
};

struct BuiltGraph {
    std::vector<Sig> outputs;
    Sig outValid = -1;          // streaming: 1-bit signal whose delayed copy is out_valid
    int64_t outTime = 0;        // streaming: logical cycle of the output (from the first pixel)
    StreamTiming timing;
    std::string globalLogic;    // streaming: frame-start detector and its delay line
};

// Builds the graph into c.nl (inputs, layers). Throws tachyon::Error naming the layer for
// what cannot be built.
BuiltGraph buildGraph(RtlContext& c, const Graph& g, const LoweredGraph& low);

// True when the graph is built as a stream (its one input has spatial axes).
bool isStreaming(const Graph& g);
// Bits per value on a vector design's input bus: the widest input type (each value in the
// low bits of its lane).
int busLaneWidth(const Graph& g);
// A channels-first input (ONNX from PyTorch) read only by a Transpose to channels last,
// possibly through Quantize layers with one quantiser for all elements (they commute with
// the transpose and run on the stream): that Transpose (the design streams its output
// directly); likewise a Reshape that only moves a single channel last or adds a channel
// axis to a 2-D input ([H, W] -> [H, W, 1]); else nullptr.
const Layer* channelsFirstView(const Graph& g);
// For such inputs, the model-input index of every value in stream order (pixel-major,
// channels last); empty when the stream order is the model's own.
std::vector<int> streamOrder(const Graph& g);

}  // namespace tachyon::verilog
