// TMVA BDT weight XML.
#include "fuzz_trees.inc"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzzTreeModel(data, size, ".xml"); }
