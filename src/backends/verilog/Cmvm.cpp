#include "backends/verilog/Cmvm.h"

#include "util/Error.h"

#include <algorithm>
#include <queue>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace tachyon::verilog {

std::vector<int> csdDigits(int64_t v) {
    // Non-adjacent form: at each odd step pick the digit (+1 or -1) that leaves a
    // multiple of 4, which guarantees no two adjacent non-zero digits.
    std::vector<int> digits;
    Int128 x = v;
    while (x != 0) {
        int d = 0;
        if (x & 1) {
            d = int(2 - int((x % 4 + 4) % 4));  // x mod 4 == 1 -> +1, == 3 -> -1
            x -= d;
        }
        digits.push_back(d);
        x /= 2;
    }
    return digits;
}

std::vector<int> AdderGraph::depths() const {
    std::vector<int> d(size_t(nIn) + nodes.size(), 0);
    for (size_t k = 0; k < nodes.size(); ++k)
        d[size_t(nIn) + k] = std::max(d[size_t(nodes[k].a.sig)], d[size_t(nodes[k].b.sig)]) + 1;
    return d;
}

int AdderGraph::depth() const {
    std::vector<int> d = depths();
    int best = 0;
    for (const auto& o : outputs)
        if (o) best = std::max(best, d[size_t(o->sig)]);
    return best;
}

std::vector<std::vector<Int128>> AdderGraph::coefficients() const {
    std::vector<std::vector<Int128>> c(size_t(nIn) + nodes.size(), std::vector<Int128>(size_t(nIn), 0));
    for (int i = 0; i < nIn; ++i) c[size_t(i)][size_t(i)] = 1;
    for (size_t k = 0; k < nodes.size(); ++k) {
        const AdderNode& n = nodes[k];
        auto& out = c[size_t(nIn) + k];
        for (int i = 0; i < nIn; ++i) {
            Int128 b = c[size_t(n.b.sig)][size_t(i)] * (Int128(1) << n.b.shift);
            out[size_t(i)] = c[size_t(n.a.sig)][size_t(i)] + (n.b.neg ? -b : b);
        }
    }
    return c;
}

std::vector<Int128> evaluate(const AdderGraph& g, const std::vector<Int128>& x) {
    std::vector<Int128> v(x);
    v.resize(size_t(g.nIn) + g.nodes.size());
    auto term = [&](const Term& t) {
        Int128 s = v[size_t(t.sig)] * (Int128(1) << t.shift);
        return t.neg ? -s : s;
    };
    for (size_t k = 0; k < g.nodes.size(); ++k) v[size_t(g.nIn) + k] = term(g.nodes[k].a) + term(g.nodes[k].b);
    std::vector<Int128> y;
    for (const auto& o : g.outputs) y.push_back(o ? term(*o) : Int128(0));
    return y;
}

namespace {

// A pair of terms in canonical order (smaller shift first, then smaller signal),
// identified by what an adder computing it needs: the signals, the shift difference
// and whether the signs differ.
struct PairKey {
    int x, y, d;
    bool rel;
    uint64_t pack() const {
        return (uint64_t(uint32_t(x)) << 40) | (uint64_t(uint32_t(y)) << 16) | (uint64_t(d) << 1) | uint64_t(rel);
    }
};

PairKey keyOf(const Term& t1, const Term& t2) {
    const bool swap = t2.shift < t1.shift || (t2.shift == t1.shift && t2.sig < t1.sig);
    const Term& a = swap ? t2 : t1;
    const Term& b = swap ? t1 : t2;
    return {a.sig, b.sig, b.shift - a.shift, a.neg != b.neg};
}

class Builder {
public:
    explicit Builder(int nIn) { g_.nIn = nIn; depth_.assign(size_t(nIn), 0); }

    int depthOf(int sig) const { return depth_[size_t(sig)]; }
    int pairDepth(const PairKey& k) const { return std::max(depthOf(k.x), depthOf(k.y)) + 1; }

    // The adder for a canonical pair (created once, shared by every user).
    int node(const PairKey& k) {
        auto [it, fresh] = index_.try_emplace(k.pack(), 0);
        if (fresh) {
            it->second = g_.nIn + int(g_.nodes.size());
            g_.nodes.push_back({Term{k.x, 0, false}, Term{k.y, k.d, k.rel}});
            depth_.push_back(pairDepth(k));
        }
        return it->second;
    }
    // t1 + t2 as one term: (adder of the canonical pair) shifted and signed.
    Term sum(const Term& t1, const Term& t2) {
        PairKey k = keyOf(t1, t2);
        const Term& first = (t2.shift < t1.shift || (t2.shift == t1.shift && t2.sig < t1.sig)) ? t2 : t1;
        return Term{node(k), first.shift, first.neg};
    }
    AdderGraph& graph() { return g_; }

private:
    AdderGraph g_;
    std::vector<int> depth_;
    std::unordered_map<uint64_t, int> index_;
};

void extractCommonPairs(Builder& b, std::vector<std::vector<Term>>& terms) {
    std::unordered_map<uint64_t, int> count;
    std::unordered_map<uint64_t, PairKey> keys;
    // Lazy max-heap of (count, -depth, key); stale entries are re-checked when popped.
    using Entry = std::tuple<int, int, uint64_t>;
    std::priority_queue<Entry> heap;
    auto bump = [&](const Term& t1, const Term& t2, int delta) {
        PairKey k = keyOf(t1, t2);
        uint64_t p = k.pack();
        int& c = count[p];
        c += delta;
        if (delta > 0) {
            keys.emplace(p, k);
            if (c >= 2) heap.emplace(c, -b.pairDepth(k), p);
        }
    };
    // Which outputs contain a signal, to find occurrences without scanning every output.
    std::vector<std::unordered_set<int>> users(size_t(b.graph().nIn));
    for (size_t j = 0; j < terms.size(); ++j) {
        for (size_t u = 0; u < terms[j].size(); ++u) {
            users[size_t(terms[j][u].sig)].insert(int(j));
            for (size_t v = u + 1; v < terms[j].size(); ++v) bump(terms[j][u], terms[j][v], +1);
        }
    }
    while (!heap.empty()) {
        auto [c, negDepth, p] = heap.top();
        heap.pop();
        const int now = count[p];
        if (now != c) continue;   // stale; a current entry was pushed when it changed
        if (now < 2) break;
        const PairKey k = keys.at(p);
        // Collect the outputs to visit before creating the node (users may grow).
        std::vector<int> outs;
        for (int j : users[size_t(k.x)])
            if (users[size_t(k.y)].count(j)) outs.push_back(j);
        std::sort(outs.begin(), outs.end());
        const int nodeSig = b.node(k);
        if (users.size() <= size_t(nodeSig)) users.resize(size_t(nodeSig) + 1);
        for (int j : outs) {
            auto& ts = terms[size_t(j)];
            for (size_t u = 0; u < ts.size(); ++u) {
                if (ts[u].sig != k.x) continue;
                const Term t = ts[u];
                auto partner = std::find_if(ts.begin(), ts.end(), [&](const Term& v) {
                    return v.sig == k.y && v.shift == t.shift + k.d && v.neg == (t.neg != k.rel) && !(v == t);
                });
                if (partner == ts.end()) continue;
                const Term v = *partner;
                // Remove both terms (and their pairs), add the node term (and its pairs).
                for (const Term& o : ts)
                    if (!(o == t)) bump(t, o, -1);
                for (const Term& o : ts)
                    if (!(o == t) && !(o == v)) bump(v, o, -1);
                ts.erase(std::remove_if(ts.begin(), ts.end(), [&](const Term& o) { return o == t || o == v; }),
                         ts.end());
                const Term n{nodeSig, t.shift, t.neg};
                for (const Term& o : ts) bump(n, o, +1);
                ts.push_back(n);
                users[size_t(nodeSig)].insert(j);
                u = size_t(-1);  // the list changed; rescan for further occurrences
            }
        }
    }
}

}  // namespace

AdderGraph buildCmvm(const std::vector<int64_t>& matrix, int nIn, int nOut, const CmvmOptions& opt) {
    if (matrix.size() != size_t(nIn) * size_t(nOut))
        throw Error("CMVM: matrix has " + std::to_string(matrix.size()) + " entries, expected " +
                    std::to_string(nIn) + "x" + std::to_string(nOut));
    Builder b(nIn);
    std::vector<std::vector<Term>> terms(static_cast<size_t>(nOut));
    size_t pairs = 0;
    for (int j = 0; j < nOut; ++j) {
        for (int i = 0; i < nIn; ++i) {
            std::vector<int> d = csdDigits(matrix[size_t(i) * nOut + j]);
            for (size_t s = 0; s < d.size(); ++s)
                if (d[s] != 0) terms[size_t(j)].push_back(Term{i, int(s), d[s] < 0});
        }
        pairs += terms[size_t(j)].size() * terms[size_t(j)].size() / 2;
    }
    if (opt.cse && pairs <= opt.maxPairs) extractCommonPairs(b, terms);

    // Sum what is left of each output, shallowest terms first.
    AdderGraph& g = b.graph();
    g.outputs.resize(size_t(nOut));
    for (int j = 0; j < nOut; ++j) {
        auto& ts = terms[size_t(j)];
        if (ts.empty()) continue;
        using Item = std::pair<int, size_t>;  // (depth, index into pool)
        std::vector<Term> pool(ts.begin(), ts.end());
        std::priority_queue<Item, std::vector<Item>, std::greater<Item>> q;
        for (size_t k = 0; k < pool.size(); ++k) q.emplace(b.depthOf(pool[k].sig), k);
        while (q.size() > 1) {
            Term t1 = pool[q.top().second];
            q.pop();
            Term t2 = pool[q.top().second];
            q.pop();
            pool.push_back(b.sum(t1, t2));
            q.emplace(b.depthOf(pool.back().sig), pool.size() - 1);
        }
        g.outputs[size_t(j)] = pool[q.top().second];
    }
    return g;
}

}  // namespace tachyon::verilog
