// `--weights FILE`: a Keras architecture JSON whose weights file has another base name (the
// hls4ml zoo ships 70%/95%-pruned weight sets that share one JSON). The option must read that
// file (not the `<stem>_weights.h5` convention), on info, config, predict and convert, and
// refuse cleanly where it makes no sense.
#include "support/zoo.h"
#include "support/cli.h"
#include "fixture_dir.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;

using test_support::CliResult;
using test_support::runCli;

namespace {

std::string fixture(const std::string& name) {
    static const std::string dir = fixtureDirMadeBy("make_fixtures.py", "nn_fixtures.stamp", "2");
    return dir + "/" + name;
}

std::vector<double> readOutput(const fs::path& p) {
    size_t rows = 0, cols = 0;
    return tachyon::readNpy(p.string(), rows, cols);
}

// A fresh scratch folder per test: the CLI refuses to overwrite outputs.
fs::path scratch(const std::string& name) {
    const fs::path d = fs::path(TACHYON_BINARY_DIR) / "cli_weights_test" / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// Prunes a copy of a Keras weights file as magnitude pruning does: every weight below the
// median |w| of its tensor becomes 0. The result has the same layout, different numbers.
void writePrunedCopy(const std::string& from, const fs::path& to) {
    fs::copy_file(from, to);
    const std::string script =
        "import sys, h5py, numpy as np\n"
        "f = h5py.File(sys.argv[1], 'r+')\n"
        "def prune(name, obj):\n"
        "    if isinstance(obj, h5py.Dataset) and obj.size > 1:\n"
        "        w = obj[()]\n"
        "        w[np.abs(w) < np.median(np.abs(w))] = 0\n"
        "        obj[...] = w\n"
        "f.visititems(prune)\n"
        "f.close()\n";
    const fs::path py = to.parent_path() / "prune.py";
    std::ofstream(py) << script;
    const std::string cmd = "/usr/bin/python3 '" + py.string() + "' '" + to.string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "could not prune " << to;
}

}  // namespace

TEST(CliWeights, ReadsTheNamedWeightsFileOnEveryCommand) {
    const fs::path d = scratch("own_fixture");
    // One architecture, two weight sets with unrelated names; nothing follows the convention.
    fs::copy_file(fixture("keras_dense.json"), d / "arch.json");
    writePrunedCopy(fixture("keras_dense_weights.h5"), d / "pruned_95.h5");
    // The same pruned weights in the conventional layout: what --weights must be equivalent to.
    fs::create_directories(d / "conventional");
    fs::copy_file(fixture("keras_dense.json"), d / "conventional" / "arch.json");
    fs::copy_file(d / "pruned_95.h5", d / "conventional" / "arch_weights.h5");
    const std::string x = fixture("keras_dense_X.npy");
    const std::string w = " --weights " + (d / "pruned_95.h5").string();

    CliResult named = runCli("predict " + (d / "arch.json").string() + w + " -i " + x + " -o " +
                              (d / "named.npy").string() + " --float");
    ASSERT_EQ(named.status, 0) << named.output;
    CliResult conventional = runCli("predict " + (d / "conventional" / "arch.json").string() + " -i " + x + " -o " +
                                     (d / "conventional.npy").string() + " --float");
    ASSERT_EQ(conventional.status, 0) << conventional.output;
    CliResult original = runCli("predict " + fixture("keras_dense.json") + " -i " + x + " -o " +
                                 (d / "original.npy").string() + " --float");
    ASSERT_EQ(original.status, 0) << original.output;
    const std::vector<double> yNamed = readOutput(d / "named.npy");
    ASSERT_FALSE(yNamed.empty());
    EXPECT_EQ(yNamed, readOutput(d / "conventional.npy"));   // bit for bit: the same weights were read
    EXPECT_NE(yNamed, readOutput(d / "original.npy"));       // and they are the pruned ones

    // Fixed point too, and info / config / convert take the option.
    CliResult fixed = runCli("predict " + (d / "arch.json").string() + w + " -i " + x + " -o " +
                              (d / "fixed.npy").string());
    ASSERT_EQ(fixed.status, 0) << fixed.output;
    CliResult info = runCli("info " + (d / "arch.json").string() + w);
    EXPECT_EQ(info.status, 0) << info.output;
    EXPECT_NE(info.output.find("Dense"), std::string::npos) << info.output;
    CliResult tpl = runCli("config " + (d / "arch.json").string() + w + " -g name -o " + (d / "tpl.yml").string());
    ASSERT_EQ(tpl.status, 0) << tpl.output;
    CliResult prj = runCli("convert " + (d / "arch.json").string() + w + " -c " + (d / "tpl.yml").string() + " -o " +
                            (d / "prj").string());
    EXPECT_EQ(prj.status, 0) << prj.output;
    EXPECT_TRUE(fs::is_directory(d / "prj"));
}

TEST(CliWeights, BadWeightsOptionFailsCleanly) {
    const fs::path d = scratch("bad_input");
    fs::copy_file(fixture("keras_dense.json"), d / "arch.json");
    const std::string x = fixture("keras_dense_X.npy");

    // Without --weights the convention applies, and the error says which file it looked for.
    CliResult none = runCli("info " + (d / "arch.json").string());
    EXPECT_EQ(none.status, 1) << none.output;
    EXPECT_NE(none.output.find("arch_weights.h5"), std::string::npos) << none.output;

    CliResult missing = runCli("predict " + (d / "arch.json").string() + " --weights " + (d / "nope.h5").string() +
                                " -i " + x + " -o " + (d / "y.npy").string());
    EXPECT_EQ(missing.status, 1) << missing.output;
    EXPECT_NE(missing.output.find("nope.h5"), std::string::npos) << missing.output;
    EXPECT_NE(missing.output.find("--weights"), std::string::npos) << missing.output;
    EXPECT_FALSE(fs::exists(d / "y.npy"));

    // A model that carries its own weights: the option is a mistake, said so.
    CliResult onnx = runCli("info " + fixture("dense_relu.onnx") + " --weights " + fixture("keras_dense_weights.h5"));
    EXPECT_EQ(onnx.status, 1) << onnx.output;
    EXPECT_NE(onnx.output.find("--weights"), std::string::npos) << onnx.output;

    // A file that is not HDF5 names itself.
    {
        std::ofstream(d / "garbage.h5") << "not an hdf5 file";
    }
    CliResult garbage = runCli("info " + (d / "arch.json").string() + " --weights " + (d / "garbage.h5").string());
    EXPECT_EQ(garbage.status, 1) << garbage.output;
    EXPECT_NE(garbage.output.find("garbage.h5"), std::string::npos) << garbage.output;
}

// The zoo's own layout: a weight set renamed (as the pruned sets are) gives the same numbers.
TEST(CliWeights, ZooWeightsUnderAnotherName) {
    const fs::path zoo = test_support::zooFile("keras");
    if (!fs::exists(zoo / "KERAS_3layer.json")) GTEST_SKIP() << "zoo models not present at " << zoo;
    const fs::path d = scratch("zoo");
    fs::copy_file(zoo / "KERAS_3layer_weights.h5", d / "KERAS_3layer_prune70.h5");
    // 16 inputs, a few rows of a fixed pattern: the comparison is between two loads of one model.
    {
        std::vector<double> x(20 * 16);
        for (size_t k = 0; k < x.size(); ++k) x[k] = 0.37 * double(k % 11) - 1.5;
        tachyon::writeNpy((d / "x.npy").string(), x.data(), 20, 16);
    }
    const std::string model = (zoo / "KERAS_3layer.json").string();
    CliResult a = runCli("predict " + model + " --weights " + (d / "KERAS_3layer_prune70.h5").string() + " -i " +
                          (d / "x.npy").string() + " -o " + (d / "a.npy").string());
    ASSERT_EQ(a.status, 0) << a.output;
    CliResult b = runCli("predict " + model + " -i " + (d / "x.npy").string() + " -o " + (d / "b.npy").string());
    ASSERT_EQ(b.status, 0) << b.output;
    EXPECT_EQ(readOutput(d / "a.npy"), readOutput(d / "b.npy"));
}
