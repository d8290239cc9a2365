// HLS structure (issue 26, goal 4), read from the C++ the backend writes: the kernels every
// project copies (src/backends/hls/nnet_utils) and a generated project's parameters.h.
// What Vitis needs and csim cannot show: no data-dependent `while` and no `break` inside a
// pipelined or unrolled loop, io_stream windows as pipelined shift-register line buffers
// read at compile-time addresses, the Latency Dense/Conv inputs wired by literal indices,
// GarNet's edge-table lookups bounded per clock, the streaming Transpose's buffer
// partitioned and read once per clock. Bit-exactness is the csim tests' job (HlsCnn,
// HlsProject, GarNetHls).
#include "backends/hls/HlsWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"

#include "fixture_dir.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

const fs::path kUtils = fs::path(TACHYON_SOURCE_DIR) / "src/backends/hls/nnet_utils";

std::string withoutComments(const std::string& text) {
    std::istringstream is(text);
    std::string out;
    for (std::string line; std::getline(is, line);) out += line.substr(0, line.find("//")) + "\n";
    return out;
}

// The text between the bracket at `open` and its match (exclusive).
std::string enclosed(const std::string& s, size_t open, char l, char r) {
    int depth = 0;
    for (size_t k = open; k < s.size(); ++k) {
        if (s[k] == l) ++depth;
        if (s[k] == r && --depth == 0) return s.substr(open + 1, k - open - 1);
    }
    return s.substr(open + 1);
}

struct Loop {
    std::string file, head, body;
    bool pipelined = false, unrolled = false;  // by a pragma before its first inner loop
};

// Every `for` / `while` loop of the text with its body (a braced block or one statement).
std::vector<Loop> loopsOf(const std::string& file, const std::string& raw) {
    static const std::regex start(R"(\b(for|while)\s*\()");
    const std::string s = withoutComments(raw);
    std::vector<Loop> loops;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), start); it != std::sregex_iterator(); ++it) {
        const size_t paren = size_t(it->position()) + size_t(it->length()) - 1;
        Loop loop;
        loop.file = file;
        loop.head = it->str(1) + " (" + enclosed(s, paren, '(', ')') + ")";
        size_t after = paren + enclosed(s, paren, '(', ')').size() + 2;
        while (after < s.size() && std::isspace(static_cast<unsigned char>(s[after]))) ++after;
        if (after < s.size() && s[after] == '{') loop.body = enclosed(s, after, '{', '}');
        else loop.body = s.substr(after, s.find(';', after) - after + 1);
        std::smatch inner;
        const std::string own = std::regex_search(loop.body, inner, start) ? loop.body.substr(0, size_t(inner.position()))
                                                                            : loop.body;
        loop.pipelined = own.find("#pragma HLS PIPELINE") != std::string::npos;
        loop.unrolled = own.find("#pragma HLS UNROLL") != std::string::npos;
        loops.push_back(loop);
    }
    return loops;
}

std::vector<Loop> kernelLoops() {
    std::vector<Loop> all;
    for (const auto& e : fs::directory_iterator(kUtils)) {
        if (e.path().extension() != ".h") continue;
        const std::vector<Loop> l = loopsOf(e.path().filename().string(), readFile(e.path()));
        all.insert(all.end(), l.begin(), l.end());
    }
    return all;
}

// The body of the first function template whose signature contains `signature`.
std::string functionBody(const std::string& text, const std::string& signature) {
    const std::string s = withoutComments(text);
    const size_t at = s.find(signature);
    if (at == std::string::npos) return "";
    return enclosed(s, s.find('{', at), '{', '}');
}

size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST(HlsStructure, PipelinedAndUnrolledLoopsHaveNoWhileOrBreak) {
    const std::vector<Loop> loops = kernelLoops();
    int pipelined = 0, unrolled = 0;
    for (const Loop& l : loops) {
        pipelined += l.pipelined;
        unrolled += l.unrolled;
        if (l.pipelined || l.unrolled) {
            EXPECT_EQ(l.body.find("while ("), std::string::npos) << l.file << ": " << l.head;
            EXPECT_EQ(l.body.find("break;"), std::string::npos) << l.file << ": " << l.head;
        }
        // No loop anywhere whose trip count depends on the data (the old io_stream window loop).
        EXPECT_NE(l.head.rfind("while", 0), 0u) << l.file << ": " << l.head;
    }
    EXPECT_GE(pipelined, 15);
    EXPECT_GE(unrolled, 60);
}

TEST(HlsStructure, NoRuntimeLongLongDivisionInTheKernels) {
    // `long long` arithmetic divided by something other than a compile-time constant
    // (a template parameter, or a CONFIG_T or TABLE member) is a 64-bit run-time divider. divide_cast,
    // the run-time reference that divide_cast_const is tested against, is left out: no
    // kernel calls it (HlsDivideConst.NoKernelCallsTheRunTimeDivision checks that).
    static const std::regex division(R"(/\s*([A-Za-z_]\w*)\b)");
    for (const auto& e : fs::directory_iterator(kUtils)) {
        if (e.path().extension() != ".h") continue;
        std::string text = withoutComments(readFile(e.path()));
        const std::string reference = functionBody(text, "res_T divide_cast(");
        if (!reference.empty()) text.erase(text.find(reference), reference.size());
        std::istringstream is(text);
        int lineNo = 0;
        for (std::string line; std::getline(is, line);) {
            ++lineNo;
            if (line.find("long long") == std::string::npos) continue;
            for (auto m = std::sregex_iterator(line.begin(), line.end(), division); m != std::sregex_iterator(); ++m) {
                const std::string divisor = m->str(1);
                const bool constant = divisor == "CONFIG_T" || divisor == "TABLE" || divisor == "D" || divisor == "DEN";
                EXPECT_TRUE(constant) << e.path().filename() << ":" << lineNo << ": " << line;
            }
        }
    }
}

TEST(HlsStructure, StreamingWindowsArePipelinedShiftRegisterLineBuffers) {
    // Every io_stream window kernel (conv, binary conv, pooling) runs the one pixel loop of
    // nnet_line_buffer.h's stream_windows: it walks the padded grid pipelined at
    // II = reuse_factor (1 unless the products fold), its registers completely partitioned.
    const std::string buffer = withoutComments(readFile(kUtils / "nnet_line_buffer.h"));
    size_t pixelLoops = 0;
    for (const Loop& l : loopsOf("nnet_line_buffer.h", buffer)) {
        if (l.body.find("slide_window<") == std::string::npos) {
            EXPECT_TRUE(l.unrolled) << l.head;   // the register shifts
            continue;
        }
        ++pixelLoops;
        EXPECT_TRUE(l.pipelined) << l.head;
        EXPECT_NE(l.body.find("#pragma HLS PIPELINE II=CONFIG_T::reuse_factor"), std::string::npos) << l.head;
        EXPECT_NE(l.head.find("grid::height * grid::width"), std::string::npos) << l.head;
    }
    EXPECT_EQ(pixelLoops, 1u);
    EXPECT_EQ(count(buffer, "#pragma HLS ARRAY_PARTITION variable=lines complete dim=1"), 1u);
    EXPECT_EQ(count(buffer, "#pragma HLS ARRAY_PARTITION variable=lines complete dim=2"), 1u);
    EXPECT_EQ(count(buffer, "#pragma HLS ARRAY_PARTITION variable=window complete dim=0"), 1u);
    for (const char* file : {"nnet_conv.h", "nnet_pooling.h"}) {
        const std::string text = withoutComments(readFile(kUtils / file));
        EXPECT_EQ(count(text, "stream_windows<"), std::string(file) == "nnet_conv.h" ? 2u : 1u) << file;
        EXPECT_EQ(count(text, "slide_window<"), 0u) << file << ": a pixel loop of its own";
    }
    // The line and window registers are addressed only by unrolled-loop indices and
    // constants, never by the run-time grid position (row, col, p).
    static const std::regex subscript(R"(\b(lines|window)((\[[^\]]*\])+))");
    static const std::regex runtime(R"(\b(row|col|p|ih|iw|oh|ow|slot)\b|%)");
    int accesses = 0;
    for (auto m = std::sregex_iterator(buffer.begin(), buffer.end(), subscript); m != std::sregex_iterator(); ++m) {
        ++accesses;
        EXPECT_FALSE(std::regex_search(m->str(2), runtime)) << m->str(0);
    }
    EXPECT_GE(accesses, 8);
}

TEST(HlsStructure, LatencyProductsReadInputsWiredAtCompileTime) {
    // The kernel: dense_latency reads its inputs through CONFIG_T::gather, not the index table.
    const std::string dense = readFile(kUtils / "nnet_dense.h");
    const std::string latency = functionBody(dense, "void dense_latency(");
    ASSERT_FALSE(latency.empty());
    EXPECT_NE(latency.find("CONFIG_T::template gather<data_T>(x, xt)"), std::string::npos) << latency;
    EXPECT_EQ(latency.find("w_in["), std::string::npos) << latency;
    EXPECT_EQ(latency.find("dense_cycle"), std::string::npos) << latency;

    // A generated project: every Latency Dense/Conv config has gather() with one literal
    // index per table entry; Resource configs fold and have none.
    const std::string dir = fixtureDirMadeBy("make_cnn_fixtures.py", "cnn_fixtures.stamp", "");
    for (const std::string strategy : {"Latency", "Resource"}) {
        Graph g = loadModel(dir + "/cnn_residual.onnx");
        const Config cfg = Config::parse("IOType: io_stream\nModel:\n  Precision: ap_fixed<16,6>\n  ReuseFactor: 2\n"
                                         "  Strategy: " + strategy + "\n",
                                         "test-config");
        runPipeline(g, cfg);
        Emulator emu(g);
        const fs::path prj = freshTestDir("test_hls_structure", strategy) / "prj";
        hls::HlsOptions opt;
        opt.target = cfg.target();
        opt.testRows = 2;
        hls::writeProject(g, emu, prj.string(), opt);
        const std::string params = readFile(prj / "firmware/parameters.h");
        const size_t configs = count(params, ": nnet::conv_config {") + count(params, ": nnet::dense_config {");
        ASSERT_GE(configs, 2u) << params;
        const size_t gathers = count(params, "static void gather(const data_T x[n_in], data_T xt[n_table]) {");
        EXPECT_EQ(gathers, strategy == "Latency" ? configs : 0u) << params;
        if (strategy == "Resource") continue;
        // Each gather body is only `xt[<literal>] = x[<literal>];` statements.
        size_t at = 0;
        for (size_t k = 0; k < gathers; ++k) {
            at = params.find("static void gather(", at);
            std::string body = enclosed(params, params.find('{', at), '{', '}');
            body = std::regex_replace(body, std::regex(R"(#pragma HLS INLINE)"), "");
            body = std::regex_replace(body, std::regex(R"(xt\[\d+\] = x\[\d+\];)"), "");
            EXPECT_EQ(body.find_first_not_of(" \n"), std::string::npos) << "not only literal wiring: " << body;
            ++at;
        }
    }
}

TEST(HlsStructure, GarNetLookupsAreBoundedPerClock) {
    const std::string garnet = withoutComments(readFile(kUtils / "nnet_garnet.h"));
    const std::string sub = functionBody(garnet, "void garnet_sublayer(");
    ASSERT_FALSE(sub.empty());
    // Exactly one edge-table read, in a loop of per_cycle lanes unrolled inside a loop
    // pipelined at II=1 (per_cycle = ceil(A / reuse_factor) lookups per clock).
    EXPECT_EQ(count(sub, "edge_table["), 1u);
    bool bounded = false;
    for (const Loop& l : loopsOf("nnet_garnet.h", sub)) {
        if (!l.pipelined || l.body.find("edge_table[") == std::string::npos) continue;
        EXPECT_NE(l.body.find("#pragma HLS PIPELINE II=1"), std::string::npos) << l.head;
        EXPECT_NE(l.head.find("L::groups"), std::string::npos) << l.head;
        for (const Loop& inner : loopsOf("nnet_garnet.h", l.body))
            if (inner.head.find("L::per_cycle") != std::string::npos) bounded = inner.unrolled;
    }
    EXPECT_TRUE(bounded);
    EXPECT_NE(garnet.find("per_cycle = (S::n_aggregators + CONFIG_T::reuse_factor - 1) / CONFIG_T::reuse_factor"),
              std::string::npos);
}

TEST(HlsStructure, StreamingTransposeReadsItsBufferOncePerClock) {
    const std::string movement = readFile(kUtils / "nnet_movement.h");
    const std::string body = functionBody(movement, "void transpose(hls::stream<data_T>& in");
    ASSERT_FALSE(body.empty());
    EXPECT_NE(body.find("#pragma HLS ARRAY_PARTITION variable=buf cyclic factor=CONFIG_T::in_chan"), std::string::npos)
        << body;
    int drains = 0;
    for (const Loop& l : loopsOf("nnet_movement.h", body)) {
        if (l.body.find("out.write") == std::string::npos) continue;
        ++drains;
        EXPECT_TRUE(l.pipelined) << l.head;
        EXPECT_EQ(count(l.body, "buf["), 1u) << l.body;     // one buffer read per iteration
        EXPECT_EQ(count(l.body, "index["), 1u) << l.body;   // one index-table read
        EXPECT_EQ(l.body.find("for ("), std::string::npos) << l.body;  // not a beat gathered per clock
    }
    EXPECT_EQ(drains, 1);
}
