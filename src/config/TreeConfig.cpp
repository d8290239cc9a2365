#include "config/TreeConfig.h"

#include "util/Error.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <sstream>
#include <filesystem>

namespace tachyon::trees {

namespace {

FixedType parseType(const YAML::Node& v, const std::string& where) {
    try {
        return FixedType::parse(v.as<std::string>());
    } catch (const std::exception& e) {
        throw Error(where + ": " + e.what());
    }
}

}  // namespace

void checkTreeTypes(const TreeConfig& c, const std::string& where) {
    if (c.input.width > 31) throw Error(where + ": InputPrecision wider than 31 bits is not supported for trees");
    if (c.threshold.width > 62) throw Error(where + ": ThresholdPrecision wider than 62 bits is not supported");
    if (c.score.width > 30) throw Error(where + ": ScorePrecision wider than 30 bits is not supported for trees");
}

std::string treeConfigTemplate(const std::string& modelPath) {
    const TreeConfig d;
    return "# Tachyon configuration for the tree ensemble " + modelPath + "\n"
           "# (docs/trees.md; tree models take these keys, not hls4ml's Model/LayerName sections)\n"
           "InputPrecision: " + d.input.str() + "       # features; at most 31 bits\n"
           "ThresholdPrecision: " + d.threshold.str() + "   # split thresholds; default: InputPrecision\n"
           "ScorePrecision: " + d.score.str() + "       # leaves, base score, every adder, the output; at most 30 bits\n"
           "ClockPeriod: " + [&] { std::ostringstream os; os << d.clockPeriodNs; return os.str(); }() + "\n"
           "Part: " + d.part + "\n"
           "Pipeline: auto                       # Verilog register stages; 0 = combinational\n"
           "LutMaxInputBits: " + std::to_string(d.lutMaxInputBits) + "                  # --backend lut limit (total input bits)\n"
           "ProjectName: " + d.projectName + "\n";
}

TreeConfig readTreeConfig(const std::string& path) {
    TreeConfig c;
    if (path.empty()) return c;
    // A folder opens as an empty stream, which would read as an empty configuration.
    if (std::filesystem::is_directory(path)) throw Error(path + ": is a folder, not a configuration file");
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const std::exception& e) {
        throw Error(path + ": cannot read YAML (" + std::string(e.what()) + ")");
    }
    if (root.IsNull()) return c;
    if (!root.IsMap()) throw Error(path + ": the tree configuration must be a mapping of keys");
    bool thresholdSet = false;
    for (const auto& kv : root) {
        if (!kv.first.IsScalar()) throw Error(path + ": configuration keys must be names");
        const std::string key = kv.first.as<std::string>();
        const YAML::Node& v = kv.second;
        const std::string where = path + ": " + key;
        try {
            if (key == "InputPrecision") c.input = parseType(v, where);
            else if (key == "ThresholdPrecision") { c.threshold = parseType(v, where); thresholdSet = true; }
            else if (key == "ScorePrecision") c.score = parseType(v, where);
            else if (key == "ClockPeriod") {
                c.clockPeriodNs = v.as<double>();
                if (!(c.clockPeriodNs > 0)) throw Error(where + ": must be positive");
            } else if (key == "Part") c.part = v.as<std::string>();
            else if (key == "Pipeline") {
                std::string s = v.as<std::string>();
                if (s == "auto") c.pipeline = -1;
                else {
                    c.pipeline = v.as<int>();
                    if (c.pipeline < 0 || c.pipeline > 64) throw Error(where + ": must be 'auto' or 0..64");
                }
            } else if (key == "LutMaxInputBits") {
                c.lutMaxInputBits = v.as<int>();
                if (c.lutMaxInputBits < 1 || c.lutMaxInputBits > 26)
                    throw Error(where + ": must be between 1 and 26");
            } else if (key == "ProjectName") {
                c.projectName = v.as<std::string>();
                bool ok = !c.projectName.empty() && !std::isdigit(static_cast<unsigned char>(c.projectName[0]));
                for (char ch : c.projectName) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
                if (!ok) throw Error(where + ": '" + c.projectName + "' is not a valid C/Verilog identifier");
            } else {
                throw Error(path + ": unknown key '" + key + "' (tree configurations take InputPrecision, "
                            "ThresholdPrecision, ScorePrecision, ClockPeriod, Part, Pipeline, "
                            "LutMaxInputBits, ProjectName)");
            }
        } catch (const YAML::Exception& e) {
            throw Error(where + ": bad value (" + std::string(e.what()) + ")");
        }
    }
    if (!thresholdSet) c.threshold = c.input;
    checkTreeTypes(c, path);
    return c;
}

}  // namespace tachyon::trees
