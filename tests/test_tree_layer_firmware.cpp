// A TreeEnsemble in the network projects: graphs with a Dense layer feeding a BDT and a
// BDT feeding a Dense layer, written by the network HLS writer (nnet_utils/nnet_bdt.h) and
// C-simulated (g++ against the bundled ap_fixed), and by the network Verilog writer (on its
// Netlist, pipelined) and simulated with Verilator, against the emulator, row by row.
#include "support/tree_graphs.h"
#include "test_trees_fixtures.h"

#include "backends/hls/HlsWriter.h"
#include "backends/verilog/VerilogWriter.h"
#include "config/Config.h"
#include "emulator/Emulator.h"
#include "frontends/Frontend.h"
#include "frontends/trees/Frontends.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

using namespace tachyon;
using namespace tachyon::trees::testing;
using namespace test_support;   // the graph builders

namespace {

const char* kConfig = "Model: {Precision: 'ap_fixed<16,6>'}\n"
                      "LayerType:\n"
                      "  Input: {Precision: 'ap_fixed<14,4>'}\n"
                      "  Dense: {Precision: {weight: 'ap_fixed<10,2>', bias: 'ap_fixed<10,2>', accum: 'ap_fixed<24,8>', "
                      "result: 'ap_fixed<14,5>'}}\n"
                      "  TreeEnsemble: {Precision: {threshold: 'ap_fixed<16,5>', result: 'ap_fixed<12,3,AP_RND,AP_SAT>'}}\n";

size_t csimMismatches(Graph g, const std::string& name, size_t& rows) {
    runPipeline(g, Config::parse(kConfig, "<test>"));
    const Emulator emu(g);
    const std::string prj = scratchDir("hls_" + name) + "/prj";
    hls::HlsOptions opt;
    opt.testRows = 300;
    hls::writeProject(g, emu, prj, opt);
    std::ifstream params(prj + "/firmware/parameters.h");
    std::stringstream text;
    text << params.rdbuf();
    EXPECT_NE(text.str().find("nnet::bdt_config"), std::string::npos);
    std::ostringstream log;
    const hls::CsimResult r = hls::csim(prj, log);
    rows = r.rows;
    if (r.mismatches) ADD_FAILURE() << log.str();
    return r.mismatches;
}

size_t rtlsimMismatches(Graph g, const std::string& name, size_t& rows) {
    runPipeline(g, Config::parse(kConfig, "<test>"));
    const Emulator emu(g);
    const std::string prj = scratchDir("rtl_" + name) + "/prj";
    verilog::VerilogOptions opt;
    opt.testRows = 300;
    verilog::writeProject(g, emu, prj, opt);
    std::ostringstream log;
    const verilog::RtlsimResult r = verilog::rtlsim(prj, log);
    rows = r.rows;
    if (r.mismatches) ADD_FAILURE() << log.str();
    return r.mismatches;
}

Graph denseThenTrees(const trees::Ensemble& e) {
    Graph g;
    g.name = "dense_bdt";
    g.layers = {inputLayer(6), randomDenseLayer("d", "x", 6, e.nFeatures, 7), treeEnsembleLayer(e, "d")};
    return g;
}

Graph treesThenDense(const trees::Ensemble& e) {
    Graph g;
    g.name = "bdt_dense";
    g.layers = {inputLayer(e.nFeatures), treeEnsembleLayer(e, "x"), randomDenseLayer("e", "bdt", e.nClasses, 3, 11)};
    return g;
}

}  // namespace

TEST(TreeLayerRtl, DenseFeedingTreesAndTreesFeedingDenseRtlsimMatchTheEmulator) {
    TREE_FIXTURES_OR_SKIP(dir);
    size_t rows = 0;
    EXPECT_EQ(rtlsimMismatches(denseThenTrees(trees::readTreeModel(dir + "/xgb_binary.json")), "dense_bdt", rows), 0u);
    EXPECT_EQ(rows, 300u);
    EXPECT_EQ(rtlsimMismatches(treesThenDense(trees::readTreeModel(dir + "/xgb_multi.json")), "bdt_dense", rows), 0u);
    EXPECT_EQ(rows, 300u);
}

TEST(TreeLayerHls, DenseFeedingTreesCsimMatchesTheEmulator) {
    TREE_FIXTURES_OR_SKIP(dir);
    size_t rows = 0;
    EXPECT_EQ(csimMismatches(denseThenTrees(trees::readTreeModel(dir + "/xgb_binary.json")), "dense_bdt", rows), 0u);
    EXPECT_EQ(rows, 300u);
}

TEST(TreeLayerHls, TreesFeedingDenseCsimMatchesTheEmulator) {
    TREE_FIXTURES_OR_SKIP(dir);
    size_t rows = 0;
    EXPECT_EQ(csimMismatches(treesThenDense(trees::readTreeModel(dir + "/xgb_multi.json")), "bdt_dense", rows), 0u);
    EXPECT_EQ(rows, 300u);
}

TEST(TreeLayerHls, TreeFileCsimThroughTheNetworkWriter) {
    TREE_FIXTURES_OR_SKIP(dir);
    size_t rows = 0;
    EXPECT_EQ(csimMismatches(loadModel(dir + "/xgb_multi.json"), "plain", rows), 0u);
    EXPECT_EQ(rows, 300u);
}
