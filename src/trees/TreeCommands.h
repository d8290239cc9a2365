// The tree-ensemble side of the tachyon CLI (tools/main.cpp calls these).
#pragma once

#include <ostream>
#include <string>

namespace tachyon::trees {

// XGBoost JSON (has "learner"), tachyon-trees JSON (sklearn export), or TMVA BDT XML.
bool isTreeModel(const std::string& path);
void info(const std::string& model, std::ostream& out);
// Reads .npy or CSV (rows x features), writes .npy or CSV (rows x classes): float mode
// reproduces the library; fixed mode is the bit-exact emulation with the configuration's
// precisions. NaN/Inf inputs are counted and logged, or refused when refuseNonFinite.
void predict(const std::string& model, const std::string& configYaml, const std::string& inNpy,
             const std::string& outNpy, bool floatMode, std::ostream& log, bool refuseNonFinite = false);
// Writes a project into outDir (created by the caller, empty). backend: hls, verilog or lut.
void convert(const std::string& model, const std::string& configYaml, const std::string& outDir,
             const std::string& backend, std::ostream& log);

}  // namespace tachyon::trees
