// The library behind both front doors, the `tachyon` command line (tools/main.cpp) and
// the Python module (python/tachyon_module.cpp): one code path for loading and
// configuring a model, running it, profiling it, choosing its precision, and writing and
// simulating its projects. Everything throws tachyon::Error with the CLI's messages.
#pragma once

#include "config/Config.h"
#include "emulator/Emulator.h"
#include "ir/Graph.h"
#include "util/NonFinite.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace tachyon::api {

using Json = nlohmann::json;

// ---- configuration as a value in hls4ml's layout (YAML <-> JSON) ----

// YAML text -> JSON; scalars become integers, floats, booleans or strings as YAML 1.2's
// core schema reads them ("ap_fixed<16,6>" stays a string).
Json yamlToJson(const std::string& yamlText, const std::string& source);
Json readYamlFile(const std::string& path);
// JSON -> block-style YAML that Config::parse reads back to the same configuration.
std::string jsonToYaml(const Json& j);

// hls4ml's config_from_keras_model/config_from_onnx_model: the `tachyon config`
// template for a model, with `defaultPrecision` and `defaultReuseFactor` in every place
// the template has ap_fixed<16,6> and ReuseFactor 1. granularity: model, type or name.
Json configFromModel(const std::string& modelPath, const std::string& granularity = "model",
                     const std::string& defaultPrecision = "ap_fixed<16,6>", int defaultReuseFactor = 1);

// ---- predictions and their warnings ----

// Warnings are data: the CLI prints them, Python issues them with warnings.warn.
struct PredictWarning {
    enum class Kind { Overflow, NonFinite, Fidelity };
    Kind kind = Kind::Overflow;
    std::string layer;   // the layer concerned; "" for the inputs or the whole model
    uint64_t count = 0;  // overflowed values; non-finite inputs; fidelity: rows compared
    std::string message;
};
const char* kindName(PredictWarning::Kind k);   // "overflow", "nonfinite", "fidelity"

struct PredictOptions {
    bool floatMode = false;
    int threads = 0;                 // 0: every core
    bool checkFidelity = true;       // fixed point: a float shadow run on the first rows
    size_t blockRows = 16384;        // rows per block; `betweenBlocks` runs between blocks
    // Called after every block; it may throw to stop the prediction (Python's Ctrl-C).
    std::function<void()> betweenBlocks;
};

// The float shadow run: fixed point is compared with float on the first kFidelityRows rows
// (with finite inputs). Classifiers (more than one output) warn when fewer than
// kMinAgreement of the argmaxes agree, other models when the relative error
// (mean |fixed - float| / mean |float|) exceeds kMaxRelativeError.
constexpr size_t kFidelityRows = 1000;
constexpr double kMinAgreement = 0.99;
constexpr double kMaxRelativeError = 0.05;

struct PredictReport {
    std::vector<LayerStats> stats;   // per layer, fixed point (networks)
    NonFiniteCount nonFinite;        // NaN/Inf among the inputs
    bool classifier = false;         // judged by argmax agreement (else relative error)
    double fidelity = -1;            // agreement or relative error of the shadow run; -1: not run
    size_t fidelityRows = 0;
    std::vector<PredictWarning> warnings;
};

// The fidelity check of a network on `rows` rows it predicted in fixed point (`out`): the
// warning when fixed point strays from float (Model::run makes the same check; the CLI's
// predict calls this on its first block).
std::optional<PredictWarning> fidelityWarning(const Graph& g, const Emulator& emu, const double* x, size_t rows,
                                              const double* out);

// ---- a loaded and configured model (network or tree ensemble) ----

// What Model::write takes besides the folder.
struct WriteOptions {
    std::string backend = "hls";     // hls | verilog | lut (trees)
    std::string cmvm = "da";         // Verilog matrix-vector products: da | naive
    int stages = -1;                 // Verilog pipeline stages; -1: from the clock period
    bool force = false;              // replace an earlier project (never a foreign folder)
    std::vector<double> testInputs;  // the testbench's rows (hls4ml's InputData), rows * inputSize(); empty: random
    std::string option = "output";   // how messages name the folder ("-o" on the command line)
    // More files the command reads ("what", path): the folder may not be or hold one.
    std::vector<std::pair<std::string, std::string>> inputs;
};

// A Model never changes once loaded: a new configuration makes a new Model (withConfig),
// which SharedModel swaps in while other threads keep running the old one.
class Model {
public:
    // config: null = Tachyon's defaults; an object = a configuration in hls4ml's layout;
    // a string = path of a YAML file.
    // `weights`: a Keras JSON's weights file when it is not `<stem>_weights.h5` beside it.
    static std::unique_ptr<Model> load(const std::string& path, const Json& config = nullptr,
                                       const std::string& weights = "");
    ~Model();

    const std::string& path() const { return path_; }
    bool isTree() const { return treeModel_; }   // a tree-ensemble file (its graph: Input -> TreeEnsemble)
    const Json& config() const { return config_; }
    const std::vector<std::string>& warnings() const { return warnings_; }
    // The same model under another configuration (throws, naming the key, when it is invalid).
    std::unique_ptr<Model> withConfig(const Json& config) const;

    const Graph& graph() const;
    const Emulator& emulator() const;
    const Config& parsedConfig() const { return cfg_; }
    // What the firmware is built for (io type, part, clock): the configuration's, handed to
    // the backends beside the graph.
    Target target() const { return cfg_.target(); }

    Shape inputShape() const;   // per sample
    Shape outputShape() const;
    int inputSize() const;
    int outputSize() const;
    std::vector<std::string> layerNames() const;
    std::vector<Shape> layerShapes() const;
    std::string summary() const;   // `tachyon info` text

    // x: rows * inputSize(), out: rows * outputSize(). Fixed mode fills `stats` (networks).
    void predict(const double* x, size_t rows, double* out, bool floatMode, int threads = 1,
                 std::vector<LayerStats>* stats = nullptr) const;
    // The same in blocks, with the warnings: overflows per layer, non-finite inputs, and the
    // fidelity check (fixed point against the float shadow run, worst layer named).
    PredictReport run(const double* x, size_t rows, double* out, const PredictOptions& opt) const;
    // Every layer's output (networks), in layer order, each rows * layer.outSize().
    std::vector<std::vector<double>> trace(const double* x, size_t rows, bool floatMode) const;

    // Projects. backend: hls | verilog | lut (a ROM; any model with few input bits). The directory is written whole or not
    // at all (temporary name, renamed on success) under AtomicOutput's rules: never the
    // model's folder, `.`, `..` or a folder Tachyon did not write; an earlier project only
    // with `force`. The configuration's ProjectName must be an identifier.
    void write(const std::string& dir, const std::string& backend, const std::string& cmvm = "da", int stages = -1,
               std::ostream* log = nullptr, bool force = false) const;
    // The same with every option (what `tachyon convert` calls).
    void write(const std::string& dir, const WriteOptions& opt, std::ostream* log = nullptr) const;

private:
    Model() = default;
    void configure(const Json& config, const std::string& source);
    void checkFidelity(const double* x, size_t rows, const double* out, PredictReport& rep) const;
    // dir/tachyon_source.json: the model, weights and configuration a project was written
    // from, so that csim/rtlsim can make test vectors for new rows (ProjectSource.cpp).
    void writeSourceRecord(const std::string& dir, const WriteOptions& opt) const;
    std::string path_;
    std::string weights_;   // a Keras JSON's separately named weights file, if any
    Json config_;
    std::string source_;
    std::vector<std::string> warnings_;
    Config cfg_;
    std::shared_ptr<const Graph> raw_;   // as imported (shared by every configuration)
    std::unique_ptr<Graph> graph_;       // configured
    std::unique_ptr<Emulator> emu_;
    bool treeModel_ = false;
};

// A model whose configuration one thread may replace while others run it: get() hands out
// an immutable snapshot that stays alive as long as its user holds it; setConfig builds the
// new Model first and swaps it in only when it is valid (else the old one stays).
class SharedModel {
public:
    explicit SharedModel(std::shared_ptr<const Model> m) : m_(std::move(m)) {}
    std::shared_ptr<const Model> get() const {
        std::lock_guard<std::mutex> lk(mu_);
        return m_;
    }
    void setConfig(const Json& config) {
        std::shared_ptr<const Model> next = get()->withConfig(config);
        std::lock_guard<std::mutex> lk(mu_);
        m_ = std::move(next);
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const Model> m_;
};

// Merges per-block overflow counts.
void accumulate(std::vector<LayerStats>& total, const std::vector<LayerStats>& block);
std::string overflowTable(const std::vector<LayerStats>& stats);

// ---- simulation and synthesis of projects, with progress on `log` ----

struct SimResult {
    size_t rows = 0, mismatches = 0;
};
// apInclude: a folder with Xilinx's own ap_int.h/ap_fixed.h to compile against instead of the
// bundled headers (empty: $TACHYON_AP_INCLUDE when set, else the bundled ones).
SimResult csim(const std::string& prjDir, std::ostream& log, const std::string& apInclude = "");
SimResult rtlsim(const std::string& prjDir, std::ostream& log);
// The same on the user's own rows (hls4ml's InputData; `tachyon csim PRJ -i X.npy`), `x` holding
// rows * the model's inputs. The project records the model and configuration it was written
// from (tachyon_source.json); they are loaded again, the testbench's vectors are made for `x`,
// and the design is simulated only when the model still generates the project's design
// files byte for byte (else an Error says the model or the project changed since).
// simulator: "csim" or "rtlsim". `x` holds rows of `cols` values; `source` names them in messages.
SimResult simulateOnRows(const std::string& prjDir, const std::string& simulator, const std::vector<double>& x,
                         size_t cols, const std::string& source, std::ostream& log,
                         const std::string& apInclude = "");
// The testbench rows of a file (.npy/.csv) checked for a model of `inputs` inputs: the
// column count, at least one row, no NaN/Inf. `option` names the flag in messages.
std::vector<double> readTestRows(const std::string& path, int inputs, const std::string& option);
void checkTestRows(const std::vector<double>& x, size_t rows, size_t cols, int inputs, const std::string& source);
struct Resources {
    int luts = 0, ffs = 0, carry = 0, dsps = 0, brams = 0, srls = 0, muxes = 0, logicLevels = 0, latencyCycles = 0;
    double clockNs = 0.0;
    double worstPathNs = 0.0;   // estimated delay of the worst register-to-register path
    std::string timing;         // per-stage table of the worst paths (backends/verilog/Timing.h)
    std::string adders;         // per-layer shift-add adders, CSE vs CSD-only (empty: none)
    std::string text() const;   // what `tachyon report` prints
};
Resources report(const std::string& prjDir, std::ostream& log);

// Prints "<what>: <elapsed> s" on `log` every few seconds while alive (long external
// tools: g++, Verilator, Yosys), so a long step never looks hung.
class Heartbeat {
public:
    Heartbeat(std::ostream& log, std::string what, double everySeconds = 10.0);
    ~Heartbeat();
private:
    struct State;
    std::unique_ptr<State> st_;
};

// Rows/s progress for long predictions: a line at most every `everySeconds`.
class RateMeter {
public:
    RateMeter(std::ostream& log, size_t totalRows, double everySeconds = 2.0);
    void add(size_t rows);
    void finish();
private:
    std::ostream& log_;
    size_t total_, done_ = 0;
    double every_, last_ = 0;
    std::chrono::steady_clock::time_point t0_;
};

// ---- profiling (post-training quantisation, step 1) ----

struct VarProfile {
    std::string var;            // weight, bias, scale, shift, accum, result
    std::string type;           // the configured type ("" when the variable has none)
    double typeMin = 0, typeMax = 0, lsb = 0;
    uint64_t count = 0, zeros = 0;
    double min = 0, max = 0;
    double log2q[5] = {0, 0, 0, 0, 0};   // min, q1, median, q3, max of log2|v| over non-zero v
    uint64_t overflow = 0;      // float values outside [typeMin, typeMax]
    uint64_t belowLsb = 0;      // non-zero float values with |v| < lsb (all precision lost)
    uint64_t emulatedOverflow = 0;   // casts that saturated or wrapped in the bit-exact run
};
struct LayerProfile {
    std::string name, kind;
    std::vector<VarProfile> vars;
};
struct ProfileReport {
    std::string model;
    size_t rows = 0;
    std::vector<LayerProfile> layers;
    Json toJson() const;
    std::string table() const;   // the terminal table
};
ProfileReport profile(const Model& m, const double* x, size_t rows, int threads = 0);
// Writes dir/profile.json, dir/profile.txt and, through python/tachyon/plotting.py and
// matplotlib, dir/weights.png and dir/activations.png. Returns the files written. The
// folder is written whole or not at all under AtomicOutput's rules: an earlier profile
// is replaced only with `force`, a foreign folder never; `inputs` ("what", path) are the
// files the folder may not be or hold.
std::vector<std::string> writeProfile(const ProfileReport& r, const std::string& dir, std::ostream& log,
                                      bool force = false,
                                      const std::vector<std::pair<std::string, std::string>>& inputs = {});
// The interpreter and script the CLI uses for the plots.
std::string plottingScript();

// ---- automatic precision (post-training quantisation, step 2) ----

struct AutoPrecisionOptions {
    double targetAgreement = 0.999;   // classifiers: argmax agreement with the float model
    double maxError = -1;             // regression when >= 0: mean |fixed - float| / mean |float|
    int maxBits = 18;                 // widest type the search may choose
    int margin = 1;                   // integer bits above the observed range
    bool exactAccumulators = true;    // accum LSB = input LSB x weight LSB (no product rounding);
                                      // false: accum LSB = result LSB (every product truncated)
    int threads = 0;
    std::string weights;              // a Keras JSON's weights file, when not <stem>_weights.h5
    int scoreFracBits = 8;            // softmax/sigmoid outputs keep at least this many fraction bits
                                      // (scores are cut on, not only argmax-ed)
};
struct LayerChoice {
    std::string layer;
    std::map<std::string, std::string> types;   // var -> type
};
struct AutoPrecisionResult {
    Json config;
    std::vector<LayerChoice> layers;
    bool classifier = true;
    double metric = 0;          // agreement or relative error on the calibration rows
    bool met = false;
    int evaluations = 0;
    std::string table() const;
};
AutoPrecisionResult autoPrecision(const std::string& modelPath, const Json& baseConfig, const double* x, size_t rows,
                                  const AutoPrecisionOptions& opt, std::ostream& log);
// Agreement of argmaxes (classifier) or relative error (regression) between fixed and float.
double agreement(const double* a, const double* b, size_t rows, size_t cols);
double relativeError(const double* fixed, const double* ref, size_t n);

// ---- the CLI subcommands built on the above ----
// `force`: replace an earlier output (AtomicOutput's rules).
int cmdProfile(const std::string& model, const std::string& cfg, const std::string& calib, const std::string& outDir,
               int threads, bool force = false);
int cmdAutoPrecision(const std::string& model, const std::string& cfg, const std::string& calib,
                     const AutoPrecisionOptions& opt, const std::string& out, bool force = false);

// `tachyon config`: the template text of a model (configTemplate, comments included; a tree
// ensemble's own template). granularity: model, type or name.
std::string configTemplateText(const std::string& model, const std::string& granularity,
                               const std::string& weights = "");
// `tachyon info`: the model's layers and shapes; with a configuration file `cfg`, after the
// passes (fixed-point types), followed by the defaults in force. The passes' warnings (unused
// LayerName keys) are returned in `warnings` for the caller to show.
std::string infoText(const std::string& model, const std::string& weights, const std::string& cfg,
                     std::vector<std::string>& warnings);
// `tachyon info --passes`: the layer table as the frontend read the model, then after every
// import pass and every pipeline pass (configured by `cfg`, or by the default configuration
// when it is empty), each headed by the pass's name and whether it changed the graph.
std::string infoPassesText(const std::string& model, const std::string& weights, const std::string& cfg,
                           std::vector<std::string>& warnings);
// `text` into the file `path`, whole or not at all under AtomicOutput's rules (`option` names
// it in messages; `inputs` as in PredictCommand).
void writeTextOutput(const std::string& path, const std::string& text, const std::string& option, bool force,
                     const std::vector<std::pair<std::string, std::string>>& inputs);

// `tachyon predict`: the rows of `input` (.npy/.csv) through the model into `output`, block
// by block, with every layer's output in `traceDir` when given, the overflow summary, the
// non-finite inputs and the fidelity check returned as warnings. `inputs` ("what", path): the
// files no output may be or hold (inputsOf).
struct PredictCommand {
    std::string model, weights, config, input, output, traceDir;
    bool floatMode = false, force = false;
    bool nanError = false;   // refuse NaN/Inf inputs instead of counting them
    int threads = 1;
    std::vector<std::pair<std::string, std::string>> inputs;
};
// Returns the warnings (non-finite inputs, the fidelity check) as
// lines for the caller to show; the progress and overflow summary go to stderr.
std::vector<std::string> cmdPredict(const PredictCommand& c);

// Project names become file names and C/Verilog identifiers: anything else (such as
// `../../x`) is a tachyon::Error naming `source`.
void checkProjectName(const std::string& name, const std::string& source);

// The files a command reads besides the model: the model itself, its Keras weights (`weights`,
// else beside it), and each given (what, path). No output may be or hold one of them.
std::vector<std::pair<std::string, std::string>> inputsOf(
    const std::string& model, const std::vector<std::pair<std::string, std::string>>& others,
    const std::string& weights = "");

// Reads a whole .npy/.csv matrix (rows x columns) for calibration.
std::vector<double> readRows(const std::string& path, size_t& rows, size_t& cols);

}  // namespace tachyon::api
