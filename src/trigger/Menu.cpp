#include "trigger/Menu.h"

#include "api/Api.h"
#include "util/Error.h"

#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace tachyon::trigger {

namespace {

std::string relativeTo(const std::string& menuPath, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(menuPath).parent_path() / p).lexically_normal().string();
}

void checkKeys(const api::Json& obj, const std::set<std::string>& known, const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (!known.count(it.key())) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            throw Error(where + ": unknown key '" + it.key() + "' (known: " + list + ")");
        }
}

std::string stringOf(const api::Json& j, const std::string& where) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_number()) return j.dump();
    throw Error(where + ": expected a string");
}

// "a:b", "a:" or ":b" over the event's columns.
void parseRange(const std::string& text, AlgorithmSpec& a, const std::string& where) {
    const size_t colon = text.find(':');
    try {
        if (colon == std::string::npos) throw 0;
        const std::string lo = text.substr(0, colon), hi = text.substr(colon + 1);
        a.inputBegin = lo.empty() ? 0 : std::stoi(lo);
        a.inputEnd = hi.empty() ? -1 : std::stoi(hi);
        if (a.inputBegin < 0 || (a.inputEnd >= 0 && a.inputEnd <= a.inputBegin)) throw 0;
    } catch (...) {
        throw Error(where + ": '" + text + "' is not a column range like 0:16");
    }
}

}  // namespace

Menu readMenu(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw Error(path + ": no such menu file");
    const api::Json j = api::readYamlFile(path);
    if (!j.is_object()) throw Error(path + ": a menu is a mapping with 'algorithms'");
    checkKeys(j, {"bunches", "columns", "algorithms"}, path);
    Menu m;
    m.path = path;
    if (j.contains("bunches")) {
        if (!j["bunches"].is_number_integer() || j["bunches"].get<long long>() < 1 || j["bunches"].get<long long>() > 3564)
            throw Error(path + ": bunches: expected an integer 1..3564");
        m.bunches = j["bunches"].get<int>();
    }
    if (j.contains("columns")) {
        if (!j["columns"].is_array()) throw Error(path + ": columns: expected a list of names");
        for (const auto& c : j["columns"]) m.columns.push_back(stringOf(c, path + ": columns"));
    }
    if (!j.contains("algorithms") || !j["algorithms"].is_array() || j["algorithms"].empty())
        throw Error(path + ": algorithms: expected a non-empty list");
    std::set<std::string> names;
    for (size_t i = 0; i < j["algorithms"].size(); ++i) {
        const api::Json& a = j["algorithms"][i];
        std::string where = path + ": algorithms[" + std::to_string(i) + "]";
        if (!a.is_object()) throw Error(where + ": expected a mapping with name, model, score");
        checkKeys(a, {"name", "model", "config", "score", "threshold", "cuts", "inputs", "report"}, where);
        AlgorithmSpec s;
        if (!a.contains("name")) throw Error(where + ": name: missing");
        s.name = stringOf(a["name"], where + ": name");
        where = path + ": algorithm '" + s.name + "'";
        if (s.name.empty() || s.name.find_first_of("/\\ \t") != std::string::npos)
            throw Error(where + ": name: must be non-empty, without spaces or slashes (it names output files)");
        if (!names.insert(s.name).second) throw Error(where + ": name: used twice");
        if (!a.contains("model")) throw Error(where + ": model: missing");
        s.model = relativeTo(path, stringOf(a["model"], where + ": model"));
        if (!fs::is_regular_file(s.model, ec)) throw Error(where + ": model: " + s.model + ": no such file");
        if (a.contains("config")) {
            s.config = relativeTo(path, stringOf(a["config"], where + ": config"));
            if (!fs::is_regular_file(s.config, ec)) throw Error(where + ": config: " + s.config + ": no such file");
        }
        if (a.contains("score")) s.score = stringOf(a["score"], where + ": score");
        if (a.contains("threshold")) {
            if (!a["threshold"].is_number()) throw Error(where + ": threshold: expected a number");
            s.threshold = a["threshold"].get<double>();
        }
        if (a.contains("cuts")) {
            const api::Json& c = a["cuts"];
            if (c.is_string()) s.cuts.push_back(c.get<std::string>());
            else if (c.is_array())
                for (const auto& x : c) s.cuts.push_back(stringOf(x, where + ": cuts"));
            else throw Error(where + ": cuts: expected a cut or a list of cuts");
        }
        if (a.contains("report")) {
            s.report = relativeTo(path, stringOf(a["report"], where + ": report"));
            if (!fs::is_directory(s.report, ec)) throw Error(where + ": report: " + s.report + ": no such project folder");
        }
        if (a.contains("inputs")) parseRange(stringOf(a["inputs"], where + ": inputs"), s, where + ": inputs");
        m.algorithms.push_back(std::move(s));
    }
    return m;
}

}  // namespace tachyon::trigger
