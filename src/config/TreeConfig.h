// Conversion settings for tree ensembles, read from the same YAML style as networks.
//
//   InputPrecision:     ap_fixed<18,8>   # features (default ap_fixed<18,8>)
//   ThresholdPrecision: ap_fixed<18,8>   # split thresholds (default: InputPrecision)
//   ScorePrecision:     ap_fixed<18,8>   # leaves, base score, every adder and the output
//   ClockPeriod: 5.0                     # ns
//   Part: xcvu13p-flga2577-2-e
//   Pipeline: auto                       # Verilog register stages (latency); 0 = combinational
//   LutMaxInputBits: 20                  # lookup-table compilation limit (total input bits)
//   ProjectName: tachyon_bdt
#pragma once

#include "fixed/FixedType.h"

#include <string>

namespace tachyon::trees {

struct TreeConfig {
    FixedType input = FixedType::fixed(18, 8);
    FixedType threshold = FixedType::fixed(18, 8);
    FixedType score = FixedType::fixed(18, 8);
    double clockPeriodNs = 5.0;
    std::string part = "xcvu13p-flga2577-2-e";
    int pipeline = -1;          // -1: auto (1 + ceil(adder levels / 2))
    int lutMaxInputBits = 20;
    std::string projectName = "tachyon_bdt";
};

// Empty path: defaults. Throws tachyon::Error naming the file and key on unknown keys,
// bad types or values out of range.
TreeConfig readTreeConfig(const std::string& yamlPath);
// Widths the integer emulator and the backends support (checked by readTreeConfig
// and by the emulator): input and threshold up to 31 bits, score up to 30 bits.
void checkTreeTypes(const TreeConfig& c, const std::string& where);
// YAML template for `tachyon config` on a tree model: every key above with its default
// (tree ensembles have one set of types, so the granularity does not apply).
std::string treeConfigTemplate(const std::string& modelPath);

}  // namespace tachyon::trees
