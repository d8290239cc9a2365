// Loading, configuring and running models; configuration dictionaries; projects.
#include "api/Api.h"

#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/AtomicOutput.h"
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
#include "backends/lut/LutProject.h"
#include "config/Config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tachyon::api {

// ---------------------------------------------------------------- YAML <-> JSON

namespace {

Json scalarToJson(const YAML::Node& n) {
    const std::string s = n.Scalar();
    if (n.Tag() == "!") return s;   // quoted in the YAML: a string
    static const std::regex intRe(R"([-+]?[0-9]+)");
    static const std::regex floatRe(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (std::regex_match(s, intRe)) {
        try {
            return std::stoll(s);
        } catch (...) {
        }
    }
    if (std::regex_match(s, floatRe)) return std::stod(s);
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    return s;
}

Json nodeToJson(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map: {
        Json j = Json::object();
        for (const auto& kv : n) {
            if (!kv.first.IsScalar()) throw Error("configuration keys must be names");   // `? [1, 2]: 3`
            j[kv.first.Scalar()] = nodeToJson(kv.second);
        }
        return j;
    }
    case YAML::NodeType::Sequence: {
        Json j = Json::array();
        for (const auto& v : n) j.push_back(nodeToJson(v));
        return j;
    }
    case YAML::NodeType::Scalar: return scalarToJson(n);
    default: return nullptr;
    }
}

void emit(YAML::Emitter& e, const Json& j) {
    if (j.is_object()) {
        e << YAML::BeginMap;
        for (auto it = j.begin(); it != j.end(); ++it) {
            e << YAML::Key << it.key() << YAML::Value;
            emit(e, it.value());
        }
        e << YAML::EndMap;
    } else if (j.is_array()) {
        e << YAML::BeginSeq;
        for (const auto& v : j) emit(e, v);
        e << YAML::EndSeq;
    } else if (j.is_string()) {
        e << j.get<std::string>();
    } else if (j.is_boolean()) {
        e << (j.get<bool>() ? "true" : "false");
    } else if (j.is_number_integer()) {
        e << j.get<long long>();
    } else if (j.is_number()) {
        std::ostringstream os;
        os << std::setprecision(17) << j.get<double>();
        e << os.str();
    } else {
        e << YAML::Null;
    }
}

}  // namespace

Json yamlToJson(const std::string& text, const std::string& source) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const std::exception& e) {
        throw Error(source + ": cannot read YAML (" + std::string(e.what()) + ")");
    }
    Json j;
    try {
        j = nodeToJson(root);
    } catch (const Error& e) {
        throw Error(source + ": " + e.what());
    }
    return j.is_null() ? Json::object() : j;
}

Json readYamlFile(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw Error(path + ": cannot open file");
    std::stringstream ss;
    ss << f.rdbuf();
    return yamlToJson(ss.str(), path);
}

std::string jsonToYaml(const Json& j) {
    YAML::Emitter e;
    emit(e, j);
    return std::string(e.c_str()) + "\n";
}

namespace {

void replaceDefaults(Json& j, const std::string& prec, int reuse) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it.key() == "ReuseFactor" && it.value().is_number_integer()) it.value() = reuse;
            else replaceDefaults(it.value(), prec, reuse);
        }
    } else if (j.is_string() && j.get<std::string>() == "ap_fixed<16,6>") {
        j = prec;
    }
}

}  // namespace

Json configFromModel(const std::string& modelPath, const std::string& granularity, const std::string& defaultPrecision,
                     int defaultReuseFactor) {
    if (granularity != "model" && granularity != "type" && granularity != "name")
        throw Error("granularity: '" + granularity + "' is not one of model, type, name");
    try {
        (void)FixedType::parse(defaultPrecision);
    } catch (const std::exception& e) {
        throw Error("default_precision: '" + defaultPrecision + "': " + e.what());
    }
    if (defaultReuseFactor < 1) throw Error("default_reuse_factor: must be at least 1");
    Graph g = loadModel(modelPath);
    Granularity gr = granularity == "model" ? Granularity::Model
                     : granularity == "type" ? Granularity::Type
                                             : Granularity::Name;
    Json j = yamlToJson(configTemplate(g, gr), modelPath);
    replaceDefaults(j, defaultPrecision, defaultReuseFactor);
    return j;
}

// ---------------------------------------------------------------- Model

namespace {

}  // namespace

Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& path, const Json& config, const std::string& weights) {
    std::unique_ptr<Model> m(new Model());
    m->path_ = path;
    m->weights_ = weights;
    if (!fs::exists(path)) throw Error(path + ": no such file");
    m->raw_ = std::make_shared<const Graph>(loadModel(path, weights));   // trees: Input -> TreeEnsemble
    m->treeModel_ = isTreeModel(*m->raw_);
    if (config.is_string()) {
        const std::string p = config.get<std::string>();
        m->configure(readYamlFile(p), p);
    } else if (config.is_null()) {
        m->configure(yamlToJson(configTemplate(*m->raw_, Granularity::Model, false), path), "<default configuration>");
    } else if (config.is_object()) {
        m->configure(config, "<config>");
    } else {
        throw Error("config: must be a dict, a path to a YAML file, or None");
    }
    return m;
}

std::unique_ptr<Model> Model::withConfig(const Json& config) const {
    if (!config.is_object()) throw Error("config: must be a dict in hls4ml's layout");
    std::unique_ptr<Model> m(new Model());
    m->path_ = path_;
    m->weights_ = weights_;
    m->raw_ = raw_;
    m->treeModel_ = treeModel_;
    m->configure(config, "<config>");
    return m;
}

void Model::configure(const Json& config, const std::string& source) {
    Config cfg = fs::exists(source) ? Config::load(source) : Config::parse(jsonToYaml(config), source);
    auto g = std::make_unique<Graph>(*raw_);
    const std::vector<std::string> unused = runPipeline(*g, cfg);
    auto emu = std::make_unique<Emulator>(*g);
    if (!fs::exists(source))
        for (const std::string& w : cfg.warnings) std::cerr << "tachyon: warning: " << w << "\n";
    for (const std::string& w : unused) std::cerr << "tachyon: warning: " << w << "\n";
    warnings_ = cfg.warnings;
    warnings_.insert(warnings_.end(), unused.begin(), unused.end());
    cfg_ = std::move(cfg);
    graph_ = std::move(g);
    emu_ = std::move(emu);
    config_ = config;
    source_ = source;
}

const Graph& Model::graph() const { return *graph_; }
const Emulator& Model::emulator() const { return *emu_; }

Shape Model::inputShape() const { return graph_->input().shape; }
Shape Model::outputShape() const { return graph_->output().shape; }
int Model::inputSize() const { return emu_->inputSize(); }
int Model::outputSize() const { return emu_->outputSize(); }

std::vector<std::string> Model::layerNames() const {
    std::vector<std::string> n;
    for (const Layer& l : graph().layers) n.push_back(l.name);
    return n;
}
std::vector<Shape> Model::layerShapes() const {
    std::vector<Shape> s;
    for (const Layer& l : graph().layers) s.push_back(l.shape);
    return s;
}

std::string Model::summary() const { return dump(*graph_); }

void Model::predict(const double* x, size_t rows, double* out, bool floatMode, int threads,
                    std::vector<LayerStats>* stats) const {
    EmulatorOptions opt;
    opt.threads = threads;
    if (floatMode) {
        emu_->runFloat(x, rows, out, opt);
    } else {
        std::vector<int64_t> raw(rows * size_t(emu_->outputSize()));
        emu_->runFixed(x, rows, raw.data(), out, stats, opt);
    }
}

std::vector<std::vector<double>> Model::trace(const double* x, size_t rows, bool floatMode) const {
    const Emulator& e = emulator();
    return floatMode ? e.traceFloat(x, rows) : e.traceFixed(x, rows);
}

void checkProjectName(const std::string& name, const std::string& source) {
    bool ok = !name.empty() && name.size() <= 64 && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok)
        throw Error(source + ": ProjectName: '" + name +
                    "' is not a C/Verilog identifier (letters, digits and _, at most 64, not starting with a digit)");
}

std::vector<std::pair<std::string, std::string>> inputsOf(
    const std::string& model, const std::vector<std::pair<std::string, std::string>>& others,
    const std::string& weights) {
    std::vector<std::pair<std::string, std::string>> in = {{"model", model}};
    // Keras: model.json reads its weights from --weights, else from beside it.
    const fs::path m(model);
    if (!weights.empty())
        in.push_back({"model's weights (--weights)", weights});
    else if (m.extension() == ".json")
        in.push_back({"model's weights", (m.parent_path() / (m.stem().string() + "_weights.h5")).string()});
    in.insert(in.end(), others.begin(), others.end());
    return in;
}

void Model::write(const std::string& dir, const std::string& backend, const std::string& cmvm, int stages,
                  std::ostream* logp, bool force) const {
    WriteOptions opt;
    opt.backend = backend;
    opt.cmvm = cmvm;
    opt.stages = stages;
    opt.force = force;
    write(dir, opt, logp);
}

void Model::write(const std::string& dir, const WriteOptions& wo, std::ostream* logp) const {
    std::ostream& log = logp ? *logp : std::cerr;
    const auto t0 = std::chrono::steady_clock::now();
    const std::string& backend = wo.backend;
    if (wo.cmvm != "da" && wo.cmvm != "naive") throw Error("cmvm: '" + wo.cmvm + "' is not da or naive");
    checkProjectName(cfg_.projectName, source_);
    if (treeModel_ && !wo.testInputs.empty())
        throw Error(path_ + ": testbench input: tree ensemble projects test on their own rows; it is for networks");
    if (!wo.testInputs.empty() && wo.testInputs.size() % size_t(inputSize()) != 0)
        throw Error(path_ + ": testbench input: " + std::to_string(wo.testInputs.size()) +
                    " values are not whole rows of " + std::to_string(inputSize()) + " inputs");
    OutputRules rules;
    rules.force = wo.force;
    rules.others = inputsOf(path_, {{"configuration", fs::exists(source_) ? source_ : ""}}, weights_);
    rules.others.insert(rules.others.end(), wo.inputs.begin(), wo.inputs.end());
    AtomicOutput out(dir, wo.option, OutputKind::Project, rules);
    fs::create_directories(out.tmp());
    const std::string tmp = out.tmp().string();
    try {
        if (backend == "lut") {   // any model whose inputs together are a few bits wide
            lut::LutOptions opt;
            opt.projectName = cfg_.projectName;
            opt.target = target();
            opt.maxInputBits = cfg_.lutMaxInputBits;
            lut::writeProject(*graph_, emu_->lowered(), tmp, opt);
        } else if (backend == "hls") {
#ifdef TACHYON_HAVE_HLS
            hls::HlsOptions opt;
            opt.projectName = cfg_.projectName;
            opt.target = target();
            opt.testInputs = wo.testInputs;
            log << hls::writeProject(*graph_, emu_->lowered(), tmp, opt).text();
#else
            throw Error("the HLS backend is not built into this tachyon");
#endif
        } else if (backend == "verilog") {
#ifdef TACHYON_HAVE_VERILOG
            verilog::VerilogOptions opt;
            opt.projectName = cfg_.projectName;
            opt.target = target();
            opt.cmvm = wo.cmvm;
            // A tree configuration's Pipeline (register stages) unless --stages says otherwise.
            opt.stages = wo.stages >= 0 ? wo.stages : cfg_.treePipeline;
            opt.testInputs = wo.testInputs;
            verilog::writeProject(*graph_, emu_->lowered(), tmp, opt);
#else
            throw Error("the Verilog backend is not built into this tachyon");
#endif
        } else {
            throw Error("backend '" + backend + "' is not one of hls, verilog, lut");
        }
        if (!fs::exists(out.tmp() / manifestName(OutputKind::Project)))
            throw Error(dir + ": the backend wrote no " + std::string(manifestName(OutputKind::Project)));
        writeSourceRecord(tmp, wo);
        out.commit();
    } catch (const Error& e) {
        // The user's folder, not the temporary; a full disk said as such.
        throw Error(explainWriteFailure(dir, wo.option, userFacing(e.what())));
    } catch (const fs::filesystem_error& e) {
        throw Error(explainWriteFailure(dir, wo.option, userFacing(dir + ": " + e.code().message() + " (" +
                                                                      e.path1().string() + ")")));
    }
    log << "wrote " << backend << " project " << dir << " in " << std::fixed << std::setprecision(1)
        << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3 << " ms\n"
        << std::defaultfloat;
}

// ---------------------------------------------------------------- overflow statistics

void accumulate(std::vector<LayerStats>& total, const std::vector<LayerStats>& block) {
    if (total.empty()) {
        total = block;
        return;
    }
    for (size_t k = 0; k < block.size() && k < total.size(); ++k) {
        total[k].resultOverflows += block[k].resultOverflows;
        total[k].accumOverflows += block[k].accumOverflows;
        total[k].values += block[k].values;
    }
}

std::string overflowTable(const std::vector<LayerStats>& stats) {
    std::ostringstream os;
    os << "overflow summary (values that saturated or wrapped):\n";
    for (const auto& s : stats) {
        os << "  " << std::left << std::setw(24) << s.layer << std::right << " result " << std::setw(9)
           << s.resultOverflows << " / " << s.values;
        if (s.accumOverflows) os << "   accum " << s.accumOverflows;
        os << "\n";
    }
    return os.str();
}

// ---------------------------------------------------------------- progress

struct Heartbeat::State {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    std::thread th;
};

Heartbeat::Heartbeat(std::ostream& log, std::string what, double every) : st_(std::make_unique<State>()) {
    State* st = st_.get();
    st->th = std::thread([st, &log, what, every] {
        const auto t0 = std::chrono::steady_clock::now();
        std::unique_lock<std::mutex> lk(st->mu);
        while (!st->cv.wait_for(lk, std::chrono::duration<double>(every), [st] { return st->stop; })) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            log << what << ": " << int(s) << " s elapsed" << std::endl;
        }
    });
}

Heartbeat::~Heartbeat() {
    {
        std::lock_guard<std::mutex> lk(st_->mu);
        st_->stop = true;
    }
    st_->cv.notify_all();
    st_->th.join();
}

RateMeter::RateMeter(std::ostream& log, size_t total, double every)
    : log_(log), total_(total), every_(every), t0_(std::chrono::steady_clock::now()) {}

void RateMeter::add(size_t rows) {
    done_ += rows;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    if (s - last_ >= every_ && done_ < total_) {
        last_ = s;
        log_ << "predict: " << done_ << " / " << total_ << " rows (" << std::fixed << std::setprecision(0)
             << 100.0 * double(done_) / double(total_) << "%), " << double(done_) / s << " rows/s" << std::defaultfloat
             << std::endl;
    }
}

void RateMeter::finish() {}

SimResult csim(const std::string& prj, std::ostream& log, const std::string& apInclude) {
#ifdef TACHYON_HAVE_HLS
    Heartbeat hb(std::cerr, "csim: compiling and running the testbench");
    auto r = hls::csim(prj, log, apInclude);
    return {r.rows, r.mismatches};
#else
    throw Error("the HLS backend is not built into this tachyon");
#endif
}

SimResult rtlsim(const std::string& prj, std::ostream& log) {
#ifdef TACHYON_HAVE_VERILOG
    Heartbeat hb(std::cerr, "rtlsim: Verilator build and simulation");
    auto r = verilog::rtlsim(prj, log);
    return {r.rows, r.mismatches};
#else
    throw Error("the Verilog backend is not built into this tachyon");
#endif
}

Resources report(const std::string& prj, std::ostream& log) {
#ifdef TACHYON_HAVE_VERILOG
    Heartbeat hb(std::cerr, "report: Yosys running", 30.0);
    const verilog::SynthReport r = verilog::report(prj, log);
    Resources o;
    o.luts = r.luts;
    o.ffs = r.ffs;
    o.carry = r.carry;
    o.dsps = r.dsps;
    o.brams = r.brams;
    o.srls = r.srls;
    o.muxes = r.muxes;
    o.logicLevels = r.logicLevels;
    o.worstPathNs = r.timing.worst.ns;
    {
        std::ostringstream t;
        // Measured (synthesised netlist) next to the scheduler's estimate for the stage.
        const auto row = [&](const std::string& label, const verilog::StageTiming& s, int stage) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "  %-9s %4d cells (%d LUT, %d carry, %d MUXF)  ~%.2f ns  ", label.c_str(), s.levels,
                          s.luts, s.carries, s.muxes, s.ns);
            t << buf;
            if (stage >= 1 && size_t(stage) <= r.stageEstimatesNs.size()) {
                std::snprintf(buf, sizeof buf, "(scheduler ~%.2f ns)  ", r.stageEstimatesNs[size_t(stage - 1)]);
                t << buf;
            }
            t << s.from << " -> " << s.to << "\n";
        };
        for (const auto& s : r.timing.stages) row("stage " + std::to_string(s.stage), s, s.stage);
        if (r.timing.loopRegisters > 0)
            row("loops", r.timing.loops, -1), t << "  (" << r.timing.loopRegisters << " registers on feedback loops: counters, line buffers)\n";
        o.timing = t.str();
    }
    o.adders = verilog::adderTable(r.adders);
    o.latencyCycles = r.latencyCycles;
    o.clockNs = r.clockNs;
    return o;
#else
    throw Error("the Verilog backend is not built into this tachyon");
#endif
}

std::string Resources::text() const {
    std::ostringstream os;
    os << "resources (Yosys synth_xilinx, UltraScale+, DSPs disabled):\n"
       << "  LUTs          " << luts << "\n  FFs           " << ffs << "\n  carry cells   " << carry
       << "  (Yosys maps CARRY4, 4 bits each, not UltraScale+'s 8-bit CARRY8)\n  SRLs          " << srls
       << "\n  MUXF7/8       " << muxes << "\n  DSPs          " << dsps << "\n  BRAM          " << brams << "\n"
       << "timing (estimate, no placement; worst path between registers per pipeline stage, from the\n"
          "synthesised netlist; in brackets the scheduler's estimate of the same stage before synthesis):\n"
       << timing << "  worst: " << logicLevels << " cells, ~" << worstPathNs << " ns against a " << clockNs
       << " ns clock" << (worstPathNs > clockNs ? " (MAY NOT MEET TIMING)" : "") << "\n"
       << adders
       << "latency: " << latencyCycles << " cycles = " << latencyCycles * clockNs << " ns at " << clockNs << " ns ("
       << 1000.0 / clockNs << " MHz)\n";
    return os.str();
}

std::vector<double> readRows(const std::string& path, size_t& rows, size_t& cols) {
    if (!fs::exists(path)) throw Error(path + ": no such file");
    return readMatrix(path, rows, cols);
}

}  // namespace tachyon::api
