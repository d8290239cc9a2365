// The lookup-table backend on a network: it reads only the graph and the emulator, so a
// small-input model of any kind compiles to a ROM holding the emulator's output for every
// input word, and its Verilog wrapper reads that back.
#include "support/lut_checks.h"
#include "backends/lut/LutProject.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

using namespace tachyon;

using test_support::expectLutRtlsimReadsEveryWord;
using test_support::forEachRomWord;
using test_support::romAddressInputs;

namespace {

// Input [3] -> Dense 3x4 ReLU -> Dense 4x2.
Graph smallNetwork() {
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    Graph g;
    g.name = "tiny";
    Layer in;
    in.name = "x";
    in.kind = LayerKind::Input;
    in.shape = {3};
    g.layers.push_back(in);
    auto dense = [&](const std::string& name, const std::string& from, int nIn, int nOut, ActKind act) {
        Layer l;
        l.name = name;
        l.kind = LayerKind::Dense;
        l.inputs = {from};
        l.shape = {nOut};
        l.attrs = DenseAttrs{nIn, nOut, act};
        for (int i = 0; i < nIn * nOut; ++i) l.params["weight"].push_back(u(rng));
        for (int j = 0; j < nOut; ++j) l.params["bias"].push_back(0.5 * u(rng));
        return l;
    };
    g.layers.push_back(dense("d1", "x", 3, 4, ActKind::ReLU));
    g.layers.push_back(dense("d2", "d1", 4, 2, ActKind::Linear));
    return g;
}

std::string scratch(const std::string& name) {
    const std::string d = std::string(TACHYON_BINARY_DIR) + "/test_lut_tmp/" + name + "_" + std::to_string(::getpid());
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

}  // namespace

TEST(LutBackend, NetworkRomEqualsEmulatorOnEveryAddress) {
    Graph g = smallNetwork();
    runPipeline(g, Config::parse("Model: {Precision: 'ap_fixed<12,4>'}\n"
                                 "LayerType: {Input: {Precision: 'ap_fixed<4,2,AP_RND,AP_SAT>'}}\n",
                                 "<test>"));
    const Emulator emu(g);
    const std::string prj = scratch("net") + "/prj";
    lut::LutOptions opt;
    opt.projectName = "tiny_rom";
    opt.maxInputBits = 12;
    lut::writeProject(g, emu, prj, opt);

    std::vector<int64_t> y(2);
    const size_t words = forEachRomWord(prj + "/rtl/tiny_rom_rom.mem", [&](uint64_t a, uint64_t w) {
        emu.runFixedRaw(romAddressInputs(a, 3, 4).data(), 1, y.data());
        ASSERT_EQ(int64_t(w & 0xfff), y[0] & 0xfff) << "address " << a;
        ASSERT_EQ(int64_t(w >> 12), y[1] & 0xfff) << "address " << a;
    });
    EXPECT_EQ(words, 4096u);

    const nlohmann::json j = nlohmann::json::parse(readFile(prj + "/tachyon_project.json"));
    EXPECT_EQ(j["address_bits"], 12);
    EXPECT_EQ(j["word_bits"], 24);
    expectLutRtlsimReadsEveryWord(prj, words);

    // One bit fewer than the inputs need: a clear error naming the model and the limit.
    opt.maxInputBits = 11;
    try {
        lut::writeProject(g, emu, scratch("narrow") + "/prj", opt);
        ADD_FAILURE() << "12 input bits accepted under LutMaxInputBits 11";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tiny"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("LutMaxInputBits = 11"), std::string::npos) << e.what();
    }
}
