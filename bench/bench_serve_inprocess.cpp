// The in-process reference for bench/serve_bench.sh: rows/s of api::Model::predict (what
// the server's EmulatorBackend calls, bit-exact fixed point, one thread per call) at the
// batch sizes the server is measured at, with 1 and 2 threads each predicting its own
// batches, as the server's two instances do. No RPC, no queue: the ceiling for serving.
//
//   build/bench_serve_inprocess MODEL [SECONDS_PER_POINT]
#include "BenchCommon.h"
#include "api/Api.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
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
    std::printf("%-8s %-8s %14s %12s\n", "batch", "threads", "rows/s", "us/batch");
    for (size_t batch : {1, 16, 256, 1024}) {
        const std::vector<double> x = bench::normalRows(batch * in);
        for (int threads : {1, 2}) {
            std::atomic<size_t> batches{0};
            const auto t0 = bench::Clock::now();
            std::vector<std::thread> pool;
            for (int t = 0; t < threads; ++t)
                pool.emplace_back([&] {
                    std::vector<double> y(batch * out);
                    while (bench::since(t0) < seconds) {
                        model->predict(x.data(), batch, y.data(), false, 1);
                        ++batches;
                    }
                });
            for (auto& t : pool) t.join();
            const double s = bench::since(t0);
            std::printf("%-8zu %-8d %14.0f %12.2f\n", batch, threads, double(batches * batch) / s,
                        1e6 * s * threads / double(batches));
        }
    }
    return 0;
}
