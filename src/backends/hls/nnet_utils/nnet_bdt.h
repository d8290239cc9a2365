// Boosted decision trees (a TreeEnsemble layer, docs/trees.md), io_parallel:
//   each tree walks from its root, going left when x[feature] < threshold (x <= threshold
//   when `less` is false), compared exactly; the leaf values, base scores and every adder
//   are of the result type; per class, the terms [base, leaves of its trees in model
//   order] are reduced by the balanced adder tree: at each level term i becomes
//   result(term 2i + term 2i+1), an odd last term moves up unchanged.
// The nodes of all trees lie in one set of arrays: tree t's are [tree_start[t],
// tree_start[t + 1]), children as absolute indices, feature -1 for a leaf.
#ifndef NNET_BDT_H_
#define NNET_BDT_H_

#include "nnet_common.h"

namespace nnet {

struct bdt_config {
    // Overridden per layer in parameters.h.
    static const unsigned n_features = 1;
    static const unsigned n_classes = 1;
    static const unsigned n_trees = 1;
    static const unsigned n_nodes = 1;     // all trees together
    static const unsigned max_depth = 1;   // splits on the longest root-to-leaf path
    static const bool less = true;
};

template <class data_T, class res_T, typename CONFIG_T>
void bdt(const data_T x[CONFIG_T::n_features], res_T score[CONFIG_T::n_classes],
         const typename CONFIG_T::threshold_t threshold[CONFIG_T::n_nodes], const int feature[CONFIG_T::n_nodes],
         const int left[CONFIG_T::n_nodes], const int right[CONFIG_T::n_nodes], const res_T leaf[CONFIG_T::n_nodes],
         const int tree_start[CONFIG_T::n_trees], const int tree_class[CONFIG_T::n_trees],
         const res_T base[CONFIG_T::n_classes]) {
    #pragma HLS PIPELINE II=1
    res_T value[CONFIG_T::n_trees];
    for (unsigned t = 0; t < CONFIG_T::n_trees; t++) {
        #pragma HLS UNROLL
        int n = tree_start[t];
        for (unsigned d = 0; d < CONFIG_T::max_depth; d++) {
            #pragma HLS UNROLL
            if (feature[n] >= 0) {
                const data_T v = x[feature[n]];
                const bool go_left = CONFIG_T::less ? v < threshold[n] : v <= threshold[n];
                n = go_left ? left[n] : right[n];
            }
        }
        value[t] = leaf[n];
    }
    for (unsigned k = 0; k < CONFIG_T::n_classes; k++) {
        #pragma HLS UNROLL
        res_T terms[CONFIG_T::n_trees + 1];
        unsigned m = 0;
        terms[m++] = base[k];
        for (unsigned t = 0; t < CONFIG_T::n_trees; t++) {
            #pragma HLS UNROLL
            if (tree_class[t] == int(k)) terms[m++] = value[t];
        }
        // Pairwise sums, level by level: at most ceil(log2(n_trees + 1)) levels, a constant
        // trip count (levels past the last are skipped by the guard; no `while`).
        static const int levels = ceil_log2(CONFIG_T::n_trees + 1);
        for (int level = 0; level < levels; level++) {
            #pragma HLS UNROLL
            if (m > 1) {
                const unsigned half = m / 2;
                for (unsigned i = 0; i < half; i++) {
                    #pragma HLS UNROLL
                    terms[i] = terms[2 * i] + terms[2 * i + 1];
                }
                if (m & 1) terms[half] = terms[m - 1];
                m = half + (m & 1);
            }
        }
        score[k] = terms[0];
    }
}

}  // namespace nnet

#endif
