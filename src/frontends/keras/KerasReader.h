// The Keras reader (frontends/keras/): the architecture JSON (Keras 2 .json / .h5
// `model_config`, or a Keras 3 archive's config.json), the weights from HDF5, and the walk
// over the layer list that hands every layer to the handler its class has in the layer
// table (LayerTable.cpp). The handlers live in layers/, one file per layer family.
// Keras 2: the weights are read from the HDF5 layout of save_weights()/save():
// [model_weights/]<layer>/<weight_name>, where the layer group's `weight_names` attribute
// lists e.g. "fc1/kernel:0". Keras 3 (`.keras`): see Keras3Layout.
#pragma once

#include "frontends/GraphBuilder.h"
#include "frontends/Hdf5File.h"
#include "frontends/QuantizerMath.h"
#include "frontends/keras/Keras3Layout.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

// One layer's weights: short name ("kernel", "bias", "gamma", ...) -> dataset path.
using WeightIndex = std::map<std::string, std::string>;

// One layer as its handler sees it: its (canonical) class, name, config, and the Tachyon layers
// holding its inputs.
struct LayerCall {
    const std::string& cls;
    const std::string& name;
    const json& cfg;
    const std::vector<std::string>& ins;
};

class KerasReader;

// One row of the layer table: the Keras class, whether it reads several inputs (merges,
// GarNet) rather than exactly one, and its handler, which returns the Tachyon layer holding
// the layer's output (nullptr for InputLayer, which the walk itself reads).
struct KerasLayerClass {
    const char* cls;
    bool multiInput;
    std::string (KerasReader::*handle)(const LayerCall&);
};

class KerasReader {
public:
    KerasReader(const json& arch, const std::string& archFile, Hdf5File& weights, bool keras3 = false)
        : arch_(arch), archFile_(archFile), h5_(weights), b_(modelName(arch, archFile), archFile) {
        root_ = h5_.exists("model_weights") ? "model_weights" : "";
        if (keras3) keras3_.emplace(layerList(), isSequential());
    }

    Graph read();

private:
    // The Keras model name, unless it is one Keras made up ("model_1", "sequential"):
    // then the file stem says more.
    static std::string modelName(const json& arch, const std::string& file) {
        if (arch.is_object() && arch.contains("config")) {
            const json& c = arch["config"];
            if (c.is_object() && c.contains("name") && c["name"].is_string()) {
                const std::string name = c["name"];
                static const std::regex generated("(model|sequential|functional)(_[0-9]+)?");
                if (!name.empty() && !std::regex_match(name, generated)) return name;
            }
        }
        return std::filesystem::path(file).stem().string();
    }
    [[noreturn]] void fail(const std::string& layer, const std::string& cls, const std::string& why) const {
        b_.fail("layer '" + layer + "' (" + cls + "): " + why);
    }

    const json& layerList() const;
    bool isSequential() const { return arch_.value("class_name", "") == "Sequential" || arch_["config"].is_array(); }
    static std::string layerName(const json& l);
    static const json& config(const json& l) {
        static const json empty = json::object();
        return l.contains("config") && l["config"].is_object() ? l["config"] : empty;
    }
    std::vector<std::string> inboundLayers(const json& l) const;
    std::vector<std::string> outputLayers() const;
    Shape perSampleShape(const json& cfg, const std::string& layer) const;

    WeightIndex weightsOf(const std::string& layer) const;
    WeightIndex keras3WeightsOf(const std::string& layer) const;
    std::vector<double> weight(const WeightIndex& w, const std::string& layer, const std::string& key,
                               std::vector<size_t>& dims) const;
    std::vector<double> optionalBias(const json& cfg, const WeightIndex& w, const std::string& name,
                                     const std::string& cls, int n) const;

    // Integer or list attribute with `rank` entries (Keras accepts both).
    std::vector<int> ints(const json& cfg, const char* key, int rank, int dflt, const std::string& name,
                          const std::string& cls) const;
    // Zero padding of a windowed op from Keras' `padding` ("valid", "same", "causal").
    void windowPadding(const json& cfg, const Shape& in, const std::vector<int>& k, const std::vector<int>& s,
                       const std::vector<int>& d, std::vector<int>& pb, std::vector<int>& pe,
                       const std::string& name, const std::string& cls) const;
    void channelsLast(const json& cfg, const std::string& name, const std::string& cls) const;

    std::string activation(const std::string& name, const std::string& in, const std::string& act,
                           const std::string& layer, const std::string& cls);
    // Hands a layer to its class's handler (the layer table, LayerTable.cpp).
    std::string layer(const std::string& cls, const std::string& name, const json& cfg,
                      const std::vector<std::string>& ins);
    static const std::vector<KerasLayerClass>& layerTable();
    static const KerasLayerClass* findClass(const std::string& cls);

    // The layer table's handlers (layers/*.cpp): one per Keras layer class or family.
    std::string mergeLayer(const LayerCall& c);
    std::string concatenateLayer(const LayerCall& c);
    std::string garnetLayer(const LayerCall& c);
    std::string recurrentLayer(const LayerCall& c);
    std::string denseLayer(const LayerCall& c);
    std::string quantDenseLayer(const LayerCall& c);
    std::string convLayer(const LayerCall& c);
    std::string quantConvLayer(const LayerCall& c);
    std::string poolingLayer(const LayerCall& c);
    std::string quantAveragePoolingLayer(const LayerCall& c);
    std::string batchNormLayer(const LayerCall& c);
    std::string layerNormLayer(const LayerCall& c);
    std::string activationLayer(const LayerCall& c);
    std::string quantActivationLayer(const LayerCall& c);
    std::string reluLayer(const LayerCall& c);
    std::string leakyReluOrEluLayer(const LayerCall& c);
    std::string softmaxLayer(const LayerCall& c);
    std::string fixedPointQuantizerLayer(const LayerCall& c);
    std::string zeroPaddingLayer(const LayerCall& c);
    std::string upSamplingLayer(const LayerCall& c);
    std::string flattenLayer(const LayerCall& c);
    std::string reshapeLayer(const LayerCall& c);
    std::string permuteLayer(const LayerCall& c);
    std::string identityLayer(const LayerCall& c);
    std::string sequentialAttentionLayer(const LayerCall& c);
    // The `activation` of a layer config: a Keras name or a QKeras quantiser.
    std::string cfgActivation(const json& cfg, const std::string& name, const std::string& out, const std::string& cls);
    std::string dense(const json& cfg, const std::string& name, const std::string& in);
    std::string conv(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string pooling(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string batchNorm(const json& cfg, const std::string& name, const std::string& in);
    std::string layerNorm(const json& cfg, const std::string& name, const std::string& in);
    std::string multiHeadAttention(const json& l, const json& cfg, const std::string& name);
    std::string zeroPadding(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string upSampling(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string reshape(const json& cfg, const std::string& name, const std::string& in);
    std::string recurrent(const json& cfg, const std::string& name, const std::string& cls, const std::string& in);
    std::string garnet(const json& cfg, const std::string& name, const std::string& cls,
                       const std::vector<std::string>& ins);
    // Quantisation-aware training (QuantizerMath.h).
    std::vector<double> quantized(const json& cfg, const char* quantizerKey, std::vector<double> values,
                                  const std::vector<size_t>& dims, const std::string& name, const std::string& cls,
                                  std::optional<FixedType>& type, std::vector<double>* channelScale);
    std::string quantizer(const std::string& name, const std::string& in, const QKerasQuantizer& q);
    std::string thresholdLayer(const std::string& name, const std::string& in, std::vector<double> t,
                               std::vector<int> strict, std::vector<double> levels);
    std::string fixedPointQuantizer(const json& cfg, const std::string& name, const std::string& in);
    std::string qAveragePooling(const json& cfg, const std::string& name, const std::string& in);
    // Marks a MAC layer's weights and bias as trained (exact) types.
    void trainedMac(const std::string& layer, const std::optional<FixedType>& w, const std::optional<FixedType>& b);
    bool hgq_ = false;   // the model holds HGQ FixedPointQuantizer layers

    const json& arch_;
    std::string archFile_;
    Hdf5File& h5_;
    GraphBuilder b_;
    std::string root_;
    std::optional<Keras3Layout> keras3_;   // set when reading a Keras 3 .keras archive
    // Keras layer name -> the Tachyon layer holding its output (removed layers alias
    // their producer; a layer with an activation maps to the activation layer).
    std::map<std::string, std::string> outputOf_;
};


}  // namespace tachyon::kerasfe
