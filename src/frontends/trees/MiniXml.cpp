#include "frontends/trees/MiniXml.h"

#include "util/Error.h"

#include <cctype>

namespace tachyon::trees::xml {

const Element* Element::child(const std::string& n) const {
    for (const auto& c : children)
        if (c->name == n) return c.get();
    return nullptr;
}

std::vector<const Element*> Element::childrenNamed(const std::string& n) const {
    std::vector<const Element*> out;
    for (const auto& c : children)
        if (c->name == n) out.push_back(c.get());
    return out;
}

const std::string& Element::attr(const std::string& n, const std::string& where) const {
    auto it = attributes.find(n);
    if (it == attributes.end())
        throw Error(where + ": line " + std::to_string(line) + ": <" + name +
                    "> has no attribute '" + n + "'");
    return it->second;
}

namespace {

class Parser {
public:
    Parser(const std::string& s, const std::string& where) : s_(s), where_(where) {}

    std::unique_ptr<Element> document() {
        skipMisc();
        if (!at("<")) fail("expected the root element");
        auto root = element();
        skipMisc();
        if (pos_ < s_.size()) fail("content after the root element");
        return root;
    }

private:
    const std::string& s_;
    std::string where_;
    size_t pos_ = 0;
    int line_ = 1;
    int depth_ = 0;   // nesting, bounded so that a hostile file cannot exhaust the stack

    [[noreturn]] void fail(const std::string& why) const {
        throw Error(where_ + ": line " + std::to_string(line_) + ": malformed XML: " + why);
    }
    bool at(const char* lit) const { return s_.compare(pos_, std::char_traits<char>::length(lit), lit) == 0; }
    void advance(size_t n) {
        for (size_t i = 0; i < n && pos_ < s_.size(); ++i)
            if (s_[pos_++] == '\n') ++line_;
    }
    void skipUntil(const char* end) {
        size_t e = s_.find(end, pos_);
        if (e == std::string::npos) fail(std::string("unterminated construct, expected '") + end + "'");
        advance(e - pos_ + std::char_traits<char>::length(end));
    }
    void skipSpace() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) advance(1);
    }
    // Whitespace, comments, processing instructions and DOCTYPE between elements.
    void skipMisc() {
        for (;;) {
            skipSpace();
            if (at("<?")) skipUntil("?>");
            else if (at("<!--")) skipUntil("-->");
            else if (at("<!")) skipUntil(">");
            else return;
        }
    }
    std::string name() {
        size_t b = pos_;
        while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                    s_[pos_] == '_' || s_[pos_] == '-' || s_[pos_] == '.' ||
                                    s_[pos_] == ':'))
            ++pos_;
        if (b == pos_) fail("expected a name");
        return s_.substr(b, pos_ - b);
    }
    static std::string unescape(const std::string& v) {
        std::string out;
        for (size_t i = 0; i < v.size(); ++i) {
            if (v[i] != '&') { out += v[i]; continue; }
            static const std::pair<const char*, char> ents[] = {
                {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
            bool done = false;
            for (auto& [e, c] : ents)
                if (v.compare(i, std::char_traits<char>::length(e), e) == 0) {
                    out += c;
                    i += std::char_traits<char>::length(e) - 1;
                    done = true;
                    break;
                }
            if (!done) out += '&';
        }
        return out;
    }
    std::unique_ptr<Element> element() {
        if (++depth_ > 2000) fail("elements nested more than 2000 deep");
        auto el = std::make_unique<Element>();
        el->line = line_;
        advance(1);  // '<'
        el->name = name();
        for (;;) {
            skipSpace();
            if (at("/>")) { advance(2); --depth_; return el; }
            if (at(">")) { advance(1); break; }
            std::string key = name();
            skipSpace();
            if (!at("=")) fail("expected '=' after attribute '" + key + "'");
            advance(1);
            skipSpace();
            if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) fail("expected a quoted value");
            const char quote = s_[pos_];
            advance(1);
            size_t e = s_.find(quote, pos_);
            if (e == std::string::npos) fail("unterminated attribute value");
            el->attributes[key] = unescape(s_.substr(pos_, e - pos_));
            advance(e - pos_ + 1);
        }
        for (;;) {
            if (pos_ >= s_.size()) fail("element <" + el->name + "> is not closed");
            if (at("</")) {
                advance(2);
                std::string closing = name();
                if (closing != el->name)
                    fail("</" + closing + "> closes <" + el->name + ">");
                skipSpace();
                if (!at(">")) fail("expected '>'");
                advance(1);
                --depth_;
                return el;
            }
            if (at("<!--")) { skipUntil("-->"); continue; }
            if (at("<?")) { skipUntil("?>"); continue; }
            if (at("<")) { el->children.push_back(element()); continue; }
            size_t e = s_.find('<', pos_);
            if (e == std::string::npos) e = s_.size();
            el->text += unescape(s_.substr(pos_, e - pos_));
            advance(e - pos_);
        }
    }
};

}  // namespace

std::unique_ptr<Element> parse(const std::string& text, const std::string& where) {
    return Parser(text, where).document();
}

}  // namespace tachyon::trees::xml
