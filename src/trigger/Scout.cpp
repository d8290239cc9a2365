#include "trigger/Scout.h"

#include "trigger/Rates.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <queue>
#include <random>
#include <sstream>

namespace tachyon::trigger {

std::vector<bool> trainFilling(int bunches) {
    if (bunches < 1 || bunches > kOrbitSlots) throw Error("--bunches: expected 1..3564, got " + std::to_string(bunches));
    std::vector<bool> f(kOrbitSlots, false);
    int filled = 0;
    for (int slot = 0; slot < kOrbitSlots && filled < bunches; ++slot)
        if (slot % 56 < 48) f[size_t(slot)] = true, ++filled;
    for (int slot = 0; slot < kOrbitSlots && filled < bunches; ++slot)   // the gaps, when more are asked
        if (!f[size_t(slot)]) f[size_t(slot)] = true, ++filled;
    return f;
}

std::vector<bool> readFilling(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open filling scheme");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str(), flags;
    for (char c : text)
        if (!std::isspace(static_cast<unsigned char>(c)) && c != ',') flags += c;
    std::vector<bool> f(kOrbitSlots, false);
    if (flags.size() == size_t(kOrbitSlots) && flags.find_first_not_of("01") == std::string::npos) {
        for (size_t i = 0; i < flags.size(); ++i) f[i] = flags[i] == '1';
    } else {
        // A list of filled slot numbers.
        for (char& c : text)
            if (c == ',') c = ' ';
        std::istringstream list(text);
        std::string tok;
        while (list >> tok) {
            size_t pos = 0;
            int slot = -1;
            try {
                slot = std::stoi(tok, &pos);
            } catch (...) {
            }
            if (pos != tok.size() || slot < 0 || slot >= kOrbitSlots)
                throw Error(path + ": '" + tok + "' is not a slot number 0..3563 (or give 3564 characters 0/1)");
            f[size_t(slot)] = true;
        }
    }
    if (std::none_of(f.begin(), f.end(), [](bool b) { return b; })) throw Error(path + ": no filled bunch slot");
    return f;
}

namespace {

// The event stream: times of events in [0, duration), and each one's object count.
class Arrivals {
public:
    Arrivals(const ScoutConfig& c, std::mt19937_64& rng) : c_(c), rng_(rng), exp_(c.eventRateHz), pois_(c.objects) {
        if (!(c.eventRateHz > 0)) throw Error("scout: the event rate must be > 0 Hz");
        if (c.lhcPattern) {
            const long long filled = std::count(c.filling.begin(), c.filling.end(), true);
            p_ = c.eventRateHz / (double(filled) * kLhcRevolutionHz);
            if (p_ > 1.0) {
                std::ostringstream os;
                os << "scout: --rate " << c.eventRateHz << " Hz exceeds the " << filled << " filled bunches x 11245.6 Hz = "
                   << double(filled) * kLhcRevolutionHz << " Hz of crossings";
                throw Error(os.str());
            }
        }
    }
    // False at the end of the simulated time.
    bool next(double& t, int& objects) {
        if (c_.lhcPattern) {
            std::bernoulli_distribution hit(p_);
            const double spacing = kOrbitSeconds / kOrbitSlots;
            for (;;) {
                const long long s = slot_++;
                t = double(s) * spacing;
                if (t >= c_.durationSeconds) return false;
                if (c_.filling[size_t(s % kOrbitSlots)] && hit(rng_)) break;
            }
        } else {
            now_ += exp_(rng_);
            t = now_;
            if (t >= c_.durationSeconds) return false;
        }
        switch (c_.objectsMode) {
        case ScoutConfig::Objects::Fixed: objects = int(c_.objects); break;
        case ScoutConfig::Objects::Poisson: objects = pois_(rng_); break;
        case ScoutConfig::Objects::List: objects = c_.objectList[listPos_++ % c_.objectList.size()]; break;
        }
        return true;
    }

private:
    const ScoutConfig& c_;
    std::mt19937_64& rng_;
    std::exponential_distribution<double> exp_;
    std::poisson_distribution<int> pois_;
    double p_ = 0, now_ = 0;
    long long slot_ = 0;
    size_t listPos_ = 0;
};

// Batches go, in dispatch order, to the worker that is free first (FIFO G/G/N).
class Farm {
public:
    Farm(const ScoutConfig& c, ScoutResult& r) : c_(c), r_(r) {
        for (int i = 0; i < c.workers; ++i) free_.push(0.0);
    }
    void dispatch(double time, const std::vector<double>& arrivals) {
        const double ready = free_.top();
        free_.pop();
        const double start = std::max(time, ready);
        const double end = start + c_.batchSeconds(int(arrivals.size()));
        free_.push(end);
        for (double a : arrivals) {
            r_.meanWait += time - a;
            r_.meanQueue += start - time;
            r_.meanCompute += end - start;
            latencies.push_back(end - a);
        }
        waiting_.push_back({start, (long long)arrivals.size()});
        waitingObjects_ += (long long)arrivals.size();
        r_.utilisation += end - start;
        if (r_.batches == 0) firstDispatch_ = time, firstEnd = end, firstSize = (long long)arrivals.size();
        lastDispatch_ = time;
        ++r_.batches;
        r_.processed += (long long)arrivals.size();
        finish = std::max(finish, end);
    }
    // Objects in dispatched batches that have not started by `t`.
    long long waitingAt(double t) {
        while (!waiting_.empty() && waiting_.front().first <= t) {
            waitingObjects_ -= waiting_.front().second;
            waiting_.pop_front();
        }
        return waitingObjects_;
    }
    double fillSeconds() const { return r_.batches > 1 ? (lastDispatch_ - firstDispatch_) / double(r_.batches - 1) : 0; }

    std::vector<double> latencies;
    double finish = 0, firstEnd = 0;
    long long firstSize = 0;

private:
    const ScoutConfig& c_;
    ScoutResult& r_;
    std::priority_queue<double, std::vector<double>, std::greater<double>> free_;
    std::deque<std::pair<double, long long>> waiting_;
    long long waitingObjects_ = 0;
    double firstDispatch_ = 0, lastDispatch_ = 0;
};

double quantile(std::vector<double>& v, double q) {
    if (v.empty()) return 0;
    const size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return v[k];
}

}  // namespace

std::function<double(int)> interpolatedBatchTime(const std::map<int, double>& t) {
    if (t.empty()) throw Error("scout: no batch times");
    return [t](int n) {
        if (t.size() == 1) return t.begin()->second;
        auto hi = t.lower_bound(n);
        if (hi == t.end()) --hi;        // beyond the largest: the last segment's slope
        if (hi == t.begin()) ++hi;      // below the smallest: the first segment's slope
        const auto lo = std::prev(hi);
        const double slope = (hi->second - lo->second) / double(hi->first - lo->first);
        return std::max(0.0, lo->second + slope * double(n - lo->first));
    };
}

std::map<int, double> perfBatchTimes(const std::string& text, const std::string& source) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        throw Error(source + ": not JSON (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("results") || !j["results"].is_array())
        throw Error(source + ": expected `tachyon perf --json` output (an object with \"results\")");
    std::map<int, std::pair<double, double>> best;   // batch -> (concurrency, seconds)
    for (const auto& r : j["results"]) {
        if (!r.is_object() || !r.contains("batch_size") || !r.contains("avg_us") || !r["batch_size"].is_number() ||
            !r["avg_us"].is_number())
            throw Error(source + ": results: each entry needs batch_size and avg_us");
        const int b = r["batch_size"].get<int>();
        const double conc = r.contains("concurrency") && r["concurrency"].is_number() ? r["concurrency"].get<double>() : 1;
        const double s = r["avg_us"].get<double>() * 1e-6;
        if (b < 1 || !(s > 0)) continue;   // failed levels report no time
        auto it = best.find(b);
        if (it == best.end() || conc < it->second.first) best[b] = {conc, s};
    }
    std::map<int, double> out;
    for (const auto& [b, cs] : best) out[b] = cs.second;
    if (out.empty()) throw Error(source + ": no batch size with a measured time");
    return out;
}

ScoutResult simulateScout(const ScoutConfig& c) {
    if (c.batchSize < 1) throw Error("scout: the batch size must be >= 1");
    if (c.workers < 1) throw Error("scout: at least one worker");
    if (!c.batchSeconds) throw Error("scout: no compute time per batch");
    if (c.objectsMode == ScoutConfig::Objects::List && c.objectList.empty())
        throw Error("scout: the list of objects per event is empty");
    ScoutResult r;
    r.batchSize = c.batchSize;
    r.simulatedSeconds = c.durationSeconds;
    std::mt19937_64 rng(c.seed);
    Arrivals arrivals(c, rng);
    Farm farm(c, r);
    std::vector<double> collecting;
    double occupancySum = 0;
    double t = 0;
    int n = 0;
    while (arrivals.next(t, n)) {
        ++r.events;
        const long long droppedBefore = r.dropped;
        for (int k = 0; k < n; ++k) {
            ++r.objects;
            if (c.maxDelaySeconds > 0 && !collecting.empty() && t > collecting.front() + c.maxDelaySeconds) {
                farm.dispatch(collecting.front() + c.maxDelaySeconds, collecting);
                collecting.clear();
            }
            const long long occupancy = farm.waitingAt(t) + (long long)collecting.size();
            occupancySum += double(occupancy);
            r.maxOccupancy = std::max(r.maxOccupancy, occupancy);
            if (c.bufferObjects > 0 && occupancy >= c.bufferObjects) {
                ++r.dropped;
                continue;
            }
            collecting.push_back(t);
            if (int(collecting.size()) == c.batchSize) {
                farm.dispatch(t, collecting);
                collecting.clear();
            }
        }
        if (r.dropped > droppedBefore) ++r.deadEvents;
    }
    // A partial batch is closed by its delay; without one it stays in the buffer at the end.
    if (c.maxDelaySeconds > 0 && !collecting.empty()) farm.dispatch(collecting.front() + c.maxDelaySeconds, collecting);
    const double done = double(std::max<long long>(1, r.processed));
    r.meanWait /= done;
    r.meanQueue /= done;
    r.meanCompute /= done;
    r.offeredHz = double(r.objects) / c.durationSeconds;
    // The rate results come out at, from the first batch's result to the last: a stable farm
    // keeps up with the arrivals, an overloaded one shows its capacity; neither the first
    // fill nor a partial batch left at the end biases it.
    const double span = farm.finish - farm.firstEnd;
    r.sustainedHz = r.batches > 1 && span > 0 ? double(r.processed - farm.firstSize) / span
                                              : double(r.processed) / c.durationSeconds;
    r.utilisation /= double(c.workers) * std::max(c.durationSeconds, farm.finish);
    r.fillSeconds = farm.fillSeconds();
    r.meanOccupancy = r.objects ? occupancySum / double(r.objects) : 0;
    double sum = 0;
    for (double l : farm.latencies) sum += l, r.maxLatency = std::max(r.maxLatency, l);
    r.meanLatency = farm.latencies.empty() ? 0 : sum / double(farm.latencies.size());
    r.p50 = quantile(farm.latencies, 0.50);
    r.p99 = quantile(farm.latencies, 0.99);
    return r;
}

}  // namespace tachyon::trigger
