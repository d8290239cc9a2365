// `tachyon predict` streams its input in blocks bounded by bytes (about 32 MB) and reads N-D
// .npy arrays (N, *sample shape) as N flattened rows: a 25x25 image model over several
// blocks gives exactly the in-process emulator's rows, and the (N, 25, 25, 1) and (N, 625)
// files give the same output.
#include "support/zoo.h"
#include "support/cli.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Npy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

namespace fs = std::filesystem;
using namespace tachyon;

using test_support::CliResult;
using test_support::runCli;

namespace {

// A float32 .npy of the given shape (C order).
void writeFloat32Npy(const fs::path& path, const std::vector<size_t>& shape, const std::vector<float>& data) {
    std::string dims;
    for (size_t d : shape) dims += std::to_string(d) + ", ";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
    std::ofstream f(path, std::ios::binary);
    f.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = uint16_t(header.size());
    f.write(reinterpret_cast<const char*>(&len), 2);
    f << header;
    f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * sizeof(float)));
}

}  // namespace

TEST(PredictBlocks, ImageRowsOverSeveralBlocksAndNdArrays) {
    const std::string model = test_support::zooFile("keras/jetTagger_Conv2D_Small_NoBatchNorm.json");
    if (!fs::exists(model)) GTEST_SKIP() << "zoo model missing: " << model;
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "predict_blocks_test";
    fs::remove_all(dir);
    fs::create_directories(dir);
    // 7,000 rows of 625 inputs: about 3,300 rows fit a 32 MB block, so three blocks.
    const size_t rows = 7000, cols = 625;
    std::vector<float> x(rows * cols);
    std::mt19937_64 rng(5);
    std::normal_distribution<float> nd(0, 1);
    for (float& v : x) v = nd(rng);
    writeFloat32Npy(dir / "x4d.npy", {rows, 25, 25, 1}, x);
    writeFloat32Npy(dir / "x2d.npy", {rows, cols}, x);

    const CliResult run4d = runCli("predict " + model + " -i " + (dir / "x4d.npy").string() + " -o " +
                                   (dir / "y4d.npy").string());
    ASSERT_EQ(run4d.status, 0) << run4d.output;
    const CliResult run2d = runCli("predict " + model + " -i " + (dir / "x2d.npy").string() + " -o " +
                                   (dir / "y2d.npy").string());
    ASSERT_EQ(run2d.status, 0) << run2d.output;
    size_t r4 = 0, c4 = 0, r2 = 0, c2 = 0, rx = 0, cx = 0;
    const std::vector<double> y4 = readNpy((dir / "y4d.npy").string(), r4, c4);
    const std::vector<double> y2 = readNpy((dir / "y2d.npy").string(), r2, c2);
    const std::vector<double> xr = readNpy((dir / "x4d.npy").string(), rx, cx);
    EXPECT_EQ(rx, rows);
    EXPECT_EQ(cx, cols);
    ASSERT_EQ(r4, rows);
    ASSERT_EQ(y4, y2);

    Graph g = loadModel(model);
    runPipeline(g, Config::defaults());
    Emulator emu(g);
    std::vector<int64_t> raw(rows * size_t(emu.outputSize()));
    std::vector<double> want(raw.size());
    emu.runFixed(xr.data(), rows, raw.data(), want.data());
    ASSERT_EQ(y4.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) ASSERT_EQ(y4[k], want[k]) << "value " << k;
    fs::remove_all(dir);
}
