// IR v2 on convolutional and branching networks: the project's CNN fixtures (PyTorch ->
// ONNX, and a hand-built Keras model) and the zoo's CNNs import, compute what the training
// framework computes in float mode, and in fixed point equal a step-by-step reference that
// walks every window and casts every partial sum with FixedType::castRaw, independently of
// the emulator's kernels (im2col, SIMD fast paths, index maps).
#include "support/zoo.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/Error.h"
#include "util/Npy.h"

#include "float_reference.h"

#include "fixture_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <unistd.h>

using namespace tachyon;
namespace fs = std::filesystem;

namespace {

const std::string kShared = test_support::zooDir();

const std::string& fixtureDir() {
    static const std::string dir = fixtureDirMadeBy("make_cnn_fixtures.py", "cnn_fixtures.stamp", "3");
    return dir;
}

// name -> model file
const std::vector<std::pair<std::string, std::string>> kFixtures = {
    {"cnn_pool", "cnn_pool.onnx"},         {"cnn_residual", "cnn_residual.onnx"},
    {"cnn_concat", "cnn_concat.onnx"},     {"unet_tiny", "unet_tiny.onnx"},
    {"cnn1d", "cnn1d.onnx"},               {"keras_cnn", "keras_cnn.json"},
    {"keras_cnn1d", "keras_cnn1d.json"},     {"cnn_affine", "cnn_affine.onnx"}};

// ---- the step-by-step reference ----

using Values = std::vector<Int128>;   // one sample's raw values

Int128 cast(const FixedType& t, Int128 raw, int frac) { return t.castRaw(raw, frac); }

// cast<t>(num * 2^-frac / den), by exact rational rounding written out per mode.
Int128 castDivided(const FixedType& t, Int128 num, int frac, Int128 den) {
    // Bring to frac t.frac() + 40 exactly, divide with floor, keep a sticky bit: the
    // dyadic value then rounds as the rational does (den <= 2^20 here).
    const int f = t.frac() + 40;
    Int128 n = f >= frac ? num * (Int128(1) << (f - frac)) : num / (Int128(1) << (frac - f));
    Int128 q = n / den;
    if (n % den != 0 && n < 0) q -= 1;
    const bool sticky = n % den != 0;
    return t.castRaw(q * 2 + (sticky ? 1 : 0), f + 1);
}

struct Reference {
    const Graph& g;
    const Emulator& emu;
    std::map<std::string, Values> out;

    const Values& in(const Layer& l, size_t k = 0) const { return out.at(l.inputs.at(k)); }
    const FixedType& inType(const Layer& l, size_t k = 0) const { return g.at(l.inputs.at(k)).type("result"); }
    const Shape& inShape(const Layer& l, size_t k = 0) const { return g.at(l.inputs.at(k)).shape; }

    static std::vector<int> strides(const Shape& s) {
        std::vector<int> st(s.size(), 1);
        for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
        return st;
    }

    Values mac(const Layer& l) const {
        const Values& x = in(l);
        const FixedType& inT = inType(l);
        const FixedType& wT = l.type("weight");
        const FixedType& bT = l.type("bias");
        const FixedType& aT = l.type("accum");
        const FixedType& rT = l.type("result");
        const auto& wv = l.param("weight");
        const auto& bv = l.param("bias");
        Values y(size_t(l.outSize()));
        const bool relu = l.activation() == ActKind::ReLU;
        auto finish = [&](Int128 acc) {
            Int128 z = cast(rT, acc, aT.frac());
            return relu && z < 0 ? Int128(0) : z;
        };
        auto step = [&](Int128 acc, Int128 xi, double w) {
            const Int128 wr = wT.castDouble(w);
            if (wr == 0) return acc;
            return cast(aT, acc + cast(aT, xi * wr, inT.frac() + wT.frac()), aT.frac());
        };
        if (l.kind == LayerKind::Dense) {
            const auto& a = l.as<DenseAttrs>();
            for (int p = 0; p < l.outSize() / a.nOut; ++p)
                for (int j = 0; j < a.nOut; ++j) {
                    Int128 acc = cast(aT, bT.castDouble(bv[size_t(j)]), bT.frac());
                    for (int i = 0; i < a.nIn; ++i)
                        acc = step(acc, x[size_t(p * a.nIn + i)], wv[size_t(i) * a.nOut + j]);
                    y[size_t(p * a.nOut + j)] = finish(acc);
                }
            return y;
        }
        const auto& a = l.as<ConvAttrs>();
        const Shape& s = inShape(l);
        const bool two = a.rank == 2;
        const int H = two ? s[0] : 1, W = s[size_t(a.rank - 1)], C = s.back();
        const int OH = two ? l.shape[0] : 1, OW = l.shape[size_t(a.rank - 1)], O = a.outChannels;
        const int KH = two ? a.kernel[0] : 1, KW = a.kernel.back();
        for (int oh = 0; oh < OH; ++oh)
            for (int ow = 0; ow < OW; ++ow)
                for (int o = 0; o < O; ++o) {
                    Int128 acc = cast(aT, bT.castDouble(bv[size_t(o)]), bT.frac());
                    for (int kh = 0; kh < KH; ++kh)
                        for (int kw = 0; kw < KW; ++kw) {
                            const int ih = oh * (two ? a.strides[0] : 1) - (two ? a.padBegin[0] : 0) + kh * (two ? a.dilation[0] : 1);
                            const int iw = ow * a.strides.back() - a.padBegin.back() + kw * a.dilation.back();
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            const int tap = kh * KW + kw;
                            if (a.depthwise) {
                                const int c = o / a.depthMultiplier;
                                acc = step(acc, x[size_t((ih * W + iw) * C + c)], wv[size_t(tap) * O + o]);
                            } else {
                                for (int c = 0; c < C; ++c)
                                    acc = step(acc, x[size_t((ih * W + iw) * C + c)], wv[(size_t(tap) * C + c) * O + o]);
                            }
                        }
                    y[size_t((oh * OW + ow) * O + o)] = finish(acc);
                }
        return y;
    }

    Values pooling(const Layer& l) const {
        const auto& a = l.as<PoolAttrs>();
        const Values& x = in(l);
        const FixedType& inT = inType(l);
        const FixedType& rT = l.type("result");
        const Shape& s = inShape(l);
        const bool two = a.rank == 2;
        const int H = two ? s[0] : 1, W = s[size_t(a.rank - 1)], C = s.back();
        const int OH = a.global ? 1 : (two ? l.shape[0] : 1), OW = a.global ? 1 : l.shape[size_t(a.rank - 1)];
        const int KH = a.global ? H : (two ? a.kernel[0] : 1), KW = a.global ? W : a.kernel.back();
        Values y(size_t(l.outSize()));
        for (int oh = 0; oh < OH; ++oh)
            for (int ow = 0; ow < OW; ++ow)
                for (int c = 0; c < C; ++c) {
                    Int128 sum = 0, best = 0;
                    int count = 0;
                    for (int kh = 0; kh < KH; ++kh)
                        for (int kw = 0; kw < KW; ++kw) {
                            const int ih = a.global ? kh : oh * (two ? a.strides[0] : 1) - (two ? a.padBegin[0] : 0) + kh;
                            const int iw = a.global ? kw : ow * a.strides.back() - a.padBegin.back() + kw;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            const Int128 v = x[size_t((ih * W + iw) * C + c)];
                            best = count == 0 ? v : std::max(best, v);
                            sum += v;
                            ++count;
                        }
                    if (a.countPadding) count = KH * KW;
                    y[size_t((oh * OW + ow) * C + c)] =
                        a.op == PoolOp::Max ? cast(rT, best, inT.frac()) : castDivided(rT, sum, inT.frac(), count);
                }
        return y;
    }

    Values activation(const Layer& l) const {
        const Values& x = in(l);
        const FixedType& inT = inType(l);
        const FixedType& rT = l.type("result");
        const int fx = inT.frac();
        Values y(x.size());
        const LookupTable* t = emu.activationTable(l.name);
        const auto& p = emu.paramRaw(l.name);
        const int pf = l.hasType("param") ? l.type("param").frac() : 0;
        for (size_t k = 0; k < x.size(); ++k) {
            const Int128 v = x[k];
            switch (l.activation()) {
            case ActKind::Linear: y[k] = cast(rT, v, fx); break;
            case ActKind::ReLU: y[k] = cast(rT, std::max<Int128>(v, 0), fx); break;
            case ActKind::ReLU6: y[k] = cast(rT, std::clamp<Int128>(v, 0, Int128(6) << std::max(fx, 0)), fx); break;
            case ActKind::LeakyReLU: y[k] = v >= 0 ? cast(rT, v, fx) : cast(rT, v * p[0], fx + pf); break;
            case ActKind::Swish: y[k] = cast(rT, v * t->lookup(int64_t(v)), fx + t->valueType.frac()); break;
            case ActKind::ELU: y[k] = v >= 0 ? cast(rT, v, fx) : cast(rT, t->lookup(int64_t(v)), t->valueType.frac()); break;
            case ActKind::SELU: y[k] = v >= 0 ? cast(rT, v * p[0], fx + pf) : cast(rT, t->lookup(int64_t(v)), t->valueType.frac()); break;
            case ActKind::HardSigmoid: ADD_FAILURE() << "not in the fixtures"; break;
            default: y[k] = cast(rT, t->lookup(int64_t(v)), t->valueType.frac()); break;
            }
        }
        return y;
    }

    Values softmax(const Layer& l) const {
        const Values& x = in(l);
        const SoftmaxTables& t = *emu.softmaxTables(l.name);
        const FixedType& rT = l.type("result");
        const int n = l.shape.back();
        Values y(x.size());
        for (size_t g0 = 0; g0 < x.size(); g0 += size_t(n)) {
            Int128 m = x[g0];
            for (int i = 1; i < n; ++i) m = std::max(m, x[g0 + size_t(i)]);
            std::vector<Int128> e(static_cast<size_t>(n));
            Int128 s = 0;
            for (int i = 0; i < n; ++i) s += e[size_t(i)] = t.exp.lookup(int64_t(m - x[g0 + size_t(i)]));
            const Int128 r = t.inv.lookup(int64_t(s));
            for (int i = 0; i < n; ++i)
                y[g0 + size_t(i)] = cast(rT, e[size_t(i)] * r, t.exp.valueType.frac() + t.inv.valueType.frac());
        }
        return y;
    }

    // Reshape, Transpose, Pad, Resize, Concatenate by coordinates.
    Values movement(const Layer& l) const {
        const FixedType& rT = l.type("result");
        const std::vector<int> os = strides(l.shape);
        Values y(size_t(l.outSize()));
        for (size_t k = 0; k < y.size(); ++k) {
            std::vector<int> c(l.shape.size());
            for (size_t d = 0; d < c.size(); ++d) c[d] = int(k / size_t(os[d])) % l.shape[d];
            size_t input = 0;
            bool zero = false;
            switch (l.kind) {
            case LayerKind::Reshape: {
                y[k] = cast(rT, in(l)[k], inType(l).frac());
                continue;
            }
            case LayerKind::Transpose: {
                const auto& perm = l.as<TransposeAttrs>().perm;
                std::vector<int> ic(c.size());
                for (size_t d = 0; d < c.size(); ++d) ic[size_t(perm[d])] = c[d];
                c = ic;
                break;
            }
            case LayerKind::Pad:
                for (size_t d = 0; d < c.size(); ++d) {
                    c[d] -= l.as<PadAttrs>().padBegin[d];
                    zero = zero || c[d] < 0 || c[d] >= inShape(l)[d];
                }
                break;
            case LayerKind::Resize:
                for (size_t d = 0; d < c.size(); ++d) c[d] /= l.as<ResizeAttrs>().scale[d];
                break;
            default: {   // Concatenate
                const int axis = l.as<ConcatAttrs>().axis;
                while (c[size_t(axis)] >= inShape(l, input)[size_t(axis)]) c[size_t(axis)] -= inShape(l, input++)[size_t(axis)];
            }
            }
            if (zero) {
                y[k] = 0;
                continue;
            }
            const std::vector<int> is = strides(inShape(l, input));
            size_t src = 0;
            for (size_t d = 0; d < c.size(); ++d) src += size_t(c[d] * is[d]);
            y[k] = cast(rT, in(l, input)[src], inType(l, input).frac());
        }
        return y;
    }

    Values merge(const Layer& l) const {
        const FixedType& rT = l.type("result");
        Values y(size_t(l.outSize()));
        for (size_t k = 0; k < y.size(); ++k) {
            // Every operand at frac 40 (exact for these types), the product at its own frac.
            auto v = [&](size_t i) { return in(l, i)[k] * (Int128(1) << (40 - inType(l, i).frac())); };
            Int128 acc = v(0);
            switch (l.as<MergeAttrs>().op) {
            case MergeOp::Add: for (size_t i = 1; i < l.inputs.size(); ++i) acc += v(i); y[k] = cast(rT, acc, 40); break;
            case MergeOp::Subtract: y[k] = cast(rT, acc - v(1), 40); break;
            case MergeOp::Maximum: for (size_t i = 1; i < l.inputs.size(); ++i) acc = std::max(acc, v(i)); y[k] = cast(rT, acc, 40); break;
            case MergeOp::Minimum: for (size_t i = 1; i < l.inputs.size(); ++i) acc = std::min(acc, v(i)); y[k] = cast(rT, acc, 40); break;
            case MergeOp::Average:
                for (size_t i = 1; i < l.inputs.size(); ++i) acc += v(i);
                y[k] = castDivided(rT, acc, 40, Int128(l.inputs.size()));
                break;
            case MergeOp::Multiply: {
                Int128 p = in(l, 0)[k];
                int f = inType(l, 0).frac();
                for (size_t i = 1; i < l.inputs.size(); ++i) p *= in(l, i)[k], f += inType(l, i).frac();
                y[k] = cast(rT, p, f);
                break;
            }
            }
        }
        return y;
    }

    Values batchNorm(const Layer& l) const {
        const Values& x = in(l);
        const FixedType& sT = l.type("scale");
        const FixedType& hT = l.type("shift");
        const int C = l.shape.back(), f = 40;
        Values y(x.size());
        for (size_t k = 0; k < x.size(); ++k) {
            const Int128 s = sT.castDouble(l.param("scale")[k % size_t(C)]);
            const Int128 h = hT.castDouble(l.param("shift")[k % size_t(C)]);
            const Int128 v = x[k] * s * (Int128(1) << (f - inType(l).frac() - sT.frac())) + h * (Int128(1) << (f - hT.frac()));
            y[k] = cast(l.type("result"), v, f);
        }
        return y;
    }

    Values run(const std::vector<double>& row) {
        for (const Layer& l : g.layers) {
            Values y;
            switch (l.kind) {
            case LayerKind::Input:
                for (double v : row) y.push_back(l.type("result").castDouble(v));
                break;
            case LayerKind::Dense:
            case LayerKind::Conv: y = mac(l); break;
            case LayerKind::Pooling: y = pooling(l); break;
            case LayerKind::Activation: y = activation(l); break;
            case LayerKind::Softmax: y = softmax(l); break;
            case LayerKind::BatchNorm: y = batchNorm(l); break;
            case LayerKind::Merge: y = merge(l); break;
            default: y = movement(l); break;
            }
            out[l.name] = std::move(y);
        }
        return out.at(g.output().name);
    }
};

Graph prepared(const std::string& path, const std::string& yaml) {
    Graph g = loadModel(path);
    runPipeline(g, Config::parse(yaml, "<test>"));
    return g;
}

// Configurations: the hls4ml default, and narrow types that round, saturate and wrap.
const std::vector<std::string> kConfigs = {
    "Model:\n  Precision: ap_fixed<16,6>\n",
    "Model:\n  Precision:\n    default: ap_fixed<8,3,AP_RND,AP_SAT>\n    accum: ap_fixed<12,5,AP_TRN,AP_WRAP>\n"
    "    weight: ap_fixed<6,2,AP_RND_CONV,AP_SAT>\n"};

void expectFixedEqualsReference(const std::string& path, size_t rows) {
    for (const std::string& yaml : kConfigs) {
        SCOPED_TRACE(path + " with " + yaml);
        const Graph g = prepared(path, yaml);
        Emulator emu(g);
        std::mt19937_64 rng(11);
        std::normal_distribution<double> nd(0, 2.0);
        std::vector<double> x(rows * size_t(g.inputSize()));
        for (double& v : x) v = nd(rng);
        std::vector<int64_t> raw(rows * size_t(g.outputSize()));
        std::vector<LayerStats> stats;
        emu.runFixed(x.data(), rows, raw.data(), nullptr, &stats);
        uint64_t overflows = 0;
        for (const auto& s : stats) overflows += s.resultOverflows + s.accumOverflows;
        size_t bad = 0;
        for (size_t r = 0; r < rows; ++r) {
            Reference ref{g, emu, {}};
            const Values y = ref.run(std::vector<double>(x.begin() + long(r * g.inputSize()), x.begin() + long((r + 1) * g.inputSize())));
            for (size_t j = 0; j < y.size(); ++j) bad += Int128(raw[r * y.size() + j]) != y[j];
        }
        EXPECT_EQ(bad, 0u);
        if (yaml.find("AP_SAT") != std::string::npos) {
            EXPECT_GT(overflows, 0u) << "the narrow case should saturate somewhere";
        }
    }
}

}  // namespace

TEST(CnnFixtures, FloatEqualsTrainingFramework) {
    for (const auto& [name, file] : kFixtures) {
        SCOPED_TRACE(name);
        expectFloatMatchesReference(loadModel(fixtureDir() + "/" + file), fixtureDir() + "/" + name + "_X.npy",
                                    fixtureDir() + "/" + name + "_Y.npy", 1e-9, 1e-12);
    }
}

TEST(CnnFixtures, GraphsKeepTheirBranchesAndLayout) {
    // The residual block reads the stem twice; the concatenation joins two branches;
    // ONNX Transpose pairs around channels-first ops cost nothing; Flatten of a
    // channels-first tensor reorders to ONNX's order first.
    const Graph res = loadModel(fixtureDir() + "/cnn_residual.onnx");
    const Layer* add = nullptr;
    for (const Layer& l : res.layers)
        if (l.kind == LayerKind::Merge) add = &l;
    ASSERT_TRUE(add);
    EXPECT_EQ(add->inputs.size(), 2u);
    const Graph cat = loadModel(fixtureDir() + "/cnn_concat.onnx");
    int transposes = 0, concats = 0;
    for (const Layer& l : cat.layers) {
        transposes += l.kind == LayerKind::Transpose;
        concats += l.kind == LayerKind::Concatenate;
    }
    EXPECT_EQ(concats, 1);
    EXPECT_EQ(transposes, 2);   // the NCHW input once to NHWC, and back before Flatten
    EXPECT_EQ(cat.input().shape, (Shape{2, 10, 10}));
}

TEST(Emulator, CnnFixedPointEqualsStepByStepReference) {
    for (const auto& [name, file] : kFixtures) expectFixedEqualsReference(fixtureDir() + "/" + file, 200);
}

TEST(CnnZoo, FloatEqualsIndependentReference) {
    ZOO_OR_SKIP();
    const std::string refs = fixtureDir() + "/zoo";
    if (!fs::exists(refs + "/keras_KERAS_conv2d_model_Y.npy")) {
        const std::string cmd = "/usr/bin/python3 " TACHYON_SOURCE_DIR "/scripts/make_zoo_references.py '" + fixtureDir() + "' > /dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    for (const char* m : {"keras/KERAS_conv1d_small.json", "keras/KERAS_conv2d_model.json",
                          "keras/jetTagger_Conv2D_Small_NoBatchNorm.json", "onnx/conv1d_small_keras.onnx",
                          "onnx/conv2d_small_keras.onnx"}) {
        SCOPED_TRACE(m);
        const std::string file = m, frontend = file.substr(0, file.find('/'));
        const std::string stem = fs::path(file).stem().string();
        const std::string base = refs + "/" + frontend + "_" + stem;
        expectFloatMatchesReference(loadModel(kShared + "/" + file), base + "_X.npy", base + "_Y.npy", 1e-9, 1e-12);
        expectFixedEqualsReference(kShared + "/" + file, 25);
    }
}

TEST(CnnErrors, BadModelsAreRefusedNamingTheLayer) {
    const fs::path dir = fs::temp_directory_path() / ("tachyon_cnn_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto keras = [&](const std::string& layersJson) {
        const std::string p = (dir / "m.json").string();
        std::ofstream(p) << R"({"class_name": "Model", "config": {"name": "m", "layers": [)" << layersJson
                         << R"(], "output_layers": [["out", 0, 0]]}})";
        try {
            loadKeras(p, fixtureDir() + "/keras_cnn_weights.h5");   // any Keras weights file
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    };
    const std::string input = R"({"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [null, 8, 8, 2]}, "inbound_nodes": []})";
    // A channels-first convolution, a 3-D convolution, merging tensors of different shapes.
    std::string msg = keras(input + R"(, {"class_name": "Conv2D", "config": {"name": "out", "filters": 2, "kernel_size": 3, "data_format": "channels_first"}, "inbound_nodes": [[["in", 0, 0, {}]]]})");
    EXPECT_NE(msg.find("'out'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("channels_first"), std::string::npos) << msg;
    msg = keras(input + R"(, {"class_name": "Conv3D", "config": {"name": "out"}, "inbound_nodes": [[["in", 0, 0, {}]]]})");
    EXPECT_NE(msg.find("Conv3D"), std::string::npos) << msg;
    msg = keras(input + R"(, {"class_name": "MaxPooling2D", "config": {"name": "p", "pool_size": [2, 2]}, "inbound_nodes": [[["in", 0, 0, {}]]]},
        {"class_name": "Add", "config": {"name": "out"}, "inbound_nodes": [[["in", 0, 0, {}], ["p", 0, 0, {}]]]})");
    EXPECT_NE(msg.find("'out'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("different shapes"), std::string::npos) << msg;
    fs::remove_all(dir);
}
