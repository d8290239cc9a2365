#include "trigger/Expression.h"

#include "util/Error.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace tachyon::trigger {

namespace {

enum class Source { Columns, Input, Output };

// A run of values of one row: out[2:5], in[0:3], `input`, `output`.
struct Slice {
    Source source = Source::Output;
    int lo = 0, hi = 0;   // [lo, hi)
};

const double* rowOf(const EventView& e, Source s) {
    return s == Source::Columns ? e.columns : s == Source::Input ? e.input : e.output;
}

}  // namespace

struct Expression::Node {
    enum class Kind { Number, Value, Neg, Add, Sub, Mul, Div, Abs, Reduce, Error } kind = Kind::Number;
    double number = 0;
    Source source = Source::Output;   // Value
    int index = 0;                    // Value
    std::string fn;                   // Reduce: max min sum mean; Error: mse mae
    std::vector<std::shared_ptr<const Node>> args;   // scalar operands
    std::vector<Slice> slices;        // Reduce and Error operands

    double eval(const EventView& e) const {
        switch (kind) {
        case Kind::Number: return number;
        case Kind::Value: return rowOf(e, source)[index];
        case Kind::Neg: return -args[0]->eval(e);
        case Kind::Add: return args[0]->eval(e) + args[1]->eval(e);
        case Kind::Sub: return args[0]->eval(e) - args[1]->eval(e);
        case Kind::Mul: return args[0]->eval(e) * args[1]->eval(e);
        case Kind::Div: return args[0]->eval(e) / args[1]->eval(e);
        case Kind::Abs: return std::fabs(args[0]->eval(e));
        case Kind::Reduce: return reduce(e);
        case Kind::Error: return error(e);
        }
        return 0;
    }

    double reduce(const EventView& e) const {
        double acc = fn == "max" ? -std::numeric_limits<double>::infinity()
                   : fn == "min" ? std::numeric_limits<double>::infinity()
                                 : 0.0;
        size_t n = 0;
        const auto take = [&](double v) {
            if (fn == "max") acc = std::max(acc, v);
            else if (fn == "min") acc = std::min(acc, v);
            else acc += v;
            ++n;
        };
        for (const auto& a : args) take(a->eval(e));
        for (const Slice& s : slices) {
            const double* row = rowOf(e, s.source);
            for (int i = s.lo; i < s.hi; ++i) take(row[i]);
        }
        return fn == "mean" ? acc / double(n) : acc;
    }

    // Mean squared (mse) or absolute (mae) difference of two equally long slices. The
    // squares of fixed-point values are exact in double, so the sum is exact for any
    // realistic width (docs/trigger.md).
    double error(const EventView& e) const {
        const double* a = rowOf(e, slices[0].source) + slices[0].lo;
        const double* b = rowOf(e, slices[1].source) + slices[1].lo;
        const int n = slices[0].hi - slices[0].lo;
        double sum = 0;
        for (int i = 0; i < n; ++i) {
            const double d = a[i] - b[i];
            sum += fn == "mse" ? d * d : std::fabs(d);
        }
        return sum / n;
    }
};

namespace {

using NodePtr = std::shared_ptr<const Expression::Node>;
using Node = Expression::Node;

// Recursive descent over the expression grammar in Expression.h.
class Parser {
public:
    Parser(const std::string& text, const ExprScope& scope, const std::string& where)
        : s_(text), scope_(scope), where_(where) {}

    NodePtr expression() {
        NodePtr left = term();
        for (;;) {
            skip();
            if (peek('+') || peek('-')) {
                const char op = s_[pos_++];
                left = binary(op == '+' ? Node::Kind::Add : Node::Kind::Sub, left, term());
            } else {
                return left;
            }
        }
    }

    // > >= < <= == != ; "" when none follows.
    std::string comparison() {
        skip();
        for (const char* op : {">=", "<=", "==", "!=", ">", "<"}) {
            const std::string o(op);
            if (s_.compare(pos_, o.size(), o) == 0) {
                pos_ += o.size();
                return o;
            }
        }
        return "";
    }

    void end() {
        skip();
        if (pos_ != s_.size()) fail("unexpected '" + s_.substr(pos_, 1) + "'");
    }

    bool usesOutputs = false;

    [[noreturn]] void fail(const std::string& reason) const {
        throw Error(where_ + ": \"" + s_ + "\": " + reason + " (at column " + std::to_string(pos_ + 1) + ")");
    }

private:
    void skip() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    bool peek(char c) {
        skip();
        return pos_ < s_.size() && s_[pos_] == c;
    }
    void expect(char c) {
        if (!peek(c)) fail(std::string("expected '") + c + "'");
        ++pos_;
    }

    static NodePtr binary(Node::Kind k, NodePtr a, NodePtr b) {
        auto n = std::make_shared<Node>();
        n->kind = k;
        n->args = {std::move(a), std::move(b)};
        return n;
    }

    NodePtr term() {
        NodePtr left = factor();
        for (;;) {
            if (peek('*') || peek('/')) {
                const char op = s_[pos_++];
                left = binary(op == '*' ? Node::Kind::Mul : Node::Kind::Div, left, factor());
            } else {
                return left;
            }
        }
    }

    std::string identifier() {
        skip();
        const size_t start = pos_;
        while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
        return s_.substr(start, pos_ - start);
    }

    int integer() {
        skip();
        const size_t start = pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        if (start == pos_) fail("expected an index");
        if (pos_ - start > 9) fail("index too large");
        return std::atoi(s_.substr(start, pos_ - start).c_str());
    }

    int sizeOf(Source src) const {
        return src == Source::Columns ? scope_.inputColumns : src == Source::Input ? scope_.modelInputs : scope_.outputs;
    }

    Source sourceOf(const std::string& id) {
        if (id == "out" || id == "output") {
            if (scope_.outputs == 0) fail("'" + id + "' cannot be used here (cuts see only the event's columns)");
            usesOutputs = true;
            return Source::Output;
        }
        if (id == "in") return Source::Columns;
        if (scope_.modelInputs == 0) fail("'input' cannot be used here (cuts see only the event's columns)");
        return Source::Input;   // "input"
    }

    // out[i] (a Value) or out[a:b] (a Slice) after the name; `indexed` false for bare
    // `input`/`output`/`out`.
    bool indexOrSlice(Source src, const std::string& id, int& index, Slice& slice) {
        const int size = sizeOf(src);
        slice = {src, 0, size};
        if (!peek('[')) return false;
        ++pos_;
        int lo = peek(':') ? 0 : integer();
        if (peek(':')) {
            ++pos_;
            const int hi = peek(']') ? size : integer();
            expect(']');
            if (lo >= hi || hi > size)
                fail(id + "[" + std::to_string(lo) + ":" + std::to_string(hi) + "] is not a slice of its " +
                     std::to_string(size) + " values");
            slice = {src, lo, hi};
            return false;
        }
        expect(']');
        if (lo >= size)
            fail(id + "[" + std::to_string(lo) + "] does not exist: " +
                 (src == Source::Output ? "the model has " : src == Source::Columns ? "the event file has " : "the model input has ") +
                 std::to_string(size) + (src == Source::Output ? " outputs" : " values"));
        index = lo;
        return true;
    }

    NodePtr value(Source src, int index) {
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::Value;
        n->source = src;
        n->index = index;
        return n;
    }

    // One argument of a reduction: a scalar expression or a slice.
    void argument(Node& fn) {
        const size_t save = pos_;
        const std::string id = identifier();
        if (id == "out" || id == "in" || id == "input" || id == "output") {
            const Source src = sourceOf(id);
            int index = 0;
            Slice slice;
            if (!indexOrSlice(src, id, index, slice)) {
                skip();
                if (peek(',') || peek(')')) {
                    fn.slices.push_back(slice);
                    return;
                }
                fail("a slice cannot take part in arithmetic");
            }
        }
        pos_ = save;
        fn.args.push_back(expression());
    }

    NodePtr call(const std::string& name) {
        auto n = std::make_shared<Node>();
        n->fn = name;
        expect('(');
        if (name == "abs") {
            n->kind = Node::Kind::Abs;
            n->args.push_back(expression());
            expect(')');
            return n;
        }
        n->kind = name == "mse" || name == "mae" ? Node::Kind::Error : Node::Kind::Reduce;
        argument(*n);
        while (peek(',')) {
            ++pos_;
            argument(*n);
        }
        expect(')');
        if (n->kind == Node::Kind::Error) {
            if (n->slices.size() != 2 || !n->args.empty())
                fail(name + " takes two vectors, e.g. " + name + "(input, output)");
            if (n->slices[0].hi - n->slices[0].lo != n->slices[1].hi - n->slices[1].lo)
                fail(name + ": its two vectors differ in length (" + std::to_string(n->slices[0].hi - n->slices[0].lo) +
                     " and " + std::to_string(n->slices[1].hi - n->slices[1].lo) + ")");
        }
        return n;
    }

    NodePtr factor() {
        skip();
        if (pos_ >= s_.size()) fail("unexpected end of expression");
        const char c = s_[pos_];
        if (c == '-') {
            ++pos_;
            auto n = std::make_shared<Node>();
            n->kind = Node::Kind::Neg;
            n->args.push_back(factor());
            return n;
        }
        if (c == '(') {
            ++pos_;
            NodePtr e = expression();
            expect(')');
            return e;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
            const char* begin = s_.c_str() + pos_;
            char* endp = nullptr;
            const double v = std::strtod(begin, &endp);
            if (endp == begin) fail("expected a number");
            pos_ += size_t(endp - begin);
            auto n = std::make_shared<Node>();
            n->number = v;
            return n;
        }
        const size_t start = pos_;
        const std::string id = identifier();
        if (id.empty()) fail("unexpected '" + std::string(1, c) + "'");
        if (id == "max" || id == "min" || id == "sum" || id == "mean" || id == "mse" || id == "mae" || id == "abs")
            return call(id);
        if (id == "out" || id == "in") {
            const Source src = sourceOf(id);
            int index = 0;
            Slice slice;
            if (!indexOrSlice(src, id, index, slice)) fail("'" + id + "' needs one index here, e.g. " + id + "[0]");
            return value(src, index);
        }
        for (size_t i = 0; i < scope_.columnNames.size(); ++i)
            if (scope_.columnNames[i] == id) return value(Source::Columns, int(i));
        pos_ = start;
        std::string known;
        for (const auto& n : scope_.columnNames)
            if (!n.empty()) known += (known.empty() ? "" : ", ") + n;
        fail("unknown name '" + id + "'" + (known.empty() ? " (the event file has no column names; use in[i])"
                                                          : " (columns: " + known + ")"));
    }

    const std::string& s_;
    const ExprScope& scope_;
    const std::string& where_;
    size_t pos_ = 0;
};

}  // namespace

Expression Expression::parse(const std::string& text, const ExprScope& scope, const std::string& where) {
    Parser p(text, scope, where);
    Expression e;
    e.root_ = p.expression();
    p.end();
    e.text_ = text;
    e.usesOutputs_ = p.usesOutputs;
    return e;
}

double Expression::eval(const EventView& e) const { return root_->eval(e); }

Cut Cut::parse(const std::string& text, const ExprScope& scope, const std::string& where) {
    ExprScope columnsOnly = scope;
    columnsOnly.outputs = 0;
    columnsOnly.modelInputs = 0;
    Parser p(text, columnsOnly, where);
    Cut c;
    c.lhs_.root_ = p.expression();
    c.op_ = p.comparison();
    if (c.op_.empty()) p.fail("a cut compares two values, e.g. pt > 20");
    c.rhs_.root_ = p.expression();
    p.end();
    c.text_ = text;
    return c;
}

bool Cut::pass(const EventView& e) const {
    const double a = lhs_.eval(e), b = rhs_.eval(e);
    if (op_ == ">") return a > b;
    if (op_ == ">=") return a >= b;
    if (op_ == "<") return a < b;
    if (op_ == "<=") return a <= b;
    if (op_ == "==") return a == b;
    return a != b;
}

}  // namespace tachyon::trigger
