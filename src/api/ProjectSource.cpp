// csim and rtlsim on the user's own rows (hls4ml's InputData; `tachyon csim PRJ -i X.npy`).
//
// A project holds test vectors for the rows it was written with. For new rows the expected
// outputs must come from the emulator of the same model under the same configuration, so
// every project records what it was written from (tachyon_source.json). Simulating on new
// rows writes the project again, with those rows, into a private folder; the design is
// simulated there only when its design files equal the user's project byte for byte, so
// the numbers compared are the user's design on the user's rows.
#include "api/Api.h"

#include "backends/ProjectManifest.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "util/Json.h"
#include "util/Npy.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::api {

namespace {

constexpr const char* kSourceRecord = "tachyon_source.json";

std::string absolutePath(const std::string& p) { return p.empty() ? p : fs::absolute(p).lexically_normal().string(); }

// What a project was written from, read back (the file is untrusted like the manifest).
struct SourceRecord {
    std::string model, weights, configFile, backend, cmvm = "da";
    std::string modelAsGiven;   // the model's path as the command that wrote the project spelled it
    Json config;
    int stages = -1;
};

SourceRecord readSourceRecord(const fs::path& prj) {
    const fs::path file = prj / kSourceRecord;
    if (!fs::exists(file))
        throw Error(prj.string() + ": the project does not say which model it was written from (no " + kSourceRecord +
                    "; an older tachyon wrote it): convert it again, or convert with --tb-input");
    const Json j = util::readJsonFile(file.string());
    const auto text = [&](const char* key, bool required) {
        if (!j.contains(key)) {
            if (required) throw Error(file.string() + ": '" + key + "' is missing");
            return std::string();
        }
        if (!j[key].is_string()) throw Error(file.string() + ": '" + key + "' must be a string");
        return j[key].get<std::string>();
    };
    if (!j.is_object()) throw Error(file.string() + ": not a JSON object");
    SourceRecord r;
    r.model = text("model", true);
    r.modelAsGiven = text("model_as_given", false);
    r.weights = text("weights", false);
    r.configFile = text("config_file", false);
    r.backend = text("backend", true);
    if (j.contains("cmvm")) r.cmvm = text("cmvm", false);
    if (r.cmvm != "da" && r.cmvm != "naive") throw Error(file.string() + ": 'cmvm' must be da or naive");
    if (j.contains("stages")) {
        if (!j["stages"].is_number_integer() || j["stages"].get<long long>() < -1 || j["stages"].get<long long>() > 1000)
            throw Error(file.string() + ": 'stages' must be an integer from -1 to 1000");
        r.stages = j["stages"].get<int>();
    }
    r.config = j.value("config", Json());
    if (!r.config.is_object() && r.configFile.empty()) throw Error(file.string() + ": 'config' must be an object");
    return r;
}

// A fresh private folder under $TMPDIR.
fs::path makePrivateFolder(const std::string& what) {
    std::string pattern = (fs::temp_directory_path() / ("tachyon_" + what + "_XXXXXX")).string();
    if (!::mkdtemp(pattern.data()))
        throw Error(what + ": cannot create a folder in " + fs::temp_directory_path().string() + " (" +
                    std::strerror(errno) + ")");
    return pattern;
}

std::string contents(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string replaced(std::string msg, const std::string& from, const std::string& to) {
    if (from.empty() || from == to) return msg;
    for (size_t at = msg.find(from); at != std::string::npos; at = msg.find(from, at + to.size()))
        msg.replace(at, from.size(), to);
    return msg;
}

// The first design file of `fresh` (a project just written) that `prj` lacks or holds with
// other bytes; "" when none. Test vectors, testbench data and manifests are not the design.
// The headers name the model file as it was spelled when the project was written
// (`spelled`); `fresh` was written from its absolute path (`loaded`), which is put back.
std::string firstDifference(const fs::path& fresh, const fs::path& prj, const std::string& loaded,
                            const std::string& spelled) {
    for (auto it = fs::recursive_directory_iterator(fresh); it != fs::recursive_directory_iterator(); ++it) {
        const fs::path rel = it->path().lexically_relative(fresh);
        const std::string top = rel.begin()->string();
        if (top == "tb_data" || top == "sim" || top == "csim" || top == "tachyon_project.json" || top == kSourceRecord) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file()) continue;
        const fs::path theirs = prj / rel;
        if (!fs::is_regular_file(theirs) || contents(theirs) != replaced(contents(it->path()), loaded, spelled))
            return rel.string();
    }
    return "";
}

}  // namespace

void Model::writeSourceRecord(const std::string& dir, const WriteOptions& opt) const {
    Json j;
    j["model"] = absolutePath(path_);
    j["model_as_given"] = path_;
    j["weights"] = absolutePath(weights_);
    if (fs::exists(source_)) j["config_file"] = absolutePath(source_);
    j["config"] = config_;
    j["backend"] = opt.backend;
    j["cmvm"] = opt.cmvm;
    j["stages"] = opt.stages;
    const fs::path file = fs::path(dir) / kSourceRecord;
    std::ofstream f(file);
    f << j.dump(2) << "\n";
    f.close();
    if (!f) throw Error(file.string() + ": cannot write file");
}

void checkTestRows(const std::vector<double>& x, size_t rows, size_t cols, int inputs, const std::string& source) {
    if (int(cols) != inputs)
        throw Error(source + ": has " + std::to_string(cols) + " columns but the model takes " +
                    std::to_string(inputs) + " inputs");
    if (rows == 0) throw Error(source + ": has no rows");
    NonFiniteCount bad;
    bad.add(x.data(), rows, cols, 0);
    if (bad.total()) throw Error(source + ": " + bad.describe() + "; fixed point has no such values");
}

std::vector<double> readTestRows(const std::string& path, int inputs, const std::string& option) {
    size_t rows = 0, cols = 0;
    std::vector<double> x;
    try {
        x = readRows(path, rows, cols);
    } catch (const Error& e) {
        throw Error(option + ": " + e.what());
    }
    checkTestRows(x, rows, cols, inputs, path + ": " + option);
    return x;
}

SimResult simulateOnRows(const std::string& prjDir, const std::string& simulator, const std::vector<double>& x,
                         size_t cols, const std::string& source, std::ostream& log, const std::string& apInclude) {
    if (simulator != "csim" && simulator != "rtlsim") throw Error("simulator '" + simulator + "' is not csim or rtlsim");
    const backend::ProjectManifest m = backend::readProjectManifest(prjDir, simulator, simulator == "rtlsim");
    const std::string wanted = simulator == "csim" ? "hls" : "verilog";
    if (m.json.value("kind", std::string()) != "nn")
        throw Error(prjDir + ": " + source + ": only network projects take the user's rows; this one tests on its own");
    if (m.backend != wanted)
        throw Error(prjDir + ": " + simulator + " needs a" + (wanted == "hls" ? "n HLS" : " Verilog") +
                    " project, this one is backend '" + m.backend + "'");
    const SourceRecord rec = readSourceRecord(m.dir);
    if (rec.backend != m.backend)
        throw Error((m.dir / kSourceRecord).string() + ": 'backend' is '" + rec.backend + "' but the project's is '" +
                    m.backend + "'");

    std::unique_ptr<Model> model;
    try {
        model = Model::load(rec.model, rec.configFile.empty() ? rec.config : Json(rec.configFile), rec.weights);
    } catch (const Error& e) {
        throw Error(prjDir + ": loading the model the project was written from failed: " + e.what());
    }
    if (cols == 0 || x.size() % cols != 0)
        throw Error(source + ": " + std::to_string(x.size()) + " values are not whole rows of " + std::to_string(cols));
    checkTestRows(x, x.size() / cols, cols, model->inputSize(), source);

    const ScopedTemporary scratch(makePrivateFolder(simulator));
    const fs::path fresh = scratch.path() / "project";
    WriteOptions opt;
    opt.backend = rec.backend;
    opt.cmvm = rec.cmvm;
    opt.stages = rec.stages;
    opt.testInputs = x;
    std::ostringstream quiet;
    model->write(fresh.string(), opt, &quiet);
    const std::string differs = firstDifference(fresh, m.dir, rec.model, rec.modelAsGiven);
    if (!differs.empty())
        throw Error(prjDir + ": " + differs + " is not what " + rec.model +
                    " generates now: the model, its configuration or the project changed since it was written; "
                    "convert again (with --tb-input for these rows)");

    log << simulator << ": the design of " << prjDir << " on the user's " << x.size() / cols << " rows (" << source
        << ")\n";
    try {
        return simulator == "csim" ? csim(fresh.string(), log, apInclude) : rtlsim(fresh.string(), log);
    } catch (const Error& e) {
        throw Error(replaced(e.what(), fresh.string(), prjDir));
    }
}

}  // namespace tachyon::api
