// A minimal XML reader for TMVA weight files: elements, attributes, text content.
// It skips the prolog, comments, CDATA-free text and DOCTYPE; it does not handle
// namespaces or entities other than the five predefined ones.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tachyon::trees::xml {

struct Element {
    std::string name;
    std::map<std::string, std::string> attributes;
    std::vector<std::unique_ptr<Element>> children;
    std::string text;   // concatenated character data directly inside this element
    int line = 0;       // where the start tag is, for error messages

    const Element* child(const std::string& n) const;  // first child with that name, or null
    std::vector<const Element*> childrenNamed(const std::string& n) const;
    // Throws tachyon::Error naming `where`, the element and the attribute when absent.
    const std::string& attr(const std::string& n, const std::string& where) const;
};

// Parses a whole document; throws tachyon::Error naming `where` and the line on errors.
std::unique_ptr<Element> parse(const std::string& text, const std::string& where);

}  // namespace tachyon::trees::xml
