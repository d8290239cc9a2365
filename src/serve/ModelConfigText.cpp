#include "serve/ModelConfigText.h"

#include "util/Error.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

namespace tachyon::serve {

namespace {

// Collects the parser's messages with their positions (lines and columns from 1).
class Collector : public google::protobuf::io::ErrorCollector {
public:
    Collector(std::string source, std::vector<std::string>& warnings) : source_(std::move(source)), warnings_(warnings) {}
    void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
        if (error.empty()) error = where(line, column) + message;
    }
    void AddWarning(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
        warnings_.push_back(where(line, column) + message + " (ignored)");
    }
    std::string error;

private:
    std::string where(int line, int column) const {
        return source_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": ";
    }
    std::string source_;
    std::vector<std::string>& warnings_;
};

}  // namespace

inference::ModelConfig parseModelConfig(const std::string& text, const std::string& source,
                                        std::vector<std::string>& warnings) {
    inference::ModelConfig cfg;
    Collector collector(source, warnings);
    google::protobuf::TextFormat::Parser parser;
    parser.RecordErrorsTo(&collector);
    parser.AllowUnknownField(true);       // Triton fields Tachyon does not use: warn
    parser.AllowUnknownExtension(true);
    if (!parser.ParseFromString(text, &cfg))
        throw Error(collector.error.empty() ? source + ": not a valid model configuration" : collector.error);
    // Triton features this server does not have: the model still serves, without them.
    const auto* d = cfg.GetDescriptor();
    const auto* r = cfg.GetReflection();
    for (const char* name : {"optimization", "sequence_batching", "ensemble_scheduling", "model_warmup",
                             "model_operations", "model_transaction_policy", "batch_input", "batch_output",
                             "model_repository_agents", "response_cache", "model_metrics", "cc_model_filenames",
                             "metric_tags"}) {
        const auto* f = d->FindFieldByName(name);
        if (f && (f->is_repeated() ? r->FieldSize(cfg, f) > 0 : r->HasField(cfg, f)))
            warnings.push_back(source + ": " + name + ": not used by Tachyon's server (ignored)");
    }
    if (cfg.has_sequence_batching() || cfg.has_ensemble_scheduling())
        throw Error(source + ": sequence_batching / ensemble_scheduling: not supported by Tachyon's server");
    return cfg;
}

std::string protocolDatatype(inference::DataType t) {
    if (t == inference::TYPE_INVALID || !inference::DataType_IsValid(t)) return "";
    std::string n = inference::DataType_Name(t);
    return n.substr(5);   // drop "TYPE_"
}

}  // namespace tachyon::serve
