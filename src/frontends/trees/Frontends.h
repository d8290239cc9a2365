// Readers that turn a trained tree ensemble file into the tree IR.
// Every reader verifies the result and throws tachyon::Error naming the file,
// the tree/node or key, and the reason on malformed input.
#pragma once

#include "ir/TreeEnsemble.h"

#include <string>

namespace tachyon::trees {

// XGBoost `Booster.save_model("m.json")` (gbtree booster).
Ensemble readXgboostJson(const std::string& path);
// The tachyon-trees JSON written by scripts/make_tree_fixtures.py (docs/trees.md).
Ensemble readTachyonJson(const std::string& path);
// TMVA BDT weight file (`dataset/weights/*_BDT.weights.xml`).
Ensemble readTmvaXml(const std::string& path);

// `v` rounded to float, as XGBoost and TMVA store it. A finite value beyond float's range
// is an error (the conversion would be undefined behaviour), naming `where`.
float toFloat32(double v, const std::string& where);

enum class TreeFormat { None, Xgboost, TachyonJson, Tmva };
// Looks at the file's content (not only its name); None when it is no tree model.
TreeFormat detectTreeFormat(const std::string& path);
// Dispatches on detectTreeFormat; throws when the file is not a tree model.
Ensemble readTreeModel(const std::string& path);

}  // namespace tachyon::trees
