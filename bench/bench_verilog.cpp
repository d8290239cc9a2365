// Verilog backend codegen time on the jet tagger (16-64-32-32-5) with 6-bit weights.
// Usage: bench_verilog [model.json] [config.yml] [outdir]
// Writes <outdir>/da and <outdir>/naive projects, so that `tachyon report` can compare
// the shift-add adder graph with one multiplier per weight (see docs/verilog.md).
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

using namespace tachyon;

#ifndef TACHYON_SOURCE_DIR
#define TACHYON_SOURCE_DIR "."   // bench targets do not get the define; pass the model path then
#endif

int main(int argc, char** argv) {
    const std::string model = argc > 1 ? argv[1] : std::string(TACHYON_SOURCE_DIR) + "/../shared/models/keras/KERAS_3layer.json";
    const std::string out = argc > 3 ? argv[3] : "bench_verilog_out";
    Graph g = loadModel(model);
    Config cfg = argc > 2 ? Config::load(argv[2]) : Config::parse(R"(
Model:
  Precision:
    default: ap_fixed<8,3,AP_RND,AP_SAT>
    weight: ap_fixed<6,1>
    bias: ap_fixed<6,1>
    accum: auto
)", "<bench 6-bit weights>");
    runPipeline(g, cfg);
    Emulator emu(g);
    for (const char* mode : {"da", "naive"}) {
        verilog::VerilogOptions opt;
        opt.cmvm = mode;
        opt.target = cfg.target();
        opt.testRows = 1000;
        const auto t0 = std::chrono::steady_clock::now();
        verilog::GeneratedRtl rtl = verilog::generateRtl(g, emu, opt);
        const double genS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const std::string dir = out + "/" + mode;
        std::filesystem::remove_all(dir);
        const auto t1 = std::chrono::steady_clock::now();
        verilog::writeProject(g, emu, dir, opt);
        const double writeS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        std::printf("cmvm=%-5s codegen %.3f s (project incl. test vectors %.3f s), latency %d cycles at %.1f ns, "
                    "initiation interval %lld cycles%s, %zu bytes of Verilog -> %s\n",
                    mode, genS, writeS, rtl.latencyCycles, opt.target.clockPeriodNs, (long long)rtl.intervalCycles,
                    rtl.streaming ? " (streaming, one pixel per clock)" : "", rtl.verilog.size(), dir.c_str());
        // The shift-add graphs as built (input ranges, biases), as `tachyon report` prints them.
        std::printf("%s", verilog::adderTable(rtl.adders).c_str());
    }
    return 0;
}
