// What the server executes a batch on. The scheduler (Batcher) only sees this interface,
// so another execution backend (a CUDA one, say) can be added without touching the
// server: it implements run() for contiguous rows and reports its sizes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace tachyon::api {
class Model;
}

namespace tachyon::serve {

class Backend {
public:
    virtual ~Backend() = default;
    virtual size_t inputSize() const = 0;    // values per row (sample)
    virtual size_t outputSize() const = 0;
    // x: rows * inputSize(), out: rows * outputSize(). Safe to call from several threads.
    virtual void run(const double* x, size_t rows, double* out) const = 0;
    virtual std::string describe() const = 0;   // for logs: what runs the model
};

// Tachyon's emulator through src/api: bit-exact fixed point (as `tachyon predict`) or
// its double-precision float mode (as `tachyon predict --float`).
class EmulatorBackend : public Backend {
public:
    EmulatorBackend(std::shared_ptr<const api::Model> model, bool floatMode);
    size_t inputSize() const override;
    size_t outputSize() const override;
    void run(const double* x, size_t rows, double* out) const override;
    std::string describe() const override;
    const api::Model& model() const { return *model_; }

private:
    std::shared_ptr<const api::Model> model_;
    bool float_;
};

}  // namespace tachyon::serve
