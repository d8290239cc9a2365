// The Keras layer table: every layer class the reader supports (after canonicalClass's
// aliases) and its handler in layers/. Adding a layer class is a handler and one row here;
// the reader names every class missing from this table in its error.
#include "frontends/keras/KerasReader.h"

namespace tachyon::kerasfe {

const std::vector<KerasLayerClass>& KerasReader::layerTable() {
    using R = KerasReader;
    static const std::vector<KerasLayerClass> table = {
        {"InputLayer", false, nullptr},   // read by the walk (KerasReader::read)
        // layers/Dense.cpp, layers/Conv.cpp
        {"Dense", false, &R::denseLayer},
        {"QDense", false, &R::quantDenseLayer},
        {"BinaryDense", false, &R::quantDenseLayer},
        {"TernaryDense", false, &R::quantDenseLayer},
        {"Conv1D", false, &R::convLayer},
        {"Conv2D", false, &R::convLayer},
        {"DepthwiseConv1D", false, &R::convLayer},
        {"DepthwiseConv2D", false, &R::convLayer},
        {"SeparableConv1D", false, &R::convLayer},
        {"SeparableConv2D", false, &R::convLayer},
        {"QConv1D", false, &R::quantConvLayer},
        {"QConv2D", false, &R::quantConvLayer},
        {"QDepthwiseConv2D", false, &R::quantConvLayer},
        {"QSeparableConv1D", false, &R::quantConvLayer},
        {"QSeparableConv2D", false, &R::quantConvLayer},
        // layers/Pooling.cpp
        {"MaxPooling1D", false, &R::poolingLayer},
        {"MaxPooling2D", false, &R::poolingLayer},
        {"AveragePooling1D", false, &R::poolingLayer},
        {"AveragePooling2D", false, &R::poolingLayer},
        {"GlobalMaxPooling1D", false, &R::poolingLayer},
        {"GlobalMaxPooling2D", false, &R::poolingLayer},
        {"GlobalAveragePooling1D", false, &R::poolingLayer},
        {"GlobalAveragePooling2D", false, &R::poolingLayer},
        {"QAveragePooling2D", false, &R::quantAveragePoolingLayer},
        // layers/Normalization.cpp
        {"BatchNormalization", false, &R::batchNormLayer},
        {"QBatchNormalization", false, &R::batchNormLayer},
        {"LayerNormalization", false, &R::layerNormLayer},
        // layers/Activations.cpp
        {"Activation", false, &R::activationLayer},
        {"QActivation", false, &R::quantActivationLayer},
        {"ReLU", false, &R::reluLayer},
        {"LeakyReLU", false, &R::leakyReluOrEluLayer},
        {"ELU", false, &R::leakyReluOrEluLayer},
        {"Softmax", false, &R::softmaxLayer},
        // layers/Quant.cpp (HGQ)
        {"FixedPointQuantizer", false, &R::fixedPointQuantizerLayer},
        // layers/ShapeOps.cpp
        {"Flatten", false, &R::flattenLayer},
        {"Reshape", false, &R::reshapeLayer},
        {"Permute", false, &R::permuteLayer},
        {"ZeroPadding1D", false, &R::zeroPaddingLayer},
        {"ZeroPadding2D", false, &R::zeroPaddingLayer},
        {"UpSampling1D", false, &R::upSamplingLayer},
        {"UpSampling2D", false, &R::upSamplingLayer},
        {"Add", true, &R::mergeLayer},
        {"Subtract", true, &R::mergeLayer},
        {"Multiply", true, &R::mergeLayer},
        {"Average", true, &R::mergeLayer},
        {"Maximum", true, &R::mergeLayer},
        {"Minimum", true, &R::mergeLayer},
        {"Concatenate", true, &R::concatenateLayer},
        {"Dropout", false, &R::identityLayer},
        {"SpatialDropout1D", false, &R::identityLayer},
        {"SpatialDropout2D", false, &R::identityLayer},
        {"GaussianNoise", false, &R::identityLayer},
        {"GaussianDropout", false, &R::identityLayer},
        {"AlphaDropout", false, &R::identityLayer},
        // layers/Attention.cpp (functional models: read by the walk), layers/Recurrent.cpp,
        // layers/GarNet.cpp
        {"MultiHeadAttention", false, &R::sequentialAttentionLayer},
        {"SimpleRNN", false, &R::recurrentLayer},
        {"LSTM", false, &R::recurrentLayer},
        {"GRU", false, &R::recurrentLayer},
        {"GarNet", true, &R::garnetLayer},
        {"GarNetStack", true, &R::garnetLayer},
    };
    return table;
}

const KerasLayerClass* KerasReader::findClass(const std::string& cls) {
    for (const KerasLayerClass& row : layerTable())
        if (cls == row.cls) return &row;
    return nullptr;
}

}  // namespace tachyon::kerasfe
