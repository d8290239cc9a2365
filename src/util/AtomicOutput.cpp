#include "util/AtomicOutput.h"

#include "util/Error.h"
#include "util/Process.h"

#include <csignal>
#include <mutex>
#include <pthread.h>
#include <set>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tachyon {

namespace {

// Temporaries alive now (removed on a signal) and every temporary -> user name pair this
// process used (kept after the temporary is gone: an error naming it is printed later).
std::mutex& registryMutex() {
    static std::mutex m;
    return m;
}
std::set<fs::path>& liveTemporaries() {
    static std::set<fs::path> s;
    return s;
}
std::vector<std::pair<std::string, std::string>>& temporaryNames() {
    static std::vector<std::pair<std::string, std::string>> v;
    return v;
}

// Lexically clean, without a trailing empty component ("a/b/" -> "a/b").
fs::path tidy(fs::path p) {
    p = p.lexically_normal();
    if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
    return p;
}

// Absolute, symlinks and ".." resolved as far as the path exists.
fs::path resolve(const fs::path& p) {
    std::error_code ec;
    fs::path r = fs::weakly_canonical(fs::absolute(p, ec), ec);
    if (ec) r = fs::absolute(p, ec);
    return tidy(r);
}

// True when `inner` is `outer` or lies below it (both resolved).
bool within(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
        if (i == inner.end() || *i != *o) return false;
    return true;
}

bool isDirectory(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

bool existsOrDangles(const fs::path& p) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(p, ec));
}

void removeQuietly(const fs::path& p) {
    // A writer in another thread may still be adding files: try a few times.
    for (int i = 0; i < 3; ++i) {
        std::error_code ec;
        fs::remove_all(p, ec);
        if (!existsOrDangles(p)) return;
    }
}

}  // namespace

const char* manifestName(OutputKind kind) {
    switch (kind) {
    case OutputKind::Project: return "tachyon_project.json";
    case OutputKind::Trace: return "tachyon_trace.json";
    case OutputKind::Study: return "tachyon_trigger.json";
    case OutputKind::Profile: return "profile.json";
    case OutputKind::File: break;
    }
    return "";
}

fs::path checkOutput(const std::string& path, const std::string& option, OutputKind kind, const OutputRules& rules) {
    auto fail = [&](const std::string& why) -> void { throw Error(path + ": " + option + ": " + why); };
    if (path.empty()) fail("the output name is empty");
    if (kind == OutputKind::File && (path.back() == '/' || fs::path(path).filename() == "." ||
                                     fs::path(path).filename() == ".."))
        fail("names a folder; give a file name");
    // /dev/null, /dev/stdout on a pipe: written in place (followed through /proc, such a
    // name resolves to nothing that exists, so it is taken as given).
    if (kind == OutputKind::File && writesInPlace(path)) return fs::path(path);
    if (fs::path(path).begin()->string() == "~")
        fail("starts with '~', which only a shell expands; give the folder's real path");
    const fs::path given = tidy(path);
    const fs::path target = resolve(given);
    if (!target.has_relative_path()) fail("is the root folder; Tachyon never replaces it");

    std::error_code ec;
    const fs::path cwd = resolve(fs::current_path(ec));
    if (!ec && within(cwd, target)) fail("is the current folder or a folder above it; Tachyon never replaces it");
    for (const auto& [what, other] : rules.others) {
        if (other.empty()) continue;
        const fs::path o = resolve(other);
        if (o == target) fail("is also the " + what + " (" + other + "); choose another output name");
        if (within(o, target)) fail("holds the " + what + " (" + other + "); choose another output name");
    }

    const fs::path parent = target.parent_path();
    if (!isDirectory(parent)) fail("parent directory " + given.parent_path().string() + " does not exist");
    if (!existsOrDangles(target)) return target;
    const fs::file_status st = fs::status(target, ec);
    if (kind == OutputKind::File) {
        if (fs::is_directory(st)) fail("is an existing folder; give a file name");
        if (fs::exists(st) && !fs::is_regular_file(st))
            fail("exists and is not a regular file (a socket or device); Tachyon never replaces it");
        if (!rules.force) fail("exists; pass --force to overwrite it");
        return target;
    }
    if (fs::is_directory(st)) {
        // Only a folder that Tachyon itself wrote may be replaced, and only when asked to.
        if (!fs::exists(target / manifestName(kind), ec))
            fail(std::string("is a folder that Tachyon did not write (it has no ") + manifestName(kind) +
                 "); remove it or choose another name");
        if (!rules.force) fail("holds an earlier Tachyon output; pass --force (Python: force=True) to replace it");
        return target;
    }
    if (fs::exists(st) && !fs::is_regular_file(st))
        fail("exists and is neither a folder nor a regular file; Tachyon never replaces it");
    if (!rules.force) fail("exists and is not a folder; pass --force to replace it");
    return target;
}

bool writesInPlace(const fs::path& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    return !ec && (fs::is_character_file(st) || fs::is_fifo(st));
}

AtomicOutput::AtomicOutput(const std::string& path, const std::string& option, OutputKind kind,
                           const OutputRules& rules)
    : user_(path), option_(option), kind_(kind), rules_(rules) {
    final_ = checkOutput(path, option, kind, rules);
    if (kind == OutputKind::File && writesInPlace(final_)) {
        tmp_ = final_;   // a device or pipe is written directly; there is nothing to rename
        inPlace_ = true;
        return;
    }
    // Same folder (so the rename is atomic) and same extension (writers look at it).
    tmp_ = final_.parent_path() / (".tmp-" + std::to_string(getpid()) + "-" + final_.filename().string());
    std::lock_guard lock(registryMutex());
    liveTemporaries().insert(tmp_);
    temporaryNames().emplace_back(tmp_.string(), tidy(path).string());
}

AtomicOutput::~AtomicOutput() {
    if (inPlace_) return;
    std::lock_guard lock(registryMutex());
    if (!committed_) removeQuietly(tmp_);
    liveTemporaries().erase(tmp_);
}

void AtomicOutput::commit() {
    if (inPlace_) {
        committed_ = true;
        return;
    }
    std::lock_guard lock(registryMutex());
    checkOutput(user_, option_, kind_, rules_);  // the name may have been taken meanwhile
    const auto fail = [&](const fs::filesystem_error& e) {
        throw Error(user_ + ": " + option_ + ": cannot move the result into place (" + e.code().message() + ")");
    };
    if (kind_ == OutputKind::File) {
        try {
            fs::rename(tmp_, final_);  // atomically replaces an existing file
        } catch (const fs::filesystem_error& e) {
            fail(e);
        }
    } else {
        // Move a previous project aside, move the new one in, then delete the old one:
        // if anything fails on the way, the previous project is put back.
        fs::path old;
        try {
            if (isDirectory(final_)) {
                old = final_.parent_path() / (".tmp-" + std::to_string(getpid()) + "-old-" + final_.filename().string());
                liveTemporaries().insert(old);
                fs::rename(final_, old);
            } else if (existsOrDangles(final_)) {
                fs::remove(final_);
            }
            fs::rename(tmp_, final_);
        } catch (const fs::filesystem_error& e) {
            std::error_code ec;
            if (!old.empty() && !existsOrDangles(final_)) fs::rename(old, final_, ec);
            if (!old.empty()) liveTemporaries().erase(old);
            fail(e);
        }
        if (!old.empty()) {
            removeQuietly(old);
            liveTemporaries().erase(old);
        }
    }
    committed_ = true;
}

ScopedTemporary::ScopedTemporary(fs::path path) : path_(std::move(path)) {
    std::lock_guard lock(registryMutex());
    liveTemporaries().insert(path_);
}

ScopedTemporary::~ScopedTemporary() {
    std::lock_guard lock(registryMutex());
    removeQuietly(path_);
    liveTemporaries().erase(path_);
}

std::string explainWriteFailure(const std::string& output, const std::string& option, const std::string& msg) {
    if (writesInPlace(output)) return msg;
    // Already explained (the API explains, and the command line again around it).
    if (msg.find(output + ": " + option + ": disk full (") != std::string::npos) return msg;
    std::error_code ec;
    fs::path where = resolve(output);
    while (!where.empty() && !isDirectory(where) && where.has_relative_path()) where = where.parent_path();
    const fs::space_info space = fs::space(where, ec);
    // Under 64 KiB left: nothing Tachyon writes fits; the failure was the full disk.
    if (ec || space.available >= (64u << 10)) return msg;
    return output + ": " + option + ": disk full (" + std::to_string(space.available / 1024) + " KiB left on " +
           where.string() + "); nothing was written. The error was: " + msg;
}

std::string userFacing(std::string msg) {
    std::lock_guard lock(registryMutex());
    for (const auto& [tmp, user] : temporaryNames())
        for (size_t at = msg.find(tmp); at != std::string::npos; at = msg.find(tmp, at + user.size()))
            msg.replace(at, tmp.size(), user);
    return msg;
}

void installCleanupOnSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    // Threads started later inherit the mask, so only the thread below sees these.
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) return;
        {
            // Held until the process is gone: no commit can run after the cleanup.
            registryMutex().lock();
            util::killRunningProcesses();  // no Yosys or simulator outlives us
            for (const fs::path& p : liveTemporaries()) removeQuietly(p);
        }
        // Die of the signal itself, so that the caller sees how the process ended.
        std::signal(sig, SIG_DFL);
        pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
        raise(sig);
        _exit(128 + sig);
    }).detach();
}

}  // namespace tachyon
