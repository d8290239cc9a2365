// Internal to the HLS backend: turning one layer into C++ text (its typedefs and config
// structs for parameters.h, its constant arrays for firmware/weights/, and its kernel calls).
#pragma once

#include "emulator/Emulator.h"
#include "ir/Graph.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tachyon::hls {

// A C++ identifier for every layer name, unique within the graph.
std::map<std::string, std::string> cppNames(const Graph& g);

// A C++ expression of type `t` with exactly the value raw * 2^-frac (a decimal literal
// whenever a double holds it exactly).
std::string literal(const FixedType& t, int64_t raw);

struct ConstantFile {
    std::string name;     // file name under firmware/weights/
    std::string text;
};

// A tensor of the top function: a layer's output, or an intermediate of a layer that
// needs several kernel calls (a merge or concatenation of more than two inputs).
struct TensorInfo {
    std::string key;    // layer name, or "<layer id>_partK"
    std::string var;    // C++ variable
    std::string type;   // element typedef
    std::string beat;   // io_stream beat typedef (nnet::array<type, chan>)
    int size = 0;       // elements per sample
    int chan = 0;       // last axis: values per stream beat
};

struct KernelCall {
    std::string kernel;                     // nnet:: function
    std::string config;                     // config struct
    std::vector<std::string> inputs;        // tensor keys, in operand order
    std::string output;                     // tensor key
    std::vector<std::string> constantArgs;  // arguments after the tensors
};

struct LayerCode {
    std::string id;                          // C++ name of the layer
    std::string params;                      // typedefs + config structs for parameters.h
    std::vector<ConstantFile> constants;     // weights / tables / index maps
    std::vector<TensorInfo> intermediates;   // tensors besides the layer's own output
    std::vector<KernelCall> calls;           // in order; the last one writes the layer's output
};

// What a layer reads: its producers' result types and shapes, and their tensor keys.
struct LayerInputs {
    std::vector<FixedType> types;
    std::vector<Shape> shapes;
    std::vector<std::string> keys;
};

LayerCode emitLayer(const Layer& l, const std::string& id, const LayerInputs& in, const Emulator& emu);

// MatMul and LayerNorm layers (HlsAttention.cpp, nnet_utils/nnet_attention.h), io_parallel.
LayerCode emitAttentionLayer(const Layer& l, const std::string& id, const LayerInputs& in, const Emulator& emu);

}  // namespace tachyon::hls
