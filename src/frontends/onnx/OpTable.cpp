// The ONNX op table: every op_type the reader supports, the fewest inputs its nodes need,
// and the handler that maps such a node onto layers. Adding an op is a handler (ops/) and
// one row here; checkOperators names every op_type missing from this table in its error.
#include "frontends/onnx/OnnxReader.h"

namespace tachyon::onnxfe {

const std::vector<OnnxOp>& OnnxReader::opTable() {
    using R = OnnxReader;
    constexpr OpDomain S = OpDomain::Standard, Q = OpDomain::Qonnx;
    static const std::vector<OnnxOp> table = {
        // Read before the walk (readConstants).
        {"Constant", S, 0, nullptr},
        {"Identity", S, 1, &R::passThrough},
        {"Dropout", S, 1, &R::passThrough},
        // ops/Dense.cpp
        {"Gemm", S, 2, &R::gemm},
        {"MatMul", S, 2, &R::matMul},
        {"Slice", S, 1, &R::slice},
        // ops/Elementwise.cpp
        {"Add", S, 2, &R::elementwise},
        {"Sub", S, 2, &R::elementwise},
        {"Mul", S, 2, &R::elementwise},
        {"Div", S, 2, &R::elementwise},
        {"Max", S, 1, &R::elementwise},
        {"Min", S, 1, &R::elementwise},
        {"Sum", S, 1, &R::elementwise},
        {"Mean", S, 1, &R::elementwise},
        // ops/ReducePow.cpp
        {"Pow", S, 2, &R::square},
        {"ReduceSum", S, 1, &R::reduceLastAxis},
        {"ReduceMean", S, 1, &R::reduceLastAxis},
        {"ReduceMax", S, 1, &R::reduceLastAxis},
        // ops/Activations.cpp
        {"Relu", S, 1, &R::activation},
        {"LeakyRelu", S, 1, &R::activation},
        {"Sigmoid", S, 1, &R::activation},
        {"Tanh", S, 1, &R::activation},
        {"HardSigmoid", S, 1, &R::activation},
        {"Elu", S, 1, &R::activation},
        {"Selu", S, 1, &R::activation},
        {"Softplus", S, 1, &R::activation},
        {"Softsign", S, 1, &R::activation},
        {"Clip", S, 1, &R::clip},
        {"Softmax", S, 1, &R::softmax},
        {"Erf", S, 1, &R::erfOutsideGelu},   // Gelu.cpp fuses the Erf of an exact GELU
        // ops/Normalization.cpp
        {"BatchNormalization", S, 5, &R::batchNorm},
        {"LayerNormalization", S, 1, &R::layerNorm},
        // ops/ConvPool.cpp
        {"Conv", S, 2, &R::conv},
        {"MaxPool", S, 1, &R::pooling},
        {"AveragePool", S, 1, &R::pooling},
        {"GlobalMaxPool", S, 1, &R::pooling},
        {"GlobalAveragePool", S, 1, &R::pooling},
        // ops/ShapeOps.cpp
        {"Concat", S, 1, &R::concat},
        {"Pad", S, 1, &R::pad},
        {"Resize", S, 1, &R::resize},
        {"Upsample", S, 2, &R::resize},
        {"Transpose", S, 1, &R::transpose},
        {"Flatten", S, 1, &R::shapeOnly},
        {"Reshape", S, 2, &R::shapeOnly},
        {"Squeeze", S, 1, &R::shapeOnly},
        {"Unsqueeze", S, 1, &R::shapeOnly},
        // ops/Recurrent.cpp (with ShapeArithmetic.cpp for the initial states' sizes)
        {"LSTM", S, 3, &R::recurrentOp},
        {"GRU", S, 3, &R::recurrentOp},
        {"RNN", S, 3, &R::recurrentOp},
        {"Shape", S, 1, &R::recurrentOp},
        {"Gather", S, 2, &R::recurrentOp},
        {"Expand", S, 2, &R::recurrentOp},
        {"ConstantOfShape", S, 1, &R::recurrentOp},
        // ops/Quant.cpp: QONNX custom ops (domains qonnx.custom_op.general, onnx.brevitas,
        // finn.custom_op.general), as exported by Brevitas and QONNX.
        {"Quant", Q, 4, &R::qonnxQuant},
        {"BipolarQuant", Q, 2, &R::qonnxQuant},
        {"Trunc", Q, 5, &R::qonnxTrunc},
        {"MultiThreshold", Q, 2, &R::multiThreshold},
    };
    return table;
}

}  // namespace tachyon::onnxfe
