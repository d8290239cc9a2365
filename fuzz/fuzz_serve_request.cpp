// `tachyon serve`'s HTTP inference body parser: KServe v2 JSON and Triton's binary-tensor
// extension. The first byte chooses whether an Inference-Header-Content-Length is sent
// and the next two its value, so both paths (and lengths past the body) are explored.
#include "FuzzCommon.h"
#include "serve/HttpProtocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    const bool binary = data[0] & 1;
    const long long headerLength = binary ? (long long)(data[1] | (data[2] << 8)) : -1;
    const std::string body(reinterpret_cast<const char*>(data) + 3, size - 3);
    return tachyon::fuzz::expectOnlyTachyonErrors([&] {
        const auto rq = tachyon::serve::parseHttpInfer(body, headerLength, "m", "");
        // What the parser accepted must be encodable back (every datatype it let through).
        for (const auto& t : rq.inputs) tachyon::serve::encodeRaw(t.datatype, t.values);
    });
}
