#include "backends/lut/LutProject.h"

#include "backends/ProjectFiles.h"
#include "util/Error.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

namespace tachyon::lut {

namespace {

namespace fs = std::filesystem;

// The ports of the ROM wrapper: clk, in_valid, x_0..x_{n-1}, out_valid, y_0..y_{k-1}.
std::string ports(int nIn, const FixedType& in, int nOut, const FixedType& out) {
    std::ostringstream os;
    os << "    input  wire clk,\n    input  wire in_valid,\n";
    for (int i = 0; i < nIn; ++i)
        os << "    input  wire " << (in.isSigned ? "signed " : "") << "[" << in.width - 1 << ":0] x_" << i << ",\n";
    os << "    output wire out_valid";
    for (int k = 0; k < nOut; ++k)
        os << ",\n    output wire " << (out.isSigned ? "signed " : "") << "[" << out.width - 1 << ":0] y_" << k;
    os << "\n";
    return os.str();
}

// A Verilator harness that drives one row per clock and compares with sim/expected_raw.dat.
std::string harness(const std::string& top, int nIn, const FixedType& in, int nOut, const FixedType& out) {
    std::ostringstream os;
    os << "// Verilator harness: drives one row per clock from sim/input_raw.dat (or argv[1]), writes\n"
          "// sim/rtl_output_raw.dat (or argv[2]) and compares with sim/expected_raw.dat.\n"
          "#include \"V" << top << ".h\"\n#include \"verilated.h\"\n\n"
          "#include <cstdio>\n#include <fstream>\n#include <sstream>\n#include <string>\n#include <vector>\n\n"
          "static const int kInputs = " << nIn << ", kOutputs = " << nOut << ";\n"
          "static const int kInWidth = " << in.width << ", kOutWidth = " << out.width << ";\n"
          "static const bool kOutSigned = " << (out.isSigned ? "true" : "false") << ";\n\n"
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
          "    for (size_t t = 0; t < in.size() + 1; ++t) {\n"
          "        const bool drive = t < in.size();\n";
    for (int i = 0; i < nIn; ++i) os << "        dut->x_" << i << " = drive ? (in[t][" << i << "] & inMask) : 0;\n";
    os << "        dut->in_valid = drive;\n"
          "        dut->clk = 0;\n        dut->eval();\n"
          "        dut->clk = 1;\n        dut->eval();\n"
          "        if (dut->out_valid) got.push_back({";
    for (int k = 0; k < nOut; ++k) os << (k ? ", " : "") << "outRaw(dut->y_" << k << ")";
    os << "});\n    }\n"
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

}  // namespace

void writeProject(const Graph& g, const Emulator& emu, const std::string& dir, const LutOptions& opt) {
    const std::string& top = opt.projectName;
    const std::string model = g.sourceFile.empty() ? g.name : g.sourceFile;
    if (g.inputs().size() != 1)
        throw Error(model + ": lookup-table compilation takes a model with one input, this one has " +
                    std::to_string(g.inputs().size()));
    const FixedType& in = g.input().type("result");
    const FixedType& outType = g.output().type("result");
    const int nIn = emu.inputSize(), nOut = emu.outputSize();
    const int win = in.width, wout = outType.width;
    const long long addrBits = (long long)nIn * win;
    if (addrBits > opt.maxInputBits)
        throw Error(model + ": lookup-table compilation needs " + std::to_string(nIn) + " x " + std::to_string(win) +
                    " = " + std::to_string(addrBits) + " input bits, more than LutMaxInputBits = " +
                    std::to_string(opt.maxInputBits) + " (narrow the input type or raise LutMaxInputBits)");
    const long long wordBits = (long long)nOut * wout;
    if (wordBits > 64)
        throw Error(model + ": lookup-table words wider than 64 bits (" + std::to_string(nOut) + " outputs x " +
                    std::to_string(wout) + " bits) are not supported");
    const size_t words = size_t(1) << addrBits;

    // Every address as a row of raw inputs, and the emulator's raw outputs for it.
    std::vector<int64_t> xRaw(words * size_t(nIn));
    const uint64_t inMask = (uint64_t(1) << win) - 1;
    for (size_t a = 0; a < words; ++a)
        for (int i = 0; i < nIn; ++i) {
            const uint64_t bits = (uint64_t(a) >> (i * win)) & inMask;
            int64_t raw = int64_t(bits);
            if (in.isSigned && (bits >> (win - 1)) & 1) raw -= int64_t(1) << win;
            xRaw[a * size_t(nIn) + size_t(i)] = raw;
        }
    std::vector<int64_t> out(words * size_t(nOut));
    emu.runFixedRaw(xRaw.data(), words, out.data());

    fs::create_directories(fs::path(dir) / "rtl");
    fs::create_directories(fs::path(dir) / "sim");
    const uint64_t outMask = wout >= 64 ? ~0ULL : (uint64_t(1) << wout) - 1;
    const int hexDigits = int(wordBits + 3) / 4;
    std::string mem, coe = "; " + top + ": " + std::to_string(words) + " words of " + std::to_string(wordBits) +
                           " bits\nmemory_initialization_radix=16;\nmemory_initialization_vector=\n";
    mem.reserve(words * size_t(hexDigits + 1));
    char buf[32];
    for (size_t a = 0; a < words; ++a) {
        uint64_t word = 0;
        for (int k = 0; k < nOut; ++k) word |= (uint64_t(out[a * size_t(nOut) + size_t(k)]) & outMask) << (k * wout);
        std::snprintf(buf, sizeof buf, "%0*llx", hexDigits, static_cast<unsigned long long>(word));
        mem += buf;
        mem += '\n';
        coe += buf;
        coe += a + 1 < words ? ",\n" : ";\n";
    }
    backend::writeText(dir + "/rtl/" + top + "_rom.mem", mem);
    backend::writeText(dir + "/rtl/" + top + "_rom.coe", coe);

    std::ostringstream v;
    v << "// Generated by Tachyon: lookup-table form of " << model << ".\n"
      << "// address = {x_" << nIn - 1 << ", ..., x_0}, word = {y_" << nOut - 1 << ", ..., y_0}; latency 1.\n"
      << "// INIT_FILE is relative to the directory the simulator or synthesis tool runs in.\n"
      << "module " << top << " #(parameter INIT_FILE = \"rtl/" << top << "_rom.mem\") (\n"
      << ports(nIn, in, nOut, outType) << ");\n"
      << "    (* rom_style = \"block\" *) reg [" << wordBits - 1 << ":0] rom [0:" << words - 1 << "];\n"
      << "    initial $readmemh(INIT_FILE, rom);\n"
      << "    reg [" << wordBits - 1 << ":0] word_q;\n    reg valid_q = 1'b0;\n"
      << "    wire [" << addrBits - 1 << ":0] address = {";
    for (int i = nIn - 1; i >= 0; --i) v << "x_" << i << (i ? ", " : "");
    v << "};\n    always @(posedge clk) begin\n        word_q <= rom[address];\n        valid_q <= in_valid;\n    end\n"
      << "    assign out_valid = valid_q;\n";
    for (int k = 0; k < nOut; ++k) v << "    assign y_" << k << " = word_q[" << (k + 1) * wout - 1 << ":" << k * wout << "];\n";
    v << "endmodule\n";
    backend::writeText(dir + "/rtl/" + top + ".v", v.str());
    backend::writeText(dir + "/sim/tb.cpp", harness(top, nIn, in, nOut, outType));
    backend::writeRawRows(dir + "/sim/input_raw.dat", xRaw.data(), words, size_t(nIn));
    backend::writeRawRows(dir + "/sim/expected_raw.dat", out.data(), words, size_t(nOut));

    nlohmann::ordered_json j = backend::networkManifest(g, emu, "lut", top, words);
    j["latency_cycles"] = 1;
    j["rtl_files"] = {"rtl/" + top + ".v"};
    j["rom_files"] = {"rtl/" + top + "_rom.mem", "rtl/" + top + "_rom.coe"};
    j["address_bits"] = addrBits;
    j["word_bits"] = wordBits;
    j["rtlsim_command"] = "verilator --cc --exe --build -O1 -Wno-fatal --top-module " + top + " rtl/" + top +
                          ".v sim/tb.cpp -Mdir obj_dir && obj_dir/V" + top;
    backend::writeText(dir + "/tachyon_project.json", j.dump(2) + "\n");
}

}  // namespace tachyon::lut
