#include "trees/TreeCommands.h"

#include "frontends/trees/Frontends.h"
#include "trees/TreeBackends.h"
#include "config/TreeConfig.h"
#include "emulator/TreeEmulator.h"
#include "util/Error.h"
#include "util/NonFinite.h"
#include "util/Npy.h"

#include <chrono>

namespace tachyon::trees {

bool isTreeModel(const std::string& path) { return detectTreeFormat(path) != TreeFormat::None; }

void info(const std::string& model, std::ostream& out) { out << dump(readTreeModel(model)); }

void predict(const std::string& model, const std::string& configYaml, const std::string& inNpy,
             const std::string& outNpy, bool floatMode, std::ostream& log, bool refuseNonFinite) {
    const Ensemble e = readTreeModel(model);
    const TreeConfig cfg = readTreeConfig(configYaml);
    size_t rows = 0, cols = 0;
    const std::vector<double> x = readMatrix(inNpy, rows, cols);
    NonFiniteCount nonFinite;
    nonFinite.add(x.data(), rows, cols, 0);
    if (refuseNonFinite && nonFinite.total())
        throw Error(inNpy + ": -i: " + nonFinite.describe() + "; fixed point has no such value (--nan error)");
    if (int(cols) != e.nFeatures)
        throw Error(inNpy + ": has " + std::to_string(cols) + " columns, the model " + model + " takes " +
                    std::to_string(e.nFeatures) + " features");
    TreeEmulator emu(e, cfg);
    std::vector<double> out(rows * size_t(e.nClasses));
    const auto t0 = std::chrono::steady_clock::now();
    if (floatMode) {
        emu.runFloat(x.data(), rows, out.data());
    } else {
        std::vector<int64_t> raw(out.size());
        emu.runFixed(x.data(), rows, raw.data(), out.data(), 0);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    writeMatrix(outNpy, out.data(), rows, size_t(e.nClasses));
    log << "predicted " << rows << " rows x " << e.nClasses << " outputs (" << (floatMode ? "float" : "fixed")
        << " mode) in " << s << " s -> " << outNpy << "\n";
    if (nonFinite.total())
        log << "warning: " << inNpy << ": " << nonFinite.describe()
            << (floatMode ? "" : "; fixed point has no NaN/Inf: NaN was cast to 0 and Inf to the largest value")
            << ". Use --nan error to refuse such inputs\n";
}

void convert(const std::string& model, const std::string& configYaml, const std::string& outDir,
             const std::string& backend, std::ostream& log) {
    const auto t0 = std::chrono::steady_clock::now();
    const Ensemble e = readTreeModel(model);
    const TreeConfig cfg = readTreeConfig(configYaml);
    TreeEmulator emu(e, cfg);
    constexpr size_t kTestRows = 1000;
    if (backend == "hls") {
        writeHlsProject(emu, outDir, thresholdTestVectors(emu, kTestRows));
    } else if (backend == "verilog") {
        const int latency = writeVerilogProject(emu, outDir, thresholdTestVectors(emu, kTestRows));
        log << "latency: " << latency << " clock cycles at " << cfg.clockPeriodNs << " ns\n";
    } else if (backend == "lut") {
        writeLutProject(emu, outDir);
    } else {
        throw Error("unknown backend '" + backend + "' for tree models (hls, verilog or lut)");
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log << "wrote " << backend << " project for " << e.trees.size() << " trees to " << outDir << " in " << s << " s\n";
}

}  // namespace tachyon::trees
