// The recurrent benchmark (issue 14): emulator throughput, bit-exact fixed point and float,
// and the HLS backend's latency estimate, for the 20-step, 16-unit LSTM on 6 features
// (build/fixtures/lstm_last.onnx from scripts/make_rnn_fixtures.py; a Dense 16 -> 3 head).
// Not a test: the rows/s depend on the machine. Usage: bench_rnn [MODEL] [ROWS] [CONFIG]
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "BenchCommon.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <time.h>

using namespace tachyon;
using bench::Clock;
using bench::cpuSeconds;
using bench::since;

int main(int argc, char** argv) {
    const std::string model = argc > 1 ? argv[1] : TACHYON_SOURCE_DIR "/build/fixtures/lstm_last.onnx";
    const size_t rows = argc > 2 ? std::stoul(argv[2]) : 20000;
    const std::string cfgPath = argc > 3 ? argv[3] : "";
    Graph g = bench::configuredModel(model, cfgPath);
    Emulator emu(g);
    const int nIn = emu.inputSize(), nOut = emu.outputSize();
    const std::vector<double> x = bench::normalRows(rows * size_t(nIn));
    std::vector<int64_t> raw(rows * size_t(nOut));
    std::vector<double> y(rows * size_t(nOut));

    std::printf("model %s, %zu rows, input %s, one thread\n", model.c_str(), rows, g.input().type("result").str().c_str());
    EmulatorOptions opt;
    opt.threads = 1;
    {
        const auto t0 = Clock::now();
        const double c0 = cpuSeconds();
        emu.runFixed(x.data(), rows, raw.data(), y.data(), nullptr, opt);
        const double dt = since(t0), cpu = cpuSeconds() - c0;
        std::printf("bit-exact fixed point: %8.3f s  %10.0f rows/s  (%.0f per CPU-second)\n", dt, double(rows) / dt,
                    double(rows) / cpu);
    }
    {
        const auto t0 = Clock::now();
        const double c0 = cpuSeconds();
        emu.runFloat(x.data(), rows, y.data(), opt);
        const double dt = since(t0), cpu = cpuSeconds() - c0;
        std::printf("float (double):        %8.3f s  %10.0f rows/s  (%.0f per CPU-second)\n", dt, double(rows) / dt,
                    double(rows) / cpu);
    }
    const Target target = cfgPath.empty() ? Config::defaults().target() : Config::load(cfgPath).target();
    std::cout << hls::estimateLatency(g, emu, target).text();
    return 0;
}
