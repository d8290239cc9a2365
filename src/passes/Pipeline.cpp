#include "passes/Pass.h"

namespace tachyon {

const std::vector<PassInfo>& allPasses() {
    static const std::vector<PassInfo> passes = {
        {"fold_batchnorm", "Fold a BatchNormalization that follows a Dense or Conv layer into its weights and bias.",
         foldBatchNorm},
        {"assign_precision", "Assign fixed-point types, table settings and schedule from the configuration.",
         assignPrecision},
        {"merge_bn_threshold",
         "hls4ml mode: merge a BatchNormalization followed by binary/ternary tanh into an integer threshold, as hls4ml.",
         mergeBatchNormThreshold},
        {"fuse_activation", "Merge linear/ReLU activations into the preceding Dense or Conv layer where exact.",
         fuseActivations},
    };
    return passes;
}

std::vector<std::string> runPipeline(Graph& g, const Config& cfg, const PassObserver& afterEach) {
    verify(g);
    bool typed = false;
    std::vector<std::string> warnings;
    for (const PassInfo& p : allPasses()) {
        p.run(g, cfg);
        // Checked before fuse_activation removes the layers it merges (their entries apply).
        if (p.run == assignPrecision) warnings = unusedLayerNames(g, cfg);
        typed = typed || p.run == assignPrecision;
        verify(g, typed);
        if (afterEach) afterEach(p, g);
    }
    return warnings;
}

}  // namespace tachyon
