// Score expressions and cuts of a trigger menu (docs/trigger.md, "Scores and cuts").
//
// A score is arithmetic over one event: model outputs `out[i]`, input columns `in[i]` or
// by name (`pt`), numbers, + - * /, unary minus, parentheses, abs(x), and reductions over
// slices: max/min/sum/mean(out[0:3], ...), and the reconstruction errors
// mse(input, output) / mae(input, output) of an autoencoder. `input` is the model's input
// row as the model sees it (quantised to its input type in fixed-point mode), `output`
// its output row. A cut is `EXPR OP EXPR` with OP one of > >= < <= == !=.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace tachyon::trigger {

// What an expression may name, checked when it is parsed.
struct ExprScope {
    int outputs = 0;                    // model outputs (0: outputs may not be named, as in cuts)
    int inputColumns = 0;               // columns of the event file
    int modelInputs = 0;                // length of `input`
    std::vector<std::string> columnNames;   // names of the file's columns ("" where unnamed)
};

// One event as an expression reads it.
struct EventView {
    const double* columns = nullptr;    // the event file's row
    const double* input = nullptr;      // the model's input row (modelInputs values)
    const double* output = nullptr;     // the model's output row
};

class Expression {
public:
    // Throws tachyon::Error "<where>: <text>: <reason>" (unknown name, index out of range,
    // syntax error at a column).
    static Expression parse(const std::string& text, const ExprScope& scope, const std::string& where);
    double eval(const EventView& e) const;
    bool usesOutputs() const { return usesOutputs_; }
    const std::string& text() const { return text_; }

    struct Node;

private:
    friend class Cut;
    std::shared_ptr<const Node> root_;
    std::string text_;
    bool usesOutputs_ = false;
};

class Cut {
public:
    static Cut parse(const std::string& text, const ExprScope& scope, const std::string& where);
    bool pass(const EventView& e) const;
    const std::string& text() const { return text_; }

private:
    Expression lhs_, rhs_;
    std::string op_, text_;
};

}  // namespace tachyon::trigger
