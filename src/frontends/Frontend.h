// Model frontends: read a trained model file into a tachyon::Graph.
//
// The graph that comes back passes verify(g) and carries the trained double values of
// every weight, bias and BatchNorm scale/shift, but no fixed-point types: the precision
// maps are left empty for the precision pass, which assigns them from the configuration.
//
// Supported inputs (dense-family models, a single chain of layers):
//   .onnx          ONNX (Gemm, MatMul[+Add], Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid,
//                  Clip(0,6), Softmax, BatchNormalization, Identity/Dropout and the
//                  shape-only Flatten/Reshape/Squeeze/Unsqueeze).
//   .json          Keras 2 architecture; weights from `weightsPath`, or when that is empty
//                  from `<stem>_weights.h5` beside the JSON file.
//   .h5 / .hdf5    single-file Keras 2 model (the `model_config` attribute + `model_weights`).
//   .keras         Keras 3 model archive (config.json + model.weights.h5).
//   tree ensembles XGBoost JSON, tachyon-trees JSON (scikit-learn export), TMVA BDT XML,
//                  recognised by their content (frontends/trees/): Input -> TreeEnsemble.
//   .pt / .pth     not readable: a torch.save file is pickled Python code. Export the model
//                  with torch.onnx.export(model, example_input, "model.onnx") and load that.
// Anything else, and every unsupported layer or operator, throws tachyon::Error naming the
// file, the layer/node and the reason.
#pragma once

#include "ir/Graph.h"

#include <string>

namespace tachyon {

namespace trees {
struct Ensemble;   // ir/TreeEnsemble.h
}

// Dispatch on the file extension (see above): the frontend's graph, then the import passes
// (dead-layer elimination, ...; passes/Import.cpp, where this is defined).
Graph loadModel(const std::string& path, const std::string& weightsPath = "");
// The frontend's graph as read, before the import passes (`tachyon info --passes` shows it).
// The per-format readers below return this form too.
Graph readModel(const std::string& path, const std::string& weightsPath = "");

Graph loadOnnx(const std::string& path);

// A tree ensemble file (frontends/trees/Frontends.h) as Input -> TreeEnsemble; `treeGraph`
// makes that graph from an ensemble already read (named `name`).
Graph loadTreeModel(const std::string& path);
Graph treeGraph(trees::Ensemble e, const std::string& name);

// `jsonPath` may also be a single-file .h5 model; then `h5Path` is ignored (may be empty).
Graph loadKeras(const std::string& jsonPath, const std::string& h5Path);
// A Keras 3 `.keras` archive (zip of config.json and model.weights.h5).
Graph loadKeras3(const std::string& path);
// Without the trial read in a child process, for the fuzz harness (as loadKerasInProcess).
Graph loadKeras3InProcess(const std::string& path);
// The same read without the trial in a child process (see util/CrashIsolation.h): for the
// fuzz harness, which needs libhdf5 in its own process to see coverage and crashes.
Graph loadKerasInProcess(const std::string& jsonPath, const std::string& h5Path);

}  // namespace tachyon
