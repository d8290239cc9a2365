// Softmax variants (issue 9): hls4ml's implementations (stable, latency, legacy, argmax)
// bit for bit against an independent reference of hls4ml's C++ (nnet_activation.h,
// re-written below on the bundled ap_fixed header), in the emulator, the HLS C simulation
// and the Verilog simulation; Tachyon's default softmax keeps its accuracy. Also
// fold_batchnorm's rule and the ReLU overflow count.
#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include "backends/hls/include/ap_fixed.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

using namespace tachyon;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// The reference: hls4ml's softmax as its nnet_activation.h / nnet_common.h write it
// (hls4ml >= 1.2), re-written for this test. Every type, table and operation is the
// configured ap type, as in hls4ml's C simulation.
namespace ref {

constexpr int ceillog2(int x) { return (x <= 2) ? 1 : 1 + ceillog2((x + 1) / 2); }
constexpr int floorlog2(int x) { return (x < 2) ? 0 : 1 + floorlog2(x / 2); }
constexpr int pow2(int x) { return x == 0 ? 1 : 2 * pow2(x - 1); }

template <class T, int N, class Op>
T reduce(const T* x, Op op) {
    constexpr int leftN = pow2(floorlog2(N - 1)) > 0 ? pow2(floorlog2(N - 1)) : 0;
    constexpr int rightN = N - leftN > 0 ? N - leftN : 0;
    if constexpr (N == 1) {
        return x[0];
    } else if constexpr (N == 2) {
        return op(x[0], x[1]);
    } else {
        return op(reduce<T, leftN, Op>(x, op), reduce<T, rightN, Op>(x + leftN, op));
    }
}
template <class T> struct OpAdd {
    T operator()(T a, T b) { return a + b; }
};
template <class T> struct OpMax {
    T operator()(T a, T b) { return a >= b ? a : b; }
};

template <class data_T, unsigned table_size>
float realValFromIdx(unsigned i) {
    constexpr int N = ceillog2(table_size);
    data_T x(0);
    x(x.width - 1, x.width - N) = i;
    return x.to_float();
}
template <class data_T, unsigned table_size>
unsigned idxFromRealVal(data_T x) {
    constexpr int N = ceillog2(table_size);
    ap_uint<N> y = x(x.width - 1, x.width - N);
    return (unsigned)y(N - 1, 0).to_uint();
}

template <class data_T, class C>
void initExpTable(typename C::exp_table_t* table, bool negative) {
    for (unsigned i = 0; i < C::exp_table_size; i++) {
        float x = realValFromIdx<data_T, C::exp_table_size>(i) * C::exp_scale;
        if (negative) x = -x;
        typename C::exp_table_t e = std::exp(x);
        table[i] = e;
    }
}
template <class data_T, class C>
void initInvertTable(typename C::inv_table_t* table) {
    for (unsigned i = 0; i < C::inv_table_size; i++) {
        float x = realValFromIdx<data_T, C::inv_table_size>(i);
        typename C::inv_table_t inv = 1 / x;
        table[i] = inv;
    }
}

template <class data_T, class res_T, class C>
void softmaxStable(const data_T* data, res_T* res) {
    static typename C::exp_table_t expTable[C::exp_table_size];
    static typename C::inv_table_t invTable[C::inv_table_size];
    static bool init = false;
    if (!init) {
        initExpTable<typename C::inp_norm_t, C>(expTable, true);
        initInvertTable<typename C::inv_inp_t, C>(invTable);
        init = true;
    }
    OpMax<data_T> opMax;
    data_T xMax = reduce<data_T, C::n_slice, OpMax<data_T>>(data, opMax);
    typename C::inp_norm_t d[C::n_slice];
    for (unsigned i = 0; i < C::n_slice; i++) d[i] = xMax - data[i];
    typename C::accum_t e[C::n_slice];
    for (unsigned i = 0; i < C::n_slice; i++) e[i] = expTable[idxFromRealVal<typename C::inp_norm_t, C::exp_table_size>(d[i])];
    OpAdd<typename C::accum_t> opAdd;
    typename C::inv_inp_t sum = reduce<typename C::accum_t, C::n_slice, OpAdd<typename C::accum_t>>(e, opAdd);
    typename C::inv_table_t r = invTable[idxFromRealVal<typename C::inv_inp_t, C::inv_table_size>(sum)];
    for (unsigned i = 0; i < C::n_slice; i++) res[i] = e[i] * r;
}

template <class data_T, class res_T, class C>
void softmaxLatency(const data_T* data, res_T* res) {
    static typename C::exp_table_t expTable[C::exp_table_size];
    static typename C::inv_table_t invTable[C::inv_table_size];
    static bool init = false;
    if (!init) {
        initExpTable<data_T, C>(expTable, false);
        initInvertTable<typename C::inv_inp_t, C>(invTable);
        init = true;
    }
    typename C::accum_t e[C::n_slice];
    for (unsigned i = 0; i < C::n_slice; i++) e[i] = expTable[idxFromRealVal<data_T, C::exp_table_size>(data[i])];
    OpAdd<typename C::accum_t> opAdd;
    typename C::inv_inp_t sum = reduce<typename C::accum_t, C::n_slice, OpAdd<typename C::accum_t>>(e, opAdd);
    typename C::inv_table_t r = invTable[idxFromRealVal<typename C::inv_inp_t, C::inv_table_size>(sum)];
    for (unsigned i = 0; i < C::n_slice; i++) res[i] = e[i] * r;
}

// softmax_legacy: the integer index arithmetic of hls4ml (ap_fixed * unsigned / int, then
// int) is trunc(value * size / 16): ap_fixed's operator/ and its int conversion both
// truncate towards zero. The bundled header has no operator/, so it is written with the
// value as a long double (exact for these widths).
template <class data_T, class res_T, class C>
void softmaxLegacy(const data_T* data, res_T* res) {
    typedef typename C::table_t table_t;
    static table_t expTable[C::exp_table_size];
    static table_t invTable[C::inv_table_size];
    static bool init = false;
    if (!init) {
        for (int ii = 0; ii < int(C::exp_table_size); ii++) {
            float inVal = 2 * 8.0 * (ii - float(C::exp_table_size) / 2.0) / float(C::exp_table_size);
            table_t v = std::exp(inVal);
            expTable[ii] = v;
        }
        for (int ii = 0; ii < int(C::inv_table_size); ii++) {
            float inVal = 64.0 * ii / float(C::inv_table_size);
            if (inVal > 0.0) invTable[ii] = 1.0 / inVal;
            else invTable[ii] = 0.0;
        }
        init = true;
    }
    table_t expRes[C::n_slice];
    for (unsigned ii = 0; ii < C::n_slice; ii++) expRes[ii] = 0;
    for (unsigned ii = 0; ii < C::n_slice; ii++) {
        for (unsigned jj = 0; jj < C::n_slice; jj++) {
            table_t expDiff;
            if (ii == jj) {
                expDiff = 1;
            } else {
                const long double diff = (data[jj] - data[ii]).to_double();
                int dataRound = int(std::trunc(diff * C::exp_table_size / 16));
                int index = dataRound + 8 * C::exp_table_size / 16;
                if (index < 0) index = 0;
                if (index > int(C::exp_table_size) - 1) index = C::exp_table_size - 1;
                expDiff = expTable[index];
            }
            expRes[ii] += expDiff;
        }
    }
    for (unsigned ii = 0; ii < C::n_slice; ii++) {
        int idx = int(std::trunc((long double)expRes[ii].to_double() * C::inv_table_size / 64));
        if (idx < 0) idx = 0;
        if (idx > int(C::inv_table_size) - 1) idx = C::inv_table_size - 1;
        res[ii] = invTable[idx];
    }
}

template <class data_T, class res_T, class C>
void softmaxArgmax(const data_T* data, res_T* res) {
    for (unsigned i = 0; i < C::n_slice; i++) res[i] = 0;
    data_T maximum = data[0];
    int idx = 0;
    for (unsigned i = 1; i < C::n_slice; i++) {
        if (data[i] > maximum) {
            maximum = data[i];
            idx = int(i);
        }
    }
    res[idx] = 1;
}

}  // namespace ref

namespace {

typedef ap_fixed<18, 8, AP_RND, AP_SAT> hls4ml_table_t;   // hls4ml's default softmax helper type

// One hls4ml softmax configuration, as hls4ml writes its config struct.
template <class data_T_, class res_T_, unsigned N, unsigned EXP, unsigned INV, class exp_T = hls4ml_table_t,
          class inv_T = hls4ml_table_t, class acc_T = ap_fixed<16, 6>, class invinp_T = hls4ml_table_t,
          class norm_T = ap_fixed<1, 0>, class table_T = ap_fixed<18, 8>>
struct Cfg {
    typedef data_T_ data_T;
    typedef res_T_ res_T;
    static const unsigned n_slice = N;
    static const unsigned exp_table_size = EXP;
    static const unsigned inv_table_size = INV;
    static constexpr float exp_scale = 1.0;
    typedef exp_T exp_table_t;
    typedef inv_T inv_table_t;
    typedef acc_T accum_t;
    typedef invinp_T inv_inp_t;
    typedef norm_T inp_norm_t;
    typedef table_T table_t;
};

Graph softmaxModel(int n) {
    Graph g;
    g.name = "softmax_model";
    Layer in;
    in.name = "in";
    in.kind = LayerKind::Input;
    in.shape = {n};
    g.layers.push_back(in);
    Layer s;
    s.name = "softmax";
    s.kind = LayerKind::Softmax;
    s.inputs = {"in"};
    s.shape = {n};
    s.attrs = SoftmaxAttrs{};
    g.layers.push_back(s);
    return g;
}

// Inputs spread like logits, plus saturating values (beyond the input type), exact
// extremes and ties.
std::vector<double> testInputs(int n, size_t rows, double range, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> logit(0, 3);
    std::uniform_real_distribution<double> wide(-2.5 * range, 2.5 * range);
    std::vector<double> x(rows * size_t(n));
    for (size_t r = 0; r < rows; ++r) {
        const int kind = int(r % 5);
        for (int i = 0; i < n; ++i) {
            double& v = x[r * size_t(n) + size_t(i)];
            if (kind == 0 || kind == 1) v = logit(rng);
            else if (kind == 2) v = wide(rng);
            else if (kind == 3) v = (rng() & 1) ? range * 4 : -range * 4;   // saturate / wrap
            else v = double(int(logit(rng)));                             // ties
        }
    }
    return x;
}

template <class C, class F>
void expectMatchesReference(const std::string& yaml, double range, F refFn, size_t rows = 20000) {
    Graph g = softmaxModel(int(C::n_slice));
    runPipeline(g, Config::parse(yaml, "<test config>"));
    Emulator emu(g);
    const int n = int(C::n_slice);
    std::vector<double> x = testInputs(n, rows, range, 17);
    std::vector<int64_t> raw(rows * size_t(n));
    emu.runFixed(x.data(), rows, raw.data(), nullptr);
    size_t bad = 0;
    for (size_t r = 0; r < rows; ++r) {
        typename C::data_T d[C::n_slice];
        typename C::res_T y[C::n_slice];
        for (int i = 0; i < n; ++i) d[i] = typename C::data_T(x[r * size_t(n) + size_t(i)]);
        refFn(d, y);
        for (int i = 0; i < n; ++i) {
            const int64_t want = int64_t(y[i].V);
            if (raw[r * size_t(n) + size_t(i)] != want && bad++ < 5)
                ADD_FAILURE() << "row " << r << " output " << i << ": emulator " << raw[r * size_t(n) + size_t(i)]
                              << ", hls4ml reference " << want;
        }
    }
    EXPECT_EQ(bad, 0u) << "of " << rows * size_t(n) << " values";
}

const char* kStableModel = "Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: stable\n";

}  // namespace

// Model granularity (Model: Precision only): hls4ml's defaults everywhere, accum_t = the
// model default.
TEST(Softmax, StableMatchesHls4mlWithModelDefaults) {
    typedef ap_fixed<16, 6> T;
    typedef Cfg<T, T, 5, 1024, 1024, hls4ml_table_t, hls4ml_table_t, ap_fixed<16, 6>, hls4ml_table_t, ap_ufixed<15, 5>> C;
    expectMatchesReference<C>(kStableModel, 32, ref::softmaxStable<T, T, C>);
}

// Name granularity as config_from_keras_model writes it (accum ap_fixed<18,8,RND,SAT>).
TEST(Softmax, StableMatchesHls4mlWithNameGranularityTypes) {
    typedef ap_fixed<16, 6> T;
    typedef Cfg<T, T, 5, 1024, 1024, hls4ml_table_t, hls4ml_table_t, hls4ml_table_t, hls4ml_table_t, ap_ufixed<15, 5>> C;
    expectMatchesReference<C>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: stable\n"
                              "    Precision:\n      accum: fixed<18,8,RND,SAT>\n      exp_table: fixed<18,8,RND,SAT>\n"
                              "      inv_inp: fixed<18,8,RND,SAT>\n      inv_table: fixed<18,8,RND,SAT>\n"
                              "      result: auto\n    TableSize: 1024\n",
                              32, ref::softmaxStable<T, T, C>);
}

// Narrow input: FixSoftmaxTableSize cuts table_size to 2^8, the stable exp table to 2^7;
// odd tree (3 values); saturating unsigned result.
TEST(Softmax, StableMatchesHls4mlWithNarrowInputAndSmallTables) {
    typedef ap_fixed<8, 3> T;
    typedef ap_ufixed<8, 0, AP_RND, AP_SAT> R;
    typedef ap_fixed<12, 4, AP_RND, AP_SAT> E;
    typedef Cfg<T, R, 3, 128, 256, E, hls4ml_table_t, ap_fixed<12, 5, AP_TRN, AP_SAT>, hls4ml_table_t, ap_ufixed<7, 2>> C;
    expectMatchesReference<C>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  in:\n    Precision: ap_fixed<8,3>\n"
                              "  softmax:\n    Implementation: stable\n    Precision:\n"
                              "      result: ap_ufixed<8,0,AP_RND,AP_SAT>\n      exp_table: ap_fixed<12,4,AP_RND,AP_SAT>\n"
                              "      accum: ap_fixed<12,5,AP_TRN,AP_SAT>\n",
                              4, ref::softmaxStable<T, R, C>);
}

TEST(Softmax, LatencyMatchesHls4ml) {
    typedef ap_fixed<16, 6> T;
    typedef Cfg<T, T, 5, 512, 512, hls4ml_table_t, hls4ml_table_t, ap_fixed<20, 10, AP_RND, AP_SAT>,
                ap_fixed<18, 4, AP_RND, AP_SAT>> C;
    expectMatchesReference<C>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: latency\n"
                              "    Precision:\n      accum: fixed<20,10,RND,SAT>\n      inv_inp: fixed<18,4,RND,SAT>\n"
                              "    TableSize: 512\n",
                              32, ref::softmaxLatency<T, T, C>);
    // Wrapping accumulator (the model default) and a non-power-of-two size (hls4ml slices
    // 10 bits for 1000 entries).
    typedef Cfg<T, T, 4, 1024, 1024, hls4ml_table_t, hls4ml_table_t, ap_fixed<16, 6>> D;
    expectMatchesReference<D>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: latency\n"
                              "    TableSize: 1000\n",
                              32, ref::softmaxLatency<T, T, D>);
}

TEST(Softmax, LegacyMatchesHls4ml) {
    typedef ap_fixed<16, 6> T;
    typedef Cfg<T, T, 5, 1024, 1024> C;
    expectMatchesReference<C>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: legacy\n",
                              32, ref::softmaxLegacy<T, T, C>);
}

TEST(Softmax, ArgmaxIsOneHotOfTheFirstMaximum) {
    typedef ap_fixed<16, 6> T;
    typedef Cfg<T, T, 5, 1024, 1024> C;
    expectMatchesReference<C>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: argmax\n",
                              32, ref::softmaxArgmax<T, T, C>);
    // A result type that cannot hold 1 converts it as hls4ml's (res_T)1 does.
    typedef ap_fixed<8, 1> W;
    typedef Cfg<T, W, 5, 1024, 1024> D;
    expectMatchesReference<D>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: argmax\n"
                              "    Precision:\n      result: ap_fixed<8,1>\n",
                              32, ref::softmaxArgmax<T, W, D>);
    typedef ap_ufixed<1, 1> U;
    typedef Cfg<T, U, 5, 1024, 1024> E;
    expectMatchesReference<E>("Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n    Implementation: argmax\n"
                              "    Precision:\n      result: ap_ufixed<1,1>\n",
                              32, ref::softmaxArgmax<T, U, E>);
}

TEST(Softmax, DefaultIsTachyonsAccurateSoftmax) {
    Graph g = softmaxModel(5);
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<16,6>\n", "<test config>"));
    EXPECT_EQ(g.find("softmax")->softmax.implementation, SoftmaxImpl::Tachyon);
    Emulator emu(g);
    EXPECT_EQ(emu.softmaxTables("softmax")->implementation, SoftmaxImpl::Tachyon);
    Graph h = softmaxModel(5);
    runPipeline(h, Config::parse(kStableModel, "<test config>"));
    EXPECT_EQ(h.find("softmax")->type("exp_table").str(), "ap_fixed<18,8,AP_RND,AP_SAT>");
    EXPECT_EQ(h.find("softmax")->type("accum").str(), "ap_fixed<16,6>");
    // `Implementation: tachyon` selects it explicitly.
    Graph t = softmaxModel(5);
    runPipeline(t, Config::parse("LayerName:\n  softmax:\n    Implementation: tachyon\n", "<test config>"));
    EXPECT_EQ(t.find("softmax")->softmax.implementation, SoftmaxImpl::Tachyon);
}

// Tachyon's softmax tables follow the result type (docs/semantics.md, "Tables"): entries
// of F + 3 fraction bits for a result with F, the inverse table 2^(F + 2) entries per unit
// of the sum; explicit types and sizes still win.
TEST(Softmax, TachyonTablesSizedFromResultType) {
    struct Case {
        const char* model;
        const char* entry;
        int expSize, invSize;
    };
    for (const Case& k : {Case{"ap_fixed<8,3,AP_RND,AP_SAT>", "ap_ufixed<9,1,AP_RND,AP_SAT>", 256, 1024},
                          Case{"ap_fixed<16,6>", "ap_ufixed<14,1,AP_RND,AP_SAT>", 4096, 4096},
                          Case{"ap_fixed<10,4>", "ap_ufixed<10,1,AP_RND,AP_SAT>", 512, 2048}}) {
        SCOPED_TRACE(k.model);
        Graph g = softmaxModel(5);
        runPipeline(g, Config::parse(std::string("Model:\n  Precision: ") + k.model + "\n", "<test config>"));
        const Layer& l = *g.find("softmax");
        EXPECT_EQ(l.type("exp_table").str(), k.entry);
        EXPECT_EQ(l.type("inv_table").str(), k.entry);
        Emulator emu(g);
        const SoftmaxTables* t = emu.softmaxTables("softmax");
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->exp.size, k.expSize);
        EXPECT_EQ(t->inv.size, k.invSize);
    }
    // 8-bit result: the RTL's products are at most 10 x 10 bits (e, r <= 1 with 8 fraction
    // bits), not the 19 x 19 of fixed 18-bit entries.
    Graph g = softmaxModel(5);
    runPipeline(g, Config::parse("Model:\n  Precision: ap_fixed<8,3,AP_RND,AP_SAT>\n", "<test config>"));
    Emulator emu(g);
    const std::string v = verilog::generateRtl(g, emu, {}).verilog;
    int products = 0;
    for (size_t at = v.find("wire signed ["); at != std::string::npos; at = v.find("wire signed [", at + 1)) {
        const size_t close = v.find(']', at);
        const std::string name = v.substr(close + 2, v.find_first_of(";= ", close + 2) - close - 2);
        if (name.rfind("softmax_mul", 0) != 0) continue;
        ++products;
        EXPECT_LE(std::stoi(v.substr(at + 13)) + 1, 20) << name;
    }
    EXPECT_EQ(products, 5);
    // Explicit types and sizes are kept.
    Graph h = softmaxModel(5);
    runPipeline(h, Config::parse("Model:\n  Precision: ap_fixed<8,3,AP_RND,AP_SAT>\nLayerName:\n  softmax:\n"
                                 "    exp_table_t: ap_ufixed<18,1,AP_RND,AP_SAT>\n    TableSize: 64\n",
                                 "<test config>"));
    EXPECT_EQ(h.find("softmax")->type("exp_table").str(), "ap_ufixed<18,1,AP_RND,AP_SAT>");
    EXPECT_EQ(h.find("softmax")->type("inv_table").str(), "ap_ufixed<9,1,AP_RND,AP_SAT>");
    Emulator eh(h);
    EXPECT_EQ(eh.softmaxTables("softmax")->exp.size, 64);
    EXPECT_EQ(eh.softmaxTables("softmax")->inv.size, 64);
}

// The default softmax at an 8-bit result, bit-exact in the HLS C simulation and Verilator,
// and within about one result LSB of the real softmax.
TEST(Softmax, TachyonSoftmaxAt8BitsBitExactAndAccurate) {
    const std::string yaml = "Model:\n  Precision: ap_fixed<8,3,AP_RND,AP_SAT>\n";
    Graph g = softmaxModel(5);
    runPipeline(g, Config::parse(yaml, "<test config>"));
    Emulator emu(g);
    const size_t rows = 20000;
    const std::vector<double> x = testInputs(5, rows, 6.0, 23);
    std::vector<double> yf(rows * 5), yq(rows * 5);
    std::vector<int64_t> raw(rows * 5);
    emu.runFloat(x.data(), rows, yf.data());
    emu.runFixed(x.data(), rows, raw.data(), yq.data());
    // Against the softmax of the quantised inputs: the result LSB is 2^-5.
    std::vector<double> xq(x.size());
    const FixedType inT = g.find("in")->type("result");
    for (size_t k = 0; k < x.size(); ++k) xq[k] = double(inT.castDouble(x[k])) * inT.lsb();   // raw -> value
    emu.runFloat(xq.data(), rows, yf.data());
    double worst = 0, sumErr = 0;
    for (size_t k = 0; k < yq.size(); ++k) {
        worst = std::max(worst, std::fabs(yq[k] - yf[k]));
        sumErr += std::fabs(yq[k] - yf[k]);
    }
    std::printf("8-bit softmax: worst error %.3f result LSBs, mean %.3f\n", worst * 32, sumErr / double(yq.size()) * 32);
    EXPECT_LE(worst, 1.0 / 32) << "worst error in result LSBs: " << worst * 32;
    EXPECT_LE(sumErr / double(yq.size()), 0.3 / 32) << "mean error in result LSBs: " << sumErr / double(yq.size()) * 32;

    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "softmax_tachyon8";
    fs::remove_all(dir);
    {
        hls::HlsOptions opt;
        opt.testRows = 3000;
        hls::writeProject(g, emu, (dir / "hls").string(), opt);
        std::ostringstream log;
        hls::CsimResult r = hls::csim((dir / "hls").string(), log);
        EXPECT_EQ(r.rows, opt.testRows) << log.str();
        EXPECT_EQ(r.mismatches, 0u) << log.str();
    }
    {
        verilog::VerilogOptions opt;
        opt.testRows = 5000;
        verilog::writeProject(g, emu, (dir / "verilog").string(), opt);
        std::ostringstream log;
        verilog::RtlsimResult r = verilog::rtlsim((dir / "verilog").string(), log);
        EXPECT_EQ(r.rows, opt.testRows) << log.str();
        EXPECT_EQ(r.mismatches, 0u) << log.str();
    }
}

// hls4ml's C simulation equivalence: the generated HLS kernels equal the emulator.
TEST(Softmax, HlsCsimBitExactForEveryImplementation) {
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "softmax_hls";
    fs::remove_all(dir);
    for (const char* impl : {"stable", "latency", "legacy", "argmax"}) {
        for (const char* io : {"io_parallel", "io_stream"}) {
            SCOPED_TRACE(std::string(impl) + " " + io);
            Graph g = softmaxModel(5);
            const Config cfg = Config::parse(std::string("IOType: ") + io +
                                                 "\nModel:\n  Precision: ap_fixed<16,6>\nLayerName:\n  softmax:\n"
                                                 "    Implementation: " + impl + "\n",
                                             "<test config>");
            runPipeline(g, cfg);
            Emulator emu(g);
            hls::HlsOptions opt;
            opt.target = cfg.target();
            opt.testRows = 3000;
            const fs::path prj = dir / (std::string(impl) + "_" + io);
            hls::writeProject(g, emu, prj.string(), opt);
            std::ostringstream log;
            hls::CsimResult r = hls::csim(prj.string(), log);
            EXPECT_EQ(r.rows, opt.testRows) << log.str();
            EXPECT_EQ(r.mismatches, 0u) << log.str();
            if (std::string(impl) != "stable") break;   // io_stream: the stable one only
        }
    }
}

TEST(Softmax, VerilogRtlsimBitExactForStableLatencyArgmax) {
    for (const char* impl : {"stable", "latency", "argmax"}) {
        SCOPED_TRACE(impl);
        Graph g = softmaxModel(5);
        runPipeline(g, Config::parse(std::string("Model:\n  Precision: ap_fixed<12,5>\nLayerName:\n  softmax:\n"
                                                 "    Implementation: ") + impl + "\n    TableSize: 256\n",
                                     "<test config>"));
        Emulator emu(g);
        verilog::VerilogOptions opt;
        opt.testRows = 5000;
        const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "softmax_verilog" / impl;
        fs::remove_all(dir);
        verilog::writeProject(g, emu, dir.string(), opt);
        std::ostringstream log;
        verilog::RtlsimResult r = verilog::rtlsim(dir.string(), log);
        EXPECT_EQ(r.rows, opt.testRows) << log.str();
        EXPECT_EQ(r.mismatches, 0u) << log.str();
    }
    // legacy: refused by the Verilog backend, naming the layer and the implementation.
    Graph g = softmaxModel(5);
    runPipeline(g, Config::parse("LayerName:\n  softmax:\n    Implementation: legacy\n", "<test config>"));
    Emulator emu(g);
    try {
        verilog::writeProject(g, emu, (fs::path(TACHYON_BINARY_DIR) / "softmax_verilog" / "legacy").string(), {});
        ADD_FAILURE() << "legacy softmax was not refused";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos) << e.what();
    }
}
