#include "util/ZipArchive.h"

#include "util/Error.h"

#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <unistd.h>
#include <vector>

namespace tachyon {

ZipArchive::ZipArchive(const std::string& path) : path_(path) {
    int code = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!zip_) {
        zip_error_t err;
        zip_error_init_with_code(&err, code);
        const std::string why = zip_error_strerror(&err);
        zip_error_fini(&err);
        fail("cannot open as a zip archive (" + why + ")");
    }
}

ZipArchive::~ZipArchive() {
    if (zip_) zip_discard(zip_);   // read-only: nothing to write back
}

void ZipArchive::fail(const std::string& what) const { throw Error(path_ + ": " + what); }

std::vector<std::string> ZipArchive::entries() const {
    std::vector<std::string> out;
    const zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i)
        if (const char* name = zip_get_name(zip_, zip_uint64_t(i), 0)) out.emplace_back(name);
    return out;
}

bool ZipArchive::contains(const std::string& entry) const { return zip_name_locate(zip_, entry.c_str(), 0) >= 0; }

template <class Sink>
void ZipArchive::stream(const std::string& entry, uint64_t maxBytes, Sink&& sink) const {
    const zip_int64_t index = zip_name_locate(zip_, entry.c_str(), 0);
    if (index < 0) fail("no entry '" + entry + "' in the archive");
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_, zip_uint64_t(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        fail("entry '" + entry + "': cannot read its size (" + zip_strerror(zip_) + ")");
    if (st.size > maxBytes)
        fail("entry '" + entry + "' declares " + std::to_string(st.size) + " bytes, more than the " +
             std::to_string(maxBytes) + " accepted");
    if (st.size > kRatioCheckedAbove && (st.valid & ZIP_STAT_COMP_SIZE) && st.size / kMaxRatio > st.comp_size)
        fail("entry '" + entry + "' declares " + std::to_string(st.size) + " bytes from " +
             std::to_string(st.comp_size) + " compressed, more than " + std::to_string(kMaxRatio) +
             " times: no model compresses so well (a zip bomb?)");
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(zip_, zip_uint64_t(index), 0), zip_fclose);
    if (!f) fail("entry '" + entry + "': cannot open (" + zip_strerror(zip_) + ")");
    std::vector<char> block(size_t(1) << 20);
    uint64_t got = 0;
    while (got < st.size) {
        const zip_int64_t r = zip_fread(f.get(), block.data(), std::min<uint64_t>(block.size(), st.size - got));
        if (r < 0) fail("entry '" + entry + "': corrupt data (" + zip_file_strerror(f.get()) + ")");
        if (r == 0) break;
        sink(block.data(), size_t(r));
        got += uint64_t(r);
    }
    // libzip checks the CRC at the end of the entry: one more read must report end of data.
    char extra;
    if (got != st.size || zip_fread(f.get(), &extra, 1) != 0)
        fail("entry '" + entry + "': holds " + std::to_string(got) + " bytes, not the " + std::to_string(st.size) +
             " it declares, or fails its CRC check");
}

std::string ZipArchive::read(const std::string& entry, uint64_t maxBytes) const {
    std::string bytes;
    stream(entry, maxBytes, [&](const char* data, size_t n) { bytes.append(data, n); });
    return bytes;
}

void ZipArchive::extractTo(const std::string& entry, uint64_t maxBytes, int fd, const std::string& fdName) const {
    stream(entry, maxBytes, [&](const char* data, size_t n) {
        while (n > 0) {
            const ssize_t w = ::write(fd, data, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0)
                fail("entry '" + entry + "': cannot write it to " + fdName + " (" +
                     (w < 0 && errno == ENOSPC ? std::string("disk full") : std::string(std::strerror(errno))) + ")");
            data += w;
            n -= size_t(w);
        }
    });
}

}  // namespace tachyon
