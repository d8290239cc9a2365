// A model repository in Triton's layout:
//   DIR/NAME/config.pbtxt          (optional; Triton's ModelConfig text format)
//   DIR/NAME/<version>/<model file> (any model Tachyon reads) [+ tachyon.yml, the precision]
// Each model version is loaded through src/api and served by its own Batcher. A model
// whose configuration or files are wrong is UNAVAILABLE with the reason; the others
// serve on.
#pragma once

#include "serve/Batcher.h"
#include "serve/ModelConfigText.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

namespace tachyon::serve {

struct TensorSpec {
    std::string name;
    std::string datatype;          // protocol name: FP32, FP64, INT32, ...
    std::vector<int64_t> dims;     // without the batch dimension; -1 = any
    bool ragged = false;           // allow_ragged_batch: rows = elements / row size
};

struct ModelVersion {
    std::string name;
    int64_t version = 0;
    std::string modelFile, precisionFile;   // precisionFile: tachyon.yml or ""
    bool floatMode = false;
    inference::ModelConfig config;          // as read, completed with what the model says
    TensorSpec input, output;
    std::shared_ptr<Batcher> batcher;
    std::string versionString() const { return std::to_string(version); }
};

struct IndexEntry {
    std::string name, version, state, reason;
};

class Repository {
public:
    Repository(std::string dir, std::ostream& log);
    ~Repository();

    void loadAll();
    // (Re)loads one model from its folder; throws ServeError(NotFound) when there is no
    // such folder. Load errors do not throw: the model becomes UNAVAILABLE (see index()).
    void load(const std::string& name);
    void unload(const std::string& name);

    // version "" = the highest loaded. Throws ServeError NotFound / Unavailable.
    std::shared_ptr<ModelVersion> find(const std::string& name, const std::string& version) const;
    std::vector<std::shared_ptr<ModelVersion>> versions(const std::string& name) const;
    std::vector<std::shared_ptr<ModelVersion>> all() const;
    std::vector<IndexEntry> index() const;
    bool allReady() const;
    void stopAll();   // drains every batcher
    const std::string& dir() const { return dir_; }

private:
    struct Entry {
        std::string state = "UNAVAILABLE", reason;
        std::vector<std::shared_ptr<ModelVersion>> versions;   // ascending
    };
    Entry loadEntry(const std::string& name) const;

    std::string dir_;
    std::ostream& log_;
    mutable std::mutex mu_;
    std::map<std::string, Entry> models_;
};

// Triton's load call can carry a replacement configuration ("config") or model files
// ("file:..."); Tachyon loads what the repository holds, so such a request is refused
// (InvalidArgument naming the parameter) rather than silently loading something else.
void refuseLoadOverrides(const std::string& model, const std::vector<std::string>& parameterNames);

}  // namespace tachyon::serve
