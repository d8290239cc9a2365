// Register-bit reduction after the greedy stage placement (Netlist::reduceRegisters).
//
// The greedy placement fills each stage as far as the budget allows, so a cut often falls
// just after the first levels of a layer's shared adder graph, where the most partial sums
// are alive; a few levels earlier or later the same cut may hold far fewer bits. Retiming
// over the whole graph is a min-cost flow problem; this is its local form: one node at a
// time moves one stage later (its readers all come later) or earlier (its operands all
// come earlier) when the pipeline then declares fewer register bits, and only if the
// stages it leaves and enters still meet the budget by the scheduler's own delay model
// (arrivals recomputed for those stages). Passes repeat until nothing improves. The
// latency never changes.
#include "backends/verilog/Netlist.h"

#include <algorithm>

namespace tachyon::verilog {

int64_t Netlist::reduceRegisters(double budgetNs) {
    for (const Node& n : nodes_)
        if (n.registered) return 0;   // shift-register taps are timed from their source's stage
    if (outputValid_ >= 0) return 0;
    const DelayModel model;
    const std::vector<double> loads = fanoutLoads();
    const size_t N = nodes_.size();
    const int L = latency_;
    std::vector<char> isInput(N, 0), isOutput(N, 0);
    for (const auto& [s, bits] : inputs_) isInput[size_t(s)] = 1;
    for (const auto& [s, w] : outputs_) isOutput[size_t(s)] = 1;
    std::vector<std::vector<int>> readers(N);
    for (size_t i = 0; i < N; ++i)
        for (Sig o : nodes_[i].ops) readers[size_t(o)].push_back(int(i));
    // The stage an operand is seen at (an input behind the input register: one later).
    const auto seenAt = [&](Sig o) { return nodes_[size_t(o)].stage + (isInput[size_t(o)] && registerInputs_ ? 1 : 0); };
    // Register copies of a signal as Netlist::registerCopies counts them.
    const auto copiesOf = [&](size_t k) {
        int c = isOutput[k] ? L - nodes_[k].stage : 0;
        for (int r : readers[k]) c = std::max(c, nodes_[size_t(r)].stage - nodes_[k].stage);
        return c;
    };
    // Nodes per stage in index (topological) order, for the arrival recomputation.
    std::vector<std::vector<int>> byStage(size_t(L) + 1);
    for (size_t i = 0; i < N; ++i) byStage[size_t(std::clamp(nodes_[i].stage, 0, L))].push_back(int(i));
    // The worst arrival of stage t as it stands, computed as schedule() does.
    std::vector<double> arrival(N, 0.0);
    const auto stageWorst = [&](int t) {
        double worst = 0.0;
        for (int v : byStage[size_t(t)]) {
            const Node& n = nodes_[size_t(v)];
            if (isInput[size_t(v)]) continue;
            double a = 0.0;
            for (Sig o : n.ops) {
                const Node& on = nodes_[size_t(o)];
                const bool sameStage = seenAt(o) == t && !isInput[size_t(o)];
                const double net = isWiring(on) && sameStage ? 0.0 : model.fanout(loads[size_t(o)]);
                a = std::max(a, sameStage ? arrival[size_t(o)] + net : on.clockToOut + net);
            }
            arrival[size_t(v)] = a + n.delay;
            worst = std::max(worst, arrival[size_t(v)]);
        }
        return worst;
    };
    std::vector<double> limit(size_t(L) + 1);   // a stage over budget already may not get worse
    for (int t = 0; t <= L; ++t) limit[size_t(t)] = std::max(budgetNs, stageWorst(t));
    const auto moveTo = [&](int v, int to) {
        auto& from = byStage[size_t(nodes_[size_t(v)].stage)];
        from.erase(std::find(from.begin(), from.end(), v));
        auto& into = byStage[size_t(to)];
        into.insert(std::lower_bound(into.begin(), into.end(), v), v);
        nodes_[size_t(v)].stage = to;
    };
    // Register bits of v and its operands (the only copies a move of v changes).
    const auto localBits = [&](int v) {
        int64_t bits = int64_t(copiesOf(size_t(v))) * nodes_[size_t(v)].width;
        std::vector<Sig> ops(nodes_[size_t(v)].ops);
        std::sort(ops.begin(), ops.end());
        ops.erase(std::unique(ops.begin(), ops.end()), ops.end());
        for (Sig o : ops) bits += int64_t(copiesOf(size_t(o))) * nodes_[size_t(o)].width;
        return bits;
    };
    const auto tryMove = [&](int v, int to) {
        const int from = nodes_[size_t(v)].stage;
        const int64_t before = localBits(v);
        moveTo(v, to);
        const int64_t after = localBits(v);
        if (after < before && stageWorst(from) <= limit[size_t(from)] + 1e-9 && stageWorst(to) <= limit[size_t(to)] + 1e-9)
            return before - after;
        moveTo(v, from);
        return int64_t(0);
    };
    int64_t saved = 0;
    for (int pass = 0; pass < 8; ++pass) {
        int64_t gained = 0;
        // Later: every reader (and the output register, for an output) comes after it.
        for (size_t i = N; i-- > 0;) {
            const Node& n = nodes_[i];
            if (isInput[i] || n.ops.empty()) continue;
            const int to = n.stage + 1;
            bool ok = to <= L - 1;
            for (int r : readers[i]) ok = ok && nodes_[size_t(r)].stage >= to;
            if (ok) gained += tryMove(int(i), to);
        }
        // Earlier: every operand is available a stage before.
        for (size_t i = 0; i < N; ++i) {
            const Node& n = nodes_[i];
            if (isInput[i] || n.ops.empty() || n.stage == 0) continue;
            const int to = n.stage - 1;
            bool ok = true;
            for (Sig o : n.ops) ok = ok && seenAt(o) <= to;
            if (ok) gained += tryMove(int(i), to);
        }
        saved += gained;
        if (gained == 0) break;
    }
    // The arrivals schedule() left behind feed stageEstimatesNs: recompute them all.
    for (int t = 0; t <= L; ++t) stageWorst(t);
    for (size_t i = 0; i < N; ++i) nodes_[i].arrival = isInput[i] ? 0.0 : arrival[i];
    return saved;
}

}  // namespace tachyon::verilog
