// `tachyon trigger scout`: a discrete-event simulation of a scouting stream feeding a
// model (docs/trigger.md, "Scouting"). Events arrive at the LHC bunch pattern or as a
// Poisson process, each bringing some objects (muons, jets); objects are batched (a fixed
// batch size, or a batch closed after a maximum delay) and the batches are computed by N
// workers in arrival order. Reported: the sustained inference rate, each object's latency
// (batch fill + queue + compute: mean, p50, p99), buffer occupancy, drops and deadtime.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tachyon::trigger {

constexpr int kOrbitSlots = 3564;        // bunch slots per LHC orbit
constexpr double kOrbitSeconds = 89.1e-6;

struct ScoutConfig {
    // Arrivals: Poisson at `eventRateHz`, or at filled bunch slots (`filling`, one flag per
    // slot of an orbit), each filled crossing holding an event with probability
    // eventRateHz / (filled slots x 11,245.6 Hz).
    bool lhcPattern = false;
    std::vector<bool> filling;
    double eventRateHz = 1e6;
    // Objects per event: fixed `objects`, Poisson with mean `objects`, or cycled from a list.
    enum class Objects { Fixed, Poisson, List } objectsMode = Objects::Fixed;
    double objects = 1;
    std::vector<int> objectList;
    // Batching: dispatch at `batchSize` objects, or (maxDelaySeconds > 0) when the oldest
    // object has waited maxDelaySeconds, whatever has arrived.
    int batchSize = 1;
    double maxDelaySeconds = 0;
    int workers = 1;
    // Objects the buffer holds (collecting + waiting batches); an object arriving to a full
    // buffer is dropped. 0 = unbounded.
    long long bufferObjects = 0;
    // Compute time of a batch of n objects, seconds.
    std::function<double(int n)> batchSeconds;
    double durationSeconds = 0.01;   // simulated time of arrivals
    uint64_t seed = 1;
};

struct ScoutResult {
    int batchSize = 0;
    long long events = 0, objects = 0, processed = 0, dropped = 0, batches = 0;
    long long deadEvents = 0;        // events that lost at least one object to a full buffer
    double simulatedSeconds = 0;
    double offeredHz = 0;            // objects per second arriving
    double sustainedHz = 0;          // objects computed per second, first result to last
    double fillSeconds = 0;          // mean time between batch dispatches
    double meanWait = 0, meanQueue = 0, meanCompute = 0;   // per object: fill wait, queue, compute
    double meanLatency = 0, p50 = 0, p99 = 0, maxLatency = 0;
    double meanOccupancy = 0;        // objects buffered, seen by arriving objects
    long long maxOccupancy = 0;
    double utilisation = 0;          // busy worker time / (workers x time)
};

// Filled slots: the first `bunches` of trains of 48 filled + 8 empty slots over the orbit.
std::vector<bool> trainFilling(int bunches);
// A filling scheme file: 3,564 characters 0/1 (whitespace ignored), or filled slot numbers.
std::vector<bool> readFilling(const std::string& path);

ScoutResult simulateScout(const ScoutConfig& cfg);

// Seconds per batch, linear between measured batch sizes and along the last segment's
// slope beyond them (a single point: that time for every size).
std::function<double(int n)> interpolatedBatchTime(const std::map<int, double>& secondsBySize);
// The time per batch size from `tachyon perf --json` results (a KServe v2 server): per
// batch_size, avg_us at the lowest concurrency (one client: the request's own time).
// Throws naming `source` when there is none.
std::map<int, double> perfBatchTimes(const std::string& jsonText, const std::string& source);

}  // namespace tachyon::trigger
