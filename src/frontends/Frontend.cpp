#include "frontends/Frontend.h"

#include "frontends/trees/Frontends.h"
#include "util/Error.h"

#include <algorithm>
#include <filesystem>

namespace tachyon {

Graph readModel(const std::string& path, const std::string& weightsPath) {
    namespace fs = std::filesystem;
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!fs::exists(path)) throw Error(path + ": file not found");
    const bool binary = ext == ".onnx" || ext == ".h5" || ext == ".hdf5" || ext == ".keras" || ext == ".pt" || ext == ".pth";
    if (!binary && trees::detectTreeFormat(path) != trees::TreeFormat::None) {
        if (!weightsPath.empty()) throw Error(path + ": weights: a tree ensemble takes no separate weights file");
        return loadTreeModel(path);
    }
    if (!weightsPath.empty() && ext != ".json")
        throw Error(path + ": weights: only a Keras architecture .json takes a separate weights file (" +
                    weightsPath + ")");
    if (ext == ".onnx") return loadOnnx(path);
    if (ext == ".json") {
        // Convention of the hls4ml example models: <stem>.json + <stem>_weights.h5.
        std::string weights = weightsPath;
        if (weights.empty()) {
            fs::path p(path);
            weights = (p.parent_path() / (p.stem().string() + "_weights.h5")).string();
        }
        return loadKeras(path, weights);
    }
    if (ext == ".h5" || ext == ".hdf5") return loadKeras(path, "");
    if (ext == ".keras") return loadKeras3(path);
    if (ext == ".pt" || ext == ".pth")
        throw Error(path + ": PyTorch files saved with torch.save cannot be read (they are pickled "
                           "Python objects). Export the model to ONNX instead: "
                           "torch.onnx.export(model, torch.zeros(1, n_inputs), \"model.onnx\"), then load the .onnx file");
    throw Error(path + ": unknown model format '" + ext + "' (expected .onnx, .json (+ weights .h5), .h5 or .keras)");
}

}  // namespace tachyon
