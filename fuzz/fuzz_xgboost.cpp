// XGBoost JSON (and the tachyon-trees JSON the same detector routes).
#include "fuzz_trees.inc"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzzTreeModel(data, size, ".json"); }
