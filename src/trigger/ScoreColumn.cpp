#include "trigger/ScoreColumn.h"

#include "util/Error.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tachyon::trigger {

namespace {

constexpr size_t kDefaultMemoryValues = size_t(8) << 20;
constexpr size_t kWriteBlock = size_t(1) << 16;   // values written to the file at once

std::string systemError() { return std::strerror(errno); }

// TMPDIR, else /tmp (read here: std::filesystem::temp_directory_path throws a bare
// filesystem_error for a missing TMPDIR).
std::string scratchDir() {
    const char* env = std::getenv("TMPDIR");
    return env && *env ? env : "/tmp";
}

}  // namespace

size_t ScoreColumn::defaultMemoryValues() {
    const char* env = std::getenv("TACHYON_SCORES_IN_MEMORY");
    if (!env || !*env) return kDefaultMemoryValues;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (*end != '\0') throw Error(std::string("TACHYON_SCORES_IN_MEMORY: '") + env + "' is not a number of values");
    return size_t(v);
}

ScoreColumn::ScoreColumn() : memoryValues_(defaultMemoryValues()) {}

ScoreColumn::ScoreColumn(size_t memoryValues) : memoryValues_(memoryValues) {}

ScoreColumn::ScoreColumn(const double* begin, const double* end) : ScoreColumn() {
    append({begin, size_t(end - begin)});
}

ScoreColumn::ScoreColumn(const ScoreColumn& other) : ScoreColumn(other.memoryValues_) {
    append({other.data(), other.size()});
}

ScoreColumn::ScoreColumn(ScoreColumn&& other) noexcept : memoryValues_(other.memoryValues_) { swap(*this, other); }

ScoreColumn& ScoreColumn::operator=(ScoreColumn other) noexcept {
    swap(*this, other);
    return *this;
}

void swap(ScoreColumn& a, ScoreColumn& b) noexcept {
    using std::swap;
    swap(a.memoryValues_, b.memoryValues_);
    swap(a.size_, b.size_);
    swap(a.buffer_, b.buffer_);
    swap(a.fd_, b.fd_);
    swap(a.written_, b.written_);
    swap(a.map_, b.map_);
    swap(a.mapped_, b.mapped_);
}

ScoreColumn::~ScoreColumn() {
    unmap();
    if (fd_ >= 0) ::close(fd_);
}

void ScoreColumn::push_back(double v) {
    if (!onDisk() && size_ + 1 > memoryValues_) moveToDisk();
    buffer_.push_back(v);
    ++size_;
    if (onDisk() && buffer_.size() >= kWriteBlock) flush();
}

void ScoreColumn::append(std::span<const double> values) {
    if (!onDisk() && size_ + values.size() > memoryValues_) moveToDisk();
    for (size_t at = 0; at < values.size();) {
        const size_t n = onDisk() ? std::min(values.size() - at, kWriteBlock) : values.size() - at;
        buffer_.insert(buffer_.end(), values.begin() + long(at), values.begin() + long(at + n));
        size_ += n;
        at += n;
        if (onDisk() && buffer_.size() >= kWriteBlock) flush();
    }
}

// The file is unlinked as soon as it is made: it disappears with the process, however it ends.
void ScoreColumn::moveToDisk() {
    const std::string dir = scratchDir();
    std::string pattern = (fs::path(dir) / "tachyon_scores_XXXXXX").string();
    fd_ = ::mkstemp(pattern.data());
    if (fd_ < 0)
        throw Error("trigger: cannot create a temporary score file in " + dir + " (TMPDIR): " + systemError() +
                    " (scores beyond TACHYON_SCORES_IN_MEMORY values per column go to disk)");
    ::unlink(pattern.c_str());
    flush();
    buffer_.shrink_to_fit();
}

void ScoreColumn::flush() const {
    if (fd_ < 0 || buffer_.empty()) return;
    const char* p = reinterpret_cast<const char*>(buffer_.data());
    size_t left = buffer_.size() * sizeof(double);
    off_t offset = off_t(written_ * sizeof(double));
    while (left > 0) {
        const ssize_t n = ::pwrite(fd_, p, left, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw Error("trigger: cannot write the temporary score file in " + scratchDir() + " (TMPDIR): " +
                        systemError() + " (disk full? set TMPDIR to a folder with space)");
        p += n;
        left -= size_t(n);
        offset += n;
    }
    written_ += buffer_.size();
    buffer_.clear();
}

void ScoreColumn::unmap() const {
    if (map_) ::munmap(map_, mapped_ * sizeof(double));
    map_ = nullptr;
    mapped_ = 0;
}

const double* ScoreColumn::data() const {
    if (!onDisk()) return buffer_.data();
    flush();
    if (mapped_ != written_) {
        unmap();
        if (written_ == 0) return nullptr;
        void* m = ::mmap(nullptr, written_ * sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
        if (m == MAP_FAILED) throw Error("trigger: cannot map the temporary score file (" + systemError() + ")");
        map_ = static_cast<double*>(m);
        mapped_ = written_;
    }
    return map_;
}

double* ScoreColumn::mutableData() { return const_cast<double*>(data()); }

ScoreColumn sortedCopy(std::span<const double> values) {
    ScoreColumn sorted;
    sorted.append(values);
    double* d = sorted.mutableData();
    std::sort(d, d + sorted.size());
    return sorted;
}

}  // namespace tachyon::trigger
