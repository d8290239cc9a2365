// One score per event for one algorithm and mode (docs/trigger.md, "Memory"): kept in memory
// up to a limit, then moved to an unlinked temporary file that is read back through mmap.
// The pages are then the kernel's file cache, written back to disk under memory pressure, so
// a study of 10^8 events (0.8 GB per column) does not need that much RAM.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace tachyon::trigger {

class ScoreColumn {
public:
    ScoreColumn();                                   // the limit of defaultMemoryValues()
    explicit ScoreColumn(size_t memoryValues);       // values kept in memory before moving to disk
    ScoreColumn(const double* begin, const double* end);
    ScoreColumn(const ScoreColumn& other);
    ScoreColumn(ScoreColumn&& other) noexcept;
    ScoreColumn& operator=(ScoreColumn other) noexcept;
    ~ScoreColumn();

    void push_back(double v);
    void append(std::span<const double> values);
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    bool onDisk() const { return fd_ >= 0; }

    // Contiguous values (a mapping of the file once on disk). Valid until the next append.
    const double* data() const;
    double* mutableData();
    const double* begin() const { return data(); }
    const double* end() const { return data() + size_; }
    double operator[](size_t i) const { return data()[i]; }

    // Values per column kept in memory: TACHYON_SCORES_IN_MEMORY when set (tests force a
    // small one), else 8M (64 MB).
    static size_t defaultMemoryValues();

private:
    void moveToDisk();
    void flush() const;
    void unmap() const;
    friend void swap(ScoreColumn& a, ScoreColumn& b) noexcept;

    size_t memoryValues_;
    size_t size_ = 0;
    // In memory: all values. On disk: the values not yet written to the file.
    mutable std::vector<double> buffer_;
    int fd_ = -1;
    mutable size_t written_ = 0;   // values in the file
    mutable double* map_ = nullptr;
    mutable size_t mapped_ = 0;    // values the mapping covers
};

// A copy of `values` sorted ascending, on disk beyond the memory limit like any column.
ScoreColumn sortedCopy(std::span<const double> values);

}  // namespace tachyon::trigger
