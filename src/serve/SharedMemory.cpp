#include "serve/SharedMemory.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tachyon::serve {

namespace {

[[noreturn]] void bad(const std::string& msg) { throw ServeError(Code::InvalidArgument, msg); }

}  // namespace

// The object is mapped from its start (mmap wants page-aligned offsets) through
// offset + byteSize; `base` points at the region's first byte.
struct SharedMemoryRegistry::Mapping {
    RegionStatus info;
    void* addr = MAP_FAILED;
    size_t mappedBytes = 0;
    char* base = nullptr;
    ~Mapping() {
        if (addr != MAP_FAILED) munmap(addr, mappedBytes);
    }
};

void SharedMemoryRegistry::add(const std::string& name, const std::string& key, size_t offset, size_t byteSize) {
    if (name.empty()) bad("a shared memory region needs a name");
    if (key.empty()) bad("shared memory region '" + name + "': the key is empty");
    if (byteSize == 0) bad("shared memory region '" + name + "': byte_size must be above 0");
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (regions_.count(name)) bad("shared memory region '" + name + "' is already registered");
    }
    const std::string what = "shared memory region '" + name + "' (key '" + key + "')";
    const int fd = shm_open(key.c_str(), O_RDWR, 0);
    if (fd < 0) bad(what + ": cannot open the shared memory object: " + std::strerror(errno));
    struct stat st {};
    const bool statOk = fstat(fd, &st) == 0;
    const size_t objectBytes = statOk ? size_t(st.st_size) : 0;
    if (!statOk || offset > objectBytes || byteSize > objectBytes - offset) {
        close(fd);
        bad(what + ": offset " + std::to_string(offset) + " + byte_size " + std::to_string(byteSize) +
            " exceeds the object's " + std::to_string(objectBytes) + " bytes");
    }
    auto m = std::make_shared<Mapping>();
    m->info = {name, key, offset, byteSize};
    m->mappedBytes = offset + byteSize;
    m->addr = mmap(nullptr, m->mappedBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int mapErrno = errno;
    close(fd);
    if (m->addr == MAP_FAILED) bad(what + ": cannot map it: " + std::strerror(mapErrno));
    m->base = static_cast<char*>(m->addr) + offset;
    std::lock_guard<std::mutex> lk(mu_);
    if (!regions_.emplace(name, std::move(m)).second) bad("shared memory region '" + name + "' is already registered");
}

void SharedMemoryRegistry::remove(const std::string& name) {
    std::lock_guard<std::mutex> lk(mu_);
    if (name.empty()) regions_.clear();
    else regions_.erase(name);
}

std::vector<RegionStatus> SharedMemoryRegistry::status(const std::string& name) const {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<RegionStatus> out;
    for (const auto& [n, m] : regions_)
        if (name.empty() || n == name) out.push_back(m->info);
    if (!name.empty() && out.empty())
        throw ServeError(Code::NotFound, "no shared memory region named '" + name + "' is registered");
    return out;
}

std::shared_ptr<const SharedMemoryRegistry::Mapping> SharedMemoryRegistry::find(const std::string& name) const {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = regions_.find(name);
    if (it == regions_.end()) bad("no shared memory region named '" + name + "' is registered");
    return it->second;
}

namespace {

// The [offset, offset + bytes) window of a region, checked against its registered size.
char* window(const RegionStatus& r, char* base, const SharedRef& ref, const std::string& what) {
    if (ref.offset > r.byteSize || ref.byteSize > r.byteSize - ref.offset)
        bad(what + ": shared memory offset " + std::to_string(ref.offset) + " + byte size " +
            std::to_string(ref.byteSize) + " runs past region '" + r.name + "' (" + std::to_string(r.byteSize) +
            " bytes)");
    return base + ref.offset;
}

}  // namespace

void SharedMemoryRegistry::readInputs(InferRequest& rq) const {
    for (Tensor& t : rq.inputs) {
        if (!t.shm.used()) continue;
        const std::string what = "input '" + t.name + "'";
        const auto m = find(t.shm.region);
        const char* p = window(m->info, m->base, t.shm, what);
        t.values = decodeRaw(t.datatype, p, t.shm.byteSize, elementCount(t.shape, what), what);
        t.shm = SharedRef{};
    }
}

void SharedMemoryRegistry::writeOutput(const InferRequest& rq, InferResponse& r) const {
    for (const RequestedOutput& o : rq.outputs) {
        if (!o.shm.used() || o.name != r.output.name) continue;
        const std::string what = "output '" + o.name + "'";
        const std::string bytes = encodeRaw(r.output.datatype, r.output.values);
        if (bytes.size() > o.shm.byteSize)
            bad(what + ": " + std::to_string(bytes.size()) + " bytes do not fit its shared memory byte size " +
                std::to_string(o.shm.byteSize));
        const auto m = find(o.shm.region);
        std::memcpy(window(m->info, m->base, o.shm, what), bytes.data(), bytes.size());
        r.outputShm = o.shm;
        r.outputShm.byteSize = bytes.size();
    }
}

void refuseCudaSharedMemory(const std::string& call) {
    throw ServeError(Code::Unsupported, "CUDA shared memory " + call +
                                            ": not supported by this server (no CUDA: tachyon serve runs on CPU); "
                                            "use system shared memory or send the tensors in the request");
}

}  // namespace tachyon::serve
