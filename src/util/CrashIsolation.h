// Runs a reader in a throw-away child process before trusting it in this one.
//
// Some libraries Tachyon reads files with (libhdf5 1.10 in Debian 12) crash or loop on
// corrupt files inside calls no caller can guard. A model file must never crash Tachyon,
// so such reads are tried first in a forked child: if the child dies (signal, sanitizer
// abort) or runs past its time limit, the caller gets a tachyon::Error naming the file;
// if it throws tachyon::Error, the same message is rethrown here; only when it succeeds
// does the caller repeat the read in this process. Files are small next to the cost of a
// conversion, so reading twice is cheap.
#pragma once

#include <functional>
#include <string>

namespace tachyon {

// `file` names the input in error messages, `library` the code that may crash ("libhdf5").
// Throws tachyon::Error when the trial read fails in any way; returns when it succeeded.
void tryReadInChildProcess(const std::string& file, const std::string& library, const std::function<void()>& read,
                           int timeoutSeconds = 120);

}  // namespace tachyon
