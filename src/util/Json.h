// Reading JSON from files Tachyon did not write (models, tree ensembles, project
// manifests): nesting is capped before any parser recurses over it, and error messages
// are capped, so a hostile file gets a short error naming it instead of a stack overflow
// or a megabyte of quoted input.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tachyon::util {

// Deeper than this is refused; real models nest a few dozen levels at most.
constexpr int kMaxJsonDepth = 256;
// Longest error message Tachyon prints; longer ones keep their start and end.
constexpr size_t kMaxMessageChars = 2048;

// `msg` when short enough, else its start and end around "[... N characters elided ...]".
std::string capMessage(const std::string& msg, size_t maxChars = kMaxMessageChars);

// Throws tachyon::Error "<source>: <what>: nested deeper than 256 levels ..." when the
// brackets of `text` (outside strings) nest too deep.
void checkJsonDepth(std::string_view text, const std::string& source, const std::string& what = "JSON");

// Parses `text`; errors: tachyon::Error "<source>: <what> is not valid JSON (<reason>)".
nlohmann::json parseJson(std::string_view text, const std::string& source, const std::string& what = "the file");
// The same for a whole file (`path` is the source).
nlohmann::json readJsonFile(const std::string& path);
// Like parseJson, but returns a discarded value instead of throwing for invalid or too
// deep text (format detection).
nlohmann::json tryParseJson(std::string_view text);

}  // namespace tachyon::util
