// Minimal .npy and CSV reading/writing for batches of rows (C order, 1-D or 2-D).
// Reads float32/float64/int32/int64 little-endian arrays; always writes float64.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tachyon {

std::vector<double> readNpy(const std::string& path, size_t& rows, size_t& cols);
void writeNpy(const std::string& path, const double* data, size_t rows, size_t cols);

std::vector<double> readCsv(const std::string& path, size_t& rows, size_t& cols);
void writeCsv(const std::string& path, const double* data, size_t rows, size_t cols);

// Dispatch on the extension (.npy or .csv/.txt).
std::vector<double> readMatrix(const std::string& path, size_t& rows, size_t& cols);
void writeMatrix(const std::string& path, const double* data, size_t rows, size_t cols);

}  // namespace tachyon
