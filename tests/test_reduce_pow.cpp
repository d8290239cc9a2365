// Reduce (sum, mean, max over one axis) and Pow (x^k) layers, docs/semantics.md "Reduce and
// Pow": the emulator against an independent reference written here with doubles (exact at
// these widths), then the HLS C simulation and the Verilog RTL simulation against the
// emulator bit for bit on the projects' own test rows. The types are narrow so that the rows
// round and saturate or wrap the accumulators and results; each case checks that they do.
#include "backends/ProjectFiles.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "csim_cases.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <sstream>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

struct Case {
    std::string name;
    Graph g;
    size_t rows = 600;
    Target target = {};   // io_parallel unless a case says otherwise
};

constexpr uint64_t kSeed = 21;

// x -> one layer "op"; types from the YAML of the input's and the layer's precisions.
Graph oneLayer(const Shape& shape, LayerKind kind, Attrs attrs, const std::string& inType, const std::string& opTypes) {
    GraphBuilder b("reduce_pow", "test");
    const std::string x = b.input("x", shape);
    Graph g = b.finish(b.add("op", kind, {x}, std::move(attrs)));
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  x:\n    Precision:\n      result: " +
                                     inType + "\n  op:\n    Precision:\n" + opTypes,
                                 "<test config>"));
    return g;
}

std::vector<Case> cases() {
    std::vector<Case> c;
    // Sum over the last axis into an accumulator that saturates, a rounding result.
    c.push_back({"sum_saturating", oneLayer({4, 6}, LayerKind::Reduce, ReduceAttrs{ReduceOp::Sum, 1}, "ap_fixed<8,3>",
                                            "      accum: ap_fixed<9,4,AP_TRN,AP_SAT>\n      result: ap_fixed<6,3,AP_RND,AP_SAT>\n")});
    // Mean over axis 0 (N = 5: the reciprocal type), exact (default) accumulator.
    c.push_back({"mean_reciprocal", oneLayer({5, 3}, LayerKind::Reduce, ReduceAttrs{ReduceOp::Mean, 0}, "ap_fixed<8,3>",
                                             "      result: ap_fixed<7,1,AP_RND_CONV,AP_SAT>\n      reciprocal: ap_ufixed<10,0,AP_RND>\n")});
    // Mean over N = 8 (a shift) with a wrapping, rounding result; a configured accumulator
    // that rounds (fewer fraction bits than the input) and wraps.
    c.push_back({"mean_shift_wrap", oneLayer({8}, LayerKind::Reduce, ReduceAttrs{ReduceOp::Mean, 0}, "ap_fixed<10,4>",
                                             "      accum: ap_fixed<10,6,AP_RND,AP_WRAP>\n      result: ap_fixed<6,1,AP_RND,AP_WRAP>\n")});
    // Max over the middle axis of a 3-D tensor, into a narrower result.
    c.push_back({"max_middle_axis", oneLayer({2, 4, 3}, LayerKind::Reduce, ReduceAttrs{ReduceOp::Max, 1}, "ap_fixed<9,4>",
                                             "      result: ap_fixed<6,2,AP_RND,AP_SAT>\n")});
    // x^2 with the exact (default) accumulator, a saturating result.
    c.push_back({"square", oneLayer({6}, LayerKind::Pow, PowAttrs{2}, "ap_fixed<8,3>",
                                    "      result: ap_fixed<10,4,AP_RND,AP_SAT>\n")});
    // x^3 through a narrow accumulator that rounds and saturates, a wrapping result.
    c.push_back({"cube_narrow", oneLayer({2, 3}, LayerKind::Pow, PowAttrs{3}, "ap_fixed<7,2>",
                                         "      accum: ap_fixed<10,4,AP_RND,AP_SAT>\n      result: ap_fixed<8,3,AP_TRN,AP_WRAP>\n")});
    // x^4 of an unsigned input, exact accumulator.
    c.push_back({"fourth_unsigned", oneLayer({5}, LayerKind::Pow, PowAttrs{4}, "ap_ufixed<5,1>",
                                             "      result: ap_ufixed<8,2,AP_RND,AP_SAT>\n")});
    return c;
}

// The test rows every project is written with (same generator and seed), as values.
std::vector<double> testRows(const Graph& g, size_t rows) {
    const FixedType& inT = g.input().type("result");
    const std::vector<int64_t> raw = backend::randomTestRows(inT, rows, size_t(g.inputSize()), kSeed);
    std::vector<double> x(raw.size());
    for (size_t k = 0; k < raw.size(); ++k) x[k] = std::ldexp(double(raw[k]), -inT.frac());
    return x;
}

// Edges the reference's casts hit: values rounded, and values out of the type's range.
struct Edges {
    size_t rounded = 0, outOfRange = 0;
};

double castCounting(const FixedType& t, double v, Edges& e) {
    const double q = t.quantize(v);
    if (v > t.maxValue() || v < t.minValue()) ++e.outOfRange;
    else if (q != v) ++e.rounded;
    return q;
}

// docs/semantics.md, written independently of the emulator: one sample in, one out.
std::vector<double> reference(const Layer& l, const Shape& inShape, const FixedType& inT, const double* x, Edges& e) {
    const FixedType& resT = l.type("result");
    std::vector<double> y;
    if (l.kind == LayerKind::Pow) {
        const FixedType& accT = l.type("accum");
        size_t n = 1;
        for (int d : inShape) n *= size_t(d);
        for (size_t k = 0; k < n; ++k) {
            double p = x[k];
            for (int i = 1; i < l.as<PowAttrs>().exponent; ++i) p = castCounting(accT, p * x[k], e);
            y.push_back(castCounting(resT, p, e));
        }
        return y;
    }
    const auto& a = l.as<ReduceAttrs>();
    size_t stride = 1;   // distance between neighbours along the axis
    for (size_t d = size_t(a.axis) + 1; d < inShape.size(); ++d) stride *= size_t(inShape[d]);
    const size_t n = size_t(inShape[size_t(a.axis)]);
    size_t total = 1;
    for (int d : inShape) total *= size_t(d);
    for (size_t base = 0; base < total; ++base) {
        if ((base / stride) % n != 0) continue;   // not the first along the axis
        if (a.op == ReduceOp::Max) {
            double m = x[base];
            for (size_t k = 1; k < n; ++k) m = std::max(m, x[base + k * stride]);
            y.push_back(castCounting(resT, m, e));
            continue;
        }
        const FixedType& accT = l.type("accum");
        double acc = 0;
        for (size_t k = 0; k < n; ++k) acc = castCounting(accT, acc + x[base + k * stride], e);
        if (a.op == ReduceOp::Sum) {
            y.push_back(castCounting(resT, acc, e));
            continue;
        }
        const bool pow2 = (n & (n - 1)) == 0;
        const double r = pow2 ? 1.0 / double(n) : l.type("reciprocal").quantize(1.0 / double(n));
        y.push_back(castCounting(resT, acc * r, e));
    }
    (void)inT;
    return y;
}

}  // namespace

TEST(ReducePow, EmulatorEqualsReferenceAndHitsEdges) {
    for (Case& c : cases()) {
        SCOPED_TRACE(c.name);
        const Layer& l = c.g.layers.back();
        const Layer& in = c.g.layers.front();
        Emulator emu(c.g);
        const std::vector<double> x = testRows(c.g, c.rows);
        const size_t nIn = size_t(in.outSize()), nOut = size_t(l.outSize());
        std::vector<int64_t> raw(c.rows * nOut);
        std::vector<double> got(c.rows * nOut);
        emu.runFixed(x.data(), c.rows, raw.data(), got.data());
        Edges edges;
        size_t mismatches = 0;
        for (size_t r = 0; r < c.rows; ++r) {
            const std::vector<double> want = reference(l, in.shape, in.type("result"), &x[r * nIn], edges);
            ASSERT_EQ(want.size(), nOut);
            for (size_t k = 0; k < nOut; ++k)
                if (want[k] != got[r * nOut + k] && mismatches++ < 5)
                    ADD_FAILURE() << "row " << r << " output " << k << ": reference " << want[k] << ", emulator "
                                  << got[r * nOut + k];
        }
        EXPECT_EQ(mismatches, 0u);
        if (l.kind == LayerKind::Reduce && l.as<ReduceAttrs>().op == ReduceOp::Max) {
            EXPECT_GT(edges.outOfRange, 0u);   // a maximum of in-range values only saturates
        } else {
            EXPECT_GT(edges.rounded, 0u) << "no test row rounds";
            EXPECT_GT(edges.outOfRange, 0u) << "no test row saturates or wraps";
        }
        std::vector<double> real(c.rows * nOut);
        emu.runFloat(x.data(), c.rows, real.data());
        std::vector<double> wantFloat;
        for (size_t r = 0; r < c.rows; ++r) {
            const double* xr = &x[r * nIn];
            // Float mode: the exact operation, no casts.
            if (l.kind == LayerKind::Pow) {
                for (size_t k = 0; k < nIn; ++k) wantFloat.push_back(std::pow(xr[k], l.as<PowAttrs>().exponent));
            }
        }
        for (size_t k = 0; k < wantFloat.size(); ++k) EXPECT_NEAR(real[k], wantFloat[k], 1e-12);
    }
}

TEST(ReducePow, HlsCsimEqualsEmulator) {
    std::vector<Case> cs = cases();
    // io_stream kernels too: a reduction over the last axis (one beat -> one value) and a power.
    for (const char* name : {"sum_saturating", "cube_narrow"}) {
        for (const Case& c : cases())
            if (c.name == name) {
                Case s{c.name + "_stream", c.g, c.rows};
                s.target.io = IoType::Stream;
                cs.push_back(std::move(s));
            }
    }
    ASSERT_EQ(cs.size(), 9u);
    size_t rows = 0;
    for (const std::string& f : simulateCsimCases<Case>(
             cs, [](const Case& c) { return freshTestDir("test_reduce_pow_hls", c.name); }, kSeed, &rows))
        ADD_FAILURE() << f;
    EXPECT_EQ(rows, cs.size() * 600);
}

TEST(ReducePow, VerilogRtlsimEqualsEmulator) {
    std::vector<Case> cs = cases();
    auto one = [&](size_t k) -> std::string {
        Case& c = cs[k];
        try {
            Emulator emu(c.g);
            verilog::VerilogOptions opt;
            opt.testRows = c.rows;
            opt.seed = kSeed;
            const fs::path dir = freshTestDir("test_reduce_pow_verilog", c.name);
            verilog::writeProject(c.g, emu, dir.string(), opt);
            std::ostringstream log;
            const verilog::RtlsimResult r = verilog::rtlsim(dir.string(), log);
            if (r.rows != c.rows || r.mismatches != 0) return c.name + ": " + log.str();
        } catch (const std::exception& e) {
            return c.name + ": " + e.what();
        }
        return {};
    };
    for (size_t k = 0; k < cs.size(); k += 2) {
        auto second = std::async(std::launch::async, [&, k] { return k + 1 < cs.size() ? one(k + 1) : std::string(); });
        const std::string a = one(k), b = second.get();
        if (!a.empty()) ADD_FAILURE() << a;
        if (!b.empty()) ADD_FAILURE() << b;
    }
}

// What the layers refuse, naming the layer: an exponent outside 2..8, an axis out of
// range, a reciprocal type that rounds 1/N to zero, an exact power wider than 64 bits, and
// io_stream reductions over another axis than the last.
TEST(ReducePow, BadLayersAreRefusedByName) {
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(message([] { oneLayer({4}, LayerKind::Pow, PowAttrs{9}, "ap_fixed<4,2>", "      result: ap_fixed<8,3>\n"); })
                  .find("layer 'op' (Pow): exponent 9 is outside 2..8"),
              std::string::npos);
    EXPECT_NE(message([] {
                  oneLayer({4}, LayerKind::Reduce, ReduceAttrs{ReduceOp::Sum, 1}, "ap_fixed<8,3>", "      result: ap_fixed<8,3>\n");
              }).find("axis 1 is out of range"),
              std::string::npos);
    EXPECT_NE(message([] {
                  oneLayer({3}, LayerKind::Reduce, ReduceAttrs{ReduceOp::Mean, 0}, "ap_fixed<8,3>",
                           "      result: ap_fixed<8,3>\n      reciprocal: ap_ufixed<1,0>\n");
              }).find("rounds 1/3 to zero"),
              std::string::npos);
    EXPECT_NE(message([] { oneLayer({4}, LayerKind::Pow, PowAttrs{5}, "ap_fixed<16,6>", "      result: ap_fixed<16,6>\n"); })
                  .find("layer 'op': the exact x^5 of ap_fixed<16,6> needs 80 bits"),
              std::string::npos);
    Graph g = oneLayer({3, 4}, LayerKind::Reduce, ReduceAttrs{ReduceOp::Sum, 0}, "ap_fixed<8,3>", "      result: ap_fixed<8,3>\n");
    Emulator emu(g);
    const fs::path dir = freshTestDir("test_reduce_pow_hls", "stream_refused");
    hls::HlsOptions opt;
    opt.target.io = IoType::Stream;
    const std::string streamed = message([&] { hls::writeProject(g, emu, (dir / "prj").string(), opt); });
    EXPECT_NE(streamed.find("layer 'op' (Reduce): io_stream reduces over the last axis only"), std::string::npos)
        << streamed;
    EXPECT_FALSE(fs::exists(dir / "prj" / "firmware"));
}
