#include "serve/Backend.h"

#include "api/Api.h"

namespace tachyon::serve {

EmulatorBackend::EmulatorBackend(std::shared_ptr<const api::Model> model, bool floatMode)
    : model_(std::move(model)), float_(floatMode) {}

size_t EmulatorBackend::inputSize() const { return size_t(model_->inputSize()); }
size_t EmulatorBackend::outputSize() const { return size_t(model_->outputSize()); }

void EmulatorBackend::run(const double* x, size_t rows, double* out) const {
    // One thread per call: the server's parallelism is its instance threads.
    model_->predict(x, rows, out, float_, 1);
}

std::string EmulatorBackend::describe() const {
    return std::string("tachyon emulator, ") + (float_ ? "float" : "bit-exact fixed point");
}

}  // namespace tachyon::serve
