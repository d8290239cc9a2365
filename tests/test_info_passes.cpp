// `tachyon info --passes` (api::infoPassesText) and the import pass eliminate_dead_layers:
// every pass is named in order, and the tables show what a pass changed.
#include "api/Api.h"
#include "fixture_dir.h"
#include "frontends/Frontend.h"
#include "frontends/GraphBuilder.h"
#include "passes/Pass.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;
using namespace tachyon;

namespace {

std::string nnFixture(const std::string& name) {
    static const std::string dir = fixtureDirMadeBy("make_fixtures.py", "nn_fixtures.stamp", "2");
    return dir + "/" + name;
}
std::string attentionFixture(const std::string& name) {
    static const std::string dir = fixtureDirMadeBy("make_attention_fixtures.py", "attention_fixtures.stamp", "5");
    return dir + "/" + name;
}

// The text between the heading of `pass` and the next heading (or the end).
std::string section(const std::string& text, const std::string& pass) {
    const size_t at = text.find(": " + pass + " (");
    if (at == std::string::npos) return "";
    const size_t end = text.find("\n== ", at);
    return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string runCli(const std::string& args, int& status) {
    const std::string cmd = std::string(TACHYON_CLI) + " " + args + " 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
    status = WEXITSTATUS(pclose(pipe.release()));
    return out;
}

}  // namespace

TEST(InfoPasses, NamesEveryPassInOrderAndShowsTheFoldedBatchNorm) {
    const fs::path dir = fs::path(TACHYON_BINARY_DIR) / "info_passes_test";
    fs::create_directories(dir);
    const std::string cfg = (dir / "fold_always.yml").string();
    std::ofstream(cfg) << "Model:\n  Precision: ap_fixed<16,6>\n  ReuseFactor: 1\n  FoldBatchNorm: always\n";
    std::vector<std::string> warnings;
    const std::string text = api::infoPassesText(nnFixture("dense_bn.onnx"), "", cfg, warnings);

    // The frontend's table first, then every import and pipeline pass, in order.
    std::vector<std::string> names;
    for (const PassInfo& p : importPasses()) names.push_back(p.name);
    for (const PassInfo& p : allPasses()) names.push_back(p.name);
    ASSERT_GE(names.size(), 5u);
    size_t at = text.find("== frontend: ");
    ASSERT_NE(at, std::string::npos);
    for (size_t k = 0; k < names.size(); ++k) {
        const std::string heading =
            "== pass " + std::to_string(k + 1) + "/" + std::to_string(names.size()) + ": " + names[k] + " (";
        const size_t next = text.find(heading, at);
        ASSERT_NE(next, std::string::npos) << "missing or out of order: " << heading;
        at = next;
    }

    // The BatchNorms are in the frontend's table and gone after fold_batchnorm (configured
    // `always`), which says it changed the graph; assign_precision added the types.
    const std::string frontend = text.substr(0, text.find("\n== pass 1/"));
    EXPECT_NE(frontend.find("layer_1_BatchNormalization: BatchNormalization"), std::string::npos);
    const std::string fold = section(text, "fold_batchnorm");
    ASSERT_FALSE(fold.empty());
    EXPECT_NE(fold.find("fold_batchnorm (changed)"), std::string::npos);
    EXPECT_EQ(fold.find("_BatchNormalization: BatchNormalization"), std::string::npos) << fold;
    EXPECT_NE(fold.find("layer_2_Relu: Activation activation=relu  shape=[24]  <- layer_0_Gemm"), std::string::npos)
        << fold;
    EXPECT_EQ(fold.find("ap_fixed"), std::string::npos) << "types before assign_precision";
    EXPECT_NE(section(text, "assign_precision").find("ap_fixed<16,6>"), std::string::npos);
    EXPECT_NE(section(text, "eliminate_dead_layers").find("(unchanged)"), std::string::npos);
}

TEST(InfoPasses, CliPrintsTheSameTextWithTheDefaultConfiguration) {
    int status = -1;
    const std::string out = runCli("info --passes '" + attentionFixture("attn_mha.onnx") + "'", status);
    ASSERT_EQ(status, 0) << out;
    std::vector<std::string> warnings;
    EXPECT_EQ(out, api::infoPassesText(attentionFixture("attn_mha.onnx"), "", "", warnings));
    // The packed in-projection that the Slice handler replaced by three Dense layers feeds
    // nothing the output needs: eliminate_dead_layers removes it.
    EXPECT_NE(section(out, "eliminate_dead_layers").find("(changed)"), std::string::npos);
    const Graph read = readModel(attentionFixture("attn_mha.onnx"));
    const Graph loaded = loadModel(attentionFixture("attn_mha.onnx"));
    EXPECT_LT(loaded.layers.size(), read.layers.size());
    EXPECT_EQ(loaded.output().name, read.output().name);
}

TEST(InfoPasses, EliminateDeadLayersKeepsWhatTheOutputReadsInOrder) {
    GraphBuilder b("aux", "aux.onnx");
    const std::string in = b.input("x", {2});
    const std::string hidden = b.dense("hidden", in, 2, {1, 0, 0, 1}, {0, 0});
    const std::string aux = b.dense("aux_head", hidden, 1, {1, 1}, {0});   // a training-only head
    (void)b.activation("aux_act", aux, ActKind::Sigmoid);
    const std::string out = b.dense("out", hidden, 2, {1, 2, 3, 4}, {0, 0});
    Graph g = b.finish(out);
    ASSERT_EQ(g.layers.size(), 5u);
    EXPECT_EQ(g.output().name, out);
    eliminateDeadLayers(g, Config{});
    ASSERT_EQ(g.layers.size(), 3u);
    EXPECT_EQ(g.layers[0].name, in);
    EXPECT_EQ(g.layers[1].name, hidden);
    EXPECT_EQ(g.layers[2].name, out);
}

TEST(InfoPasses, EliminateDeadLayersRefusesAGraphWithNothingAfterItsInput) {
    Graph g;
    g.sourceFile = "lonely.onnx";
    g.layers.resize(1);
    g.layers[0].name = "x";
    g.layers[0].kind = LayerKind::Input;
    try {
        eliminateDeadLayers(g, Config{});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("lonely.onnx: the model has no layers after its input"), std::string::npos);
    }
}
