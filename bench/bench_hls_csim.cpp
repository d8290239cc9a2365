// Benchmark: time to write the jet tagger's HLS project (16-64-32-32-5, ReLU, softmax) and to
// compile and run its C simulation with g++ against the bundled ap_fixed headers.
//
//   bench_hls_csim [model] [rows] [cnn model]
// model defaults to ../shared/models/keras/KERAS_3layer.json (the hls4ml jet tagger) and
// falls back to a random network of the same shape; configuration: ap_fixed<16,6>,
// Latency, ReuseFactor 1, io_parallel (and io_stream for comparison). The CNN defaults to
// ../shared/models/keras/KERAS_conv2d_model.json (skipped when absent), same settings.
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

double seconds(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Graph randomJetTagger() {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> n(0.0, 0.3);
    Graph g;
    g.name = "jet_tagger_random";
    Layer in;
    in.name = "input_1";
    in.kind = LayerKind::Input;
    in.shape = {16};
    g.layers.push_back(in);
    const int sizes[] = {16, 64, 32, 32, 5};
    std::string prev = "input_1";
    for (int k = 1; k < 5; ++k) {
        Layer d;
        d.name = "fc" + std::to_string(k);
        d.kind = LayerKind::Dense;
        d.inputs = {prev};
        d.attrs = DenseAttrs{sizes[k - 1], sizes[k]};
        d.shape = {macDims(d).nOut};
        for (int i = 0; i < macDims(d).nIn * macDims(d).nOut; ++i) d.param("weight").push_back(n(rng));
        for (int i = 0; i < macDims(d).nOut; ++i) d.param("bias").push_back(n(rng));
        g.layers.push_back(d);
        prev = d.name;
        Layer a;
        a.name = k < 4 ? "relu" + std::to_string(k) : "softmax";
        a.kind = k < 4 ? LayerKind::Activation : LayerKind::Softmax;
        a.attrs = ActAttrs{ActKind::ReLU};
        a.inputs = {prev};
        a.shape = {macDims(d).nOut};
        g.layers.push_back(a);
        prev = a.name;
    }
    return g;
}

}  // namespace

int main(int argc, char** argv) {
    // The source tree's sibling ../shared (this file is <source>/bench/bench_hls_csim.cpp).
    const fs::path source = fs::path(__FILE__).parent_path().parent_path();
    const std::string model = argc > 1 ? argv[1] : (source / "../shared/models/keras/KERAS_3layer.json").string();
    const size_t rows = argc > 2 ? size_t(std::atoll(argv[2])) : 10000;
    const fs::path work = fs::temp_directory_path() / ("tachyon_bench_hls_" + std::to_string(::getpid()));
    std::cout << "HLS C simulation benchmark (" << rows << " test rows)\n";
    const std::string cnn = argc > 3 ? argv[3] : (source / "../shared/models/keras/KERAS_conv2d_model.json").string();
    std::vector<std::pair<std::string, std::string>> runs = {{model, "io_parallel"}, {model, "io_stream"}};
    if (fs::exists(cnn)) {
        runs.push_back({cnn, "io_parallel"});
        runs.push_back({cnn, "io_stream"});
    }
    for (const auto& [path, io] : runs) {
        Graph g = fs::exists(path) ? loadModel(path) : randomJetTagger();
        const Config cfg = Config::parse("IOType: " + io + "\nModel:\n  Precision: ap_fixed<16,6>\n  ReuseFactor: 1\n"
                                         "  Strategy: Latency\n", "bench");
        runPipeline(g, cfg);
        auto t0 = std::chrono::steady_clock::now();
        Emulator emu(g);
        hls::HlsOptions opt;
        opt.target = cfg.target();
        opt.testRows = rows;
        const fs::path prj = work / (fs::path(path).stem().string() + "_" + io);
        hls::writeProject(g, emu, prj.string(), opt);
        const double write = seconds(t0);
        t0 = std::chrono::steady_clock::now();
        std::ostringstream log;
        hls::CsimResult r = hls::csim(prj.string(), log);
        const double compileAndRun = seconds(t0);
        t0 = std::chrono::steady_clock::now();
        const std::string rerun = "cd '" + prj.string() + "' && ./csim/myproject_csim tb_data > /dev/null";
        if (std::system(rerun.c_str()) != 0) std::cerr << "rerunning the testbench failed\n";
        const double run = seconds(t0);
        std::cout << std::fixed << std::setprecision(3) << "  " << (fs::exists(path) ? g.name : "random 16-64-32-32-5")
                  << " " << io << ": write project " << write << " s, compile " << compileAndRun - run
                  << " s, run " << run << " s; " << r.rows << " rows, " << r.mismatches << " mismatches\n";
    }
    fs::remove_all(work);
    return 0;
}
