// `tachyon trigger scout`: options -> ScoutConfig, the compute time per batch (measured on
// the emulator, an FPGA pipeline, or given), a sweep over batch sizes, scout.json and the plot.
#include "api/Api.h"
#include "trigger/Command.h"
#include "trigger/EventFile.h"
#include "trigger/Firmware.h"
#include "trigger/Scout.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "trigger/Study.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::trigger {

namespace {

using api::Json;

std::vector<int> parseBatches(const std::string& text) {
    std::vector<int> out;
    std::stringstream ss(text);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
        size_t pos = 0;
        int b = 0;
        try {
            b = std::stoi(tok, &pos);
        } catch (...) {
        }
        if (b < 1 || pos != tok.size()) throw Error("--batch: '" + tok + "' is not a batch size >= 1");
        out.push_back(b);
    }
    if (out.empty()) throw Error("--batch: no batch size");
    return out;
}

// Median wall time of one predict call on `n` random rows.
double measureBatch(const api::Model& m, int n, bool floatMode) {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> g;
    std::vector<double> x(size_t(n) * size_t(m.inputSize())), y(size_t(n) * size_t(m.outputSize()));
    for (double& v : x) v = g(rng);
    std::vector<double> times;
    const auto t0 = std::chrono::steady_clock::now();
    while (times.size() < 3 ||
           (times.size() < 50 && std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 0.2)) {
        const auto a = std::chrono::steady_clock::now();
        m.predict(x.data(), size_t(n), y.data(), floatMode, 1);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    std::nth_element(times.begin(), times.begin() + long(times.size() / 2), times.end());
    return times[times.size() / 2];
}

struct ComputeModel {
    std::string kind;                     // emulator | fpga | server | fixed
    std::function<double(int)> seconds;   // per batch
    Json describe;
};

ComputeModel computeModel(const ScoutArgs& a, int largestBatch) {
    ComputeModel c;
    const double perObject = a.perObject.empty() ? 0.0 : parseDurationNs(a.perObject, "--per-object") * 1e-9;
    if (!a.service.empty()) {
        const double s = parseDurationNs(a.service, "--service") * 1e-9;
        c.kind = "fixed";
        c.seconds = [s, perObject](int n) { return s + perObject * n; };
        c.describe = {{"kind", "fixed"}, {"batch_seconds", s}, {"per_object_seconds", perObject}};
        return c;
    }
    if (!a.perf.empty()) {
        std::ifstream in(a.perf);
        if (!in) throw Error(a.perf + ": --perf: cannot open file");
        std::stringstream text;
        text << in.rdbuf();
        const std::map<int, double> times = perfBatchTimes(text.str(), a.perf);
        c.kind = "server";
        c.seconds = interpolatedBatchTime(times);
        Json table = Json::object();
        for (const auto& [b, s] : times) table[std::to_string(b)] = s;
        c.describe = {{"kind", "server"}, {"perf", a.perf}, {"batch_seconds", table}};
        return c;
    }
    if (a.fpga || a.iiCycles > 0) {
        long long ii = a.iiCycles, lat = a.latencyCycles;
        double clock = a.clockNs;
        if (!a.model.empty()) {
            const auto m = api::Model::load(a.model, a.config.empty() ? Json(nullptr) : Json(a.config));
            const FirmwareView fw = firmwareView(*m);
            if (!fw.available) throw Error(a.model + ": --fpga: no HLS estimate for this model");
            if (ii == 0) ii = fw.iiCycles;
            if (lat == 0) lat = fw.latencyCycles;
            if (clock == 0) clock = fw.clockNs;
        }
        if (ii < 1 || clock <= 0) throw Error("--fpga: give --model, or --ii-cycles and --clock-ns");
        const double iiS = double(ii) * clock * 1e-9, latS = double(lat) * clock * 1e-9;
        c.kind = "fpga";
        // A pipeline takes one object every II and the last leaves `latency` after it entered.
        c.seconds = [iiS, latS](int n) { return latS + iiS * double(n - 1); };
        c.describe = {{"kind", "fpga"}, {"ii_cycles", ii}, {"latency_cycles", lat}, {"clock_ns", clock}};
        return c;
    }
    if (a.model.empty()) throw Error("scout: give the compute time: --model (measured), --fpga, or --service");
    const auto m = api::Model::load(a.model, a.config.empty() ? Json(nullptr) : Json(a.config));
    // Measured at 1 and at the largest batch; other sizes interpolate linearly between them.
    const double t1 = measureBatch(*m, 1, a.floatMode);
    const double tB = largestBatch > 1 ? measureBatch(*m, largestBatch, a.floatMode) : t1;
    c.kind = "emulator";
    c.seconds = interpolatedBatchTime({{1, t1}, {largestBatch, tB}});
    c.describe = {{"kind", "emulator"},          {"model", a.model},         {"float", a.floatMode},
                  {"seconds_batch_1", t1},       {"largest_batch", largestBatch}, {"seconds_largest_batch", tB},
                  {"note", "one thread per worker, measured on this machine"}};
    return c;
}

Json resultJson(const ScoutResult& r) {
    return {{"batch", r.batchSize},
            {"events", r.events},
            {"objects", r.objects},
            {"processed", r.processed},
            {"dropped", r.dropped},
            {"drop_fraction", r.objects ? double(r.dropped) / double(r.objects) : 0.0},
            {"dead_events", r.deadEvents},
            {"deadtime", r.events ? double(r.deadEvents) / double(r.events) : 0.0},
            {"left_in_buffer", r.objects - r.processed - r.dropped},
            {"batches", r.batches},
            {"offered_hz", r.offeredHz},
            {"sustained_hz", r.sustainedHz},
            {"fill_us", r.fillSeconds * 1e6},
            {"wait_us", r.meanWait * 1e6},
            {"queue_us", r.meanQueue * 1e6},
            {"compute_us", r.meanCompute * 1e6},
            {"latency_mean_us", r.meanLatency * 1e6},
            {"latency_p50_us", r.p50 * 1e6},
            {"latency_p99_us", r.p99 * 1e6},
            {"latency_max_us", r.maxLatency * 1e6},
            {"occupancy_mean", r.meanOccupancy},
            {"occupancy_max", r.maxOccupancy},
            {"utilisation", r.utilisation}};
}

}  // namespace

int cmdScout(const ScoutArgs& a) {
    ScoutConfig cfg;
    cfg.eventRateHz = parseRateHz(a.rate, "--rate");
    if (a.arrivals == "lhc") {
        cfg.lhcPattern = true;
        cfg.filling = a.filling.empty() ? trainFilling(a.bunches) : readFilling(a.filling);
    } else if (a.arrivals != "poisson") {
        throw Error("--arrivals: expected poisson or lhc, got '" + a.arrivals + "'");
    }
    if (!a.objectsFrom.empty()) {
        cfg.objectsMode = ScoutConfig::Objects::List;
        auto reader = openEvents(parseSampleSpec(a.objectsFrom));
        if (a.objectsColumn < 0 || size_t(a.objectsColumn) >= reader->cols())
            throw Error(reader->name() + ": --objects-column " + std::to_string(a.objectsColumn) + " does not exist (" +
                        std::to_string(reader->cols()) + " columns)");
        std::vector<double> block;
        size_t rows;
        while ((rows = reader->read(65536, block)) > 0 && cfg.objectList.size() < 10000000)
            for (size_t r = 0; r < rows; ++r) {
                const double v = block[r * reader->cols() + size_t(a.objectsColumn)];
                if (!(v >= 0) || v != std::floor(v) || v > 1e6)
                    throw Error(reader->name() + ": --objects-column: row " + std::to_string(cfg.objectList.size()) +
                                ": " + std::to_string(v) + " is not a count of objects");
                cfg.objectList.push_back(int(v));
            }
    } else if (a.objects.rfind("poisson:", 0) == 0) {
        cfg.objectsMode = ScoutConfig::Objects::Poisson;
        cfg.objects = std::atof(a.objects.c_str() + 8);
        if (!(cfg.objects > 0)) throw Error("--objects: '" + a.objects + "': the Poisson mean must be > 0");
    } else {
        char* end = nullptr;
        cfg.objects = std::strtod(a.objects.c_str(), &end);
        if (*end || cfg.objects < 1 || cfg.objects != std::floor(cfg.objects))
            throw Error("--objects: '" + a.objects + "': expected a count >= 1 or poisson:MEAN");
    }
    cfg.workers = a.workers;
    cfg.bufferObjects = a.buffer;
    cfg.seed = uint64_t(a.seed);
    cfg.durationSeconds = parseDurationNs(a.duration, "--duration") * 1e-9;
    if (!(cfg.durationSeconds > 0)) throw Error("--duration: must be > 0");
    if (!a.maxDelay.empty()) cfg.maxDelaySeconds = parseDurationNs(a.maxDelay, "--max-delay") * 1e-9;
    const std::vector<int> batches = parseBatches(a.batches);
    if (!a.out.empty()) AtomicOutput probe(a.out, "-o", OutputKind::Study, {{{"model", a.model}}, a.force});

    const ComputeModel compute = computeModel(a, *std::max_element(batches.begin(), batches.end()));
    cfg.batchSeconds = compute.seconds;

    Json out;
    out["arrivals"] = a.arrivals;
    out["event_rate_hz"] = cfg.eventRateHz;
    out["workers"] = cfg.workers;
    out["buffer_objects"] = cfg.bufferObjects;
    out["max_delay_us"] = cfg.maxDelaySeconds * 1e6;
    out["duration_s"] = cfg.durationSeconds;
    out["compute"] = compute.describe;
    out["sweep"] = Json::array();
    // Every batch size is simulated before anything is printed: an error leaves no half table.
    std::vector<ScoutResult> results;
    for (int b : batches) {
        cfg.batchSize = b;
        results.push_back(simulateScout(cfg));
        out["sweep"].push_back(resultJson(results.back()));
    }
    std::cout << std::fixed << std::setprecision(1) << std::setw(8) << "batch" << std::setw(14) << "offered/s"
              << std::setw(14) << "sustained/s" << std::setw(11) << "fill us" << std::setw(11) << "p50 us" << std::setw(11)
              << "p99 us" << std::setw(10) << "buf max" << std::setw(10) << "dropped" << "\n";
    for (const ScoutResult& r : results)
        std::cout << std::setw(8) << r.batchSize << std::setw(14) << r.offeredHz << std::setw(14) << r.sustainedHz
                  << std::setw(11) << r.fillSeconds * 1e6 << std::setw(11) << r.p50 * 1e6 << std::setw(11) << r.p99 * 1e6
                  << std::setw(10) << r.maxOccupancy << std::setw(10) << r.dropped << "\n";
    if (a.out.empty()) return 0;
    AtomicOutput dir(a.out, "-o", OutputKind::Study, {{{"model", a.model}}, a.force});
    fs::create_directories(dir.tmp());
    std::ofstream(dir.tmp() / "scout.json") << out.dump(1) << "\n";
    std::ofstream(dir.tmp() / manifestName(OutputKind::Study)) << Json{{"tool", "tachyon trigger scout"}}.dump() << "\n";
    std::string output;
    if (a.plots && !drawPlots("scout", (dir.tmp() / "scout.json").string(), dir.tmp().string(), output))
        std::cerr << "tachyon: warning: scout: no plot (/usr/bin/python3 with matplotlib is needed)\n";
    dir.commit();
    std::cout << "wrote " << a.out << "/scout.json\n";
    return 0;
}

}  // namespace tachyon::trigger
