// `tachyon predict`: rows from a .npy/.csv file through a model into another file, block by
// block (memory bounded by the block, not the file), with every layer's output on request
// (--trace), the overflow and non-finite accounting and the fidelity check. The command line
// parses the arguments and calls cmdPredict; the arrays-in-memory form is Model::run.
#include "api/Api.h"

#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "util/NonFinite.h"
#include "util/Npy.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::api {

namespace {

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The command's own files, which no output may replace.
OutputRules outputRulesOf(const PredictCommand& o) {
    OutputRules r;
    r.force = o.force;
    r.others = o.inputs;
    return r;
}

// Layer names become file names in --trace: one safe path component each (portable
// characters, bounded length, never hidden or "." / ".."), distinct for distinct layers.
std::string fileSafe(const std::string& name, std::set<std::string>& taken) {
    std::string s;
    for (char c : name.substr(0, 100))
        s += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ? c : '_';
    if (s.empty() || s[0] == '.') s = "_" + s;
    std::string unique = s;
    for (int k = 2; !taken.insert(unique).second; ++k) unique = s + "_" + std::to_string(k);
    return unique;
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
    RowSink(const std::string& path, size_t rows, size_t cols) : path_(path), cols_(cols) {
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
        if (!csv_) throw Error(path_ + ": write failed (disk full?)");
    }
    // The last buffered bytes reach the disk here: a full disk shows up at close too.
    void close() {
        if (npy_) return npy_->close();
        csv_.close();
        if (!csv_) throw Error(path_ + ": write failed (disk full?)");
    }

private:
    std::string path_;
    size_t cols_;
    std::unique_ptr<NpyWriter> npy_;
    std::ofstream csv_;
};

// Every layer's output as DIR/<layer>.npy, plus tachyon_trace.json naming the file of
// each layer (and marking the folder as Tachyon's, so a later --trace may replace it).
class TraceSink {
public:
    TraceSink(const Graph& g, const fs::path& dir, size_t rows) {
        fs::create_directories(dir);
        std::set<std::string> taken = {manifestName(OutputKind::Trace)};
        nlohmann::ordered_json j;
        j["model"] = g.name;
        j["rows"] = rows;
        for (const Layer& l : g.layers) {
            const std::string file = fileSafe(l.name, taken) + ".npy";
            j["layers"][l.name] = file;
            sinks_.push_back(std::make_unique<NpyWriter>((dir / file).string(), rows, size_t(l.outSize())));
        }
        std::ofstream m(dir / manifestName(OutputKind::Trace));
        m << j.dump(2) << "\n";
        m.close();
        if (!m) throw Error((dir / manifestName(OutputKind::Trace)).string() + ": cannot write file");
    }
    void write(const std::vector<std::vector<double>>& trace, size_t rows) {
        for (size_t k = 0; k < trace.size(); ++k) sinks_[k]->write(trace[k].data(), rows);
    }
    void close() {
        for (auto& s : sinks_) s->close();
    }

private:
    std::vector<std::unique_ptr<NpyWriter>> sinks_;
};

// NaN and Inf have no fixed-point value: count them, and refuse them with --nan error.
void screenInputs(const PredictCommand& o, NonFiniteCount& seen, const std::vector<double>& x, size_t rows, size_t cols,
                  size_t rowOffset) {
    seen.add(x.data(), rows, cols, rowOffset);
    if (o.nanError && seen.total())
        throw Error(o.input + ": -i: row " + std::to_string(seen.firstRow) + ", column " + std::to_string(seen.firstCol) +
                    " is " + (seen.nan ? "NaN" : "infinite") + "; fixed point has no such value (--nan error)");
}

std::string nonFiniteWarning(const PredictCommand& o, const NonFiniteCount& seen) {
    if (!seen.total()) return "";
    return "warning: " + o.input + ": " + seen.describe() +
           (o.floatMode ? "" : "; fixed point has no NaN/Inf: NaN was cast to 0 and Inf to the largest value "
                               "(saturated or wrapped). Use --nan error to refuse such inputs");
}

// Rows per block: about 32 MB for the block's inputs (read and decoded), its outputs (values
// and raws) and, with --trace, every layer's values; at most 65,536 rows.
size_t predictBlockRows(const Graph& g, size_t cols, size_t nOut, bool traced) {
    size_t perRow = 16 * cols + 16 * nOut;
    if (traced)
        for (const Layer& l : g.layers) perRow += 16 * size_t(l.outSize());
    return std::clamp<size_t>((size_t(32) << 20) / std::max<size_t>(perRow, 1), 1, 65536);
}

}  // namespace

// Networks and tree ensembles alike (a tree model is Input -> TreeEnsemble).
std::vector<std::string> cmdPredict(const PredictCommand& o) {
    const auto model = Model::load(o.model, o.config.empty() ? Json() : Json(o.config), o.weights);
    const Graph& g = model->graph();
    const Emulator& emu = model->emulator();
    RowSource src(o.input);
    if (int(src.cols()) != emu.inputSize())
        throw Error(o.input + ": has " + std::to_string(src.cols()) + " columns but model '" + g.name + "' takes " +
                    std::to_string(emu.inputSize()) + " inputs");
    const size_t rows = src.rows(), nOut = size_t(emu.outputSize());
    EmulatorOptions opt;
    opt.threads = o.threads;
    OutputRules rules = outputRulesOf(o);
    AtomicOutput ap(o.output, "-o", OutputKind::File, rules);
    RowSink sink(ap.tmp().string(), rows, nOut);
    std::unique_ptr<AtomicOutput> traceAp;
    std::unique_ptr<TraceSink> trace;
    if (!o.traceDir.empty()) {
        rules.others.push_back({"output (-o)", o.output});
        traceAp = std::make_unique<AtomicOutput>(o.traceDir, "--trace", OutputKind::Trace, rules);
        trace = std::make_unique<TraceSink>(g, traceAp->tmp(), rows);
    }
    const size_t block = predictBlockRows(g, src.cols(), nOut, trace != nullptr);
    std::vector<double> x, y;
    std::vector<int64_t> raw;
    std::vector<LayerStats> total, stats;
    NonFiniteCount nonFinite;
    std::optional<api::PredictWarning> fidelity;   // the float shadow run on the first block
    double busy = 0;
    size_t done = 0;
    api::RateMeter meter(std::cerr, rows);   // rows/s on long runs
    while (size_t n = src.next(block, x)) {
        screenInputs(o, nonFinite, x, n, src.cols(), done);
        y.resize(n * nOut);
        auto t0 = std::chrono::steady_clock::now();
        if (o.floatMode) {
            emu.runFloat(x.data(), n, y.data(), opt);
        } else {
            raw.resize(y.size());
            emu.runFixed(x.data(), n, raw.data(), y.data(), &stats, opt);
            accumulate(total, stats);
        }
        busy += secondsSince(t0);
        if (done == 0 && !o.floatMode) fidelity = api::fidelityWarning(g, emu, x.data(), n, y.data());
        sink.write(y.data(), n);
        if (trace) trace->write(o.floatMode ? emu.traceFloat(x.data(), n) : emu.traceFixed(x.data(), n), n);
        done += n;
        meter.add(n);
    }
    sink.close();
    if (trace) trace->close();
    ap.commit();
    if (traceAp) {
        traceAp->commit();
        std::cerr << "wrote every layer's output to " << o.traceDir << "/\n";
    }
    std::cerr << (o.floatMode ? "float" : "bit-exact fixed-point") << " emulation of " << rows << " rows in "
              << std::fixed << std::setprecision(3) << busy * 1e3 << " ms (" << std::setprecision(0)
              << (busy > 0 ? double(rows) / busy : 0.0) << " rows/s); wrote " << o.output << "\n";
    if (!o.floatMode) std::cerr << overflowTable(total);
    if (nonFinite.total() && !o.floatMode)
        std::cerr << "non-finite inputs (not counted above): " << nonFinite.nan << " NaN, " << nonFinite.inf
                  << " infinite\n";
    std::vector<std::string> warnings;
    if (const std::string w = nonFiniteWarning(o, nonFinite); !w.empty()) warnings.push_back(w);
    if (fidelity) warnings.push_back("warning: " + fidelity->message);
    return warnings;
}

}  // namespace tachyon::api
