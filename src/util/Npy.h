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

// Streams a 2-D .npy file row block by row block, so memory stays bounded however many
// rows the file has.
class NpyReader {
public:
    explicit NpyReader(const std::string& path);
    ~NpyReader();
    size_t rows() const { return rows_; }
    size_t cols() const { return cols_; }
    // Reads up to maxRows further rows into out (resized); returns rows read (0 at end).
    size_t read(size_t maxRows, std::vector<double>& out);
private:
    struct State;
    State* st_;
    size_t rows_ = 0, cols_ = 0;
};

// Writes a float64 .npy of a known shape block by block.
class NpyWriter {
public:
    NpyWriter(const std::string& path, size_t rows, size_t cols);
    ~NpyWriter();
    void write(const double* data, size_t rows);
    void close();   // checks that every announced row was written
private:
    struct State;
    State* st_;
};

// Dispatch on the extension (.npy or .csv/.txt).
std::vector<double> readMatrix(const std::string& path, size_t& rows, size_t& cols);
void writeMatrix(const std::string& path, const double* data, size_t rows, size_t cols);

}  // namespace tachyon
