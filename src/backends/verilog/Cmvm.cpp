#include "backends/verilog/Cmvm.h"

#include "backends/verilog/Netlist.h"
#include "backends/verilog/PairCounts.h"

#include "util/Error.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
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

int adderBits(Int128 lo, Int128 hi, int shift) { return std::max(1, signedBits(lo, hi) - shift); }

std::pair<Int128, Int128> termSumRange(std::pair<Int128, Int128> a, std::pair<Int128, Int128> b, int shift, bool neg) {
    const Int128 s = Int128(1) << shift;
    const Int128 bl = b.first * s, bh = b.second * s;
    return neg ? std::make_pair(a.first - bh, a.second - bl) : std::make_pair(a.first + bl, a.second + bh);
}

int64_t lutBits(const AdderGraph& g, const std::vector<std::pair<Int128, Int128>>& inputRange) {
    std::vector<std::pair<Int128, Int128>> range(inputRange);
    int64_t bits = 0;
    for (const AdderNode& n : g.nodes) {
        range.push_back(termSumRange(range.at(size_t(n.a.sig)), range.at(size_t(n.b.sig)), n.b.shift, n.b.neg));
        bits += adderBits(range.back().first, range.back().second, n.b.shift);
    }
    return bits;
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
    static PairKey unpack(uint64_t p) {
        return {int(p >> 40), int((p >> 16) & 0xFFFFFF), int((p >> 1) & 0x7FFF), (p & 1) != 0};
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
    // share = false: every adder is built for its own output (CSD-only, nothing shared,
    // not even pairs that two outputs' trees happen to form identically).
    Builder(int nIn, const std::vector<std::pair<Int128, Int128>>& inputRange, bool share) : share_(share) {
        g_.nIn = nIn;
        depth_.assign(size_t(nIn), 0);
        for (int i = 0; i < nIn; ++i)
            range_.push_back(inputRange.empty() ? std::make_pair(Int128(-128), Int128(127)) : inputRange.at(size_t(i)));
    }

    int depthOf(int sig) const { return depth_[size_t(sig)]; }
    int pairDepth(const PairKey& k) const { return std::max(depthOf(k.x), depthOf(k.y)) + 1; }
    // Range of x + ±(y << d) and the LUT bits of its adder.
    std::pair<Int128, Int128> pairRange(const PairKey& k) const {
        return termSumRange(range_[size_t(k.x)], range_[size_t(k.y)], k.d, k.rel);
    }
    int pairBits(const PairKey& k) const {
        const auto [lo, hi] = pairRange(k);
        return adderBits(lo, hi, k.d);
    }

    // The adder for a canonical pair (created once, shared by every user).
    int node(const PairKey& k) {
        auto [it, fresh] = index_.try_emplace(k.pack(), 0);
        if (fresh || !share_) {
            it->second = g_.nIn + int(g_.nodes.size());
            g_.nodes.push_back({Term{k.x, 0, false}, Term{k.y, k.d, k.rel}});
            depth_.push_back(pairDepth(k));
            range_.push_back(pairRange(k));
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
    std::vector<std::pair<Int128, Int128>> range_;   // raw range of every signal
    std::unordered_map<uint64_t, int> index_;
    bool share_ = true;
};

// The smallest adder depth of a sum of terms of depths d_i, which summing the two
// shallowest first attains: ceil(log2(sum_i 2^d_i)). `kraft` holds sum_i 2^d_i.
int treeDepth(Int128 kraft) {
    int d = 0;
    while ((Int128(1) << d) < kraft) ++d;
    return d;
}

void extractCommonPairs(Builder& b, std::vector<std::vector<Term>>& terms, int delayConstraint, int maxSharedDepth) {
    size_t pairs = 0;
    for (const auto& ts : terms) pairs += ts.size() * ts.size() / 2;
    PairCounts count(pairs / 2);
    std::unordered_set<uint64_t> blocked;   // pairs that would break the depth budget
    // Lazy max-heap of (LUT bits saved, -depth, uses, key): sharing a pair used c times
    // replaces c adders by one. An entry whose count has changed is stale: when popped
    // it is dropped if the count grew (the larger count has its own entry) and pushed
    // again with the current count if it shrank, so that the heap always holds an
    // entry for every pair's current count without pushing on every decrement.
    using Entry = std::tuple<int64_t, int, int, uint64_t>;
    std::priority_queue<Entry> heap;
    auto push = [&](uint64_t p, int c) {
        const PairKey k = PairKey::unpack(p);
        heap.emplace(int64_t(c - 1) * b.pairBits(k), -b.pairDepth(k), c, p);
    };
    bool counting = true;   // the first count of all pairs pushes nothing until it is done
    auto bump = [&](const Term& t1, const Term& t2, int delta) {
        const uint64_t p = keyOf(t1, t2).pack();
        int& c = count[p];
        c += delta;
        if (delta > 0 && c >= 2 && !counting) push(p, c);
    };
    // Depth budget per output: 2^limit >= sum over its terms of 2^depth (treeDepth).
    const size_t nOut = terms.size();
    std::vector<Int128> kraft(nOut, 0);
    std::vector<int> limit(nOut, 0);
    for (size_t j = 0; j < nOut; ++j) {
        kraft[j] = Int128(terms[j].size());
        limit[j] = treeDepth(kraft[j]) + std::max(delayConstraint, 0);
    }
    auto fits = [&](size_t j, const Term& t, const Term& v, int nodeDepth) {
        if (delayConstraint < 0) return true;
        const Int128 k = kraft[j] - (Int128(1) << b.depthOf(t.sig)) - (Int128(1) << b.depthOf(v.sig)) +
                         (Int128(1) << nodeDepth);
        return treeDepth(k) <= limit[j];
    };
    // The term of output j that pairs with t under k, if any.
    auto partnerOf = [](const std::vector<Term>& ts, const Term& t, const PairKey& k) {
        return std::find_if(ts.begin(), ts.end(), [&](const Term& v) {
            return v.sig == k.y && v.shift == t.shift + k.d && v.neg == (t.neg != k.rel) && !(v == t);
        });
    };
    // Which outputs contain a signal, to find occurrences without scanning every output.
    std::vector<std::unordered_set<int>> users(size_t(b.graph().nIn));
    for (size_t j = 0; j < terms.size(); ++j) {
        for (size_t u = 0; u < terms[j].size(); ++u) {
            users[size_t(terms[j][u].sig)].insert(int(j));
            for (size_t v = u + 1; v < terms[j].size(); ++v) bump(terms[j][u], terms[j][v], +1);
        }
    }
    counting = false;
    count.forEach([&](uint64_t p, int c) {
        if (c >= 2) push(p, c);
    });
    while (!heap.empty()) {
        const auto [saved, negDepth, c, p] = heap.top();
        heap.pop();
        const int now = count.get(p);
        if (now != c) {
            if (now < c && now >= 2) push(p, now);
            continue;
        }
        if (c < 2 || blocked.count(p)) continue;   // over budget
        const PairKey k = PairKey::unpack(p);
        const int nodeDepth = b.pairDepth(k);
        if (maxSharedDepth >= 0 && nodeDepth > maxSharedDepth) {
            blocked.insert(p);
            continue;
        }
        // Collect the outputs to visit before creating the node (users may grow).
        std::vector<int> outs;
        for (int j : users[size_t(k.x)])
            if (users[size_t(k.y)].count(j)) outs.push_back(j);
        std::sort(outs.begin(), outs.end());
        if (delayConstraint >= 0) {
            // Worth an adder only where at least two uses stay within their outputs' budgets.
            int usable = 0;
            for (int j : outs)
                for (const Term& t : terms[size_t(j)])
                    if (t.sig == k.x) {
                        auto v = partnerOf(terms[size_t(j)], t, k);
                        if (v != terms[size_t(j)].end() && fits(size_t(j), t, *v, nodeDepth)) ++usable;
                    }
            if (usable < 2) {
                blocked.insert(p);
                continue;
            }
        }
        const int nodeSig = b.node(k);
        if (users.size() <= size_t(nodeSig)) users.resize(size_t(nodeSig) + 1);
        for (int j : outs) {
            auto& ts = terms[size_t(j)];
            for (size_t u = 0; u < ts.size(); ++u) {
                if (ts[u].sig != k.x) continue;
                const Term t = ts[u];
                auto partner = partnerOf(ts, t, k);
                if (partner == ts.end() || !fits(size_t(j), t, *partner, nodeDepth)) continue;
                const Term v = *partner;
                kraft[size_t(j)] += (Int128(1) << nodeDepth) - (Int128(1) << b.depthOf(t.sig)) -
                                    (Int128(1) << b.depthOf(v.sig));
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
    if (!opt.inputRange.empty() && int(opt.inputRange.size()) != nIn)
        throw Error("CMVM: " + std::to_string(opt.inputRange.size()) + " input ranges for " + std::to_string(nIn) +
                    " inputs");
    Builder b(nIn, opt.inputRange, opt.cse);
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
    if (opt.cse && pairs <= opt.maxPairs) {
        const bool tell = opt.progress && pairs >= opt.progressPairs;
        const auto t0 = std::chrono::steady_clock::now();
        if (tell)
            opt.progress("CSE of a " + std::to_string(nIn) + "x" + std::to_string(nOut) + " constant matrix (" +
                         std::to_string(pairs) + " term pairs) ...");
        extractCommonPairs(b, terms, opt.delayConstraint, opt.maxSharedDepth);
        if (tell) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.2f s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            opt.progress("CSE done: " + std::to_string(b.graph().adders()) + " shared adders in " + buf +
                         "; summing what is left per output");
        }
    }

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
