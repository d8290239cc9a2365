// tachyon: the command-line front door. Each subcommand is a thin wrapper over the
// library: frontends -> passes -> emulator -> backends.
#include "api/Api.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"
#if __has_include("backends/hls/HlsWriter.h")
#include "backends/hls/HlsWriter.h"
#define TACHYON_HAVE_HLS 1
#endif
#if __has_include("backends/verilog/VerilogWriter.h")
#include "backends/verilog/VerilogWriter.h"
#define TACHYON_HAVE_VERILOG 1
#endif
#if __has_include("trees/TreeCommands.h")
#include "trees/TreeCommands.h"
#include "trees/TreeConfig.h"
#define TACHYON_HAVE_TREES 1
#endif

#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool isTree(const std::string& path) {
#ifdef TACHYON_HAVE_TREES
    return trees::isTreeModel(path);
#else
    (void)path;
    return false;
#endif
}

// Loads a network and runs the pass pipeline with the given (or default) configuration.
Graph loadConfigured(const std::string& model, const std::string& cfgPath, Config* cfgOut = nullptr) {
    Graph g = loadModel(model);
    Config cfg = cfgPath.empty() ? Config::defaults() : Config::load(cfgPath);
    runPipeline(g, cfg);
    if (cfgOut) *cfgOut = cfg;
    return g;
}

// Output that appears whole or not at all: callers write into `tmp`, then `commit()`.
struct AtomicPath {
    fs::path final_, tmp;
    bool committed = false;
    explicit AtomicPath(const std::string& path) : final_(path) {
        // Same folder (so the rename is atomic) and same extension (writers look at it).
        tmp = final_.parent_path() / (".tmp-" + std::to_string(getpid()) + "-" + final_.filename().string());
        if (!final_.parent_path().empty() && !fs::exists(final_.parent_path()))
            throw Error(path + ": parent directory does not exist");
    }
    void commit() {
        if (fs::exists(final_)) fs::remove_all(final_);
        fs::rename(tmp, final_);
        committed = true;
    }
    ~AtomicPath() {
        std::error_code ec;
        if (!committed) fs::remove_all(tmp, ec);
    }
};

// Layer names become file names in --trace: keep them to one path component.
std::string fileSafe(std::string name) {
    for (char& c : name)
        if (c == '/' || c == '\\' || c == ':') c = '_';
    return name.empty() || name[0] == '.' ? "_" + name : name;
}

void printStats(const std::vector<LayerStats>& stats, std::ostream& os) {
    os << "overflow summary (values that saturated or wrapped):\n";
    for (const auto& s : stats) {
        os << "  " << std::left << std::setw(24) << s.layer << std::right << " result " << std::setw(9)
           << s.resultOverflows << " / " << s.values;
        if (s.accumOverflows) os << "   accum " << s.accumOverflows;
        os << "\n";
    }
}

int cmdInfo(const std::string& model, const std::string& cfg) {
    if (isTree(model)) {
#ifdef TACHYON_HAVE_TREES
        trees::info(model, std::cout);
#endif
        return 0;
    }
    Graph g = cfg.empty() ? loadModel(model) : loadConfigured(model, cfg);
    std::cout << dump(g);
    return 0;
}

int cmdConfig(const std::string& model, const std::string& gran, const std::string& out) {
    std::string text;
    if (isTree(model)) {
#ifdef TACHYON_HAVE_TREES
        text = trees::treeConfigTemplate(model);  // tree precision keys; no granularity
#endif
    } else {
        Graph g = loadModel(model);
        Granularity gr = gran == "model" ? Granularity::Model : gran == "type" ? Granularity::Type : Granularity::Name;
        text = configTemplate(g, gr);
    }
    if (out.empty()) {
        std::cout << text;
    } else {
        AtomicPath ap(out);
        std::ofstream(ap.tmp) << text;
        ap.commit();
        std::cerr << "wrote " << out << "\n";
    }
    return 0;
}

// Rows in, rows out, one block at a time: memory stays bounded by the block size
// whatever the number of rows (for .npy input; CSV input is read whole).
class RowSource {
public:
    explicit RowSource(const std::string& path) : path_(path) {
        if (isNpy(path)) {
            npy_ = std::make_unique<NpyReader>(path);
            rows_ = npy_->rows();
            cols_ = npy_->cols();
        } else {
            all_ = readMatrix(path, rows_, cols_);
        }
    }
    size_t rows() const { return rows_; }
    size_t cols() const { return cols_; }
    size_t next(size_t maxRows, std::vector<double>& out) {
        if (npy_) return npy_->read(maxRows, out);
        size_t n = std::min(maxRows, rows_ - done_);
        out.assign(all_.begin() + long(done_ * cols_), all_.begin() + long((done_ + n) * cols_));
        done_ += n;
        return n;
    }
    static bool isNpy(const std::string& p) { return fs::path(p).extension() == ".npy"; }

private:
    std::string path_;
    std::unique_ptr<NpyReader> npy_;
    std::vector<double> all_;
    size_t rows_ = 0, cols_ = 0, done_ = 0;
};

class RowSink {
public:
    RowSink(const std::string& path, size_t rows, size_t cols) : cols_(cols) {
        if (RowSource::isNpy(path)) {
            npy_ = std::make_unique<NpyWriter>(path, rows, cols);
        } else {
            csv_.open(path);
            if (!csv_) throw Error(path + ": cannot write file");
            csv_ << std::setprecision(17);
        }
    }
    void write(const double* data, size_t rows) {
        if (npy_) return npy_->write(data, rows);
        for (size_t r = 0; r < rows; ++r)
            for (size_t c = 0; c < cols_; ++c) csv_ << data[r * cols_ + c] << (c + 1 == cols_ ? "\n" : ",");
    }
    void close() {
        if (npy_) npy_->close();
        else csv_.close();
    }

private:
    size_t cols_;
    std::unique_ptr<NpyWriter> npy_;
    std::ofstream csv_;
};

int cmdPredict(const std::string& model, const std::string& cfgPath, const std::string& in, const std::string& out,
               bool floatMode, const std::string& traceDir, int threads) {
    if (isTree(model)) {
#ifdef TACHYON_HAVE_TREES
        AtomicPath ap(out);
        trees::predict(model, cfgPath, in, ap.tmp.string(), floatMode, std::cerr);
        ap.commit();
#endif
        return 0;
    }
    Graph g = loadConfigured(model, cfgPath);
    Emulator emu(g);
    RowSource src(in);
    if (int(src.cols()) != emu.inputSize())
        throw Error(in + ": has " + std::to_string(src.cols()) + " columns but model '" + g.name + "' takes " +
                    std::to_string(emu.inputSize()) + " inputs");
    const size_t rows = src.rows(), nOut = size_t(emu.outputSize());
    EmulatorOptions opt;
    opt.threads = threads;
    AtomicPath ap(out);
    RowSink sink(ap.tmp.string(), rows, nOut);
    std::unique_ptr<AtomicPath> traceAp;
    std::vector<std::unique_ptr<NpyWriter>> traceSinks;
    if (!traceDir.empty()) {
        traceAp = std::make_unique<AtomicPath>(traceDir);
        fs::create_directories(traceAp->tmp);
        for (const Layer& l : g.layers)
            traceSinks.push_back(std::make_unique<NpyWriter>((traceAp->tmp / (fileSafe(l.name) + ".npy")).string(),
                                                             rows, size_t(l.outSize())));
    }
    const size_t block = 1 << 16;
    std::vector<double> x, y;
    std::vector<int64_t> raw;
    std::vector<LayerStats> total, stats;
    double busy = 0;
    api::RateMeter meter(std::cerr, rows);   // rows/s on long runs
    while (size_t n = src.next(block, x)) {
        y.resize(n * nOut);
        auto t0 = std::chrono::steady_clock::now();
        if (floatMode) {
            emu.runFloat(x.data(), n, y.data(), opt);
        } else {
            raw.resize(y.size());
            emu.runFixed(x.data(), n, raw.data(), y.data(), &stats, opt);
            if (total.empty()) total = stats;
            else
                for (size_t k = 0; k < stats.size(); ++k) {
                    total[k].resultOverflows += stats[k].resultOverflows;
                    total[k].accumOverflows += stats[k].accumOverflows;
                    total[k].values += stats[k].values;
                }
        }
        busy += secondsSince(t0);
        meter.add(n);
        sink.write(y.data(), n);
        if (!traceSinks.empty()) {
            auto trace = floatMode ? emu.traceFloat(x.data(), n) : emu.traceFixed(x.data(), n);
            for (size_t k = 0; k < trace.size(); ++k) traceSinks[k]->write(trace[k].data(), n);
        }
    }
    sink.close();
    for (auto& t : traceSinks) t->close();
    ap.commit();
    if (traceAp) {
        traceAp->commit();
        std::cerr << "wrote every layer's output to " << traceDir << "/\n";
    }
    std::cerr << (floatMode ? "float" : "bit-exact fixed-point") << " emulation of " << rows << " rows in "
              << std::fixed << std::setprecision(3) << busy * 1e3 << " ms (" << std::setprecision(0)
              << (busy > 0 ? double(rows) / busy : 0.0) << " rows/s); wrote " << out << "\n";
    if (!floatMode) printStats(total, std::cerr);
    return 0;
}

int cmdConvert(const std::string& model, const std::string& cfgPath, const std::string& out, const std::string& backend,
               const std::string& cmvm, int stages) {
    auto t0 = std::chrono::steady_clock::now();
    AtomicPath ap(out);
    fs::create_directories(ap.tmp);
    if (isTree(model)) {
#ifdef TACHYON_HAVE_TREES
        trees::convert(model, cfgPath, ap.tmp.string(), backend, std::cerr);
#endif
    } else {
        Config cfg;
        Graph g = loadConfigured(model, cfgPath, &cfg);
        Emulator emu(g);
        if (backend == "hls") {
#ifdef TACHYON_HAVE_HLS
            hls::HlsOptions opt;
            opt.projectName = cfg.projectName;
            hls::writeProject(g, emu, ap.tmp.string(), opt);
#else
            throw Error("the HLS backend is not built into this tachyon");
#endif
        } else if (backend == "verilog") {
#ifdef TACHYON_HAVE_VERILOG
            verilog::VerilogOptions opt;
            opt.projectName = cfg.projectName;
            opt.cmvm = cmvm;
            opt.stages = stages;
            verilog::writeProject(g, emu, ap.tmp.string(), opt);
#else
            throw Error("the Verilog backend is not built into this tachyon");
#endif
        } else {
            throw Error("backend '" + backend + "' is for tree ensembles only; networks use hls or verilog");
        }
    }
    ap.commit();
    std::cerr << "wrote " << backend << " project " << out << " in " << std::fixed << std::setprecision(1)
              << secondsSince(t0) * 1e3 << " ms\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Tachyon: trained models to bit-exact fixed-point emulation, HLS C++ and Verilog"};
    app.require_subcommand(1);
    std::string model, cfg, in, out, gran = "name", traceDir, backend = "hls", cmvm = "da", prj;
    bool floatMode = false;
    int threads = 1, stages = -1;
    std::string calib;                     // profile / config --auto-precision
    api::AutoPrecisionOptions autoOpt;

    auto* info = app.add_subcommand("info", "Print the model's layers, shapes and (with -c) fixed-point types");
    info->add_option("model", model, "model file (.onnx, Keras .json/.h5, tree ensemble)")->required();
    info->add_option("-c,--config", cfg, "configuration YAML");

    auto* config = app.add_subcommand("config", "Write an hls4ml-style configuration template for a model");
    config->add_option("model", model)->required();
    config->add_option("-g,--granularity", gran, "model, type or name")->check(CLI::IsMember({"model", "type", "name"}));
    config->add_option("-o,--output", out, "output YAML (default: stdout)");
    config->add_option("--auto-precision", calib, "choose every layer's types from calibration rows (.npy/.csv)");
    config->add_option("-c,--config", cfg, "base configuration for --auto-precision (project keys, defaults)");
    config->add_option("--target-agreement", autoOpt.targetAgreement,
                       "classifiers: argmax agreement with the float model to keep (default 0.999)");
    config->add_option("--max-error", autoOpt.maxError,
                       "regression: largest mean |fixed - float| / mean |float| (selects regression)");
    config->add_option("--max-bits", autoOpt.maxBits, "widest type the search may choose (default 18)");
    config->add_option("--margin", autoOpt.margin, "integer bits above the observed range (default 1)");
    config->add_flag("!--narrow-accum", autoOpt.exactAccumulators,
                     "accumulators with the result's LSB (products truncated) instead of exact products");

    auto* profileCmd = app.add_subcommand("profile", "Float ranges per layer on calibration data against the types; "
                                                     "plots with -o");
    profileCmd->add_option("model", model)->required();
    profileCmd->add_option("-c,--config", cfg, "configuration YAML (default: ap_fixed<16,6> everywhere)");
    profileCmd->add_option("-i,--input", in, "calibration rows (.npy or .csv)")->required();
    profileCmd->add_option("-o,--output", out, "report directory: profile.json, profile.txt, weights.png, "
                                               "activations.png");
    profileCmd->add_option("-j,--threads", threads, "threads (0 = all cores)");

    auto* predict = app.add_subcommand("predict", "Run the emulator on a batch (.npy or .csv rows)");
    predict->add_option("model", model)->required();
    predict->add_option("-c,--config", cfg, "configuration YAML (default: ap_fixed<16,6> everywhere)");
    predict->add_option("-i,--input", in, "input rows (.npy or .csv)")->required();
    predict->add_option("-o,--output", out, "output file (.npy or .csv)")->required();
    predict->add_flag("--float", floatMode, "double-precision reference instead of bit-exact fixed point");
    predict->add_option("--trace", traceDir, "write every layer's output into this directory");
    predict->add_option("-j,--threads", threads, "threads (0 = all cores)");

    auto* convert = app.add_subcommand("convert", "Write an HLS or Verilog project");
    convert->add_option("model", model)->required();
    convert->add_option("-c,--config", cfg, "configuration YAML");
    convert->add_option("-o,--output", out, "project directory")->required();
    convert->add_option("-b,--backend", backend, "hls, verilog, or lut (tree ensembles)")
        ->check(CLI::IsMember({"hls", "verilog", "lut"}));
    convert->add_option("--cmvm", cmvm, "Verilog matrix-vector products: da (shift-add graph) or naive")
        ->check(CLI::IsMember({"da", "naive"}));
    convert->add_option("--stages", stages, "Verilog pipeline register stages (-1: from the clock period)");

    auto* csim = app.add_subcommand("csim", "Compile and run an HLS project's testbench with g++");
    csim->add_option("project", prj)->required();
    auto* rtlsim = app.add_subcommand("rtlsim", "Simulate a Verilog project with Verilator against the emulator");
    rtlsim->add_option("project", prj)->required();
    auto* report = app.add_subcommand("report", "Synthesise a Verilog project with Yosys and report resources");
    report->add_option("project", prj)->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (*info) return cmdInfo(model, cfg);
        if (*config && !calib.empty()) return api::cmdAutoPrecision(model, cfg, calib, autoOpt, out);
        if (*config) return cmdConfig(model, gran, out);
        if (*profileCmd) return api::cmdProfile(model, cfg, in, out, threads);
        if (*predict) return cmdPredict(model, cfg, in, out, floatMode, traceDir, threads);
        if (*convert) return cmdConvert(model, cfg, out, backend, cmvm, stages);
        if (*csim) {
#ifdef TACHYON_HAVE_HLS
            auto r = api::csim(prj, std::cout);
            return r.mismatches == 0 && r.rows > 0 ? 0 : 2;
#else
            throw Error("the HLS backend is not built into this tachyon");
#endif
        }
        if (*rtlsim) {
#ifdef TACHYON_HAVE_VERILOG
            auto r = api::rtlsim(prj, std::cout);
            return r.mismatches == 0 && r.rows > 0 ? 0 : 2;
#else
            throw Error("the Verilog backend is not built into this tachyon");
#endif
        }
        if (*report) {
#ifdef TACHYON_HAVE_VERILOG
            const auto r = api::report(prj, std::cerr);
            std::cout << "resources (Yosys synth_xilinx, UltraScale+, DSPs disabled):\n"
                      << "  LUTs          " << r.luts << "\n  FFs           " << r.ffs << "\n  carry chains  "
                      << r.carry << "\n  DSPs          " << r.dsps << "\n  BRAM          " << r.brams
                      << "\n  logic levels  " << r.logicLevels << "  (longest register-to-register path, cells)\n"
                      << "latency: " << r.latencyCycles << " cycles = " << r.latencyCycles * r.clockNs << " ns at "
                      << r.clockNs << " ns (" << 1000.0 / r.clockNs << " MHz)\n";
            return 0;
#else
            throw Error("the Verilog backend is not built into this tachyon");
#endif
        }
    } catch (const std::exception& e) {
        std::cerr << "tachyon: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
