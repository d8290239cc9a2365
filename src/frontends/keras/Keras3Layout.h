// Keras 3 `.keras` archives keep each layer's weights under its class name, not its name
// (Keras3Layout, below); KerasReader asks it where a layer's variables are.
#pragma once

#include <nlohmann/json.hpp>

#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace tachyon::kerasfe {

using nlohmann::json;

// Keras class aliases: MaxPool2D is MaxPooling2D, Convolution2D is Conv2D, ...
std::string canonicalClass(const std::string& cls);

// Where Keras 3's model.weights.h5 keeps each layer's variables (read from Keras 3's
// saving_lib.py and the layers' build()): a layer is addressed not by its name but by its
// class name in snake case, numbered in the order of model.layers when a class repeats
// ("layers/dense", "layers/dense_1", "layers/q_dense"); its variables are the datasets
// vars/0, vars/1, ... in the order the layer created them, trainable ones first (an RNN
// layer's are its cell's: "layers/lstm/cell/vars"). Sequential's model.layers leaves out
// the InputLayer, Functional's keeps it.
class Keras3Layout {
public:
    struct Entry {
        std::string cls;
        std::string varsGroup;              // e.g. "layers/lstm/cell/vars"
        std::vector<std::string> names;     // Keras 2 short names of vars/0, vars/1, ...
        bool known = true;                  // false: a class whose variable order we do not know
    };

    Keras3Layout(const json& layers, bool sequential) {
        std::map<std::string, int> used;
        for (const json& l : layers) {
            if (!l.is_object()) continue;
            const std::string cls = l.value("class_name", "");
            if (sequential && cls == "InputLayer") continue;
            std::string group = snakeCase(cls);
            auto [it, fresh] = used.emplace(group, 0);
            if (!fresh) group += "_" + std::to_string(++it->second);
            const json& cfg = l.contains("config") && l["config"].is_object() ? l["config"] : json::object();
            const std::string name = cfg.contains("name") && cfg["name"].is_string() ? cfg["name"].get<std::string>() : "";
            Entry e;
            e.cls = canonicalClass(cls);
            const bool recurrent = e.cls == "SimpleRNN" || e.cls == "LSTM" || e.cls == "GRU";
            e.varsGroup = "layers/" + group + (recurrent ? "/cell/vars" : "/vars");
            e.known = variableNames(e.cls, cfg, e.names);
            byName_[name] = e;
        }
    }
    const Entry* find(const std::string& layer) const {
        auto it = byName_.find(layer);
        return it == byName_.end() ? nullptr : &it->second;
    }

private:
    // Keras' naming.to_snake_case: "QDense" -> "q_dense", "Conv2D" -> "conv2d".
    static std::string snakeCase(const std::string& cls) {
        std::string s = std::regex_replace(cls, std::regex("[^A-Za-z0-9_]+"), "");
        s = std::regex_replace(s, std::regex("(.)([A-Z][a-z]+)"), "$1_$2");
        s = std::regex_replace(s, std::regex("([a-z])([A-Z])"), "$1_$2");
        for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
    static bool flag(const json& cfg, const char* key, bool dflt) {
        return cfg.contains(key) && cfg[key].is_boolean() ? cfg[key].get<bool>() : dflt;
    }
    static bool variableNames(const std::string& cls, const json& cfg, std::vector<std::string>& names) {
        const bool bias = flag(cfg, "use_bias", true);
        auto withBias = [&](std::vector<std::string> v) {
            if (bias) v.push_back("bias");
            return v;
        };
        static const std::set<std::string> kernelBias = {"Dense", "QDense", "BinaryDense", "TernaryDense", "Conv1D", "Conv2D", "QConv1D", "QConv2D"};
        if (kernelBias.count(cls)) names = withBias({"kernel"});
        else if (cls == "DepthwiseConv1D" || cls == "DepthwiseConv2D" || cls == "QDepthwiseConv2D")
            names = withBias({"depthwise_kernel"});
        else if (cls == "SeparableConv1D" || cls == "SeparableConv2D" || cls == "QSeparableConv1D" ||
                 cls == "QSeparableConv2D")
            names = withBias({"depthwise_kernel", "pointwise_kernel"});
        else if (cls == "SimpleRNN" || cls == "LSTM" || cls == "GRU")
            names = withBias({"kernel", "recurrent_kernel"});
        else if (cls == "BatchNormalization" || cls == "QBatchNormalization") {
            if (flag(cfg, "scale", true)) names.push_back("gamma");
            if (flag(cfg, "center", true)) names.push_back("beta");
            names.insert(names.end(), {"moving_mean", "moving_variance"});
        } else if (cls == "LayerNormalization") {
            if (flag(cfg, "scale", true)) names.push_back("gamma");
            if (flag(cfg, "center", true)) names.push_back("beta");
        } else {
            return false;
        }
        return true;
    }
    std::map<std::string, Entry> byName_;
};


}  // namespace tachyon::kerasfe
