// The three types of a tree ensemble's fixed-point arithmetic (the TreeEnsemble layer's
// precision variables: its Input's result, its threshold and its result; config/TreeKeys.cpp
// maps the tree configuration keys onto them).
#pragma once

#include "fixed/FixedType.h"

namespace tachyon::trees {

struct TreeConfig {
    FixedType input = FixedType::fixed(18, 8);       // features
    FixedType threshold = FixedType::fixed(18, 8);   // split thresholds
    FixedType score = FixedType::fixed(18, 8);       // leaves, base score, every adder and the output
};

}  // namespace tachyon::trees
