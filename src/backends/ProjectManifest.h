// Reading a generated project's tachyon_project.json back (csim, rtlsim, report).
//
// A project folder may come from anywhere, so its manifest is untrusted input: every field
// that reaches a command line, a file name or a Yosys script is checked here first. "top"
// must be a C/Verilog identifier; each of "rtl_files" a plain relative path inside the
// project (letters, digits, '_', '-', '.', '/'; no "..", no leading '-', nothing that
// leaves the folder through a symlink). Anything else is a tachyon::Error naming the
// manifest and the field.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace tachyon::backend {

struct ProjectManifest {
    std::filesystem::path dir;    // the project folder (absolute)
    std::filesystem::path file;   // dir / tachyon_project.json
    nlohmann::json json;
    std::string backend;          // "hls", "verilog", "lut", ... ("" when absent)
    std::string top;              // checked identifier
    std::vector<std::string> rtlFiles;   // checked relative paths (Verilog projects)
};

// `command` prefixes nothing; it is named in the "not a project" message ("rtlsim").
// requireRtl: "rtl_files" must be present (rtlsim, report).
ProjectManifest readProjectManifest(const std::string& prjDir, const std::string& command, bool requireRtl);

// True for [A-Za-z_][A-Za-z0-9_]{0,63}.
bool isIdentifier(const std::string& s);

}  // namespace tachyon::backend
