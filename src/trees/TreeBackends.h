// Project writers for tree ensembles: Vitis HLS C++, pipelined Verilog, and a
// lookup-table ROM for models with few input bits. All emit exactly the arithmetic
// of TreeEmulator (the same quantised constants and the same adder-tree order).
#pragma once

#include "emulator/TreeEmulator.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tachyon::trees {

// Raw InputPrecision rows for the project testbenches.
struct TestVectors {
    std::vector<int64_t> inputRaw;  // rows * nFeatures
    size_t rows = 0;
};
// Deterministic rows that sit around and exactly on the model's thresholds.
TestVectors thresholdTestVectors(const TreeEmulator& emu, size_t rows, uint64_t seed = 1);
// Given float rows, quantised to InputPrecision.
TestVectors testVectorsFrom(const TreeEmulator& emu, const double* x, size_t rows);

// Each writer fills an existing (empty) directory and writes tachyon_project.json.
void writeHlsProject(const TreeEmulator& emu, const std::string& dir, const TestVectors& tv);
// Returns the latency in clock cycles.
int writeVerilogProject(const TreeEmulator& emu, const std::string& dir, const TestVectors& tv);
// Throws tachyon::Error when the total input width exceeds LutMaxInputBits.
// The testbench vectors are every address, in address order.
void writeLutProject(const TreeEmulator& emu, const std::string& dir);

// Register stages the Verilog writer uses for this model and configuration.
int verilogLatency(const TreeEmulator& emu);

}  // namespace tachyon::trees
