// A small random ONNX MLP (Gemm, Relu, Gemm) written by Debian's python3-onnx, for tests
// that need a model file with given sizes.
#pragma once

#include "cli.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace test_support {

// Writes `file`: x [n, nIn] -> fc1 (nHidden) -> relu1 -> fc2 (nOut) -> y, weights and biases
// normal(0, sigma) from numpy's generator with `seed`; the graph is named after the file.
// Fails the test (ASSERT) when Python fails.
inline void writeRandomMlpOnnx(const std::filesystem::path& file, int nIn, int nHidden, int nOut, int seed = 11,
                               double sigma = 0.5) {
    const std::string script = R"(
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
path, n_in, n_hidden, n_out, seed, sigma = sys.argv[1], *(int(v) for v in sys.argv[2:6]), float(sys.argv[6])
rng = np.random.default_rng(seed)
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, ['n', n_in])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, ['n', n_out])
inits = [numpy_helper.from_array(rng.normal(0, sigma, size=(n_in, n_hidden)).astype(np.float32), 'W1'),
         numpy_helper.from_array(rng.normal(0, sigma, size=(n_hidden,)).astype(np.float32), 'b1'),
         numpy_helper.from_array(rng.normal(0, sigma, size=(n_hidden, n_out)).astype(np.float32), 'W2'),
         numpy_helper.from_array(rng.normal(0, sigma, size=(n_out,)).astype(np.float32), 'b2')]
nodes = [helper.make_node('Gemm', ['x', 'W1', 'b1'], ['h'], name='fc1'), helper.make_node('Relu', ['h'], ['r'], name='relu1'),
         helper.make_node('Gemm', ['r', 'W2', 'b2'], ['y'], name='fc2')]
onnx.save(helper.make_model(helper.make_graph(nodes, path.split('/')[-1].rsplit('.', 1)[0], [x], [y], inits), opset_imports=[helper.make_opsetid('', 13)]),
          path)
)";
    const std::filesystem::path maker = file.parent_path() / "make_mlp.py";
    { std::ofstream(maker) << script; }
    std::ostringstream sigmaText;
    sigmaText.precision(17);
    sigmaText << sigma;
    // From /tmp, so that a stray onnx/ folder in the working directory cannot shadow the package.
    const CliResult r = runShell("cd /tmp && /usr/bin/python3 '" + maker.string() + "' '" + file.string() + "' " +
                                 std::to_string(nIn) + " " + std::to_string(nHidden) + " " + std::to_string(nOut) + " " +
                                 std::to_string(seed) + " " + sigmaText.str());
    ASSERT_EQ(r.status, 0) << r.output;
}

}  // namespace test_support
