// Tensors as the protocol carries them: a datatype name (FP32, INT64, ...), a shape and
// values, held here as doubles (the emulator's input and output type); raw bytes are
// little-endian, row-major, as KServe's binary extension and gRPC raw contents define.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tachyon::serve {

// Triton's shared memory parameters (shared_memory_region, _offset, _byte_size): the
// tensor's bytes are in a registered region rather than in the request or response.
struct SharedRef {
    std::string region;   // empty: not in shared memory
    size_t offset = 0, byteSize = 0;
    bool used() const { return !region.empty(); }
};

struct Tensor {
    std::string name, datatype;
    std::vector<int64_t> shape;
    std::vector<double> values;
    SharedRef shm;   // an input whose values are still to be read from shared memory
};

// Bytes per element; throws ServeError(InvalidArgument) for types the server does not
// serve (BYTES, BOOL, FP16, BF16) or unknown names.
size_t datatypeSize(const std::string& datatype, const std::string& what);
// Elements of a shape; throws for negative dimensions or more than `limit` elements.
size_t elementCount(const std::vector<int64_t>& shape, const std::string& what, size_t limit = size_t(1) << 32);
std::vector<double> decodeRaw(const std::string& datatype, const char* data, size_t bytes, size_t elements,
                              const std::string& what);
std::string encodeRaw(const std::string& datatype, const std::vector<double>& values);
// The same bytes written into `out` (a protobuf field, say), saving a copy of the tensor.
void encodeRawInto(const std::string& datatype, const std::vector<double>& values, std::string& out);
// Every value as the datatype holds it (FP32 rounds to float, integers truncate and
// clamp); the datatype is looked up once, not per value.
void castAll(const std::string& datatype, std::vector<double>& values);
// The index of the first NaN or infinite value, or n when all are finite.
size_t firstNonFinite(const double* values, size_t n);

}  // namespace tachyon::serve
