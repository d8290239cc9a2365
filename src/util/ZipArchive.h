// Read-only access to a zip archive (libzip): the Keras 3 `.keras` format is a zip of
// config.json, metadata.json and model.weights.h5. Every failure throws tachyon::Error
// naming the archive and the entry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct zip;

namespace tachyon {

class ZipArchive {
public:
    explicit ZipArchive(const std::string& path);
    ~ZipArchive();
    ZipArchive(const ZipArchive&) = delete;
    ZipArchive& operator=(const ZipArchive&) = delete;

    const std::string& path() const { return path_; }
    std::vector<std::string> entries() const;
    bool contains(const std::string& entry) const;
    // The entry's bytes. `maxBytes` bounds what a corrupt or hostile archive can make us
    // allocate (its declared size is checked first, then the bytes really read).
    std::string read(const std::string& entry, uint64_t maxBytes) const;
    // The entry's bytes written to the open file `fd` (named `fdName` in errors) a block at
    // a time, so memory stays small whatever the entry's size.
    void extractTo(const std::string& entry, uint64_t maxBytes, int fd, const std::string& fdName) const;

    // Entries larger than this must not expand more than kMaxRatio times their compressed
    // size: real weights barely compress; a bomb of zeros expands ~1000 times.
    static constexpr uint64_t kRatioCheckedAbove = uint64_t(64) << 20;
    static constexpr uint64_t kMaxRatio = 100;

private:
    [[noreturn]] void fail(const std::string& what) const;
    // Calls sink(data, n) for each block of the entry after checking its declared sizes;
    // checks the length and CRC at the end.
    template <class Sink>
    void stream(const std::string& entry, uint64_t maxBytes, Sink&& sink) const;
    std::string path_;
    zip* zip_ = nullptr;
};

}  // namespace tachyon
