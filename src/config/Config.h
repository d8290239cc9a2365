// hls4ml-compatible configuration: YAML with `Model` / `LayerType` / `LayerName` sections
// (optionally under `HLSConfig`, as hls4ml's own config files have them) plus project keys
// (`IOType`, `ClockPeriod`, `Part`, `ProjectName`, ...).
//
// Precision is either one type (applies to every variable of the layer) or a dict by
// variable name (`result`, `accum`, `weight`, `bias`, ...). `accum: auto` asks for an
// accumulator that provably never overflows. Later sections override earlier ones:
// Model < LayerType < LayerName.
#pragma once

#include "ir/Graph.h"

#include <map>
#include <optional>
#include <string>

namespace tachyon {

struct LayerConfig {
    std::map<std::string, std::string> precision;   // variable -> type text ("default" = all)
    std::optional<int> reuseFactor;
    std::optional<std::string> strategy;
    std::optional<int> tableSize;
    std::optional<int> invTableSize;
    std::optional<double> tableRange;
    bool trace = false;
};

struct Config {
    LayerConfig model;
    std::map<std::string, LayerConfig> byType;   // key: layer kind name ("Dense", ...)
    std::map<std::string, LayerConfig> byName;
    std::string ioType = "io_parallel";
    double clockPeriodNs = 5.0;
    std::string part = "xcvu13p-flga2577-2-e";
    std::string projectName = "myproject";
    std::string source = "<defaults>";             // file the config came from (for errors)

    static Config defaults();                      // Model: Precision ap_fixed<16,6>, RF 1, Latency
    static Config load(const std::string& path);   // throws Error naming file and key
    static Config parse(const std::string& yamlText, const std::string& sourceName);

    // Every variable of `layer` resolved through Model < LayerType < LayerName.
    LayerConfig resolve(const Layer& layer) const;
};

enum class Granularity { Model, Type, Name };
// YAML template for `tachyon config`, with the layer names and types of `g`.
std::string configTemplate(const Graph& g, Granularity gran);

// Default types of the helper variables (tables, parameters) that Tachyon chooses itself.
FixedType defaultTableType();       // sigmoid/tanh entries
FixedType defaultSoftmaxTableType();
FixedType defaultParamType();       // leaky alpha, hard_sigmoid slope/offset

}  // namespace tachyon
