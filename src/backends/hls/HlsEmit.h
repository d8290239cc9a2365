// Internal to the HLS backend: turning one layer into C++ text (its typedefs and config
// structs for parameters.h, its constant arrays for firmware/weights/, and its kernel calls).
#pragma once

#include "emulator/Emulator.h"
#include "ir/Graph.h"

#include <cstdint>
#include <map>
#include <sstream>
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

// `static const T name[n] = { ... };` with `perLine` values per line.
template <class F>
std::string constArray(const std::string& type, const std::string& name, size_t n, size_t perLine, F value) {
    std::ostringstream os;
    os << "static const " << type << " " << name << "[" << n << "] = {";
    for (size_t k = 0; k < n; ++k) {
        os << (k % perLine == 0 ? "\n    " : " ") << value(k) << (k + 1 < n ? "," : "");
    }
    os << "\n};\n";
    return os.str();
}

// A constants header for firmware/weights/ (include guard, parameters.h included).
std::string header(const std::string& id, const std::string& what, const std::string& body);

// GarNet / GarNetStack (HlsGarNet.cpp): typedefs, config and constants of layer `l`.
void emitGarNet(const Layer& l, const LayerInputs& in, const Emulator& emu, LayerCode& c);

LayerCode emitLayer(const Layer& l, const std::string& id, const LayerInputs& in, const Emulator& emu);

}  // namespace tachyon::hls
