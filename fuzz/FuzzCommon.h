// Shared by the libFuzzer harnesses: each harness hands the fuzzer's bytes to one parser
// entry point, the way the CLI does (through a file, since every reader takes a path).
//
// The contract under test: any input either parses or throws tachyon::Error. Any other
// exception, a crash, a sanitizer report (ASan, UBSan), a hang (libFuzzer -timeout) or a
// huge allocation (-rss_limit_mb / -malloc_limit_mb) is a bug.
#pragma once

#include "util/Error.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace tachyon::fuzz {

// A per-process scratch file with the given extension (readers dispatch on it), under
// /dev/shm when it exists so that the fuzzer does not wear out a disk.
inline std::string writeInput(const uint8_t* data, size_t size, const std::string& ext) {
    static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    const std::string path = dir + "/tachyon-fuzz-" + std::to_string(getpid()) + ext;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path;
}

// Runs `parse`; tachyon::Error is the expected way to refuse an input.
template <typename F>
int expectOnlyTachyonErrors(F&& parse) {
    try {
        parse();
    } catch (const tachyon::Error&) {
    }
    return 0;
}

}  // namespace tachyon::fuzz
