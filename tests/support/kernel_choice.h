// Test helper: sets TACHYON_EMULATOR_KERNEL (emulator/Kernel.h) for the emulators built in
// its lifetime, then restores the previous value.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

class KernelChoice {
public:
    explicit KernelChoice(const char* value) {
        if (const char* old = std::getenv("TACHYON_EMULATOR_KERNEL")) old_ = old;
        if (value) setenv("TACHYON_EMULATOR_KERNEL", value, 1);
        else unsetenv("TACHYON_EMULATOR_KERNEL");
    }
    ~KernelChoice() {
        if (old_) setenv("TACHYON_EMULATOR_KERNEL", old_->c_str(), 1);
        else unsetenv("TACHYON_EMULATOR_KERNEL");
    }
    KernelChoice(const KernelChoice&) = delete;
    KernelChoice& operator=(const KernelChoice&) = delete;

private:
    std::optional<std::string> old_;
};
