// QONNX's channels-last domain (`qonnx.custom_op.channels_last`, written by QONNX's
// ConvertToChannelsLastAndClean and read by hls4ml): Conv, MaxPool, AveragePool and
// BatchNormalization nodes whose data tensors are [N, spatial..., C] instead of ONNX's
// [N, C, spatial...], and whose Conv weight is [O, k..., C/group] (QONNX transposes the
// weight together with the data; hls4ml reads it in that layout).
#pragma once

#include <string>

namespace onnx {
class ModelProto;
}

namespace tachyon {

// Rewrites every channels-last node into standard ONNX with the same meaning: a Transpose
// of its data input to channels-first, the standard node, a Transpose of its output back.
// A Conv weight (an initializer, a Constant, or a QONNX quantiser of one) is replaced by a
// channels-first copy. The frontend's Transposes only relabel axes, so nothing moves at run
// time. Throws an Error naming `path`, the node and the reason for what it cannot rewrite.
void lowerChannelsLastNodes(onnx::ModelProto& model, const std::string& path);

}  // namespace tachyon
