// The in-process reference for bench/serve_bench.sh: rows/s of api::Model::predict (what
// the server's EmulatorBackend calls, bit-exact fixed point, one thread per call) at the
// batch sizes the server is measured at, with 1 and 2 threads each predicting its own
// batches, as the server's two instances do. No RPC, no queue: the ceiling for serving.
// Besides rows per wall second it reports rows per CPU second of this process: on a
// machine shared with other jobs the wall figure depends on how much of the cores the
// process got, the CPU figure much less (bench/serve_bench.sh compares the server's the
// same way).
//
//   build/bench_serve_inprocess MODEL [SECONDS_PER_POINT] [BATCH...]
#include "BenchCommon.h"
#include "api/Api.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

using namespace tachyon;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL [SECONDS_PER_POINT]\n", argv[0]);
        return 1;
    }
    const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
    const auto model = api::Model::load(argv[1]);
    const size_t in = size_t(model->inputSize()), out = size_t(model->outputSize());
    std::vector<size_t> batches;
    for (int i = 3; i < argc; ++i) batches.push_back(size_t(std::atol(argv[i])));
    if (batches.empty()) batches = {1, 16, 256, 1024};
    std::printf("%-8s %-8s %14s %12s %14s\n", "batch", "threads", "rows/s", "us/batch", "rows/cpu-s");
    for (size_t batch : batches) {
        // The rows `tachyon perf` sends (src/serve/Perf.cpp: uniform in [-1, 1) from seed 42,
        // as FP32), so both sides compute on the same values.
        std::vector<double> x(batch * in);
        std::mt19937 rng(42);
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        for (double& v : x) v = double(float(u(rng)));
        for (int threads : {1, 2}) {
            std::atomic<size_t> done{0};
            const double cpu0 = bench::cpuSeconds();
            const auto t0 = bench::Clock::now();
            std::vector<std::thread> pool;
            for (int t = 0; t < threads; ++t)
                pool.emplace_back([&] {
                    std::vector<double> y(batch * out);
                    while (bench::since(t0) < seconds) {
                        model->predict(x.data(), batch, y.data(), false, 1);
                        ++done;
                    }
                });
            for (auto& t : pool) t.join();
            const double s = bench::since(t0), cpu = bench::cpuSeconds() - cpu0;
            std::printf("%-8zu %-8d %14.0f %12.2f %14.0f\n", batch, threads, double(done * batch) / s,
                        1e6 * s * threads / double(done), double(done * batch) / cpu);
        }
    }
    return 0;
}
