#include "frontends/trees/Frontends.h"

#include "util/Error.h"
#include "util/Json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace tachyon::trees {

float toFloat32(double v, const std::string& where) {
    if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<float>::max()))
        throw Error(where + ": " + std::to_string(v) + " is beyond the float range");
    return float(v);
}

TreeFormat detectTreeFormat(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return TreeFormat::None;
    char c = 0;
    while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {}
    if (!in) return TreeFormat::None;
    if (c == '<') {
        // A TMVA weight file names its method near the top: <MethodSetup Method="BDT::...">.
        std::string head(65536, '\0');
        in.read(head.data(), std::streamsize(head.size()));
        head.resize(size_t(in.gcount()));
        head.insert(head.begin(), c);
        size_t at = head.find("<MethodSetup");
        if (at == std::string::npos) return TreeFormat::None;
        size_t m = head.find("Method=", at);
        // (m + 8 may be the end of a truncated file: compare() would throw past it.)
        return (m != std::string::npos && m + 8 <= head.size() && head.compare(m + 8, 3, "BDT") == 0) ? TreeFormat::Tmva
                                                                              : TreeFormat::None;
    }
    if (c != '{') return TreeFormat::None;
    in.seekg(0);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    nlohmann::json doc = util::tryParseJson(s);
    if (doc.is_discarded()) {
        // Broken JSON that still looks like a tree model: let its reader report the error.
        if (s.find("\"learner\"") != std::string::npos) return TreeFormat::Xgboost;
        if (s.find("\"tachyon-trees\"") != std::string::npos) return TreeFormat::TachyonJson;
        return TreeFormat::None;
    }
    if (!doc.is_object()) return TreeFormat::None;
    if (doc.contains("learner")) return TreeFormat::Xgboost;
    auto f = doc.find("format");
    if (f != doc.end() && f->is_string() && f->get<std::string>() == "tachyon-trees")
        return TreeFormat::TachyonJson;
    return TreeFormat::None;
}

Ensemble readTreeModel(const std::string& path) {
    switch (detectTreeFormat(path)) {
    case TreeFormat::Xgboost: return readXgboostJson(path);
    case TreeFormat::TachyonJson: return readTachyonJson(path);
    case TreeFormat::Tmva: return readTmvaXml(path);
    case TreeFormat::None: break;
    }
    std::ifstream probe(path);
    if (!probe) throw Error(path + ": cannot open file");
    throw Error(path + ": not a tree model (expected XGBoost JSON with \"learner\", "
                       "tachyon-trees JSON, or a TMVA BDT weight XML)");
}

}  // namespace tachyon::trees
