// Outputs that appear whole or not at all, and never at the cost of a user's files.
//
// A command writes into a temporary beside the final name (same folder, so the final
// rename is atomic) and commits at the end. Before any work is done the output name is
// checked against what already exists:
//   - an output equal to one of the command's inputs, or a folder holding one of them
//     (or the current directory), is always an error;
//   - an existing file is overwritten only with `force`; a character device or pipe
//     (/dev/null, /dev/stdout on a pipe) is written in place, never replaced; any other
//     file that is not a regular file is refused;
//   - an existing folder is replaced only with `force` and only when it holds the manifest
//     Tachyon writes into that kind of folder (tachyon_project.json, tachyon_trace.json,
//     profile.json): Tachyon never deletes a folder it did not write;
//   - a name starting with "~" is refused (only a shell expands it).
// Temporaries still alive when the process gets SIGINT/SIGTERM/SIGHUP are removed
// (installCleanupOnSignals), and error messages that name a temporary are rewritten to
// name the user's path (userFacing).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tachyon {

enum class OutputKind {
    File,      // a single file (.npy, .csv, .yml)
    Project,   // a folder holding tachyon_project.json
    Trace,     // a folder holding tachyon_trace.json
    Study,     // a folder holding tachyon_trigger.json (`tachyon trigger -o`)
    Profile,   // a folder holding profile.json (tachyon profile -o)
};

// The manifest that marks a folder of this kind as Tachyon's own.
const char* manifestName(OutputKind kind);

struct OutputRules {
    // Paths the command reads or also writes, with what they are ("model", "-i", "-c",
    // "-o"): the output may be none of them and may not be a folder holding one.
    std::vector<std::pair<std::string, std::string>> others;
    bool force = false;  // overwrite an existing file or earlier output (never a foreign folder)
};

// Throws tachyon::Error `<path>: <option>: <reason>` when writing `path` would break
// the rules above. Returns the path to write (trailing slashes removed).
std::filesystem::path checkOutput(const std::string& path, const std::string& option, OutputKind kind,
                                  const OutputRules& rules);

// True for outputs written in place rather than replaced: character devices and pipes.
bool writesInPlace(const std::filesystem::path& path);

class AtomicOutput {
public:
    // Checks the name (checkOutput) and picks the temporary; creates nothing yet.
    AtomicOutput(const std::string& path, const std::string& option, OutputKind kind, const OutputRules& rules);
    ~AtomicOutput();  // removes the temporary unless committed
    AtomicOutput(const AtomicOutput&) = delete;
    AtomicOutput& operator=(const AtomicOutput&) = delete;

    const std::filesystem::path& tmp() const { return tmp_; }
    // Re-checks the final name (it may have appeared meanwhile), then moves the
    // temporary into place, replacing a previous file or Tachyon folder.
    void commit();

private:
    std::string user_, option_;
    OutputKind kind_;
    OutputRules rules_;
    std::filesystem::path final_, tmp_;
    bool committed_ = false;
    bool inPlace_ = false;   // a device or pipe: tmp() is the output itself
};

// A temporary file or folder of the process's own (outside any output, e.g. in $TMPDIR):
// removed when this goes, and by the signal thread of installCleanupOnSignals.
class ScopedTemporary {
public:
    explicit ScopedTemporary(std::filesystem::path path);
    ~ScopedTemporary();
    ScopedTemporary(const ScopedTemporary&) = delete;
    ScopedTemporary& operator=(const ScopedTemporary&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// When writing `output` failed with `msg`: if the disk that holds it is full (the real
// cause behind "Input/output error" or a bundled header's name), a message that names the
// output and says so; otherwise `msg` as it is.
std::string explainWriteFailure(const std::string& output, const std::string& option, const std::string& msg);

// `msg` with every temporary name this process used replaced by the user's name.
std::string userFacing(std::string msg);

// Blocks SIGINT, SIGTERM and SIGHUP in every thread and starts a thread that, on one
// of them, removes the live temporaries and then dies of that signal. Call once from
// main() before any other thread starts.
void installCleanupOnSignals();

}  // namespace tachyon
