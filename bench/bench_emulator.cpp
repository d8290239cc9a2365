// Emulator throughput on the 16-64-32-32-5 jet tagger (not a test: numbers depend on the
// machine). Usage: bench_emulator [MODEL] [ROWS] [CONFIG]
// MODEL defaults to ../shared/models/keras/KERAS_3layer.json beside the source tree.
#include "BenchCommon.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <time.h>

using namespace tachyon;
using bench::Clock;
using bench::cpuSeconds;
using bench::since;

int main(int argc, char** argv) {
    std::string model = argc > 1 ? argv[1] : TACHYON_SOURCE_DIR "/../shared/models/keras/KERAS_3layer.json";
    size_t rows = argc > 2 ? std::stoul(argv[2]) : 1000000;
    std::string cfgPath = argc > 3 ? argv[3] : "";

    // Conversion: parse, run the passes, quantise weights and build tables. Best of 5.
    double convert = 1e9;
    for (int k = 0; k < 5; ++k) {
        auto t0 = Clock::now();
        Emulator e(bench::configuredModel(model, cfgPath));
        convert = std::min(convert, since(t0));
    }
    Graph g = bench::configuredModel(model, cfgPath);
    Emulator emu(g);
    const int nIn = emu.inputSize(), nOut = emu.outputSize();
    const std::vector<double> x = bench::normalRows(rows * size_t(nIn));
    std::vector<int64_t> raw(rows * size_t(nOut));
    std::vector<double> y(rows * size_t(nOut));

    std::printf("model %s, %zu rows, input %s\n", model.c_str(), rows, g.input().type("result").str().c_str());
    std::printf("conversion (load + passes + emulator build): %.2f ms\n", convert * 1e3);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (int threads : {1, int(cores)}) {
        EmulatorOptions opt;
        opt.threads = threads;
        auto t0 = Clock::now();
        double c0 = cpuSeconds();
        emu.runFixed(x.data(), rows, raw.data(), y.data(), nullptr, opt);
        double dt = since(t0), cpu = cpuSeconds() - c0;
        std::printf("bit-exact fixed point, %2d thread(s): %8.3f s  %12.0f inferences/s  (%.0f per CPU-second)\n",
                    threads, dt, rows / dt, rows / cpu);
    }
    for (int threads : {1, int(cores)}) {
        EmulatorOptions opt;
        opt.threads = threads;
        auto t0 = Clock::now();
        double c0 = cpuSeconds();
        emu.runFloat(x.data(), rows, y.data(), opt);
        double dt = since(t0), cpu = cpuSeconds() - c0;
        std::printf("float (double),        %2d thread(s): %8.3f s  %12.0f inferences/s  (%.0f per CPU-second)\n",
                    threads, dt, rows / dt, rows / cpu);
    }
    // Batch-1 latency (issue 21: <= 3 us with the default threads): one row per call, as a
    // trigger or a server with no batching calls it; the mean of 20,000 calls, best of 5.
    for (int threads : {0, 1}) {
        EmulatorOptions opt;
        opt.threads = threads;
        double best = 1e9;
        for (int rep = 0; rep < 5; ++rep) {
            const int calls = 20000;
            auto t0 = Clock::now();
            for (int k = 0; k < calls; ++k)
                emu.runFixed(x.data() + size_t(k % 1000) * size_t(nIn), 1, raw.data(), y.data(), nullptr, opt);
            best = std::min(best, since(t0) / calls);
        }
        std::printf("batch-1 latency, bit-exact fixed point, threads=%d%s: %.2f us\n", threads,
                    threads == 0 ? " (all cores, the API's default)" : "", best * 1e6);
    }
    return 0;
}
