#include "serve/Stats.h"

#include <sstream>

namespace tachyon::serve {

namespace {

void setDuration(inference::StatisticDuration* d, const Duration& s) {
    d->set_count(s.count);
    d->set_ns(s.ns);
}

inference::ModelMetadataResponse::TensorMetadata tensorMetadata(const TensorSpec& t, bool batched) {
    inference::ModelMetadataResponse::TensorMetadata m;
    m.set_name(t.name);
    m.set_datatype(t.datatype);
    if (batched || t.ragged) m.add_shape(-1);
    for (int64_t d : t.dims) m.add_shape(d);
    return m;
}

}  // namespace

inference::ModelStatistics modelStatistics(const ModelVersion& mv) {
    const ModelStats s = mv.batcher->stats();
    inference::ModelStatistics m;
    m.set_name(mv.name);
    m.set_version(mv.versionString());
    m.set_last_inference(s.lastInferenceMs);
    m.set_inference_count(s.inferenceCount);
    m.set_execution_count(s.executionCount);
    auto* is = m.mutable_inference_stats();
    setDuration(is->mutable_success(), s.success);
    setDuration(is->mutable_fail(), s.fail);
    setDuration(is->mutable_queue(), s.queue);
    setDuration(is->mutable_compute_input(), s.computeInput);
    setDuration(is->mutable_compute_infer(), s.computeInfer);
    setDuration(is->mutable_compute_output(), s.computeOutput);
    for (const auto& [size, d] : s.batches) {
        auto* b = m.add_batch_stats();
        b->set_batch_size(size);
        setDuration(b->mutable_compute_input(), d.input);
        setDuration(b->mutable_compute_infer(), d.infer);
        setDuration(b->mutable_compute_output(), d.output);
    }
    return m;
}

inference::ModelMetadataResponse modelMetadata(const Repository& repo, const std::string& name,
                                               const std::string& version) {
    const auto mv = repo.find(name, version);   // throws for unknown / not ready
    inference::ModelMetadataResponse r;
    r.set_name(name);
    for (const auto& v : repo.versions(name)) r.add_versions(v->versionString());
    r.set_platform(mv->config.platform().empty() ? "tachyon" : mv->config.platform());
    const bool batched = mv->config.max_batch_size() > 0;
    *r.add_inputs() = tensorMetadata(mv->input, batched);
    TensorSpec out = mv->output;
    out.ragged = mv->input.ragged;
    *r.add_outputs() = tensorMetadata(out, batched);
    return r;
}

std::string prometheusText(const Repository& repo) {
    struct Family {
        const char* name;
        const char* help;
        const char* type;
        uint64_t (*value)(const ModelStats&);
    };
    static const Family families[] = {
        {"nv_inference_request_success", "Number of successful inference requests, all batch sizes", "counter",
         [](const ModelStats& s) { return s.success.count; }},
        {"nv_inference_request_failure", "Number of failed inference requests, all batch sizes", "counter",
         [](const ModelStats& s) { return s.fail.count; }},
        {"nv_inference_count", "Number of inferences performed (rows; does not include cached requests)", "counter",
         [](const ModelStats& s) { return s.inferenceCount; }},
        {"nv_inference_exec_count", "Number of model executions performed (batches)", "counter",
         [](const ModelStats& s) { return s.executionCount; }},
        {"nv_inference_request_duration_us", "Cumulative inference request duration in microseconds", "counter",
         [](const ModelStats& s) { return (s.success.ns + s.fail.ns) / 1000; }},
        {"nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds", "counter",
         [](const ModelStats& s) { return s.queue.ns / 1000; }},
        {"nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds", "counter",
         [](const ModelStats& s) { return s.computeInput.ns / 1000; }},
        {"nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds", "counter",
         [](const ModelStats& s) { return s.computeInfer.ns / 1000; }},
        {"nv_inference_compute_output_duration_us", "Cumulative inference compute output duration in microseconds",
         "counter", [](const ModelStats& s) { return s.computeOutput.ns / 1000; }},
        {"nv_inference_pending_request_count", "Instantaneous number of pending requests awaiting execution",
         "gauge", [](const ModelStats& s) { return uint64_t(s.pendingRequests); }},
    };
    // Label values escape backslash, quote and newline (Prometheus text format).
    const auto label = [](const std::string& v) {
        std::string e;
        for (char c : v) {
            if (c == '\\' || c == '"') e += '\\';
            if (c == '\n') {
                e += "\\n";
                continue;
            }
            e += c;
        }
        return e;
    };
    std::vector<std::pair<std::shared_ptr<ModelVersion>, ModelStats>> models;
    for (const auto& mv : repo.all()) models.emplace_back(mv, mv->batcher->stats());
    std::ostringstream o;
    for (const Family& f : families) {
        o << "# HELP " << f.name << " " << f.help << "\n# TYPE " << f.name << " " << f.type << "\n";
        for (const auto& [mv, s] : models)
            o << f.name << "{model=\"" << label(mv->name) << "\",version=\"" << mv->version << "\"} " << f.value(s) << "\n";
    }
    return o.str();
}

}  // namespace tachyon::serve
