// Counting NaN and infinite input values. Fixed point has neither: the emulator casts
// NaN to 0 and +-Inf like an enormous value (saturated or wrapped), so a row holding one
// gets a plausible-looking number. The CLI counts them, reports them apart from the
// overflow summary, and can refuse them (--nan error).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

namespace tachyon {

struct NonFiniteCount {
    size_t nan = 0, inf = 0;
    size_t firstRow = 0, firstCol = 0;  // of the first non-finite value seen

    size_t total() const { return nan + inf; }
    // Counts the values of `rows` rows of `cols` values; `rowOffset` numbers the rows.
    void add(const double* x, size_t rows, size_t cols, size_t rowOffset) {
        for (size_t i = 0; i < rows * cols; ++i) {
            if (std::isfinite(x[i])) continue;
            if (total() == 0) {
                firstRow = rowOffset + i / cols;
                firstCol = i % cols;
            }
            ++(std::isnan(x[i]) ? nan : inf);
        }
    }
    // "3 NaN and 1 infinite values (first at row 7, column 2)"
    std::string describe() const {
        return std::to_string(nan) + " NaN and " + std::to_string(inf) + " infinite values (first at row " +
               std::to_string(firstRow) + ", column " + std::to_string(firstCol) + ")";
    }
};

}  // namespace tachyon
