// Occurrence counts of the CSE's term pairs, keyed by a packed 64-bit pair key.
//
// The CSE touches millions of pairs (every pair of CSD terms of every output, then two
// updates per removed term and pair), and std::unordered_map spends most of that time in
// allocation and pointer chasing. This is an open-addressing table (linear probing,
// power-of-two capacity, at most half full) that never erases: a pair whose count drops
// to zero keeps its slot, which is what the CSE needs (it may come back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tachyon::verilog {

class PairCounts {
public:
    explicit PairCounts(size_t expected = 1024) { rehash(capacityFor(expected)); }

    // The count of `key`, created at 0 on first use.
    int& operator[](uint64_t key) {
        if (2 * (used_ + 1) > keys_.size()) rehash(keys_.size() * 2);
        size_t i = slotOf(key);
        if (keys_[i] != kEmpty) return counts_[i];
        keys_[i] = key;
        ++used_;
        return counts_[i];
    }
    int get(uint64_t key) const {
        const size_t i = slotOf(key);
        return keys_[i] == kEmpty ? 0 : counts_[i];
    }
    // Calls f(key, count) for every key ever touched.
    template <class F>
    void forEach(F&& f) const {
        for (size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] != kEmpty) f(keys_[i], counts_[i]);
    }

private:
    // The packed keys never use all 64 bits set (signal indices stay far below 2^24).
    static constexpr uint64_t kEmpty = ~uint64_t(0);

    static size_t capacityFor(size_t n) {
        size_t c = 16;
        while (c < 2 * n) c *= 2;
        return c;
    }
    // The slot holding `key`, or the empty slot where it would go.
    size_t slotOf(uint64_t key) const {
        // Fibonacci hashing spreads the packed fields (which differ mostly in a few bits).
        const size_t mask = keys_.size() - 1;
        size_t i = size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
        while (keys_[i] != kEmpty && keys_[i] != key) i = (i + 1) & mask;
        return i;
    }
    void rehash(size_t capacity) {
        std::vector<uint64_t> oldKeys(capacity, kEmpty);
        std::vector<int> oldCounts(capacity, 0);
        oldKeys.swap(keys_);
        oldCounts.swap(counts_);
        shift_ = 64;
        for (size_t c = capacity; c > 1; c /= 2) --shift_;   // the top log2(capacity) bits
        for (size_t i = 0; i < oldKeys.size(); ++i)
            if (oldKeys[i] != kEmpty) {
                const size_t s = slotOf(oldKeys[i]);
                keys_[s] = oldKeys[i];
                counts_[s] = oldCounts[i];
            }
    }

    std::vector<uint64_t> keys_;
    std::vector<int> counts_;
    size_t used_ = 0;
    int shift_ = 60;
};

}  // namespace tachyon::verilog
