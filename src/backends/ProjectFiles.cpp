#include "backends/ProjectFiles.h"

#include "util/Error.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>

namespace tachyon::backend {

void writeText(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();  // the last bytes reach the disk here: a full disk may only show now
    if (!out) throw Error(path + ": cannot write file");
}

void writeRawRows(const std::string& path, const int64_t* data, size_t rows, size_t cols) {
    std::string s;
    s.reserve(rows * cols * 8);
    char buf[32];
    for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
            std::snprintf(buf, sizeof buf, c ? " %lld" : "%lld", static_cast<long long>(data[r * cols + c]));
            s += buf;
        }
        s += '\n';
    }
    writeText(path, s);
}

void writeValueRows(const std::string& path, const int64_t* data, size_t rows, size_t cols, const FixedType& t) {
    writeValueRows(path, data, rows, std::vector<FixedType>(cols, t));
}

void writeValueRows(const std::string& path, const int64_t* data, size_t rows, const std::vector<FixedType>& colTypes) {
    const size_t cols = colTypes.size();
    std::string s;
    char buf[40];
    for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
            std::snprintf(buf, sizeof buf, c ? " %.17g" : "%.17g", colTypes[c].toDouble(data[r * cols + c]));
            s += buf;
        }
        s += '\n';
    }
    writeText(path, s);
}

std::vector<int64_t> randomModelInputRows(const Graph& g, size_t rows, uint64_t seed) {
    const std::vector<const Layer*> inputs = g.inputs();
    const size_t cols = size_t(g.inputSize());
    std::vector<int64_t> x(rows * cols);
    size_t offset = 0;
    for (size_t k = 0; k < inputs.size(); ++k) {
        const size_t n = size_t(inputs[k]->outSize());
        const std::vector<int64_t> part = randomTestRows(inputs[k]->type("result"), rows, n, seed + k);
        for (size_t r = 0; r < rows; ++r)
            std::copy(part.begin() + r * n, part.begin() + (r + 1) * n, x.begin() + r * cols + offset);
        offset += n;
    }
    return x;
}

std::vector<FixedType> modelInputColumnTypes(const Graph& g) {
    std::vector<FixedType> types;
    for (const Layer* in : g.inputs()) types.insert(types.end(), size_t(in->outSize()), in->type("result"));
    return types;
}

std::vector<int64_t> projectTestRows(const Graph& g, const std::vector<double>& userRows, size_t randomRows,
                                     uint64_t seed, size_t& rows) {
    if (userRows.empty()) {
        rows = randomRows;
        return randomModelInputRows(g, randomRows, seed);
    }
    const std::vector<FixedType> types = modelInputColumnTypes(g);
    const size_t cols = types.size();
    if (cols == 0 || userRows.size() % cols != 0)
        throw Error("test inputs: " + std::to_string(userRows.size()) + " values are no whole number of rows of " +
                    std::to_string(cols) + " model inputs");
    rows = userRows.size() / cols;
    std::vector<int64_t> raw(userRows.size());
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = int64_t(types[i % cols].castDouble(userRows[i]));
    return raw;
}

std::vector<int64_t> randomTestRows(const FixedType& t, size_t rows, size_t cols, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    const Int128 lo = t.minRaw(), span = t.maxRaw() - t.minRaw() + 1;
    auto uniform = [&]() {
        unsigned __int128 r = ((unsigned __int128)rng() << 64) | rng();
        return int64_t(lo + Int128(r % (unsigned __int128)span));
    };
    auto typical = [&]() { return int64_t(t.castDouble(normal(rng) * double(1 + rng() % 4))); };
    const int64_t extremes[] = {int64_t(t.minRaw()), int64_t(t.maxRaw()), 0, 1, t.isSigned ? -1 : 2};
    std::vector<int64_t> x(rows * cols);
    for (size_t r = 0; r < rows; ++r)
        for (size_t i = 0; i < cols; ++i) {
            int64_t& v = x[r * cols + i];
            switch (r % 3) {
            case 0: v = typical(); break;
            case 1: v = uniform(); break;
            default: v = rng() % 2 ? extremes[rng() % 5] : typical(); break;
            }
        }
    return x;
}

nlohmann::ordered_json networkManifest(const Graph& g, const LoweredGraph& low, const Target& target,
                                       const std::string& backend, const std::string& top, size_t testRows) {
    nlohmann::ordered_json j;
    j["backend"] = backend;
    j["kind"] = "nn";
    j["top"] = top;
    j["model"] = g.sourceFile;
    j["clock_period_ns"] = target.clockPeriodNs;
    j["part"] = target.part;
    j["io_type"] = toString(target.io);
    j["inputs"] = g.inputSize();
    j["outputs"] = g.outputSize();
    j["input_type"] = g.input().type("result").str();  // the first input's
    if (g.inputs().size() > 1) {
        // Several inputs: each one's name, size and type, in the order of a test-vector row.
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const Layer* in : g.inputs())
            list.push_back({{"name", in->name}, {"size", in->outSize()}, {"type", in->type("result").str()}});
        j["model_inputs"] = list;
    }
    j["output_type"] = g.output().type("result").str();
    j["test_rows"] = testRows;
    nlohmann::ordered_json xnor = nlohmann::ordered_json::array();
    for (const Layer& l : g.layers)
        if (low.binaryMac(l.name)) xnor.push_back(l.name);
    j["xnor_popcount_layers"] = xnor;
    return j;
}

}  // namespace tachyon::backend
