#include "util/Json.h"

#include "util/Error.h"

#include <fstream>
#include <sstream>

namespace tachyon::util {

namespace {

// The deepest bracket nesting of `text`, counting no brackets inside strings; stops
// counting once past `limit`.
int nestingDepth(std::string_view text, int limit) {
    int depth = 0, deepest = 0;
    bool inString = false, escaped = false;
    for (char c : text) {
        if (inString) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') inString = false;
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
            if (deepest > limit) return deepest;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

}  // namespace

std::string capMessage(const std::string& msg, size_t maxChars) {
    if (msg.size() <= maxChars) return msg;
    const size_t keepHead = maxChars * 3 / 4, keepTail = maxChars / 4;
    const size_t elided = msg.size() - keepHead - keepTail;
    return msg.substr(0, keepHead) + " [... " + std::to_string(elided) + " characters elided ...] " +
           msg.substr(msg.size() - keepTail);
}

void checkJsonDepth(std::string_view text, const std::string& source, const std::string& what) {
    if (nestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth)
        throw Error(source + ": " + what + " nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) +
                    " levels; no model needs that: the file is corrupt or hostile");
}

nlohmann::json parseJson(std::string_view text, const std::string& source, const std::string& what) {
    checkJsonDepth(text, source, what == "the file" ? "JSON" : what);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(capMessage(source + ": " + what + " is not valid JSON (" + e.what() + ")"));
    }
}

nlohmann::json readJsonFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file");
    std::stringstream ss;
    ss << in.rdbuf();
    return parseJson(ss.str(), path);
}

nlohmann::json tryParseJson(std::string_view text) {
    if (nestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) return nlohmann::json::value_t::discarded;
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace tachyon::util
