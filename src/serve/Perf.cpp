#include "serve/Perf.h"

#include "serve/PerfClient.h"
#include "serve/Tensor.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <random>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>

extern char** environ;

namespace tachyon::serve {

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Level {
    int batch = 1;
    int concurrency = 0;   // concurrency mode
    double rate = 0;       // request-rate mode (requests/s)
};

struct Result {
    Level level;
    size_t requests = 0, errors = 0, lateSends = 0;
    double seconds = 0;
    double p50 = 0, p90 = 0, p95 = 0, p99 = 0, avg = 0;   // client latency, us
    double serverQueueUs = 0, serverComputeUs = 0, serverAvgBatch = 0;
    std::string firstError;
    double inferPerSec() const { return seconds > 0 ? double(requests) * level.batch / seconds : 0; }
};

// start[:end[:step]] -> the values.
std::vector<double> parseRange(const std::string& text, const char* option) {
    std::vector<double> parts;
    std::stringstream s(text);
    std::string item;
    while (std::getline(s, item, ':')) {
        try {
            size_t used = 0;
            parts.push_back(std::stod(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw Error(std::string(option) + " '" + text + "': expected start[:end[:step]] numbers");
        }
    }
    if (parts.empty() || parts.size() > 3 || parts[0] <= 0) throw Error(std::string(option) + " '" + text + "': expected start[:end[:step]] > 0");
    const double start = parts[0], end = parts.size() > 1 ? parts[1] : start, step = parts.size() > 2 ? parts[2] : 0;
    if (end < start) throw Error(std::string(option) + " '" + text + "': end is below start");
    std::vector<double> v;
    // Without a step, powers of two from start to end (perf_analyzer's usual sweep: 1 2 4 ... 64).
    for (double x = start; x <= end * (1 + 1e-9) && v.size() < 10000; x = step > 0 ? x + step : x * 2) v.push_back(x);
    if (v.back() < end * (1 - 1e-9)) v.push_back(end);
    return v;
}

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const size_t i = std::min(sorted.size() - 1, size_t(std::ceil(p / 100.0 * double(sorted.size()))) - (p > 0 ? 1 : 0));
    return sorted[i];
}

struct ServerTotals {
    uint64_t success = 0, queueNs = 0, computeNs = 0, inferences = 0, executions = 0;
};
ServerTotals serverTotals(PerfClient& c, const PerfOptions& o) {
    ServerTotals t;
    const inference::ModelStatisticsResponse stats = c.statistics(o.model, o.version);
    for (const auto& m : stats.model_stats()) {
        const auto& s = m.inference_stats();
        t.success += s.success().count();
        t.queueNs += s.queue().ns();
        t.computeNs += s.compute_input().ns() + s.compute_infer().ns() + s.compute_output().ns();
        t.inferences += m.inference_count();
        t.executions += m.execution_count();
    }
    return t;
}

class Runner {
public:
    explicit Runner(const PerfOptions& o) : o_(o), control_(makePerfClient(o.protocol, o.url)) {
        const auto md = control_->metadata(o.model, o.version);
        if (md.inputs_size() != 1)
            throw Error("model '" + o.model + "' has " + std::to_string(md.inputs_size()) + " inputs; perf sends one");
        input_ = md.inputs(0).name();
        datatype_ = md.inputs(0).datatype();
        for (int64_t d : md.inputs(0).shape()) sampleShape_.push_back(d);
        // The leading -1 is the batch dimension; other -1s get 1.
        batched_ = !sampleShape_.empty() && sampleShape_[0] == -1;
        if (batched_) sampleShape_.erase(sampleShape_.begin());
        for (int64_t& d : sampleShape_)
            if (d < 0) d = 1;
        datatypeSize(datatype_, "input '" + input_ + "'");
    }

    Result run(const Level& lv) {
        std::vector<int64_t> shape = sampleShape_;
        if (batched_) shape.insert(shape.begin(), lv.batch);
        else if (lv.batch != 1) throw Error("model '" + o_.model + "' has no batch dimension: use --batch-size 1");
        // Random inputs in [-1, 1), fixed seed: every level sends the same data.
        std::mt19937 rng(42);
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        std::vector<double> values(elementCount(shape, "input"));
        for (double& v : values) v = u(rng);
        const std::string raw = encodeRaw(datatype_, values);

        const ServerTotals before = serverTotals(*control_, o_);
        const int workers = lv.concurrency > 0 ? lv.concurrency : std::clamp(int(lv.rate * 0.01) + 8, 8, 256);
        std::vector<std::unique_ptr<PerfClient>> clients;
        for (int i = 0; i < workers; ++i) clients.push_back(makePerfClient(o_.protocol, o_.url));
        // One request per client first: connections open outside the measurement.
        for (auto& c : clients) c->infer(o_.model, o_.version, input_, datatype_, shape, raw);

        std::vector<double> sendOffsets;   // request-rate mode: when request k is due (s)
        if (lv.rate > 0) {
            const size_t n = o_.requestCount ? o_.requestCount : size_t(lv.rate * o_.measurementSeconds) + 1;
            std::mt19937 arrivals(7);
            std::exponential_distribution<double> gap(lv.rate);
            double t = 0;
            for (size_t k = 0; k < n; ++k) {
                sendOffsets.push_back(t);
                t += o_.distribution == "poisson" ? gap(arrivals) : 1.0 / lv.rate;
            }
        }
        std::atomic<size_t> next{0};
        std::atomic<bool> stop{false};
        std::mutex mu;
        Result r;
        r.level = lv;
        std::vector<double> latencies;
        const auto t0 = SteadyClock::now();
        const auto tEnd = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                   std::chrono::duration<double>(o_.measurementSeconds));
        auto worker = [&](PerfClient& c) {
            std::vector<double> mine;
            size_t errors = 0, late = 0;
            std::string firstError;
            for (;;) {
                const size_t k = next++;
                if (stop) break;
                if (lv.rate > 0) {
                    if (k >= sendOffsets.size()) break;
                    const auto due = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                              std::chrono::duration<double>(sendOffsets[k]));
                    if (SteadyClock::now() > due + std::chrono::milliseconds(1)) ++late;
                    std::this_thread::sleep_until(due);
                } else if (o_.requestCount ? k >= o_.requestCount : SteadyClock::now() >= tEnd) {
                    break;
                }
                const auto s = SteadyClock::now();
                const std::string err = c.infer(o_.model, o_.version, input_, datatype_, shape, raw);
                const double us = std::chrono::duration<double, std::micro>(SteadyClock::now() - s).count();
                if (err.empty()) mine.push_back(us);
                else if (errors++ == 0) firstError = err;
            }
            std::lock_guard<std::mutex> lk(mu);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
            r.errors += errors;
            r.lateSends += late;
            if (r.firstError.empty()) r.firstError = firstError;
        };
        std::vector<std::thread> threads;
        for (auto& c : clients) threads.emplace_back(worker, std::ref(*c));
        // Progress on long levels.
        auto lastReport = t0;
        while (true) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            const bool done = o_.requestCount || lv.rate > 0 ? next >= (lv.rate > 0 ? sendOffsets.size() : o_.requestCount)
                                                              : SteadyClock::now() >= tEnd;
            if (done) break;
            if (SteadyClock::now() - lastReport > std::chrono::seconds(5)) {
                lastReport = SteadyClock::now();
                std::cerr << "tachyon perf: ... "
                          << std::chrono::duration<double>(lastReport - t0).count() << " s\n";
            }
        }
        for (auto& t : threads) t.join();
        r.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
        const ServerTotals after = serverTotals(*control_, o_);
        std::sort(latencies.begin(), latencies.end());
        r.requests = latencies.size();
        r.p50 = percentile(latencies, 50);
        r.p90 = percentile(latencies, 90);
        r.p95 = percentile(latencies, 95);
        r.p99 = percentile(latencies, 99);
        double sum = 0;
        for (double l : latencies) sum += l;
        r.avg = latencies.empty() ? 0 : sum / double(latencies.size());
        // Server side (the warm-up requests are in the totals too; they are few).
        const double served = double(after.success - before.success);
        if (served > 0) {
            r.serverQueueUs = double(after.queueNs - before.queueNs) / served / 1000.0;
            r.serverComputeUs = double(after.computeNs - before.computeNs) / served / 1000.0;
        }
        if (after.executions > before.executions)
            r.serverAvgBatch = double(after.inferences - before.inferences) / double(after.executions - before.executions);
        return r;
    }

private:
    const PerfOptions& o_;
    std::unique_ptr<PerfClient> control_;
    std::string input_, datatype_;
    std::vector<int64_t> sampleShape_;
    bool batched_ = false;
};

nlohmann::json toJson(const Result& r) {
    return {{"batch_size", r.level.batch},       {"concurrency", r.level.concurrency},
            {"request_rate", r.level.rate},      {"requests", r.requests},
            {"errors", r.errors},                {"late_sends", r.lateSends},
            {"seconds", r.seconds},              {"throughput_infer_per_sec", r.inferPerSec()},
            {"p50_us", r.p50},                   {"p90_us", r.p90},
            {"p95_us", r.p95},                   {"p99_us", r.p99},
            {"avg_us", r.avg},                   {"server_queue_us", r.serverQueueUs},
            {"server_compute_us", r.serverComputeUs}, {"server_avg_batch", r.serverAvgBatch}};
}

const char* kColumns[] = {"batch_size", "concurrency", "request_rate", "requests", "errors", "late_sends",
                          "seconds", "throughput_infer_per_sec", "p50_us", "p90_us", "p95_us", "p99_us",
                          "avg_us", "server_queue_us", "server_compute_us", "server_avg_batch"};

void writeFile(const std::string& path, const std::string& option, const std::string& text, bool force) {
    AtomicOutput out(path, option, OutputKind::File, {{}, force});
    {
        std::ofstream f(out.tmp());
        f << text;
        if (!f.flush()) throw Error(path + ": cannot write");
    }
    out.commit();
}

// The plot script runs as a child process (posix_spawn, no shell): python3 scripts/perf_plot.py.
void plot(const std::string& jsonPath, const std::string& png, bool force) {
    AtomicOutput out(png, "--png", OutputKind::File, {{}, force});
    const std::string script = std::string(TACHYON_SOURCE_DIR) + "/scripts/perf_plot.py";
    const std::string tmp = out.tmp().string() + ".png";
    std::vector<std::string> args = {"/usr/bin/python3", script, jsonPath, tmp};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
        throw Error("--png: cannot run /usr/bin/python3");
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::remove(tmp.c_str());
        throw Error(png + ": --png: the plot script failed (matplotlib: Debian python3-matplotlib)");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, out.tmp(), ec);
    if (ec) throw Error(png + ": " + ec.message());
    out.commit();
}

}  // namespace

int runPerf(const PerfOptions& o) {
    if (!o.concurrencyRange.empty() && !o.requestRateRange.empty())
        throw Error("--concurrency-range and --request-rate-range: choose one");
    std::vector<Level> levels;
    for (int b : o.batchSizes) {
        if (!o.requestRateRange.empty()) {
            for (double r : parseRange(o.requestRateRange, "--request-rate-range")) levels.push_back({b, 0, r});
        } else {
            for (double c : parseRange(o.concurrencyRange.empty() ? "1" : o.concurrencyRange, "--concurrency-range")) {
                if (c > 4096 || c != std::floor(c)) throw Error("--concurrency-range: whole numbers up to 4096");
                levels.push_back({b, int(c), 0});
            }
        }
    }
    // Output names are checked before the run, not after it.
    for (const auto& [path, option] : {std::pair{o.csv, "--csv"}, std::pair{o.json, "--json"}, std::pair{o.png, "--png"}})
        if (!path.empty()) checkOutput(path, option, OutputKind::File, {{}, o.force});

    Runner runner(o);
    std::vector<Result> results;
    std::cout << std::left << std::setw(7) << "batch" << std::setw(13) << (o.requestRateRange.empty() ? "concurrency" : "rate/s")
              << std::right << std::setw(12) << "infer/s" << std::setw(10) << "p50 us" << std::setw(10) << "p90 us"
              << std::setw(10) << "p95 us" << std::setw(10) << "p99 us" << std::setw(11) << "queue us" << std::setw(12)
              << "compute us" << std::setw(10) << "avg bat" << std::setw(8) << "errors" << "\n";
    bool failures = false;
    for (const Level& lv : levels) {
        Result r = runner.run(lv);
        results.push_back(r);
        std::cout << std::left << std::setw(7) << lv.batch << std::setw(13)
                  << (lv.rate > 0 ? std::to_string(int(lv.rate)) : std::to_string(lv.concurrency)) << std::right
                  << std::fixed << std::setprecision(0) << std::setw(12) << r.inferPerSec() << std::setw(10) << r.p50
                  << std::setw(10) << r.p90 << std::setw(10) << r.p95 << std::setw(10) << r.p99 << std::setprecision(1)
                  << std::setw(11) << r.serverQueueUs << std::setw(12) << r.serverComputeUs << std::setw(10)
                  << r.serverAvgBatch << std::setw(8) << r.errors << std::endl;
        if (r.errors) {
            failures = true;
            std::cerr << "tachyon perf: " << r.errors << " requests failed; first: " << r.firstError << "\n";
        }
    }
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : results) all.push_back(toJson(r));
    const nlohmann::json doc = {{"model", o.model}, {"protocol", o.protocol}, {"url", o.url},
                                {"distribution", o.distribution}, {"results", all}};
    if (!o.csv.empty()) {
        std::ostringstream c;
        for (size_t i = 0; i < std::size(kColumns); ++i) c << (i ? "," : "") << kColumns[i];
        c << "\n";
        for (const auto& row : all) {
            for (size_t i = 0; i < std::size(kColumns); ++i) c << (i ? "," : "") << row[kColumns[i]].dump();
            c << "\n";
        }
        writeFile(o.csv, "--csv", c.str(), o.force);
    }
    if (!o.json.empty()) writeFile(o.json, "--json", doc.dump(2) + "\n", o.force);
    if (!o.png.empty()) {
        // The plot reads the results from a JSON file beside the PNG's temporary.
        const std::string tmpJson = o.png + ".perf.json";
        AtomicOutput scratch(tmpJson, "--png", OutputKind::File, {{}, true});
        {
            std::ofstream f(scratch.tmp());
            f << doc.dump();
        }
        plot(scratch.tmp().string(), o.png, o.force);
    }
    return failures ? 2 : 0;
}

}  // namespace tachyon::serve
