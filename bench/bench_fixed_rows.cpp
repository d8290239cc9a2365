// Bit-exact fixed-point rows per CPU-second on one thread, nothing else timed (not a test:
// the number depends on the machine). The before/after column of the README's emulator
// speed table. Usage: bench_fixed_rows MODEL ROWS [CONFIG]
#include "BenchCommon.h"
#include "emulator/Emulator.h"

#include <cstdio>
#include <string>

using namespace tachyon;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL ROWS [CONFIG]\n", argv[0]);
        return 2;
    }
    Graph g = bench::configuredModel(argv[1], argc > 3 ? argv[3] : "");
    Emulator emu(g);
    const size_t rows = std::stoul(argv[2]);
    const std::vector<double> x = bench::normalRows(rows * size_t(emu.inputSize()));
    std::vector<int64_t> raw(rows * size_t(emu.outputSize()));
    std::vector<double> y(raw.size());
    const int repeats = 3;
    const double c0 = bench::cpuSeconds();
    for (int k = 0; k < repeats; ++k) emu.runFixed(x.data(), rows, raw.data(), y.data(), nullptr, EmulatorOptions{1, 256});
    std::printf("%.0f rows per CPU-second\n", repeats * double(rows) / (bench::cpuSeconds() - c0));
    return 0;
}
