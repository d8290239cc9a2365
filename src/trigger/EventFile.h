// Event samples read block by block, so that files of any size stream through bounded
// memory: HDF5 datasets (FILE.h5:DATASET; rows along the first axis, the other axes
// flattened), .npy, .npz (FILE.npz:ARRAY) and CSV (an optional header line names the
// columns). Every failure throws tachyon::Error naming the file and the dataset.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace tachyon::trigger {

// FILE[:DATASET] as the user wrote it.
struct SampleSpec {
    std::string file, dataset;
    std::string text() const { return dataset.empty() ? file : file + ":" + dataset; }
};
// Splits at the last ':' when what precedes it names an .h5/.hdf5/.npz file that exists or
// the remainder is not a path.
SampleSpec parseSampleSpec(const std::string& text);

class EventReader {
public:
    virtual ~EventReader() = default;
    size_t rows() const { return rows_; }
    size_t cols() const { return cols_; }
    const std::vector<std::string>& columnNames() const { return names_; }   // empty: unnamed
    const std::string& name() const { return name_; }
    // Reads up to maxRows further rows (row-major) into out; returns the rows read, 0 at the end.
    virtual size_t read(size_t maxRows, std::vector<double>& out) = 0;

protected:
    size_t rows_ = 0, cols_ = 0;
    std::vector<std::string> names_;
    std::string name_;
};

std::unique_ptr<EventReader> openEvents(const SampleSpec& spec);

}  // namespace tachyon::trigger
