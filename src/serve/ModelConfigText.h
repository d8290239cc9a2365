// Reads Triton's config.pbtxt (protobuf text format of inference.ModelConfig,
// proto/model_config.proto). Fields this server does not know are warnings, not errors,
// so a repository written for Triton loads; syntax errors and wrong value types throw
// tachyon::Error naming the file, line and column.
#pragma once

#include "model_config.pb.h"

#include <string>
#include <vector>

namespace tachyon::serve {

inference::ModelConfig parseModelConfig(const std::string& text, const std::string& source,
                                        std::vector<std::string>& warnings);

// "TYPE_FP32" -> "FP32" (the protocol's datatype names); "" for TYPE_INVALID/unknown.
std::string protocolDatatype(inference::DataType t);

}  // namespace tachyon::serve
