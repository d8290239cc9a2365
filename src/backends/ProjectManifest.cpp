#include "backends/ProjectManifest.h"

#include "util/Error.h"
#include "util/Json.h"

#include <cctype>

#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::backend {

namespace {

bool safePathChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '/';
}

// A relative path of plain components that stays inside `dir`, symlinks included.
std::string checkedRelativePath(const nlohmann::json& v, const fs::path& dir, const std::string& where) {
    if (!v.is_string()) throw Error(where + ": must be a string (a file of the project)");
    const std::string s = v.get<std::string>();
    const auto fail = [&](const std::string& why) {
        throw Error(where + ": '" + util::capMessage(s, 200) + "' " + why);
    };
    if (s.empty() || s.size() > 255) fail("is not a file name of 1 to 255 characters");
    for (char c : s)
        if (!safePathChar(c))
            fail("has a character other than letters, digits, '_', '-', '.' and '/'; "
                 "project files never do (the manifest was edited or is hostile)");
    if (s[0] == '/') fail("is an absolute path; project files are relative to the project folder");
    for (const auto& part : fs::path(s)) {
        const std::string p = part.string();
        if (p == "..") fail("leaves the project folder ('..')");
        if (!p.empty() && p[0] == '-') fail("has a component starting with '-' (would read as a tool option)");
    }
    std::error_code ec;
    const fs::path real = fs::weakly_canonical(dir / s, ec);
    const fs::path root = fs::weakly_canonical(dir, ec);
    const auto rel = real.lexically_relative(root);
    if (ec || rel.empty() || *rel.begin() == "..") fail("leaves the project folder through a symbolic link");
    return s;
}

}  // namespace

bool isIdentifier(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
}

ProjectManifest readProjectManifest(const std::string& prjDir, const std::string& command, bool requireRtl) {
    ProjectManifest m;
    m.dir = fs::absolute(prjDir).lexically_normal();
    m.file = m.dir / "tachyon_project.json";
    const std::string where = m.file.string();
    std::ifstream in(m.file, std::ios::binary);
    if (!in) throw Error(where + ": not found (" + command + " needs a Tachyon project folder; is " + prjDir + " one?)");
    std::stringstream text;
    text << in.rdbuf();
    m.json = util::parseJson(text.str(), where);
    if (!m.json.is_object()) throw Error(where + ": not a Tachyon project manifest (a JSON object)");

    const auto str = [&](const char* key, const std::string& fallback) -> std::string {
        const auto it = m.json.find(key);
        if (it == m.json.end()) return fallback;
        if (!it->is_string()) throw Error(where + ": \"" + key + "\" must be a string");
        return it->get<std::string>();
    };
    m.backend = str("backend", "");
    m.top = str("top", requireRtl ? "" : "myproject");
    if (requireRtl && !m.json.contains("top")) throw Error(where + ": missing key 'top' (a Verilog project needs it)");
    if (!isIdentifier(m.top))
        throw Error(where + ": \"top\": '" + util::capMessage(m.top, 200) +
                    "' is not a C/Verilog identifier (letters, digits and _, at most 64, not starting with a digit)");
    if (requireRtl) {
        const auto it = m.json.find("rtl_files");
        if (it == m.json.end()) throw Error(where + ": missing key 'rtl_files' (a Verilog project needs it)");
        if (!it->is_array() || it->empty()) throw Error(where + ": \"rtl_files\" must be a non-empty list of files");
        for (size_t k = 0; k < it->size(); ++k)
            m.rtlFiles.push_back(
                checkedRelativePath((*it)[k], m.dir, where + ": \"rtl_files\"[" + std::to_string(k) + "]"));
    }
    return m;
}

}  // namespace tachyon::backend
