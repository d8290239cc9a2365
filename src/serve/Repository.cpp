#include "serve/Repository.h"

#include "api/Api.h"
#include "util/Error.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::serve {

namespace {

std::string readText(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw Error(p.string() + ": cannot read");
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

bool isVersionDir(const fs::directory_entry& e) {
    const std::string n = e.path().filename().string();
    return e.is_directory() && !n.empty() && n.size() < 18 &&
           std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The file in a version folder Tachyon should load: default_model_filename when set,
// else the one model file there (Keras weights and the precision file are not models).
std::string findModelFile(const fs::path& versionDir, const inference::ModelConfig& cfg) {
    if (!cfg.default_model_filename().empty()) {
        const fs::path p = versionDir / cfg.default_model_filename();
        if (!fs::exists(p)) throw Error(p.string() + ": default_model_filename does not exist");
        return p.string();
    }
    static const std::set<std::string> modelExt = {".onnx", ".json", ".h5", ".hdf5", ".keras", ".xml"};
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(versionDir)) {
        const std::string n = e.path().filename().string();
        const std::string ext = e.path().extension().string();
        if (!modelExt.count(ext)) continue;
        if (ext == ".h5" && n.size() > 11 && n.substr(n.size() - 11) == "_weights.h5") continue;
        found.push_back(e.path().string());
    }
    std::sort(found.begin(), found.end());
    if (found.empty())
        throw Error(versionDir.string() + ": no model file (.onnx, .json, .h5, .hdf5, .keras, .xml) in this version folder");
    if (found.size() > 1) {
        // Triton's default name for ONNX models decides between several.
        for (const auto& f : found)
            if (fs::path(f).filename() == "model.onnx") return f;
        throw Error(versionDir.string() + ": several model files; name one with default_model_filename");
    }
    return found.front();
}

bool floatModeOf(const inference::ModelConfig& cfg, const std::string& source) {
    auto it = cfg.parameters().find("mode");
    if (it == cfg.parameters().end()) return false;
    const std::string& v = it->second.string_value();
    if (v == "float") return true;
    if (v == "fixed") return false;
    throw Error(source + ": parameters: mode: '" + v + "' is not fixed or float");
}

std::vector<int64_t> toDims(const std::vector<int>& shape) { return {shape.begin(), shape.end()}; }

int64_t knownProduct(const google::protobuf::RepeatedField<int64_t>& dims, bool& anyVariable) {
    int64_t p = 1;
    anyVariable = false;
    for (int64_t d : dims) {
        if (d == -1) anyVariable = true;
        else if (d <= 0) return -1;
        else p *= d;
    }
    return p;
}

// Input or output: the configuration's entry when present (checked against the model),
// else what the model says.
template <class ConfigTensor>
TensorSpec tensorSpec(const google::protobuf::RepeatedPtrField<ConfigTensor>& entries,
                      const google::protobuf::RepeatedField<int64_t>& (ConfigTensor::*dimsOf)() const,
                      const std::string& what, const std::string& defaultName, const std::vector<int>& modelShape,
                      int64_t modelSize, const std::string& source) {
    TensorSpec t;
    t.name = defaultName;
    t.datatype = "FP32";
    t.dims = toDims(modelShape);
    if (entries.size() == 0) return t;
    if (entries.size() > 1)
        throw Error(source + ": " + what + ": the model has one " + what + ", the configuration lists " +
                    std::to_string(entries.size()));
    const ConfigTensor& e = entries[0];
    if (!e.name().empty()) t.name = e.name();
    if (e.data_type() != inference::TYPE_INVALID) {
        t.datatype = protocolDatatype(e.data_type());
        if (t.datatype == "STRING" || t.datatype == "BOOL" || t.datatype == "FP16" || t.datatype == "BF16")
            throw Error(source + ": " + what + " '" + t.name + "': data_type " + inference::DataType_Name(e.data_type()) +
                        " is not served (numeric types: FP32, FP64, INT8..INT64, UINT8..UINT64)");
    }
    const auto& dims = (e.*dimsOf)();
    if (dims.size() > 0) {
        bool variable = false;
        const int64_t p = knownProduct(dims, variable);
        if (p <= 0 || (!variable && p != modelSize) || (variable && modelSize % p != 0))
            throw Error(source + ": " + what + " '" + t.name + "': dims do not match the model, which has " +
                        std::to_string(modelSize) + " values per sample");
        t.dims.assign(dims.begin(), dims.end());
    }
    return t;
}

BatchPolicy batchPolicy(const inference::ModelConfig& cfg, std::vector<std::string>& warnings,
                        const std::string& source) {
    BatchPolicy p;
    if (cfg.max_batch_size() < 0) throw Error(source + ": max_batch_size must not be negative");
    p.maxBatchSize = size_t(cfg.max_batch_size());
    if (cfg.has_dynamic_batching()) {
        const auto& d = cfg.dynamic_batching();
        p.dynamic = p.maxBatchSize > 0;
        if (p.maxBatchSize == 0) warnings.push_back(source + ": dynamic_batching needs max_batch_size > 0 (ignored)");
        for (int s : d.preferred_batch_size()) {
            if (s <= 0 || size_t(s) > p.maxBatchSize)
                throw Error(source + ": dynamic_batching: preferred_batch_size " + std::to_string(s) +
                            " is not in 1..max_batch_size");
            p.preferred.push_back(size_t(s));
        }
        p.maxQueueDelay = Micros(int64_t(std::min<uint64_t>(d.max_queue_delay_microseconds(), 60'000'000)));
        if (d.has_default_queue_policy()) {
            p.maxQueueSize = d.default_queue_policy().max_queue_size();
            p.defaultTimeout = Micros(int64_t(std::min<uint64_t>(d.default_queue_policy().default_timeout_microseconds(),
                                                                 3'600'000'000ull)));
        }
    }
    int instances = 0;
    for (const auto& g : cfg.instance_group()) {
        if (g.count() < 0 || g.count() > 256)
            throw Error(source + ": instance_group: count " + std::to_string(g.count()) + " is not in 0..256");
        if (g.kind() == inference::ModelInstanceGroup::KIND_GPU)
            warnings.push_back(source + ": instance_group: KIND_GPU: this server executes on the CPU");
        instances += g.count() > 0 ? g.count() : 1;
    }
    p.instances = std::clamp(instances, 1, 256);
    return p;
}

std::vector<int64_t> selectVersions(const inference::ModelConfig& cfg, std::vector<int64_t> available) {
    std::sort(available.begin(), available.end());
    if (cfg.version_policy().has_all()) return available;
    if (cfg.version_policy().has_specific()) {
        std::vector<int64_t> v;
        for (int64_t s : cfg.version_policy().specific().versions())
            if (std::binary_search(available.begin(), available.end(), s)) v.push_back(s);
        std::sort(v.begin(), v.end());
        return v;
    }
    size_t n = 1;
    if (cfg.version_policy().has_latest()) n = std::max<uint32_t>(1, cfg.version_policy().latest().num_versions());
    if (available.size() > n) available.erase(available.begin(), available.end() - long(n));
    return available;
}

// Fills what a configuration entry leaves out (name, data type, dims) from the model.
template <class ConfigTensor>
void complete(ConfigTensor* e, const TensorSpec& t) {
    if (e->name().empty()) e->set_name(t.name);
    if (e->data_type() == inference::TYPE_INVALID) {
        inference::DataType dt = inference::TYPE_FP32;
        inference::DataType_Parse("TYPE_" + t.datatype, &dt);
        e->set_data_type(dt);
    }
    if (e->dims_size() == 0)
        for (int64_t d : t.dims) e->add_dims(d);
}

std::shared_ptr<ModelVersion> loadVersion(const std::string& name, int64_t version, const fs::path& dir,
                                          const inference::ModelConfig& cfg, const BatchPolicy& policy,
                                          const std::string& source) {
    auto mv = std::make_shared<ModelVersion>();
    mv->name = name;
    mv->version = version;
    mv->config = cfg;
    mv->floatMode = floatModeOf(cfg, source);
    const fs::path vdir = dir / std::to_string(version);
    mv->modelFile = findModelFile(vdir, cfg);
    for (const fs::path& p : {vdir / "tachyon.yml", dir / "tachyon.yml"})
        if (fs::exists(p)) {
            mv->precisionFile = p.string();
            break;
        }
    const api::Json precision = mv->precisionFile.empty() ? api::Json(nullptr) : api::Json(mv->precisionFile);
    std::shared_ptr<const api::Model> model = api::Model::load(mv->modelFile, precision);
    const std::string inputName = model->isTree() ? "input" : model->graph().input().name;
    const std::string outputName = model->isTree() ? "output" : model->graph().output().name;
    mv->input = tensorSpec(cfg.input(), &inference::ModelInput::dims, "input", inputName, model->inputShape(),
                           model->inputSize(), source);
    mv->output = tensorSpec(cfg.output(), &inference::ModelOutput::dims, "output", outputName, model->outputShape(),
                            model->outputSize(), source);
    if (cfg.input_size() == 1) mv->input.ragged = cfg.input(0).allow_ragged_batch();
    // What ModelConfig reports: the configuration completed with the model's tensors.
    mv->config.set_name(name);
    if (mv->config.platform().empty() && mv->config.backend().empty()) mv->config.set_backend("tachyon");
    // (SONIC's client reads dims and data types from here.)
    complete(mv->config.input_size() ? mv->config.mutable_input(0) : mv->config.add_input(), mv->input);
    complete(mv->config.output_size() ? mv->config.mutable_output(0) : mv->config.add_output(), mv->output);
    if (mv->config.instance_group_size() == 0) {
        auto* g = mv->config.add_instance_group();
        g->set_count(policy.instances);
        g->set_kind(inference::ModelInstanceGroup::KIND_CPU);
    }
    mv->batcher = std::make_shared<Batcher>(std::make_shared<EmulatorBackend>(model, mv->floatMode), policy);
    return mv;
}

}  // namespace

Repository::Repository(std::string dir, std::ostream& log) : dir_(std::move(dir)), log_(log) {
    if (!fs::is_directory(dir_)) throw Error(dir_ + ": the model repository is not a folder");
}

Repository::~Repository() { stopAll(); }

Repository::Entry Repository::loadEntry(const std::string& name) const {
    Entry e;
    const fs::path dir = fs::path(dir_) / name;
    const fs::path cfgPath = dir / "config.pbtxt";
    std::string source = cfgPath.string();
    try {
        std::vector<std::string> warnings;
        inference::ModelConfig cfg;
        if (fs::exists(cfgPath)) cfg = parseModelConfig(readText(cfgPath), source, warnings);
        else warnings.push_back(dir.string() + ": no config.pbtxt: configuration taken from the model (max_batch_size 0)");
        if (!cfg.name().empty() && cfg.name() != name)
            throw Error(source + ": name '" + cfg.name() + "' is not the folder's name '" + name + "'");
        const BatchPolicy policy = batchPolicy(cfg, warnings, source);
        std::vector<int64_t> available;
        for (const auto& v : fs::directory_iterator(dir))
            if (isVersionDir(v)) available.push_back(std::stoll(v.path().filename().string()));
        const std::vector<int64_t> chosen = selectVersions(cfg, available);
        if (chosen.empty()) throw Error(dir.string() + ": no version folder (1/, 2/, ...) the version_policy selects");
        for (const auto& w : warnings) log_ << "tachyon serve: warning: " << w << "\n";
        for (int64_t v : chosen) e.versions.push_back(loadVersion(name, v, dir, cfg, policy, source));
        e.state = "READY";
        for (const auto& mv : e.versions)
            log_ << "tachyon serve: " << name << " version " << mv->version << ": READY ("
                 << mv->batcher->backend().describe() << ", " << fs::path(mv->modelFile).filename().string() << ")\n";
    } catch (const std::exception& ex) {
        for (auto& v : e.versions) v->batcher->stop();
        e.versions.clear();
        e.state = "UNAVAILABLE";
        e.reason = ex.what();
        log_ << "tachyon serve: " << name << ": UNAVAILABLE: " << e.reason << "\n";
    }
    log_.flush();
    return e;
}

void Repository::loadAll() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
        if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) load(n);
}

void Repository::load(const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
        !fs::is_directory(fs::path(dir_) / name))
        throw ServeError(Code::NotFound, "model '" + name + "' is not in the repository");
    Entry fresh = loadEntry(name);
    Entry old;
    {
        std::lock_guard<std::mutex> lk(mu_);
        old = std::move(models_[name]);
        models_[name] = std::move(fresh);
    }
    // Requests already holding the old versions finish on them.
    for (auto& v : old.versions) v->batcher->stop();
}

void Repository::unload(const std::string& name) {
    Entry old;
    {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = models_.find(name);
        if (it == models_.end()) throw ServeError(Code::NotFound, "model '" + name + "' is not in the repository");
        old = std::move(it->second);
        it->second = Entry{};
        it->second.reason = "unloaded";
    }
    for (auto& v : old.versions) v->batcher->stop();
}

std::shared_ptr<ModelVersion> Repository::find(const std::string& name, const std::string& version) const {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = models_.find(name);
    if (it == models_.end()) throw ServeError(Code::NotFound, "unknown model '" + name + "'");
    const Entry& e = it->second;
    if (e.versions.empty())
        throw ServeError(Code::Unavailable, "model '" + name + "' is not ready: " + e.reason);
    if (version.empty()) return e.versions.back();
    for (const auto& v : e.versions)
        if (v->versionString() == version) return v;
    throw ServeError(Code::NotFound, "model '" + name + "' has no version '" + version + "' loaded");
}

std::vector<std::shared_ptr<ModelVersion>> Repository::versions(const std::string& name) const {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = models_.find(name);
    return it == models_.end() ? std::vector<std::shared_ptr<ModelVersion>>{} : it->second.versions;
}

std::vector<std::shared_ptr<ModelVersion>> Repository::all() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<std::shared_ptr<ModelVersion>> v;
    for (const auto& [n, e] : models_) v.insert(v.end(), e.versions.begin(), e.versions.end());
    return v;
}

std::vector<IndexEntry> Repository::index() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<IndexEntry> idx;
    for (const auto& [n, e] : models_) {
        if (e.versions.empty()) idx.push_back({n, "", e.state, e.reason});
        for (const auto& v : e.versions) idx.push_back({n, v->versionString(), "READY", ""});
    }
    return idx;
}

bool Repository::allReady() const {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [n, e] : models_)
        if (e.versions.empty() && e.reason != "unloaded") return false;
    return true;
}

void Repository::stopAll() {
    for (auto& v : all()) v->batcher->stop();
}

void refuseLoadOverrides(const std::string& model, const std::vector<std::string>& parameterNames) {
    for (const std::string& p : parameterNames)
        if (p == "config" || p.rfind("file:", 0) == 0)
            throw ServeError(Code::InvalidArgument,
                             "model '" + model + "': loading with a '" + p +
                                 "' override is not supported; put the configuration and files in the repository");
}

}  // namespace tachyon::serve
