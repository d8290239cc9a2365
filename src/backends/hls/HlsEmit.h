// Internal to the HLS backend: turning one layer into C++ text (its typedefs and config
// struct for parameters.h, its constant arrays for firmware/weights/, and its kernel call).
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

struct LayerCode {
    std::string id;                       // C++ name of the layer
    std::string params;                   // typedefs + config struct for parameters.h
    std::vector<ConstantFile> constants;  // weights / tables
    std::string kernel;                   // "dense", "relu", ... (nnet:: function)
    std::vector<std::string> constantArgs;  // arguments after the input and output
};

// `inType` is the type the layer reads (its producer's result type).
LayerCode emitLayer(const Layer& l, const std::string& id, const FixedType& inType, const Emulator& emu);

}  // namespace tachyon::hls
