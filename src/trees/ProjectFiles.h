// Helpers shared by the tree project writers: files, raw vector files, literals,
// tachyon_project.json and the Verilator harness (same ports for Verilog and LUT).
#pragma once

#include "backends/ProjectFiles.h"
#include "trees/TreeBackends.h"

#include <nlohmann/json.hpp>

#include <string>

namespace tachyon::trees::detail {

using backend::writeRawRows;  // shared with the network backends (backends/ProjectFiles.h)
using backend::writeText;
// Expected output raws for the given input rows.
std::vector<int64_t> expectedRaw(const TreeEmulator& emu, const TestVectors& tv);
// The common tachyon_project.json fields.
nlohmann::json projectJson(const TreeEmulator& emu, const std::string& backend, size_t testRows);
// Exact decimal literal of raw * 2^-frac (round-trips through double).
std::string valueLiteral(const FixedType& t, int64_t raw);
// Verilog sized literal of a raw of a `width`-bit (un)signed type, e.g. "-18'sd5".
std::string verilogLiteral(int64_t raw, int width, bool isSigned);
// Verilog port list and Verilator harness shared by the RTL and LUT projects:
// ports clk, in_valid, x_0..x_{n-1}, out_valid, y_0..y_{k-1}.
std::string verilogPorts(const TreeEmulator& emu);
std::string verilatorHarness(const TreeEmulator& emu, const std::string& top, int latency);

}  // namespace tachyon::trees::detail
