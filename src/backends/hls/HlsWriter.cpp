#include "backends/hls/HlsWriter.h"

#include "backends/ProjectFiles.h"
#include "backends/hls/HeaderLimits.h"
#include "backends/hls/HlsEmit.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::hls {

namespace {

#ifndef TACHYON_SOURCE_DIR
#define TACHYON_SOURCE_DIR "."
#endif

// Where the hand-written parts of every project live: the bundled ap_* headers and the
// layer kernels. $TACHYON_HLS_DIR overrides the source tree (for installed binaries).
fs::path templateDir() {
    const char* env = std::getenv("TACHYON_HLS_DIR");
    fs::path dir = env && *env ? fs::path(env) : fs::path(TACHYON_SOURCE_DIR) / "src/backends/hls";
    if (!fs::exists(dir / "include/ap_fixed.h") || !fs::exists(dir / "nnet_utils/nnet_dense.h"))
        throw Error("HLS backend: kernel templates not found in " + dir.string() +
                    " (set TACHYON_HLS_DIR to the folder holding include/ and nnet_utils/)");
    return dir;
}

void writeFile(const fs::path& p, const std::string& text) { backend::writeText(p.string(), text); }

void copyFolder(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    for (const auto& e : fs::directory_iterator(from))
        if (e.is_regular_file()) fs::copy_file(e.path(), to / e.path().filename(), fs::copy_options::overwrite_existing);
}

bool isIdentifier(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string upper(std::string s) {
    for (auto& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

struct Project {
    const Graph& g;
    const LoweredGraph& low;
    const HlsOptions& opt;
    fs::path dir;
    std::map<std::string, std::string> ids;
    std::vector<LayerCode> layers;  // graph order, Input excluded
    bool stream = false;
    std::map<std::string, TensorInfo> tensors;  // by key: layer outputs and intermediates
    std::vector<std::string> tensorOrder;

    void addTensor(const TensorInfo& t) {
        tensors[t.key] = t;
        tensorOrder.push_back(t.key);
    }
    const TensorInfo& tensor(const std::string& key) const { return tensors.at(key); }
    const TensorInfo& input() const { return tensor(g.input().name); }
    std::vector<const TensorInfo*> inputs() const {
        std::vector<const TensorInfo*> out;
        for (const Layer* l : g.inputs()) out.push_back(&tensor(l->name));
        return out;
    }
    // The size macro of input k: N_INPUT with one input, N_INPUT_<k+1> with several
    // (N_INPUT is then their total, the width of a test-vector row).
    std::string inputSizeMacro(size_t k) const {
        return g.inputs().size() == 1 ? std::string("N_INPUT") : "N_INPUT_" + std::to_string(k + 1);
    }
    // The top function's input parameters, one array per model input (hls4ml's order).
    std::string inputParameters() const {
        std::string s;
        const auto ins = inputs();
        for (size_t k = 0; k < ins.size(); ++k)
            s += "const " + ins[k]->type + " " + ins[k]->var + "[" + inputSizeMacro(k) + "], ";
        return s;
    }
    const TensorInfo& output() const { return tensor(g.output().name); }
};

std::string parametersHeader(const Project& p) {
    std::ostringstream os;
    os << "// Types and per-layer configurations of " << p.opt.projectName << ", written by Tachyon from "
       << (p.g.sourceFile.empty() ? p.g.name : p.g.sourceFile) << ".\n"
       << "// Every layer has <layer>_result_t (its output type) and <layer>_config (its sizes and\n"
       << "// schedule); the kernels are in nnet_utils/, the constants in weights/.\n"
       << (p.stream ? "// io_stream: <tensor>_beat_t is one stream beat, the last axis of one position.\n" : "")
       << "#ifndef PARAMETERS_H_\n#define PARAMETERS_H_\n\n"
       << "#include \"ap_fixed.h\"\n#include \"ap_int.h\"\n#include \"hls_stream.h\"\n\n";
    for (const char* h : {"activation", "attention", "batchnorm", "conv", "dense", "garnet", "merge", "movement", "pooling",
                          "quantize", "recurrent", "softmax", "reduce"})
        os << "#include \"nnet_utils/nnet_" << h << ".h\"\n";
    // Only where the graph has trees, so that network projects stay as they were.
    if (std::any_of(p.g.layers.begin(), p.g.layers.end(), [](const Layer& l) { return l.kind == LayerKind::TreeEnsemble; }))
        os << "#include \"nnet_utils/nnet_bdt.h\"\n";
    const std::vector<const Layer*> inputLayers = p.g.inputs();
    for (size_t k = 0; k < inputLayers.size(); ++k)
        os << "\n// " << inputLayers[k]->name << ": model input " << (inputLayers.size() > 1 ? std::to_string(k + 1) + " " : "")
           << shapeString(inputLayers[k]->shape) << "\n"
           << "typedef " << inputLayers[k]->type("result").str() << " " << p.inputs()[k]->type << ";\n";
    auto beat = [&](const TensorInfo& t) {
        if (p.stream) os << "typedef nnet::array<" << t.type << ", " << t.chan << "> " << t.beat << ";\n";
    };
    beat(p.input());
    os << "\n";
    for (size_t k = 0; k < p.layers.size(); ++k) {
        const LayerCode& c = p.layers[k];
        os << c.params;
        for (const TensorInfo& t : c.intermediates) beat(t);
        beat(p.tensor(p.g.layers[k + p.g.inputs().size()].name));
        os << "\n";
    }
    os << "typedef " << p.output().type << " result_t;\n";
    if (p.stream) os << "typedef " << p.output().beat << " result_beat_t;\n";
    os << "\n#endif\n";
    return os.str();
}

std::string topHeader(const Project& p) {
    const std::string& top = p.opt.projectName;
    std::ostringstream os;
    os << "// Top function of " << top << ", written by Tachyon.\n#ifndef " << upper(top) << "_H_\n#define "
       << upper(top) << "_H_\n\n#include \"parameters.h\"\n\n"
       << "#define N_INPUT " << p.g.inputSize() << "\n";
    const std::vector<const Layer*> inputLayers = p.g.inputs();
    if (inputLayers.size() > 1)
        for (size_t k = 0; k < inputLayers.size(); ++k)
            os << "#define " << p.inputSizeMacro(k) << " " << inputLayers[k]->outSize() << "\n";
    os << "#define N_OUTPUT " << p.g.outputSize() << "\n\n";
    if (p.stream)
        os << "// io_stream: one beat per position, all values of the last axis packed (input_beat_t::size).\n"
           << "void " << top << "(hls::stream<input_beat_t>& " << p.input().var << ", hls::stream<result_beat_t>& "
           << p.output().var << ");\n";
    else
        os << "void " << top << "(" << p.inputParameters() << "result_t " << p.output().var << "[N_OUTPUT]);\n";
    os << "\n#endif\n";
    return os.str();
}

// A layer whose products are folded over several cycles (Resource, ReuseFactor > 1), or a
// recurrent layer, whose time loop must stay a loop (hls4ml's static form).
bool layerFolds(const Layer& l) {
    // GarNet bounds its edge-table lookups per clock with its own pipelined loops, which a
    // pipelined top would unroll into every vertex's lookups at once.
    return (l.schedule.strategy == Strategy::Resource && l.schedule.reuseFactor > 1) || l.kind == LayerKind::Recurrent ||
           l.kind == LayerKind::GarNet;
}

std::string topSource(const Project& p) {
    const std::string& top = p.opt.projectName;
    const std::string in = p.input().var, out = p.output().var;
    std::ostringstream os;
    os << "// " << top << ": " << p.g.layers.size() - 1 << " layers, " << toString(p.opt.target.io) << ", written by Tachyon.\n"
       << "// One " << (p.stream ? "stream" : "array") << " per tensor, one kernel call per layer, in topological order.\n"
       << "#include \"" << top << ".h\"\n\n";
    for (const LayerCode& c : p.layers)
        for (const ConstantFile& f : c.constants) os << "#include \"weights/" << f.name << "\"\n";
    os << "\n";
    // Readers of every tensor (io_stream clones a tensor read by several kernels).
    std::map<std::string, int> readers, used;
    for (const LayerCode& c : p.layers)
        for (const KernelCall& k : c.calls)
            for (const std::string& i : k.inputs) readers[i]++;
    if (p.stream) {
        os << "void " << top << "(hls::stream<input_beat_t>& " << in << ", hls::stream<result_beat_t>& " << out << ") {\n"
           << "    #pragma HLS INTERFACE axis port=" << in << "\n"
           << "    #pragma HLS INTERFACE axis port=" << out << "\n"
           << "    #pragma HLS DATAFLOW\n";
    } else {
        // PIPELINE on the top function unrolls every loop below it, which would undo the
        // folding of a Resource layer; with one, the layers run as a DATAFLOW chain instead.
        const bool folds = std::any_of(p.g.layers.begin(), p.g.layers.end(), layerFolds);
        os << "void " << top << "(" << p.inputParameters() << "result_t " << out << "[N_OUTPUT]) {\n";
        for (const TensorInfo* t : p.inputs()) os << "    #pragma HLS ARRAY_RESHAPE variable=" << t->var << " complete dim=0\n";
        os << "    #pragma HLS ARRAY_PARTITION variable=" << out << " complete dim=0\n";
        for (const TensorInfo* t : p.inputs()) os << "    #pragma HLS INTERFACE ap_vld port=" << t->var << "\n";
        os << "    #pragma HLS INTERFACE ap_vld port=" << out << "\n"
           << (folds ? "    #pragma HLS DATAFLOW\n" : "    #pragma HLS PIPELINE\n");
    }
    auto declare = [&](const std::string& var, const TensorInfo& t) {
        if (p.stream) {
            os << "    hls::stream<" << t.beat << "> " << var << "(\"" << var << "\");\n"
               << "    #pragma HLS STREAM variable=" << var << " depth=" << t.size / t.chan << "\n";
        } else {
            os << "    " << t.type << " " << var << "[" << t.size << "];\n"
               << "    #pragma HLS ARRAY_PARTITION variable=" << var << " complete dim=0\n";
        }
    };
    // io_stream: copies of a tensor read by n > 1 kernels, made by a chain of two-way clones.
    auto cloneCopies = [&](const TensorInfo& t) {
        const int n = readers[t.key];
        if (!p.stream || n < 2) return;
        std::string from = t.var;
        os << "    // " << t.var << " is read by " << n << " layers\n";
        for (int k = 1; k < n; ++k) {
            const std::string copy = t.var + "_cpy" + std::to_string(k);
            const std::string rest = k + 1 < n ? t.var + "_rest" + std::to_string(k) : t.var + "_cpy" + std::to_string(n);
            declare(copy, t);
            declare(rest, t);
            os << "    nnet::clone_stream<" << t.beat << ", " << t.size / t.chan << ">(" << from << ", " << copy << ", "
               << rest << ");\n";
            from = rest;
        }
    };
    auto reader = [&](const std::string& key) {
        const TensorInfo& t = p.tensor(key);
        if (!p.stream || readers[key] < 2) return t.var;
        return t.var + "_cpy" + std::to_string(++used[key]);
    };
    os << "\n";
    cloneCopies(p.input());
    for (const LayerCode& c : p.layers) {
        for (const KernelCall& k : c.calls) {
            const TensorInfo& o = p.tensor(k.output);
            os << "\n";
            if (k.output != p.g.output().name) declare(o.var, o);
            os << "    nnet::" << k.kernel << "<";
            for (const std::string& i : k.inputs) os << (p.stream ? p.tensor(i).beat : p.tensor(i).type) << ", ";
            os << (p.stream ? (k.output == p.g.output().name ? std::string("result_beat_t") : o.beat) : o.type) << ", "
               << k.config << ">(";
            for (const std::string& i : k.inputs) os << reader(i) << ", ";
            os << o.var;
            for (const std::string& a : k.constantArgs) os << ", " << a;
            os << ");\n";
            cloneCopies(o);
        }
    }
    os << "}\n";
    return os.str();
}

std::string testbench(const Project& p) {
    const std::string& top = p.opt.projectName;
    const FixedType& inT = p.g.input().type("result");
    const FixedType& outT = p.g.output().type("result");
    std::ostringstream os;
    os << R"(// C simulation testbench of )" << top << R"(, written by Tachyon.
// Reads tb_data/input_raw.dat (one sample per line, raw integers of input_t), runs the top
// function, writes tb_data/csim_raw.dat and compares it with tb_data/expected_raw.dat, which
// the Tachyon emulator computed. Usage: )" << top << R"(_test [tb_data folder] [max rows]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "firmware/)" << top << R"(.h"

static const int kInputWidth = )" << inT.width << R"(;  // the first input's
static const int kOutputWidth = )" << outT.width << R"(;
static const bool kOutputSigned = )" << (outT.isSigned ? "true" : "false") << R"(;

// Raw integer <-> fixed-point value through the standard bit-slice API.
template <class T>
static T from_raw(long long raw, int width) {
    T x;
    x.range(width - 1, 0) = (unsigned long long)raw;
    return x;
}

static long long to_raw(const result_t& y) {
    unsigned long long bits = y.range(kOutputWidth - 1, 0).to_uint64();
    if (kOutputSigned && kOutputWidth < 64 && ((bits >> (kOutputWidth - 1)) & 1)) bits |= ~0ULL << kOutputWidth;
    return (long long)bits;
}

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "tb_data";
    const long long maxRows = argc > 2 ? std::atoll(argv[2]) : -1;
    std::ifstream fin((dir + "/input_raw.dat").c_str());
    std::ifstream fexp((dir + "/expected_raw.dat").c_str());
    std::ofstream fout((dir + "/csim_raw.dat").c_str());
    if (!fin || !fexp || !fout) {
        std::cerr << "cannot open the files in " << dir << "\n";
        return 2;
    }
    long long rows = 0, mismatches = 0;
    std::string line, expLine;
    while ((maxRows < 0 || rows < maxRows) && std::getline(fin, line) && std::getline(fexp, expLine)) {
        std::istringstream is(line), es(expLine);
)";
    // One array per model input, filled from consecutive values of the row.
    {
        const auto ins = p.inputs();
        const std::vector<const Layer*> inputLayers = p.g.inputs();
        for (size_t k = 0; k < ins.size(); ++k) {
            const std::string x = ins.size() == 1 ? std::string("x") : "x" + std::to_string(k + 1);
            os << "        " << ins[k]->type << " " << x << "[" << p.inputSizeMacro(k) << "];\n"
               << "        for (int i = 0; i < " << p.inputSizeMacro(k) << "; i++) {\n"
               << "            long long raw = 0;\n"
               << "            is >> raw;\n"
               << "            " << x << "[i] = from_raw<" << ins[k]->type << ">(raw, "
               << (k == 0 ? std::string("kInputWidth") : std::to_string(inputLayers[k]->type("result").width)) << ");\n"
               << "        }\n";
        }
        os << "        result_t y[N_OUTPUT];\n";
    }
    if (p.stream)
        os << R"(        hls::stream<input_beat_t> in("input");
        hls::stream<result_beat_t> out("output");
        for (int b = 0; b < N_INPUT / (int)input_beat_t::size; b++) {
            input_beat_t beat;
            for (int c = 0; c < (int)input_beat_t::size; c++) beat[c] = x[b * input_beat_t::size + c];
            in.write(beat);
        }
        )" << top << R"((in, out);
        for (int b = 0; b < N_OUTPUT / (int)result_beat_t::size; b++) {
            const result_beat_t beat = out.read();
            for (int c = 0; c < (int)result_beat_t::size; c++) y[b * result_beat_t::size + c] = beat[c];
        }
)";
    else if (p.inputs().size() == 1)
        os << "        " << top << "(x, y);\n";
    else {
        os << "        " << top << "(";
        for (size_t k = 0; k < p.inputs().size(); ++k) os << "x" << k + 1 << ", ";
        os << "y);\n";
    }
    os << R"(        bool same = true;
        for (int j = 0; j < N_OUTPUT; j++) {
            long long want = 0;
            es >> want;
            const long long got = to_raw(y[j]);
            fout << got << (j + 1 < N_OUTPUT ? " " : "\n");
            same = same && got == want;
        }
        if (!same && ++mismatches <= 5) std::cout << "mismatch in row " << rows << ": " << line << "\n";
        rows++;
    }
    std::cout << "rows " << rows << " mismatches " << mismatches << "\n";
    return mismatches == 0 && rows > 0 ? 0 : 1;
}
)";
    return os.str();
}

std::string buildScript(const Project& p) {
    const std::string& top = p.opt.projectName;
    std::ostringstream os;
    os << "# Vitis HLS build of " << top << ", written by Tachyon.\n"
       << "#   vitis_hls -f build_prj.tcl                       C simulation, synthesis, co-simulation, IP export\n"
       << "#   vitis_hls -f build_prj.tcl -tclargs csim=1 synth=1 cosim=0 export=0\n"
       << "# The firmware builds against the vendor's ap_fixed.h / hls_stream.h; the copies in\n"
       << "# include/ are only for `tachyon csim` without vendor tools.\n"
       << "array set opt {csim 1 synth 1 cosim 1 export 1}\n"
       << "foreach arg $argv {\n"
       << "    set kv [split $arg =]\n"
       << "    if {[llength $kv] == 2 && [info exists opt([lindex $kv 0])]} { set opt([lindex $kv 0]) [lindex $kv 1] }\n"
       << "}\n\n"
       << "set part \"" << p.opt.target.part << "\"\n"
       << "set clock_period " << p.opt.target.clockPeriodNs << "\n\n"
       << "open_project -reset " << top << "_prj\n"
       << "set_top " << top << "\n"
       << "add_files firmware/" << top << ".cpp -cflags \"-std=c++14\"\n"
       << "add_files -tb " << top << "_test.cpp -cflags \"-std=c++14\"\n"
       << "add_files -tb tb_data\n"
       << "open_solution -reset solution1\n"
       << "set_part $part\n"
       << "create_clock -period $clock_period -name default\n"
       << "# Timing margin: the model's ClockUncertainty, else Vitis HLS's default 27%, stated explicitly.\n"
       << "set_clock_uncertainty " << (p.opt.target.clockUncertainty.empty() ? std::string("27%") : p.opt.target.clockUncertainty)
       << " default\n"
       << "\n"
       << "if {$opt(csim)} { csim_design -argv tb_data }\n"
       << "if {$opt(synth)} { csynth_design }\n"
       << "if {$opt(cosim)} { cosim_design -argv {tb_data 100} }\n"
       << "if {$opt(export)} { export_design -format ip_catalog }\n"
       << "exit\n";
    return os.str();
}

}  // namespace

void validateSchedule(const Graph& g) {
    for (const Layer& l : g.layers) {
        if (l.kind == LayerKind::Input) continue;
        const Strategy s = l.schedule.strategy;
        const std::string where = "HLS backend: layer '" + l.name + "' (" + toString(l.kind) + "): ";
        if (s != Strategy::Latency && s != Strategy::Resource)
            throw Error(where + "Strategy '" + toString(s) + "' is not supported (Latency or Resource)");
        const int rf = l.schedule.reuseFactor;
        if (rf < 1) throw Error(where + "ReuseFactor " + std::to_string(rf) + " is invalid: it must be >= 1");
        if (isMac(l)) {
            const auto [nIn, nOut] = macDims(l);
            const long long limit = (long long)nIn * nOut;
            if (rf > limit)
                throw Error(where + "ReuseFactor " + std::to_string(rf) + " is invalid for a " + hlsClassName(l) + " layer with n_in=" +
                            std::to_string(nIn) + ", n_out=" + std::to_string(nOut) +
                            ": it must be between 1 and n_in*n_out = " + std::to_string(limit));
        }
    }
}

namespace {

// What layer l reads: its producers' types, shapes and tensor keys.
LayerInputs layerInputs(const Graph& g, const Layer& l, const Target& target) {
    LayerInputs in;
    in.streaming = target.streaming();
    for (const std::string& name : l.inputs) {
        const Layer& src = g.at(name);
        in.types.push_back(src.type("result"));
        in.shapes.push_back(src.shape);
        in.keys.push_back(name);
    }
    return in;
}

LatencyEstimate estimateOf(const Graph& g, const Target& target, const std::vector<LayerCode>& codes) {
    LatencyEstimate e;
    e.clockPeriodNs = target.clockPeriodNs;
    const size_t first = g.inputs().size();
    for (size_t k = 0; k < codes.size(); ++k) {
        const Layer& l = g.layers[k + first];
        const LayerTiming& t = codes[k].timing;
        e.layers.push_back({l.name, hlsClassName(l), t.detail, t.latency, t.ii});
        e.latency += t.latency;
        e.ii = std::max(e.ii, t.ii);
    }
    return e;
}

nlohmann::ordered_json estimateJson(const LatencyEstimate& e) {
    nlohmann::ordered_json j;
    j["note"] = "analytic estimate from the emitted schedule (docs/hls.md), not a Vitis HLS report";
    j["latency_cycles"] = e.latency;
    j["latency_ns"] = double(e.latency) * e.clockPeriodNs;
    j["ii_cycles"] = e.ii;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& l : e.layers)
        list.push_back({{"name", l.name}, {"class", l.kind}, {"latency_cycles", l.latency}, {"ii_cycles", l.ii},
                        {"detail", l.detail}});
    j["layers"] = list;
    return j;
}

}  // namespace

std::string LatencyEstimate::text() const {
    std::ostringstream os;
    os << "HLS latency estimate (analytic, not a Vitis report): " << latency << " cycles";
    if (clockPeriodNs > 0) os << " (" << double(latency) * clockPeriodNs << " ns at " << clockPeriodNs << " ns)";
    os << ", II " << ii << " cycles\n";
    for (const auto& l : layers)
        if (l.detail != "nominal")
            os << "  " << l.name << " (" << l.kind << "): " << l.latency << " cycles, II " << l.ii << ": " << l.detail << "\n";
    return os.str();
}

LatencyEstimate estimateLatency(const Graph& g, const LoweredGraph& low, const Target& target) {
    const auto ids = cppNames(g);
    std::vector<LayerCode> codes;
    for (size_t k = g.inputs().size(); k < g.layers.size(); ++k) {
        const Layer& l = g.layers[k];
        codes.push_back(emitLayer(l, ids.at(l.name), layerInputs(g, l, target), low));
    }
    return estimateOf(g, target, codes);
}

LatencyEstimate writeProject(const Graph& g, const LoweredGraph& low, const std::string& outDir, const HlsOptions& opt) {
    if (!isIdentifier(opt.projectName))
        throw Error("HLS backend: project name '" + opt.projectName + "' is not a C++ identifier");
    validateSchedule(g);
    checkHeaderWidths(g);  // refuse types the bundled ap_fixed header cannot compile
    const std::vector<const Layer*> inputLayers = g.inputs();
    if (inputLayers.size() > 1 && opt.target.streaming())
        throw Error("HLS backend: model '" + g.name + "' has " + std::to_string(inputLayers.size()) +
                    " inputs; io_stream supports one model input (use io_parallel)");
    if (opt.target.streaming())
        for (const Layer& l : g.layers)
            if (l.kind == LayerKind::Recurrent)
                throw Error("HLS backend: layer '" + l.name + "' (" + hlsClassName(l) +
                            "): recurrent layers are generated for io_parallel only (the static cell reads the "
                            "whole sequence and, with go_backwards, starts from its end); use IOType: io_parallel");
    Project p{g, low, opt, fs::path(outDir), cppNames(g), {}, opt.target.streaming(), {}, {}};
    // Input k's type: input_t, input2_t, ... (hls4ml's names).
    auto inputTag = [&](const Layer& l) {
        for (size_t k = 0; k < inputLayers.size(); ++k)
            if (inputLayers[k] == &l) return k == 0 ? std::string("input") : "input" + std::to_string(k + 1);
        throw Error("HLS backend: Input layer '" + l.name + "' is not among the model inputs");
    };
    auto layerTensor = [&](const Layer& l) {
        TensorInfo t;
        t.key = l.name;
        const std::string& id = p.ids.at(l.name);
        t.var = l.kind == LayerKind::Input ? id : id + "_out";
        t.type = l.kind == LayerKind::Input ? inputTag(l) + "_t" : id + "_result_t";
        t.beat = l.kind == LayerKind::Input ? inputTag(l) + "_beat_t" : id + "_beat_t";
        t.size = l.outSize();
        t.chan = l.shape.back();
        return t;
    };
    for (const Layer* l : inputLayers) p.addTensor(layerTensor(*l));
    for (size_t k = inputLayers.size(); k < g.layers.size(); ++k) {
        const Layer& l = g.layers[k];
        p.layers.push_back(emitLayer(l, p.ids.at(l.name), layerInputs(g, l, opt.target), low));
        for (const TensorInfo& t : p.layers.back().intermediates) p.addTensor(t);
        p.addTensor(layerTensor(l));
    }

    const fs::path tmpl = templateDir();
    fs::create_directories(p.dir / "firmware/weights");
    fs::create_directories(p.dir / "tb_data");
    copyFolder(tmpl / "include", p.dir / "include");
    copyFolder(tmpl / "nnet_utils", p.dir / "firmware/nnet_utils");
    writeFile(p.dir / "firmware/parameters.h", parametersHeader(p));
    writeFile(p.dir / "firmware" / (opt.projectName + ".h"), topHeader(p));
    writeFile(p.dir / "firmware" / (opt.projectName + ".cpp"), topSource(p));
    for (const LayerCode& c : p.layers)
        for (const ConstantFile& f : c.constants) writeFile(p.dir / "firmware/weights" / f.name, f.text);
    writeFile(p.dir / (opt.projectName + "_test.cpp"), testbench(p));
    writeFile(p.dir / "build_prj.tcl", buildScript(p));

    // Test vectors: expected outputs are the emulator's, bit for bit.
    const int nIn = g.inputSize(), nOut = g.outputSize();
    const FixedType& outT = g.output().type("result");
    size_t rows = 0;
    std::vector<int64_t> x = backend::projectTestRows(g, opt.testInputs, opt.testRows, opt.seed, rows);
    std::vector<int64_t> y(rows * size_t(nOut));
    low.runFixedRaw(x.data(), rows, y.data());
    const std::string tb = (p.dir / "tb_data").string();
    backend::writeRawRows(tb + "/input_raw.dat", x.data(), rows, size_t(nIn));
    backend::writeRawRows(tb + "/expected_raw.dat", y.data(), rows, size_t(nOut));
    backend::writeValueRows(tb + "/tb_input_features.dat", x.data(), rows, backend::modelInputColumnTypes(g));
    backend::writeValueRows(tb + "/tb_output_predictions.dat", y.data(), rows, size_t(nOut), outT);
    nlohmann::ordered_json j = backend::networkManifest(g, low, opt.target, "hls", opt.projectName, rows);
    const LatencyEstimate estimate = estimateOf(g, opt.target, p.layers);
    j["latency_estimate"] = estimateJson(estimate);
    writeFile(p.dir / "tachyon_project.json", j.dump(2) + "\n");
    return estimate;
}

}  // namespace tachyon::hls
