// Triton's config.pbtxt reader (protobuf text format of inference.ModelConfig, with
// unknown fields as warnings).
#include "FuzzCommon.h"
#include "serve/ModelConfigText.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> warnings;
    return tachyon::fuzz::expectOnlyTachyonErrors(
        [&] { tachyon::serve::parseModelConfig(text, "config.pbtxt", warnings); });
}
