// tachyon: the command-line front door. Each subcommand is a thin wrapper over the
// library: frontends -> passes -> emulator -> backends.
#include "api/Api.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "trigger/Command.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "util/Json.h"
#if __has_include("backends/hls/HlsWriter.h")
#include "backends/hls/HlsWriter.h"
#define TACHYON_HAVE_HLS 1
#endif
#if __has_include("backends/verilog/VerilogWriter.h")
#include "backends/verilog/VerilogWriter.h"
#define TACHYON_HAVE_VERILOG 1
#endif
#include "frontends/trees/Frontends.h"
// Tree files are read into Input -> TreeEnsemble graphs and take the one pipeline.
#define TACHYON_HAVE_TREES 1

#ifdef TACHYON_HAVE_SERVE
#include "serve/Perf.h"
#include "serve/Server.h"
#endif

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <new>
#include <sstream>
#include <system_error>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

bool isTree(const std::string& path) { return trees::detectTreeFormat(path) != trees::TreeFormat::None; }

// What the user asked for, beyond the subcommand.
struct Options {
    std::string model, weights, cfg, in, out, gran = "name", traceDir, backend = "hls", cmvm = "da", prj;
    bool floatMode = false, force = false;
    bool estimateOnly = false;   // report --estimate: the netlist's own counts, no Yosys
    bool passes = false;         // info --passes: the graph after each pass
    std::string nan = "warn";   // what predict does with NaN/Inf inputs: warn or error
    int threads = 1, stages = -1;
    std::string calib;                  // profile / config --auto-precision
    std::string tbInput;                // convert --tb-input: the testbench's rows
    std::string apInclude;              // csim --ap-include: Xilinx's ap_int.h/ap_fixed.h folder
    api::AutoPrecisionOptions autoOpt;
};

// Inputs are checked up front, so that a missing file or a folder given as a file gets
// one clear message instead of whatever the reader's stream makes of it.
void requireInputFile(const std::string& path, const std::string& option) {
    if (path.empty()) return;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) throw Error(path + ": " + option + ": file not found");
    if (fs::is_directory(st)) throw Error(path + ": " + option + ": is a folder, not a file");
}

// The command's own files, which no output may replace.
OutputRules outputRules(const Options& o) {
    OutputRules r;
    r.force = o.force;
    r.others = api::inputsOf(o.model, {{"configuration (-c)", o.cfg},
                                       {"input (-i)", o.in},
                                       {"calibration data (--auto-precision)", o.calib},
                                       {"testbench input (--tb-input)", o.tbInput}},
                             o.weights);
    return r;
}

int cmdConfig(const Options& o) {
    const std::string text = api::configTemplateText(o.model, o.gran, o.weights);
    if (o.out.empty()) {
        std::cout << text;
    } else {
        api::writeTextOutput(o.out, text, "-o", o.force, outputRules(o).others);
        std::cerr << "wrote " << o.out << "\n";
    }
    return 0;
}

// Writing a project is the API's (Model::write, as Python's write_hls/write_verilog):
// the command line only loads the model and names its options.
int cmdConvert(const Options& o) {
    if (isTree(o.model) && !o.tbInput.empty())
        throw Error(o.model + ": --tb-input: tree ensemble projects test on their own rows; it is for networks");
    const auto model = api::Model::load(o.model, o.cfg.empty() ? api::Json() : api::Json(o.cfg), o.weights);
    api::WriteOptions opt;
    opt.backend = o.backend;
    opt.cmvm = o.cmvm;
    opt.stages = o.stages;
    opt.force = o.force;
    opt.option = "-o";
    opt.inputs = outputRules(o).others;
    if (!o.tbInput.empty()) opt.testInputs = api::readTestRows(o.tbInput, model->inputSize(), "--tb-input");
    model->write(o.out, opt, &std::cerr);
    return 0;
}

// csim/rtlsim PRJ, with -i on the user's rows instead of the project's own.
int cmdSimulate(const Options& o, const std::string& simulator) {
    api::SimResult r;
    if (o.in.empty()) {
        r = simulator == "csim" ? api::csim(o.prj, std::cout, o.apInclude) : api::rtlsim(o.prj, std::cout);
    } else {
        size_t rows = 0, cols = 0;
        const std::vector<double> x = api::readRows(o.in, rows, cols);
        r = api::simulateOnRows(o.prj, simulator, x, cols, o.in + ": -i", std::cout, o.apInclude);
    }
    return r.mismatches == 0 && r.rows > 0 ? 0 : 2;
}

// --weights names a Keras JSON's weights file (several pruned weight sets share one JSON);
// any other model carries its own weights, so the option there is a mistake worth saying.
void checkWeightsOption(const Options& o) {
    if (o.weights.empty()) return;
    requireInputFile(o.weights, "--weights");
    std::string ext = fs::path(o.model).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext != ".json" || isTree(o.model))
        throw Error(o.model + ": --weights: only a Keras architecture .json takes a separate weights file");
}

// Runs the chosen subcommand; every failure becomes `tachyon: error: <file>: <key>: <reason>`.
int dispatch(const CLI::App& app, const Options& o) {
    if (app.got_subcommand("info") || app.got_subcommand("config") || app.got_subcommand("predict") ||
        app.got_subcommand("convert")) {
        requireInputFile(o.model, "model");
        checkWeightsOption(o);
    }
    if (app.got_subcommand("info")) {
        requireInputFile(o.model, "model");
        requireInputFile(o.cfg, "-c");
        std::vector<std::string> warnings;
        const std::string text = o.passes ? api::infoPassesText(o.model, o.weights, o.cfg, warnings)
                                          : api::infoText(o.model, o.weights, o.cfg, warnings);
        for (const std::string& w : warnings) std::cerr << "tachyon: warning: " << w << "\n";
        std::cout << text;
        return 0;
    }
    if (app.got_subcommand("config")) {
        requireInputFile(o.model, "model");
        requireInputFile(o.cfg, "-c");
        if (!o.calib.empty()) {
            requireInputFile(o.calib, "--auto-precision");
            api::AutoPrecisionOptions opt = o.autoOpt;
            opt.weights = o.weights;
            return api::cmdAutoPrecision(o.model, o.cfg, o.calib, opt, o.out, o.force);
        }
        return cmdConfig(o);
    }
    if (app.got_subcommand("profile")) {
        requireInputFile(o.model, "model");
        requireInputFile(o.cfg, "-c");
        requireInputFile(o.in, "-i");
        return api::cmdProfile(o.model, o.cfg, o.in, o.out, o.threads, o.force);
    }
    if (app.got_subcommand("predict")) {
        requireInputFile(o.model, "model");
        requireInputFile(o.cfg, "-c");
        requireInputFile(o.in, "-i");
        api::PredictCommand c;
        c.model = o.model;
        c.weights = o.weights;
        c.config = o.cfg;
        c.input = o.in;
        c.output = o.out;
        c.traceDir = o.traceDir;
        c.floatMode = o.floatMode;
        c.force = o.force;
        c.nanError = o.nan == "error";
        c.threads = o.threads;
        c.inputs = outputRules(o).others;
        for (const std::string& w : api::cmdPredict(c)) std::cerr << w << "\n";
        return 0;
    }
    if (app.got_subcommand("convert")) {
        requireInputFile(o.model, "model");
        requireInputFile(o.cfg, "-c");
        requireInputFile(o.tbInput, "--tb-input");
        return cmdConvert(o);
    }
    if (app.got_subcommand("csim")) {
#ifdef TACHYON_HAVE_HLS
        requireInputFile(o.in, "-i");
        return cmdSimulate(o, "csim");
#else
        throw Error("the HLS backend is not built into this tachyon");
#endif
    }
    if (app.got_subcommand("rtlsim")) {
#ifdef TACHYON_HAVE_VERILOG
        requireInputFile(o.in, "-i");
        return cmdSimulate(o, "rtlsim");
#else
        throw Error("the Verilog backend is not built into this tachyon");
#endif
    }
    if (app.got_subcommand("report")) {
#ifdef TACHYON_HAVE_VERILOG
        if (o.estimateOnly) {
            std::cout << verilog::estimateReport(o.prj);
            return 0;
        }
        std::cout << api::report(o.prj, std::cerr).text();
        return 0;
#else
        throw Error("the Verilog backend is not built into this tachyon");
#endif
    }
    return 0;
}

// The file a failure that carries no file name is about.
std::string subject(const Options& o) { return userFacing(!o.model.empty() ? o.model : o.prj); }

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Tachyon: trained models to bit-exact fixed-point emulation, HLS C++ and Verilog"};
    app.require_subcommand(1);
    Options o;
    const char* weightsHelp = "Keras .json model: its weights .h5 (default: <stem>_weights.h5 beside it)";

    auto* info = app.add_subcommand("info", "Print the model's layers, shapes and (with -c) fixed-point types");
    info->add_option("--weights", o.weights, weightsHelp);
    info->add_option("model", o.model, "model file (.onnx, Keras .json/.h5, tree ensemble)")->required();
    info->add_option("-c,--config", o.cfg, "configuration YAML");
    info->add_flag("--passes", o.passes, "print the layer table as read, then after each pass (its name first)");

    auto* config = app.add_subcommand("config", "Write an hls4ml-style configuration template for a model");
    config->add_option("--weights", o.weights, weightsHelp);
    config->add_option("model", o.model)->required();
    config->add_option("-g,--granularity", o.gran, "model, type or name")->check(CLI::IsMember({"model", "type", "name"}));
    config->add_option("-o,--output", o.out, "output YAML (default: stdout)");
    config->add_flag("--force", o.force, "overwrite an existing output file");
    config->add_option("--auto-precision", o.calib, "choose every layer's types from calibration rows (.npy/.csv)");
    config->add_option("-c,--config", o.cfg, "base configuration for --auto-precision (project keys, defaults)");
    config->add_option("--target-agreement", o.autoOpt.targetAgreement,
                       "classifiers: argmax agreement with the float model to keep (default 0.999)");
    config->add_option("--max-error", o.autoOpt.maxError,
                       "regression: largest mean |fixed - float| / mean |float| (selects regression)");
    config->add_option("--max-bits", o.autoOpt.maxBits, "widest type the search may choose (default 18)");
    config->add_option("--score-bits", o.autoOpt.scoreFracBits,
                       "fraction bits an output softmax/sigmoid keeps at least (default 8)")
        ->check(CLI::Range(0, 62));
    config->add_option("--margin", o.autoOpt.margin, "integer bits above the observed range (default 1)");
    config->add_flag("!--narrow-accum", o.autoOpt.exactAccumulators,
                     "accumulators with the result's LSB (products truncated) instead of exact products");

    auto* profileCmd = app.add_subcommand("profile", "Float ranges per layer on calibration data against the types; "
                                                     "plots with -o");
    profileCmd->add_option("model", o.model)->required();
    profileCmd->add_option("-c,--config", o.cfg, "configuration YAML (default: ap_fixed<16,6> everywhere)");
    profileCmd->add_option("-i,--input", o.in, "calibration rows (.npy or .csv)")->required();
    profileCmd->add_option("-o,--output", o.out, "report directory: profile.json, profile.txt, weights.png, "
                                                 "activations.png");
    profileCmd->add_option("-j,--threads", o.threads, "threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    profileCmd->add_flag("--force", o.force, "replace an earlier profile folder (never a folder Tachyon did not write)");

    auto* predict = app.add_subcommand("predict", "Run the emulator on a batch (.npy or .csv rows)");
    predict->add_option("--weights", o.weights, weightsHelp);
    predict->add_option("model", o.model)->required();
    predict->add_option("-c,--config", o.cfg, "configuration YAML (default: ap_fixed<16,6> everywhere)");
    predict->add_option("-i,--input", o.in, "input rows (.npy or .csv)")->required();
    predict->add_option("-o,--output", o.out, "output file (.npy or .csv)")->required();
    predict->add_flag("--float", o.floatMode, "double-precision reference instead of bit-exact fixed point");
    predict->add_option("--trace", o.traceDir, "write every layer's output into this directory");
    predict->add_option("-j,--threads", o.threads, "threads (0 = all cores)")->check(CLI::Range(0, 4096));
    predict->add_option("--nan", o.nan, "NaN/Inf inputs: warn (count and go on) or error")
        ->check(CLI::IsMember({"warn", "error"}));
    predict->add_flag("--force", o.force, "overwrite an existing output file");

    auto* convert = app.add_subcommand("convert", "Write an HLS or Verilog project");
    convert->add_option("--weights", o.weights, weightsHelp);
    convert->add_option("model", o.model)->required();
    convert->add_option("-c,--config", o.cfg, "configuration YAML");
    convert->add_option("-o,--output", o.out, "project directory")->required();
    convert->add_option("-b,--backend", o.backend, "hls, verilog, or lut (a ROM: models with few input bits)")
        ->check(CLI::IsMember({"hls", "verilog", "lut"}));
    convert->add_option("--cmvm", o.cmvm, "Verilog matrix-vector products: da (shift-add graph) or naive")
        ->check(CLI::IsMember({"da", "naive"}));
    convert->add_option("--stages", o.stages, "Verilog pipeline register stages (default: from the clock period)")
        ->check(CLI::Range(0, 1000));
    convert->add_option("--tb-input", o.tbInput,
                        "the testbench's input rows (.npy/.csv; hls4ml's InputData), compared by csim/rtlsim "
                        "(default: 1000 random rows)");
    convert->add_flag("--force", o.force, "replace an existing file (never a folder Tachyon did not write)");

    auto* csim = app.add_subcommand("csim", "Compile and run an HLS project's testbench with g++");
    csim->add_option("project", o.prj)->required();
    csim->add_option("-i,--input", o.in, "the user's rows (.npy/.csv; hls4ml's InputData) instead of the project's "
                                         "own test vectors, compared with the emulator");
    csim->add_option("--ap-include", o.apInclude,
                     "a folder with Xilinx's own ap_int.h/ap_fixed.h (HLS_arbitrary_Precision_Types' include/) "
                     "to compile against instead of the bundled ones (default: $TACHYON_AP_INCLUDE, else bundled)");
    auto* rtlsim = app.add_subcommand("rtlsim", "Simulate a Verilog project with Verilator against the emulator");
    rtlsim->add_option("project", o.prj)->required();
    rtlsim->add_option("-i,--input", o.in, "the user's rows (.npy/.csv) instead of the project's own test vectors");
    auto* report = app.add_subcommand("report", "Synthesise a Verilog project with Yosys and report resources");
    report->add_option("project", o.prj)->required();
    report->add_flag("--estimate", o.estimateOnly,
                     "LUTs, FFs and cycles counted on the generated netlist in a second, without Yosys");

    trigger::TriggerArgs trig;
    auto* triggerCmd = app.add_subcommand("trigger", "Trigger menu study: rates, thresholds, efficiencies, fixed vs "
                                                     "float flips, overlaps, latency budget (docs/trigger.md)");
    // menu, --background and -o are required unless the `scout` subcommand is given.
    triggerCmd->add_option("menu", trig.menu, "menu YAML");
    triggerCmd->add_option("--background", trig.background, "zero-bias events FILE[:DATASET]");
    triggerCmd->add_option("--signal", trig.signals, "signal events NAME=FILE[:DATASET] (repeatable)")
        ->allow_extra_args(false);
    triggerCmd->add_option("--target-rate", trig.targetRate, "choose thresholds for this rate (1kHz, 500Hz)");
    triggerCmd->add_option("--bunches", trig.bunches, "colliding bunches (default: the menu's, else 2544)")
        ->check(CLI::Range(1, 3564));
    triggerCmd->add_flag("--flat40", trig.flat40, "a flat 40 MHz crossing rate instead of bunches x 11245.6 Hz");
    triggerCmd->add_option("--latency-budget", trig.latencyBudget, "latency budget (50ns, 12.5us; phase2 = 12.5us)");
    triggerCmd->add_option("--device", trig.device, "FPGA for the resource shares (VU9P, VU13P, KU15P)");
    triggerCmd->add_option("--backend", trig.backend, "firmware view: hls (schedule estimate, DSPs) or verilog "
                                                      "(shift-add pipeline, LUTs)")->check(CLI::IsMember({"hls", "verilog"}));
    triggerCmd->add_option("--report", trig.reports, "measured resources: ALGORITHM=PROJECT, a Verilog project "
                                                      "after `tachyon report` (repeatable)")->allow_extra_args(false);
    triggerCmd->add_option("-o,--output", trig.out, "output folder: summary.json, plots, flips");
    triggerCmd->add_option("-j,--threads", trig.threads, "threads (0 = all cores)")->check(CLI::Range(0, 4096));
    triggerCmd->add_flag("--force", trig.force, "replace an existing file (never a folder Tachyon did not write)");
    triggerCmd->add_flag("-q,--quiet", trig.quiet, "no progress lines");
    triggerCmd->add_flag("!--no-plots", trig.plots, "no PNGs (summary, plot data and flips only)");
    trigger::ScoutArgs scout;
    auto* scoutCmd = triggerCmd->add_subcommand("scout", "Scouting stream simulation: arrivals, batching, workers; "
                                                         "sustained rate, latency p50/p99, buffer, drops");
    scoutCmd->add_option("--rate", scout.rate, "event rate (1.4MHz)");
    scoutCmd->add_option("--arrivals", scout.arrivals, "poisson or lhc (bunch pattern)")
        ->check(CLI::IsMember({"poisson", "lhc"}));
    scoutCmd->add_option("--bunches", scout.bunches, "lhc: filled bunches in trains of 48 (default 2544)")
        ->check(CLI::Range(1, 3564));
    scoutCmd->add_option("--filling", scout.filling, "lhc: filling scheme file (3564 flags 0/1, or slot numbers)");
    scoutCmd->add_option("--objects", scout.objects, "objects per event: N or poisson:MEAN (default 1)");
    scoutCmd->add_option("--objects-from", scout.objectsFrom, "objects per event from a column of FILE[:DATASET]");
    scoutCmd->add_option("--objects-column", scout.objectsColumn, "the column for --objects-from (default 0)");
    scoutCmd->add_option("--batch", scout.batches, "batch size in objects, or a list to sweep (64,128,256)");
    scoutCmd->add_option("--max-delay", scout.maxDelay, "close a batch when its oldest object waited this long (100us)");
    scoutCmd->add_option("--workers", scout.workers, "workers computing batches (default 1)")->check(CLI::Range(1, 100000));
    scoutCmd->add_option("--buffer", scout.buffer, "buffer size in objects (0 = unbounded); arrivals to a full "
                                                   "buffer are dropped")->check(CLI::NonNegativeNumber);
    scoutCmd->add_option("--duration", scout.duration, "simulated time of arrivals (default 10ms)");
    scoutCmd->add_option("--seed", scout.seed, "random seed (default 1)");
    scoutCmd->add_option("--model", scout.model, "model whose emulator time per batch is measured");
    scoutCmd->add_option("-c,--config", scout.config, "its configuration YAML");
    scoutCmd->add_flag("--float", scout.floatMode, "measure the float emulator instead of fixed point");
    scoutCmd->add_flag("--fpga", scout.fpga, "an FPGA pipeline: II and latency from the model's HLS estimate");
    scoutCmd->add_option("--ii-cycles", scout.iiCycles, "FPGA pipeline II (cycles)")->check(CLI::PositiveNumber);
    scoutCmd->add_option("--latency-cycles", scout.latencyCycles, "FPGA pipeline latency (cycles)")
        ->check(CLI::NonNegativeNumber);
    scoutCmd->add_option("--clock-ns", scout.clockNs, "FPGA clock period (ns)")->check(CLI::PositiveNumber);
    scoutCmd->add_option("--service", scout.service, "a fixed compute time per batch (500ns, 20us)");
    scoutCmd->add_option("--perf", scout.perf, "time per batch size from `tachyon perf --json` (a KServe v2 server)");
    scoutCmd->add_option("--per-object", scout.perObject, "with --service: added per object in the batch");
    scoutCmd->add_option("-o,--output", scout.out, "output folder: scout.json, scout.png");
    scoutCmd->add_flag("--force", scout.force, "replace an existing file (never a folder Tachyon did not write)");
    scoutCmd->add_flag("!--no-plots", scout.plots, "no PNG");
#ifdef TACHYON_HAVE_SERVE
    serve::ServeOptions serveOpt;
    auto* serveCmd = app.add_subcommand("serve", "Serve a Triton-layout model repository over KServe v2 HTTP/gRPC "
                                                 "with dynamic batching (docs/serve.md)");
    serveCmd->add_option("--model-repository", serveOpt.repository, "repository folder: NAME/config.pbtxt, NAME/1/...")
        ->required();
    serveCmd->add_option("--host", serveOpt.host, "address to listen on (default 127.0.0.1)");
    serveCmd->add_option("--http-port", serveOpt.httpPort, "HTTP/REST port (default 8000; 0: any free port; -1: off)")
        ->check(CLI::Range(-1, 65535));
    serveCmd->add_option("--grpc-port", serveOpt.grpcPort, "gRPC port (default 8001; 0: any free port; -1: off)")
        ->check(CLI::Range(-1, 65535));
    serveCmd->add_option("--metrics-port", serveOpt.metricsPort, "Prometheus /metrics port (default 8002; -1: off)")
        ->check(CLI::Range(-1, 65535));
    serveCmd->add_option("--max-request-bytes", serveOpt.maxRequestBytes, "largest request accepted (default 64 MiB)")
        ->check(CLI::Range(size_t(1024), size_t(1) << 31));
    serveCmd->add_option("--http-threads", serveOpt.httpThreads, "concurrent HTTP connections (default 128)")
        ->check(CLI::Range(4, 4096));
    serveCmd->add_option("--strict-readiness", serveOpt.strictReadiness,
                         "true (default): ready only when every model loaded; false: ready while serving");

    serve::PerfOptions perfOpt;
    auto* perfCmd = app.add_subcommand("perf", "Load-test a KServe v2 server (Tachyon or Triton): throughput and "
                                               "latency vs concurrency or request rate");
    perfCmd->add_option("-m,--model", perfOpt.model, "model name")->required();
    perfCmd->add_option("--model-version", perfOpt.version, "model version (default: the server's latest)");
    perfCmd->add_option("-u,--url", perfOpt.url, "host:port (default 127.0.0.1:8001)");
    perfCmd->add_option("-i,--protocol", perfOpt.protocol, "grpc or http")->check(CLI::IsMember({"grpc", "http"}));
    perfCmd->add_option("-b,--batch-size", perfOpt.batchSizes, "rows per request; several: one curve each")
        ->check(CLI::Range(1, 1 << 20));
    perfCmd->add_option("--concurrency-range", perfOpt.concurrencyRange, "start[:end[:step]] concurrent clients");
    perfCmd->add_option("--request-rate-range", perfOpt.requestRateRange, "start[:end[:step]] requests/s");
    perfCmd->add_option("--request-distribution", perfOpt.distribution, "constant or poisson arrivals")
        ->check(CLI::IsMember({"constant", "poisson"}));
    perfCmd->add_option("-p,--measurement-interval", perfOpt.measurementSeconds, "seconds per level (default 2)")
        ->check(CLI::Range(0.01, 3600.0));
    perfCmd->add_option("--request-count", perfOpt.requestCount, "requests per level instead of a time bound");
    perfCmd->add_option("-f,--csv", perfOpt.csv, "write the results as CSV");
    perfCmd->add_option("--json", perfOpt.json, "write the results as JSON");
    perfCmd->add_option("--png", perfOpt.png, "plot throughput vs p99 latency, one curve per batch size");
    perfCmd->add_flag("--force", perfOpt.force, "overwrite existing output files");
#endif

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // TACHYON_CHECK_ARGS=1: stop once the arguments parse (the test of the docs' commands).
    if (const char* check = std::getenv("TACHYON_CHECK_ARGS"); check && std::string(check) == "1") {
        std::cout << "arguments ok\n";
        return 0;
    }
    // Still one thread here. `serve` takes SIGTERM/SIGINT itself, to drain and exit 0.
#ifdef TACHYON_HAVE_SERVE
    if (!app.got_subcommand("serve"))
#endif
        installCleanupOnSignals();
    const auto fail = [&o](const std::string& msg) {
        const std::string why = o.out.empty() ? msg : explainWriteFailure(o.out, "-o", msg);
        std::cerr << "tachyon: error: " << util::capMessage(why) << "\n";
        return 1;
    };
    try {
        if (app.got_subcommand("trigger")) {
            if (triggerCmd->got_subcommand("scout")) {
                o.model = scout.model;
                return trigger::cmdScout(scout);
            }
            o.model = trig.menu;
            if (trig.menu.empty()) throw Error("trigger: the menu YAML is required (or `tachyon trigger scout`)");
            if (trig.background.empty()) throw Error("trigger: --background is required");
            if (trig.out.empty()) throw Error("trigger: -o DIR is required");
            return trigger::cmdTrigger(trig);
        }
#ifdef TACHYON_HAVE_SERVE
        if (app.got_subcommand("serve")) return serve::runServer(serveOpt);
        if (app.got_subcommand("perf")) return serve::runPerf(perfOpt);
#endif
        return dispatch(app, o);
    } catch (const Error& e) {
        return fail(userFacing(e.what()));
    } catch (const fs::filesystem_error& e) {
        const std::string path = e.path1().empty() ? subject(o) : userFacing(e.path1().string());
        return fail(path + ": file system: " + e.code().message());
    } catch (const std::system_error& e) {
        // std::thread's constructor: the system refused another thread (ulimit -u, memory).
        if (e.code() == std::errc::resource_unavailable_try_again)
            return fail(subject(o) + ": threads: cannot start another thread (" + e.code().message() +
                        "); use fewer threads (-j)");
        return fail(subject(o) + ": " + userFacing(e.what()));
    } catch (const std::bad_alloc&) {
        return fail(subject(o) + ": memory: out of memory (the model or its input declares more data than fits)");
    } catch (const std::length_error&) {
        return fail(subject(o) + ": memory: the model or its input declares an impossibly large size");
    } catch (const std::exception& e) {
        return fail(subject(o) + ": " + userFacing(e.what()));
    }
}
