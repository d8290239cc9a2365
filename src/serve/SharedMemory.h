// Triton's system shared memory extension: clients register POSIX shared memory objects
// (shm_open keys) under region names, then send inputs and receive outputs through them
// by naming a region, an offset and a byte size instead of carrying the bytes. The
// registry maps each region once; a region unregistered while a request still uses it
// stays mapped until that request is done.
#pragma once

#include "serve/Infer.h"

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tachyon::serve {

struct RegionStatus {
    std::string name, key;
    size_t offset = 0, byteSize = 0;
};

class SharedMemoryRegistry {
public:
    struct Mapping;   // one mmap of a registered region

    // Throws ServeError(InvalidArgument) when the name is taken, the key cannot be opened
    // or the object is smaller than offset + byteSize.
    void add(const std::string& name, const std::string& key, size_t offset, size_t byteSize);
    // An unknown name is not an error (as Triton); "" unregisters every region.
    void remove(const std::string& name);
    // Every region, or the one named (NotFound when unknown).
    std::vector<RegionStatus> status(const std::string& name) const;

    // Fills the values of inputs that name a region (checking offset and size).
    void readInputs(InferRequest& rq) const;
    // Writes the output into its region when the request asked for one; the response then
    // names the region instead of carrying the bytes.
    void writeOutput(const InferRequest& rq, InferResponse& r) const;

private:
    std::shared_ptr<const Mapping> find(const std::string& name) const;
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<const Mapping>> regions_;
};

// Triton's CUDA shared memory extension needs a GPU and CUDA, which this server has not:
// throws ServeError(Unsupported) naming the call (status, register, unregister).
[[noreturn]] void refuseCudaSharedMemory(const std::string& call);

}  // namespace tachyon::serve
