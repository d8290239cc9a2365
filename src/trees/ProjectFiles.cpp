#include "trees/ProjectFiles.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace tachyon::trees {

TestVectors thresholdTestVectors(const TreeEmulator& emu, size_t rows, uint64_t seed) {
    const Ensemble& e = emu.ensemble();
    const FixedType& in = emu.config().input;
    const int64_t lo = int64_t(in.minRaw()), hi = int64_t(in.maxRaw());
    std::vector<std::vector<int64_t>> bounds(size_t(e.nFeatures));
    for (size_t t = 0; t < e.trees.size(); ++t)
        for (size_t n = 0; n < e.trees[t].nodes.size(); ++n)
            if (!e.trees[t].nodes[n].isLeaf())
                bounds[size_t(e.trees[t].nodes[n].feature)].push_back(emu.leftIfAtMost(int(t), int(n)));
    std::mt19937_64 rng(seed);
    auto uniform = [&](int64_t a, int64_t b) { return a + int64_t(rng() % uint64_t(b - a + 1)); };
    TestVectors tv;
    tv.rows = rows;
    tv.inputRaw.resize(rows * size_t(e.nFeatures));
    for (size_t r = 0; r < rows; ++r)
        for (int f = 0; f < e.nFeatures; ++f) {
            const auto& b = bounds[size_t(f)];
            int64_t v;
            if (b.empty()) {
                v = uniform(lo, hi);
            } else if (rng() % 4 == 0) {
                v = b[rng() % b.size()] + int64_t(rng() % 2);  // exactly on a split boundary
            } else {
                auto [mn, mx] = std::minmax_element(b.begin(), b.end());
                const int64_t span = std::max<int64_t>(*mx - *mn, 8);
                v = uniform(*mn - span / 4, *mx + span / 4);
            }
            tv.inputRaw[r * size_t(e.nFeatures) + size_t(f)] = std::clamp(v, lo, hi);
        }
    return tv;
}

TestVectors testVectorsFrom(const TreeEmulator& emu, const double* x, size_t rows) {
    TestVectors tv;
    tv.rows = rows;
    tv.inputRaw.resize(rows * size_t(emu.nFeatures()));
    for (size_t i = 0; i < tv.inputRaw.size(); ++i) tv.inputRaw[i] = emu.quantizeInput(x[i]);
    return tv;
}

namespace detail {

std::vector<int64_t> expectedRaw(const TreeEmulator& emu, const TestVectors& tv) {
    std::vector<int64_t> out(tv.rows * size_t(emu.nClasses()));
    emu.runFixedRaw(tv.inputRaw.data(), tv.rows, out.data());
    return out;
}

nlohmann::json projectJson(const TreeEmulator& emu, const std::string& backend, size_t testRows) {
    const TreeConfig& c = emu.config();
    nlohmann::json j;
    j["backend"] = backend;
    j["kind"] = "trees";
    j["top"] = c.projectName;
    j["model"] = emu.ensemble().sourceFile;
    j["clock_period_ns"] = c.clockPeriodNs;
    j["part"] = c.part;
    j["inputs"] = emu.nFeatures();
    j["outputs"] = emu.nClasses();
    j["input_type"] = c.input.str();
    j["threshold_type"] = c.threshold.str();
    j["output_type"] = c.score.str();
    j["trees"] = emu.ensemble().trees.size();
    j["test_rows"] = testRows;
    return j;
}

std::string valueLiteral(const FixedType& t, int64_t raw) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", t.toDouble(raw));
    return buf;
}

std::string verilogLiteral(int64_t raw, int width, bool isSigned) {
    // Negative values as their two's-complement bits, so the most negative one needs no
    // wider literal: 18'sh3fffb is -5.
    if (raw < 0) {
        const uint64_t bits = uint64_t(raw) & ((width >= 64) ? ~0ULL : ((1ULL << width) - 1));
        char buf[32];
        std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(bits));
        return std::to_string(width) + "'sh" + buf;
    }
    return std::to_string(width) + (isSigned ? "'sd" : "'d") + std::to_string(raw);
}

std::string verilogPorts(const TreeEmulator& emu) {
    const TreeConfig& c = emu.config();
    std::ostringstream os;
    os << "    input  wire clk,\n    input  wire in_valid,\n";
    for (int f = 0; f < emu.nFeatures(); ++f)
        os << "    input  wire " << (c.input.isSigned ? "signed " : "") << "[" << c.input.width - 1
           << ":0] x_" << f << ",\n";
    os << "    output wire out_valid";
    for (int k = 0; k < emu.nClasses(); ++k)
        os << ",\n    output wire " << (c.score.isSigned ? "signed " : "") << "[" << c.score.width - 1
           << ":0] y_" << k;
    os << "\n";
    return os.str();
}

std::string verilatorHarness(const TreeEmulator& emu, const std::string& top, int latency) {
    const TreeConfig& c = emu.config();
    std::ostringstream os;
    os << "// Verilator harness: drives one row per clock from sim/input_raw.dat (or argv[1]), writes\n"
          "// sim/rtl_output_raw.dat (or argv[2]) and compares with sim/expected_raw.dat. Run from the\n"
          "// project root, or by `tachyon rtlsim`, which passes both paths and compares itself.\n"
          "#include \"V" << top << ".h\"\n#include \"verilated.h\"\n\n"
          "#include <cstdint>\n#include <cstdio>\n#include <fstream>\n#include <sstream>\n#include <string>\n#include <vector>\n\n"
          "static const int kInputs = " << emu.nFeatures() << ", kOutputs = " << emu.nClasses()
       << ", kLatency = " << latency << ";\n"
          "static const int kInWidth = " << c.input.width << ", kOutWidth = " << c.score.width << ";\n"
          "static const bool kOutSigned = " << (c.score.isSigned ? "true" : "false") << ";\n\n"
          "static std::vector<std::vector<long long>> readRows(const char* path, int cols) {\n"
          "    std::vector<std::vector<long long>> rows;\n    std::ifstream in(path);\n    std::string line;\n"
          "    while (std::getline(in, line)) {\n        std::istringstream ss(line);\n"
          "        std::vector<long long> r(cols);\n        for (int i = 0; i < cols; ++i) ss >> r[i];\n"
          "        if (ss) rows.push_back(r);\n    }\n    return rows;\n}\n\n"
          "static long long outRaw(unsigned long long bits) {\n"
          "    bits &= (1ULL << kOutWidth) - 1;\n"
          "    if (kOutSigned && (bits >> (kOutWidth - 1)) & 1) return (long long)bits - (1LL << kOutWidth);\n"
          "    return (long long)bits;\n}\n\n"
          "int main(int argc, char** argv) {\n"
          "    Verilated::commandArgs(argc, argv);\n"
          "    V" << top << "* dut = new V" << top << ";\n"
          "    const bool paths = argc > 2 && argv[1][0] != '+';\n"
          "    const auto in = readRows(paths ? argv[1] : \"sim/input_raw.dat\", kInputs);\n"
          "    const auto expected = readRows(\"sim/expected_raw.dat\", kOutputs);\n"
          "    std::vector<std::vector<long long>> got;\n"
          "    const unsigned long long inMask = (1ULL << kInWidth) - 1;\n"
          "    for (size_t t = 0; t < in.size() + kLatency; ++t) {\n"
          "        const bool drive = t < in.size();\n";
    for (int f = 0; f < emu.nFeatures(); ++f)
        os << "        dut->x_" << f << " = drive ? (in[t][" << f << "] & inMask) : 0;\n";
    os << "        dut->in_valid = drive;\n"
          "        dut->clk = 0;\n        dut->eval();\n"
          "        if (kLatency == 0 && drive) {\n            got.push_back({";
    for (int k = 0; k < emu.nClasses(); ++k) os << (k ? ", " : "") << "outRaw(dut->y_" << k << ")";
    os << "});\n        }\n"
          "        dut->clk = 1;\n        dut->eval();\n"
          "        if (kLatency > 0 && dut->out_valid) {\n            got.push_back({";
    for (int k = 0; k < emu.nClasses(); ++k) os << (k ? ", " : "") << "outRaw(dut->y_" << k << ")";
    os << "});\n        }\n    }\n"
          "    dut->final();\n    delete dut;\n"
          "    FILE* out = std::fopen(paths ? argv[2] : \"sim/rtl_output_raw.dat\", \"w\");\n"
          "    size_t mismatches = got.size() == expected.size() ? 0 : 1;\n"
          "    for (size_t r = 0; r < got.size(); ++r) {\n"
          "        for (int k = 0; k < kOutputs; ++k) {\n"
          "            std::fprintf(out, k ? \" %lld\" : \"%lld\", got[r][k]);\n"
          "            if (r < expected.size() && got[r][k] != expected[r][k]) ++mismatches;\n"
          "        }\n        std::fprintf(out, \"\\n\");\n    }\n    std::fclose(out);\n"
          "    std::printf(\"rows %zu mismatches %zu\\n\", got.size(), mismatches);\n"
          "    return paths || mismatches == 0 ? 0 : 1;\n}\n";
    return os.str();
}

}  // namespace detail
}  // namespace tachyon::trees
