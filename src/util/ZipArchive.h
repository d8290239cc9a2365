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

private:
    [[noreturn]] void fail(const std::string& what) const;
    std::string path_;
    zip* zip_ = nullptr;
};

}  // namespace tachyon
