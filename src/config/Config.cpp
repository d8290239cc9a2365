#include "config/Config.h"

#include "util/Error.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace tachyon {

FixedType defaultTableType() { return FixedType::parse("ap_fixed<18,2,AP_RND,AP_SAT>"); }
FixedType defaultSoftmaxTableType() { return FixedType::parse("ap_ufixed<18,1,AP_RND,AP_SAT>"); }
FixedType defaultParamType() { return FixedType::parse("ap_fixed<18,2,AP_RND,AP_SAT>"); }

namespace {

const std::set<std::string> kPrecisionVars = {"default", "result", "accum", "weight", "bias", "scale",
                                              "shift", "table", "exp_table", "inv_table", "param"};

struct Ctx {
    std::string source;
    [[noreturn]] void fail(const std::string& where, const std::string& why) const {
        throw Error(source + ": " + where + ": " + why);
    }
};

std::string scalar(const Ctx& c, const YAML::Node& n, const std::string& where) {
    if (!n.IsScalar()) c.fail(where, "expected a single value");
    return n.as<std::string>();
}

void checkType(const Ctx& c, const std::string& text, const std::string& where, bool allowAuto) {
    if (allowAuto && text == "auto") return;
    try {
        FixedType::parse(text);
    } catch (const std::exception& e) {
        // YAML splits `{k: ap_fixed<8,3>}` at the comma: say so, it is the usual cause.
        const bool split = text.find('<') != std::string::npos && text.find('>') == std::string::npos;
        c.fail(where, std::string(e.what()) + (split ? " (inside {...} write types in quotes: 'ap_fixed<8,3>')" : ""));
    }
}

int toInt(const Ctx& c, const YAML::Node& n, const std::string& where) {
    std::string s = scalar(c, n, where);
    try {
        size_t pos;
        int v = std::stoi(s, &pos);
        if (pos == s.size()) return v;
    } catch (...) {
    }
    c.fail(where, "'" + s + "' is not an integer");
}

double toDouble(const Ctx& c, const YAML::Node& n, const std::string& where) {
    std::string s = scalar(c, n, where);
    try {
        size_t pos;
        double v = std::stod(s, &pos);
        if (pos == s.size()) return v;
    } catch (...) {
    }
    c.fail(where, "'" + s + "' is not a number");
}

LayerConfig parseLayer(const Ctx& c, const YAML::Node& node, const std::string& where) {
    LayerConfig lc;
    if (!node.IsMap()) c.fail(where, "expected a mapping of settings");
    for (const auto& kv : node) {
        const std::string key = kv.first.as<std::string>();
        const std::string at = where + "." + key;
        const YAML::Node& v = kv.second;
        if (key == "Precision") {
            if (v.IsScalar()) {
                std::string t = v.as<std::string>();
                checkType(c, t, at, false);
                lc.precision["default"] = t;
            } else if (v.IsMap()) {
                for (const auto& pv : v) {
                    std::string var = pv.first.as<std::string>();
                    if (!kPrecisionVars.count(var))
                        c.fail(at + "." + var, "unknown precision variable (expected one of result, accum, weight, bias, scale, shift, table, exp_table, inv_table, param, default)");
                    std::string t = scalar(c, pv.second, at + "." + var);
                    checkType(c, t, at + "." + var, var == "accum");
                    lc.precision[var] = t;
                }
            } else {
                c.fail(at, "expected a type or a mapping of variable: type");
            }
        } else if (key == "ReuseFactor") {
            lc.reuseFactor = toInt(c, v, at);
            if (*lc.reuseFactor < 1) c.fail(at, "must be >= 1");
        } else if (key == "Strategy") {
            std::string s = scalar(c, v, at);
            if (s == "latency") s = "Latency";
            if (s == "resource") s = "Resource";
            // Softmax implementations in hls4ml are also chosen with Strategy; Tachyon has one.
            if (s == "Stable" || s == "stable") s = "Latency";
            if (s != "Latency" && s != "Resource") c.fail(at, "unknown strategy '" + s + "' (Latency or Resource)");
            lc.strategy = s;
        } else if (key == "table_size" || key == "TableSize") {
            lc.tableSize = toInt(c, v, at);
            int n = *lc.tableSize;
            if (n < 2 || (n & (n - 1))) c.fail(at, "table size must be a power of two >= 2");
        } else if (key == "inv_table_size") {
            lc.invTableSize = toInt(c, v, at);
            int n = *lc.invTableSize;
            if (n < 2 || (n & (n - 1))) c.fail(at, "table size must be a power of two >= 2");
        } else if (key == "table_range") {
            lc.tableRange = toDouble(c, v, at);
            if (*lc.tableRange <= 0) c.fail(at, "must be positive");
        } else if (key == "table_t" || key == "exp_table_t" || key == "inv_table_t") {
            std::string t = scalar(c, v, at);
            checkType(c, t, at, false);
            lc.precision[key.substr(0, key.size() - 2)] = t;
        } else if (key == "Trace") {
            lc.trace = v.as<std::string>() == "true" || v.as<std::string>() == "True";
        } else {
            c.fail(at, "unknown key (expected Precision, ReuseFactor, Strategy, table_size, table_t, exp_table_t, inv_table_t, table_range, Trace)");
        }
    }
    return lc;
}

void merge(LayerConfig& into, const LayerConfig& from) {
    if (from.precision.count("default")) {
        // A single type for the layer replaces its data types, not the table/param helpers.
        for (const char* v : {"result", "accum", "weight", "bias", "scale", "shift"}) into.precision.erase(v);
    }
    for (const auto& [k, v] : from.precision) into.precision[k] = v;
    if (from.reuseFactor) into.reuseFactor = from.reuseFactor;
    if (from.strategy) into.strategy = from.strategy;
    if (from.tableSize) into.tableSize = from.tableSize;
    if (from.invTableSize) into.invTableSize = from.invTableSize;
    if (from.tableRange) into.tableRange = from.tableRange;
    into.trace = into.trace || from.trace;
}

}  // namespace

Config Config::defaults() {
    Config c;
    c.model.precision["default"] = "ap_fixed<16,6>";
    c.model.reuseFactor = 1;
    c.model.strategy = "Latency";
    return c;
}

Config Config::parse(const std::string& text, const std::string& sourceName) {
    Ctx c{sourceName};
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw Error(sourceName + ": invalid YAML: " + e.what());
    }
    Config cfg = defaults();
    cfg.source = sourceName;
    if (root.IsNull()) return cfg;
    if (!root.IsMap()) c.fail("top level", "expected a mapping");

    // One of the Model / LayerType / LayerName sections (at top level or under HLSConfig).
    auto parseSection = [&](const std::string& key, const YAML::Node& v, const std::string& at) {
        if (key == "Model") {
            merge(cfg.model, parseLayer(c, v, at));
            return;
        }
        if (!v.IsMap()) c.fail(at, "expected a mapping of layer " + std::string(key == "LayerType" ? "types" : "names"));
        for (const auto& lv : v) {
            std::string name = lv.first.as<std::string>();
            LayerConfig lc = parseLayer(c, lv.second, at + "." + name);
            if (key == "LayerName") {
                merge(cfg.byName[name], lc);
                continue;
            }
            static const std::set<std::string> kinds = {"Input", "InputLayer", "Dense", "BatchNormalization",
                                                        "Activation", "Softmax", "Reshape", "ReLU", "LeakyReLU"};
            if (!kinds.count(name))
                c.fail(at + "." + name, "unknown layer type (expected Input, Dense, BatchNormalization, Activation, Softmax, Reshape)");
            if (name == "InputLayer") name = "Input";
            if (name == "ReLU" || name == "LeakyReLU") name = "Activation";
            merge(cfg.byType[name], lc);
        }
    };
    auto isSection = [](const std::string& k) { return k == "Model" || k == "LayerType" || k == "LayerName"; };

    for (const auto& kv : root) {
        const std::string key = kv.first.as<std::string>();
        const YAML::Node& v = kv.second;
        if (key == "HLSConfig") {
            if (!v.IsMap()) c.fail(key, "expected a mapping");
            for (const auto& sub : v) {
                std::string k = sub.first.as<std::string>();
                if (!isSection(k)) c.fail("HLSConfig." + k, "unknown key (expected Model, LayerType, LayerName)");
                parseSection(k, sub.second, "HLSConfig." + k);
            }
        } else if (isSection(key)) {
            parseSection(key, v, key);
        } else if (key == "IOType") {
            cfg.ioType = scalar(c, v, key);
            if (cfg.ioType != "io_parallel" && cfg.ioType != "io_stream")
                c.fail(key, "unknown IOType '" + cfg.ioType + "' (io_parallel or io_stream)");
        } else if (key == "ClockPeriod") {
            cfg.clockPeriodNs = toDouble(c, v, key);
            if (cfg.clockPeriodNs <= 0) c.fail(key, "must be positive");
        } else if (key == "Part") {
            cfg.part = scalar(c, v, key);
        } else if (key == "ProjectName") {
            cfg.projectName = scalar(c, v, key);
        } else if (key == "KerasJson" || key == "KerasH5" || key == "OnnxModel" || key == "OutputDir" ||
                   key == "Backend" || key == "Version" || key == "InputData" || key == "OutputPredictions") {
            // hls4ml project keys: accepted for compatibility; the CLI arguments decide.
        } else {
            c.fail(key, "unknown key (expected Model, LayerType, LayerName, HLSConfig, IOType, ClockPeriod, Part, ProjectName)");
        }
    }
    return cfg;
}

Config Config::load(const std::string& path) {
    // A folder opens as an empty stream, which would read as an empty configuration.
    if (std::filesystem::is_directory(path)) throw Error(path + ": is a folder, not a configuration file");
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open configuration file");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return parse(ss.str(), path);
    } catch (const YAML::Exception& e) {
        // A node of an unexpected kind (a mapping used as a key, ...) that parse() did
        // not anticipate: still the file's error, not a crash.
        throw Error(path + ": invalid configuration (" + std::string(e.what()) + ")");
    }
}

LayerConfig Config::resolve(const Layer& layer) const {
    LayerConfig out = model;
    auto t = byType.find(toString(layer.kind));
    if (t != byType.end()) merge(out, t->second);
    auto n = byName.find(layer.name);
    if (n != byName.end()) merge(out, n->second);
    return out;
}

std::string configTemplate(const Graph& g, Granularity gran) {
    std::ostringstream os;
    os << "# Tachyon configuration for " << g.name << " (hls4ml-compatible keys)\n"
       << "IOType: io_parallel\nClockPeriod: 5\nPart: xcvu13p-flga2577-2-e\nProjectName: myproject\n"
       << "Model:\n  Precision: ap_fixed<16,6>\n  ReuseFactor: 1\n  Strategy: Latency\n";
    if (gran == Granularity::Type) {
        std::set<std::string> kinds;
        for (const Layer& l : g.layers) kinds.insert(toString(l.kind));
        os << "LayerType:\n";
        for (const auto& k : kinds) {
            os << "  " << k << ":\n    Precision:\n";
            if (k == "Dense") os << "      weight: ap_fixed<16,6>\n      bias: ap_fixed<16,6>\n      accum: ap_fixed<16,6>\n";
            os << "      result: ap_fixed<16,6>\n";
        }
    } else if (gran == Granularity::Name) {
        os << "LayerName:\n";
        for (const Layer& l : g.layers) {
            os << "  " << l.name << ":\n    Precision:\n";
            if (l.kind == LayerKind::Dense)
                os << "      weight: ap_fixed<16,6>\n      bias: ap_fixed<16,6>\n      accum: ap_fixed<16,6>\n";
            if (l.kind == LayerKind::BatchNorm) os << "      scale: ap_fixed<16,6>\n      shift: ap_fixed<16,6>\n";
            os << "      result: ap_fixed<16,6>\n";
            if (l.kind == LayerKind::Dense) os << "    ReuseFactor: 1\n";
            if (l.kind == LayerKind::Softmax)
                os << "    exp_table_t: " << defaultSoftmaxTableType().str() << "\n    inv_table_t: "
                   << defaultSoftmaxTableType().str() << "\n";
            if (l.kind == LayerKind::Activation && !isPiecewiseLinear(l.activation))
                os << "    table_t: " << defaultTableType().str() << "\n";
        }
    }
    return os.str();
}

}  // namespace tachyon
