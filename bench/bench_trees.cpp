// Tree-ensemble benchmark: emulation throughput (rows/s, one core) and code-generation
// time for the 60-tree, depth-3, 16-feature XGBoost model at 18-bit fixed point.
//
// Usage: bench_trees [FIXTURES_DIR] [OUT_DIR]
//   FIXTURES_DIR defaults to $TACHYON_FIXTURES, else ./fixtures
//   (make it with: /usr/bin/python3 scripts/make_tree_fixtures.py FIXTURES_DIR).
//   OUT_DIR (default ./bench_trees_out) receives the generated HLS and Verilog projects,
//   e.g. for Yosys: see docs/trees.md.
#include "frontends/trees/Frontends.h"
#include "trees/TreeBackends.h"
#include "emulator/TreeEmulator.h"
#include "util/Error.h"
#include "util/Npy.h"

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace tachyon;
using namespace tachyon::trees;
using Clock = std::chrono::steady_clock;

static double seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Process CPU seconds: on a shared machine this is the time the one core really spent.
struct Timer {
    Clock::time_point wall = Clock::now();
    std::clock_t cpu = std::clock();
    double wallS() const { return seconds(wall); }
    double cpuS() const { return double(std::clock() - cpu) / CLOCKS_PER_SEC; }
};

int main(int argc, char** argv) {
    const char* env = std::getenv("TACHYON_FIXTURES");
    const std::string fixtures = argc > 1 ? argv[1] : (env && *env ? env : "fixtures");
    const std::string outDir = argc > 2 ? argv[2] : "bench_trees_out";
    try {
        const Ensemble e = readTreeModel(fixtures + "/bench_60x3.json");
        size_t rows = 0, cols = 0;
        const std::vector<double> x = readNpy(fixtures + "/X_test.npy", rows, cols);
        TreeConfig cfg;  // ap_fixed<18,8> inputs, thresholds and scores
        cfg.projectName = "bdt_60x3";
        TreeEmulator emu(e, cfg);
        std::printf("model: %zu trees, max depth %d, %d features, %d class(es); types %s / %s\n", e.trees.size(),
                    e.maxDepth(), e.nFeatures, e.nClasses, cfg.input.str().c_str(), cfg.score.str().c_str());

        // Tile the 10,000 library rows to 2M rows.
        const size_t reps = 200, n = rows * reps;
        std::vector<double> big(n * cols);
        for (size_t r = 0; r < reps; ++r) std::copy(x.begin(), x.end(), big.begin() + long(r * x.size()));
        std::vector<int64_t> raw(n * cols), out(n);
        for (size_t i = 0; i < raw.size(); ++i) raw[i] = emu.quantizeInput(big[i]);

        emu.runFixedRaw(raw.data(), rows, out.data(), 1);  // warm-up
        auto report = [&](const char* what, const Timer& t) {
            std::printf("%-44s %6.1f M rows/s per CPU-second (%.1f M rows/s wall)\n", what,
                        double(n) / t.cpuS() / 1e6, double(n) / t.wallS() / 1e6);
        };
        Timer tRaw;
        emu.runFixedRaw(raw.data(), n, out.data(), 1);
        report("fixed-point emulation, raw inputs:", tRaw);
        std::vector<double> values(n);
        Timer tDouble;
        emu.runFixed(big.data(), n, out.data(), values.data(), 1);
        report("fixed-point emulation, double inputs:", tDouble);
        std::vector<double> f(n);
        Timer tFloat;
        emu.runFloat(big.data(), n, f.data());
        report("float emulation (library semantics):", tFloat);

        namespace fs = std::filesystem;
        for (const std::string backend : {"hls", "verilog"}) {
            const std::string dir = outDir + "/" + backend;
            fs::remove_all(dir);
            fs::create_directories(dir);
            const auto t0 = Clock::now();
            const TestVectors tv = thresholdTestVectors(emu, 1000);
            int latency = 0;
            if (backend == "hls") writeHlsProject(emu, dir, tv);
            else latency = writeVerilogProject(emu, dir, tv);
            std::printf("codegen %-8s %.1f ms -> %s", backend.c_str(), seconds(t0) * 1e3, dir.c_str());
            if (backend == "verilog") std::printf(" (latency %d cycles)", latency);
            std::printf("\n");
        }
    } catch (const Error& err) {
        std::fprintf(stderr, "bench_trees: %s\n", err.what());
        return 1;
    }
    return 0;
}
