// The convolution kernels against the step-by-step 128-bit reference path of the same
// emulator, on random 1-D and 2-D convolutions: 1 to 17 filters, 1 to 4 channels, strides,
// dilation, asymmetric padding, every quantisation and overflow mode of the result,
// saturating and wrapping accumulators, widths 1 to 32 bits, fused ReLU or none, two convs
// in a row. Each kernel choice (TACHYON_EMULATOR_KERNEL) must give the same rows and
// overflow counts: unset (the fastest this CPU has: the AVX-512 pair kernels, or the
// position-major "int32-lanes" kernel for few filters), "portable" (no AVX-512),
// "nolanes" (the output-major 32-bit kernel), "unfused" (the result cast in a second pass).
#include "emulator/Emulator.h"
#include "emulator/KernelPath.h"
#include "ir/Graph.h"
#include "passes/Pass.h"

#include "support/kernel_runs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

using namespace tachyon;

namespace {

using test_support::fixedTypeText;
using test_support::kOverflowModes;
using test_support::kQuantModes;
using test_support::KernelRun;

struct RandomConvModel {
    Graph graph;
    std::string description;
};

class ConvModelMaker {
public:
    explicit ConvModelMaker(std::mt19937_64& rng) : rng_(rng) {}

    RandomConvModel make() {
        RandomConvModel m;
        Graph& g = m.graph;
        g.name = "random_conv";
        const int rank = pick(1, 2);
        const int W = pick(1, 12), H = rank == 2 ? pick(1, 8) : 1, C = pick(1, 4);
        const int inW = pick(0, 5) == 0 ? pick(17, 24) : pick(1, 16);
        const bool inSigned = inW > 1 && pick(0, 3) != 0;
        Layer in;
        in.name = "in";
        in.kind = LayerKind::Input;
        in.shape = rank == 2 ? Shape{H, W, C} : Shape{W, C};
        in.precision["result"] = FixedType::parse(fixedTypeText(inSigned, inW, pick(-2, inW), "AP_TRN", "AP_WRAP"));
        g.layers.push_back(in);
        m.description = "in " + in.precision["result"].str() + " shape " + shapeString(in.shape);
        const int convs = pick(0, 2) == 0 ? 2 : 1;
        for (int k = 0; k < convs; ++k) addConv(m, "conv" + std::to_string(k));
        return m;
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

    void addConv(RandomConvModel& m, const std::string& name) {
        Graph& g = m.graph;
        const Layer& prev = g.layers.back();
        const FixedType prevT = prev.type("result");
        ConvAttrs a;
        a.rank = int(prev.shape.size()) - 1;
        a.inChannels = prev.shape.back();
        a.outChannels = pick(0, 3) == 0 ? pick(1, 17) : pick(1, 8);
        a.activation = pick(0, 1) ? ActKind::ReLU : ActKind::Linear;
        for (int d = 0; d < a.rank; ++d) {
            const int size = prev.shape[size_t(d)];
            const int pb = pick(0, 2), pe = pick(0, 2);
            const int dil = pick(0, 4) == 0 ? 2 : 1;
            const int maxK = std::max(1, (size + pb + pe - 1) / dil + 1);
            a.kernel.push_back(pick(1, std::min(4, maxK)));
            a.strides.push_back(pick(0, 2) == 0 ? pick(2, 3) : 1);
            a.dilation.push_back(dil);
            a.padBegin.push_back(pb);
            a.padEnd.push_back(pe);
        }
        Layer l;
        l.name = name;
        l.kind = LayerKind::Conv;
        l.inputs = {prev.name};
        l.attrs = a;
        l.shape = inferShape(LayerKind::Conv, l.attrs, {prev.shape});
        test_support::randomMacParameters(rng_, l, prevT, 0.4);
        const int rW = pick(1, 32);
        const bool rSigned = rW > 1 && pick(0, 3) != 0;
        l.precision["result"] = FixedType::parse(fixedTypeText(rSigned, rW, pick(-2, std::min(rW, 14)), kQuantModes[pick(0, 6)], kOverflowModes[pick(0, 3)]));
        m.description += " | " + name + " k" + std::to_string(a.kernel.back()) + " s" + std::to_string(a.strides.back()) +
                         " d" + std::to_string(a.dilation.back()) + " pad " + std::to_string(a.padBegin.back()) + "/" +
                         std::to_string(a.padEnd.back()) + " " + std::to_string(a.inChannels) + "->" +
                         std::to_string(a.outChannels) + " w " + l.type("weight").str() + " acc " + l.type("accum").str() + " res " +
                         l.type("result").str() + (a.activation == ActKind::ReLU ? " relu" : "");
        g.layers.push_back(std::move(l));
    }

    std::mt19937_64& rng_;
};

KernelRun runWith(const Graph& g, const char* kernel, const std::vector<int64_t>& x, size_t rows, int threads) {
    return test_support::runWithKernel(g, kernel, x, rows, threads, 29);
}

}  // namespace

TEST(ConvLanes, RandomConvolutionsMatchTheReferencePath) {
    std::mt19937_64 rng(4242);
    ConvModelMaker maker(rng);
    std::map<std::string, int> seen;
    for (int m = 0; m < 300; ++m) {
        RandomConvModel model = maker.make();
        SCOPED_TRACE(model.description);
        const size_t rows = 1 + size_t(rng() % 70);
        const auto x = test_support::randomRaws(model.graph.input().type("result"), rows * size_t(model.graph.inputSize()), rng);
        const KernelRun ref = runWith(model.graph, "reference", x, rows, 1);
        for (const auto& [layer, path] : ref.paths) ASSERT_EQ(path, "reference") << layer;
        const KernelRun fast = runWith(model.graph, nullptr, x, rows, 2);
        test_support::expectSameRun(model.graph, ref, fast, "default kernels", false);
        const KernelRun portable = runWith(model.graph, "portable", x, rows, 1);
        test_support::expectSameRun(model.graph, ref, portable, "portable kernels", false);
        const KernelRun noLanes = runWith(model.graph, "nolanes", x, rows, 1);
        test_support::expectSameRun(model.graph, ref, noLanes, "output-major kernels", false);
        // Between the plain 32-bit kernels even the wrapping accumulator's counts agree. The pair
        // kernels (AVX-512 "pair", AVX2 "pair8") sum modulo 2^(32-s), so there only values compare.
        auto pairFree = [](const KernelRun& o) {
            for (const auto& [layer, path] : o.paths)
                if (path.find("pair") != std::string::npos) return false;
            return true;
        };
        const KernelRun unfused = runWith(model.graph, "unfused", x, rows, 1);
        test_support::expectSameRun(model.graph, unfused, portable, "fused vs unfused", pairFree(unfused));
        test_support::expectSameRun(model.graph, noLanes, portable, "positions vs outputs", pairFree(noLanes));
        for (const auto& [layer, path] : portable.paths) {
            ++seen[path];
            EXPECT_EQ(path.find("pair"), std::string::npos) << "the portable switch must rule out the pair kernel";
        }
        for (const auto& [layer, path] : noLanes.paths) EXPECT_EQ(path.find("lanes"), std::string::npos) << layer;
        if (HasFatalFailure()) return;
    }
    std::string summary;
    for (const auto& [p, n] : seen) summary += p + ": " + std::to_string(n) + "  ";
    RecordProperty("paths", summary);
    for (const char* p : {"int32-lanes", "int32-lanes+fused", "reference"})
        EXPECT_GT(seen[p], 5) << p << " (portable choice; seen " << summary << ")";
}
