// The trigger study's building blocks (src/trigger): score expressions and cuts, the
// target-rate threshold and AUC against brute force, and the scouting simulator against
// closed-form queueing results. The CLI end to end is tested against numpy in
// python/tests/test_trigger.py.
#include "trigger/Expression.h"
#include "trigger/Firmware.h"
#include "trigger/Rates.h"
#include "trigger/ScoreColumn.h"
#include "trigger/Scout.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

using namespace tachyon;
using namespace tachyon::trigger;

namespace {

ExprScope scope5() {
    ExprScope s;
    s.outputs = 5;
    s.inputColumns = 3;
    s.modelInputs = 2;
    s.columnNames = {"pt", "eta", ""};
    return s;
}

std::string errorOf(const std::string& text, bool cut = false) {
    try {
        if (cut) Cut::parse(text, scope5(), "menu.yml: algorithm 'a': cuts[0]");
        else Expression::parse(text, scope5(), "menu.yml: algorithm 'a': score");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(TriggerExpression, EvaluatesScoresOnOneEvent) {
    const double cols[] = {25.0, -1.5, 3.0}, in[] = {0.5, -0.25}, out[] = {0.1, 0.7, 0.2, 0.4, 0.9};
    const EventView e{cols, in, out};
    const auto eval = [&](const std::string& t) { return Expression::parse(t, scope5(), "s").eval(e); };
    EXPECT_DOUBLE_EQ(eval("out[0]"), 0.1);
    EXPECT_DOUBLE_EQ(eval("1 - out[4]"), 1 - 0.9);
    EXPECT_DOUBLE_EQ(eval("max(out[0:3])"), 0.7);
    EXPECT_DOUBLE_EQ(eval("min(out[1:])"), 0.2);
    EXPECT_DOUBLE_EQ(eval("sum(out)"), 0.1 + 0.7 + 0.2 + 0.4 + 0.9);
    EXPECT_DOUBLE_EQ(eval("mean(out[3:5])"), (0.4 + 0.9) / 2);
    EXPECT_DOUBLE_EQ(eval("max(out[0], out[3] * 2, -1)"), 0.8);
    EXPECT_DOUBLE_EQ(eval("mse(input, output[0:2])"), ((0.5 - 0.1) * (0.5 - 0.1) + (-0.25 - 0.7) * (-0.25 - 0.7)) / 2);
    EXPECT_DOUBLE_EQ(eval("mae(in[0:2], out[3:5])"), (std::fabs(25 - 0.4) + std::fabs(-1.5 - 0.9)) / 2);
    EXPECT_DOUBLE_EQ(eval("(out[1] - out[2]) / 2 + abs(eta) * pt"), (0.7 - 0.2) / 2 + 1.5 * 25);
    EXPECT_DOUBLE_EQ(eval("-in[2] * 2e-1"), -0.6);

    EXPECT_TRUE(Cut::parse("pt > 20", scope5(), "c").pass(e));
    EXPECT_FALSE(Cut::parse("pt > 25", scope5(), "c").pass(e));
    EXPECT_TRUE(Cut::parse("pt >= 25", scope5(), "c").pass(e));
    EXPECT_TRUE(Cut::parse("abs(eta) < 2.4", scope5(), "c").pass(e));
    EXPECT_TRUE(Cut::parse("in[2] == 3", scope5(), "c").pass(e));
    EXPECT_FALSE(Cut::parse("in[2] != 3", scope5(), "c").pass(e));
}

TEST(TriggerExpression, ErrorsNameTheItem) {
    EXPECT_NE(errorOf("1 - out[5]").find("algorithm 'a': score: \"1 - out[5]\": out[5] does not exist: the model has 5 outputs"),
              std::string::npos)
        << errorOf("1 - out[5]");
    EXPECT_NE(errorOf("max(out[2:9])").find("out[2:9] is not a slice of its 5 values"), std::string::npos);
    EXPECT_NE(errorOf("phi > 1", true).find("unknown name 'phi' (columns: pt, eta)"), std::string::npos);
    EXPECT_NE(errorOf("out[0] > 1", true).find("cannot be used here"), std::string::npos);
    EXPECT_NE(errorOf("mse(input, output)").find("differ in length (2 and 5)"), std::string::npos);
    EXPECT_NE(errorOf("out[0] +").find("unexpected end"), std::string::npos);
    EXPECT_NE(errorOf("out[0] out[1]").find("unexpected 'o'"), std::string::npos);
    EXPECT_EQ(errorOf("pt * 2"), "");
    EXPECT_NE(errorOf("pt 20", true).find("a cut compares two values"), std::string::npos);
    EXPECT_NE(errorOf("max(out[0:2]) + out").find("needs one index"), std::string::npos);
}

// A column past its memory limit moves to a temporary file: the values read back through the
// mapping are the ones appended, in order, across many write blocks; copies and sorted copies
// are independent of the original.
TEST(TriggerScoreColumn, MovesToDiskBeyondItsLimitAndKeepsEveryValue) {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> d;
    std::vector<double> want(200000);
    for (double& v : want) v = d(rng);
    ScoreColumn c(1000);
    for (size_t i = 0; i < 999; ++i) c.push_back(want[i]);
    EXPECT_FALSE(c.onDisk());
    c.append({want.data() + 999, 100000});
    EXPECT_TRUE(c.onDisk());
    EXPECT_EQ(c[500], want[500]);   // read back through a mapping, then appended to again
    for (size_t i = 100999; i < want.size(); ++i) c.push_back(want[i]);
    ASSERT_EQ(c.size(), want.size());
    EXPECT_TRUE(std::equal(c.begin(), c.end(), want.begin()));
    ScoreColumn copy = c;
    copy.mutableData()[0] = 42;
    EXPECT_EQ(c[0], want[0]);
    std::vector<double> sorted = want;
    std::sort(sorted.begin(), sorted.end());
    const ScoreColumn s = sortedCopy(c);
    EXPECT_TRUE(std::equal(s.begin(), s.end(), sorted.begin()));
    ScoreColumn moved = std::move(copy);
    EXPECT_EQ(moved[0], 42);
    EXPECT_EQ(moved.size(), want.size());
}

// The rate arithmetic on columns that live on disk equals the in-memory results exactly.
TEST(TriggerScoreColumn, RatesOnDiskEqualInMemory) {
    std::mt19937_64 rng(12);
    std::uniform_int_distribution<int> level(0, 300);
    std::vector<double> b(50000), s(20000);
    for (double& v : b) v = level(rng) * 0.5;
    for (double& v : s) v = level(rng) * 0.5 + 20;
    setenv("TACHYON_SCORES_IN_MEMORY", "64", 1);   // the sorted copies too
    const ScoreColumn bd(b.data(), b.data() + b.size()), sd(s.data(), s.data() + s.size());
    ASSERT_TRUE(bd.onDisk() && sd.onDisk());
    const double hz = 2544 * kLhcRevolutionHz;
    const ThresholdChoice onDisk = thresholdForRate(bd, hz, 1e6, "x");
    const double aucOnDisk = auc(bd, sd);
    const auto rocOnDisk = roc(bd, sd);
    const auto curveOnDisk = rateCurve(bd, hz);
    unsetenv("TACHYON_SCORES_IN_MEMORY");
    const ThresholdChoice inMemory = thresholdForRate(b, hz, 1e6, "x");
    EXPECT_EQ(onDisk.threshold, inMemory.threshold);
    EXPECT_EQ(onDisk.rate.passed, inMemory.rate.passed);
    EXPECT_EQ(aucOnDisk, auc(b, s));
    const auto rocInMemory = roc(b, s);
    ASSERT_EQ(rocOnDisk.size(), rocInMemory.size());
    for (size_t i = 0; i < rocOnDisk.size(); ++i) {
        EXPECT_EQ(rocOnDisk[i].threshold, rocInMemory[i].threshold);
        EXPECT_EQ(rocOnDisk[i].signal, rocInMemory[i].signal);
    }
    const auto curveInMemory = rateCurve(b, hz);
    ASSERT_EQ(curveOnDisk.size(), curveInMemory.size());
    for (size_t i = 0; i < curveOnDisk.size(); ++i) EXPECT_EQ(curveOnDisk[i].hz, curveInMemory[i].hz);
}

// Durations and rates with units; an error names the option it came from.
TEST(TriggerUnits, DurationsRatesAndTheirErrors) {
    EXPECT_DOUBLE_EQ(parseDurationNs("12.5us"), 12500.0);
    EXPECT_DOUBLE_EQ(parseLatencyBudgetNs("phase2"), 12500.0);
    EXPECT_DOUBLE_EQ(parseLatencyBudgetNs("48"), 48.0);
    EXPECT_DOUBLE_EQ(parseRateHz("1.4MHz", "--rate"), 1.4e6);
    const auto message = [](auto f) {
        try {
            f();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message([] { parseDurationNs("20xs", "--service"); }),
              "--service: '20xs': unknown unit 'xs' (ns, us, ms, s)");
    EXPECT_EQ(message([] { parseRateHz("fast", "--rate"); }), "--rate: 'fast' is not a non-negative number");
    EXPECT_EQ(message([] { parseLatencyBudgetNs("phase3"); }), "--latency-budget: 'phase3' is not a non-negative number");
}

namespace {

// The lowest candidate threshold with rate <= target, by trying every score value.
double bruteThreshold(const std::vector<double>& s, double hz, double target) {
    double best = std::numeric_limits<double>::infinity();
    for (double t : s)
        if (double(countAbove(s, t)) * hz / double(s.size()) <= target) best = std::min(best, t);
    return best;
}

}  // namespace

TEST(TriggerRates, ThresholdIsTheLowestMeetingTheTargetWithTies) {
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<int> level(0, 40);   // many ties
    std::vector<double> s(3000);
    for (double& v : s) v = level(rng) * 0.25;
    const double hz = 1000.0 * kLhcRevolutionHz;
    for (double target : {4000.0, 1e5, 1e6, 5e6, 1.1e7}) {
        const ThresholdChoice c = thresholdForRate(s, hz, target, "algorithm 'x'");
        EXPECT_EQ(c.threshold, bruteThreshold(s, hz, target)) << target;
        EXPECT_EQ(c.rate.passed, countAbove(s, c.threshold));
        EXPECT_LE(c.rate.hz, target);
        // One level lower would exceed the target (the threshold is the lowest).
        const double lower = c.threshold - 0.25;
        if (lower >= 0) {
            EXPECT_GT(double(countAbove(s, lower)) * hz / 3000.0, target);
        }
    }
    // Zero: nothing passes; everything allowed: everything passes.
    EXPECT_EQ(thresholdForRate(s, hz, 0, "x").rate.passed, 0u);
    const ThresholdChoice all = thresholdForRate(s, hz, hz, "x");
    EXPECT_EQ(all.rate.passed, s.size());
    EXPECT_LT(all.threshold, *std::min_element(s.begin(), s.end()));
    // Below one event's worth: the sample cannot resolve it.
    try {
        thresholdForRate(s, hz, hz / 3000.0 / 2, "menu.yml: algorithm 'x'");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("menu.yml: algorithm 'x': target rate"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("unreachable"), std::string::npos);
    }
}

TEST(TriggerRates, RateErrorAndAucByDefinition) {
    const Rate r = rateOf(25, 10000, 2544 * kLhcRevolutionHz);
    EXPECT_DOUBLE_EQ(r.hz, 25.0 / 10000 * 2544 * 11245.6);
    EXPECT_DOUBLE_EQ(r.errHz, std::sqrt(25.0 * (1 - 25.0 / 10000)) / 10000 * 2544 * 11245.6);
    std::mt19937_64 rng(9);
    std::uniform_int_distribution<int> d(0, 20);
    std::vector<double> b(400), s(300);
    for (double& v : b) v = d(rng);
    for (double& v : s) v = d(rng) + 3;
    double pairs = 0;
    for (double x : s)
        for (double y : b) pairs += x > y ? 1.0 : x == y ? 0.5 : 0.0;
    EXPECT_NEAR(auc(b, s), pairs / (400.0 * 300.0), 1e-12);
    const auto curve = roc(b, s);
    EXPECT_DOUBLE_EQ(curve.front().background, 1.0);
    EXPECT_DOUBLE_EQ(curve.back().signal, 0.0);
}

namespace {

ScoutConfig poissonQueue(double rateHz, double serviceSeconds, double seconds) {
    ScoutConfig c;
    c.eventRateHz = rateHz;
    c.batchSize = 1;
    c.durationSeconds = seconds;
    c.batchSeconds = [serviceSeconds](int) { return serviceSeconds; };
    return c;
}

}  // namespace

// M/D/1: Poisson arrivals, one server, deterministic service S at load rho = lambda S:
// mean wait in the queue Wq = rho S / (2 (1 - rho)); by PASTA and Little, arrivals see
// Lq = lambda Wq objects waiting.
TEST(TriggerScout, MD1WaitingTimeMatchesClosedForm) {
    for (double rho : {0.5, 0.8}) {
        const double lambda = 1e6, S = rho / lambda;
        const ScoutResult r = simulateScout(poissonQueue(lambda, S, 0.5));
        const double wq = rho * S / (2 * (1 - rho));
        EXPECT_NEAR(r.meanQueue, wq, 0.05 * wq) << rho;
        EXPECT_NEAR(r.meanOccupancy, lambda * wq, 0.05 * lambda * wq) << rho;
        EXPECT_DOUBLE_EQ(r.meanWait, 0.0);    // batch of one: no fill time
        EXPECT_NEAR(r.meanCompute, S, 1e-9 * S);
        EXPECT_NEAR(r.utilisation, rho, 0.02);
        EXPECT_NEAR(r.sustainedHz, lambda, 0.01 * lambda);
        EXPECT_EQ(r.dropped, 0);
    }
}

// A batch of B objects at rate lambda fills in B / lambda on average (the muon-scouting
// figures: 1,280 at 1.4 MHz ~ 914 us, at 5.6 MHz ~ 229 us); an object waits (B - 1) / 2
// arrivals for the rest of its batch.
TEST(TriggerScout, BatchFillTimeMatchesClosedForm) {
    for (bool lhc : {false, true})
        for (double lambda : {1.4e6, 5.6e6}) {
            ScoutConfig c = poissonQueue(lambda, 1e-6, 0.2);
            c.batchSize = 1280;
            c.lhcPattern = lhc;
            c.filling = trainFilling(2544);
            const ScoutResult r = simulateScout(c);
            EXPECT_NEAR(r.fillSeconds, 1280 / lambda, 0.01 * 1280 / lambda) << lhc << " " << lambda;
            EXPECT_NEAR(r.meanWait, 1279 / (2 * lambda), 0.02 * 1279 / (2 * lambda)) << lhc << " " << lambda;
        }
    ScoutConfig c = poissonQueue(1.4e6, 1e-6, 0.4);
    c.batchSize = 1280;
    EXPECT_NEAR(simulateScout(c).fillSeconds * 1e6, 914.3, 9.0);
    c.eventRateHz = 5.6e6;
    EXPECT_NEAR(simulateScout(c).fillSeconds * 1e6, 228.6, 2.3);
}

TEST(TriggerScout, LhcPatternHasOrbitStructureAndRate) {
    const auto f = trainFilling(2544);
    EXPECT_EQ(std::count(f.begin(), f.end(), true), 2544);
    ScoutConfig c = poissonQueue(2544 * kLhcRevolutionHz, 1e-9, 0.01);   // every filled crossing
    c.lhcPattern = true;
    c.filling = f;
    const ScoutResult r = simulateScout(c);
    EXPECT_NEAR(double(r.events), 0.01 / kOrbitSeconds * 2544, 2544.0);
    c.eventRateHz = 2545 * kLhcRevolutionHz;
    EXPECT_THROW(simulateScout(c), Error);
}

TEST(TriggerScout, MaxDelayBoundsTheFillWaitAndBuffersDrop) {
    ScoutConfig c = poissonQueue(1e6, 1e-6, 0.05);
    c.batchSize = 1000;
    c.maxDelaySeconds = 50e-6;   // ~50 objects per batch at 1 MHz
    const ScoutResult r = simulateScout(c);
    EXPECT_LE(r.meanWait, 50e-6);
    EXPECT_NEAR(r.fillSeconds, 50e-6, 5e-6);
    EXPECT_EQ(r.processed, r.objects);
    // Overloaded: batches of 100 take 200 us, 100 us of arrivals: the buffer fills and drops.
    ScoutConfig o = poissonQueue(1e6, 200e-6, 0.05);
    o.batchSize = 100;
    o.bufferObjects = 500;
    const ScoutResult d = simulateScout(o);
    EXPECT_GT(d.dropped, 0);
    EXPECT_LE(d.maxOccupancy, 500);
    EXPECT_NEAR(d.sustainedHz, 100 / 200e-6, 0.05 * 100 / 200e-6);
    // Deadtime: with one object per event, the events lost are the objects dropped; a farm
    // that computes 500 k/s of 1 M/s offered loses 1 - 500 k / 1 M of them.
    EXPECT_EQ(d.deadEvents, d.dropped);
    EXPECT_NEAR(double(d.deadEvents) / double(d.events), 0.5, 0.03);
    // Two objects per event: an event is dead when either is dropped.
    ScoutConfig pairs = o;
    pairs.eventRateHz = 5e5;
    pairs.objects = 2;
    const ScoutResult p = simulateScout(pairs);
    EXPECT_GE(p.deadEvents, (p.dropped + 1) / 2);
    EXPECT_LE(p.deadEvents, p.dropped);
    EXPECT_NEAR(double(p.deadEvents) / double(p.events), 0.5, 0.03);
    // Two workers carry it.
    o.workers = 3;
    EXPECT_EQ(simulateScout(o).dropped, 0);
}

TEST(TriggerScout, ObjectsPerEvent) {
    ScoutConfig c = poissonQueue(1e5, 1e-7, 0.1);
    c.objectsMode = ScoutConfig::Objects::Poisson;
    c.objects = 2.5;
    const ScoutResult r = simulateScout(c);
    EXPECT_NEAR(double(r.objects) / double(r.events), 2.5, 0.05);
    c.objectsMode = ScoutConfig::Objects::List;
    c.objectList = {0, 3, 1};
    const ScoutResult l = simulateScout(c);
    EXPECT_NEAR(double(l.objects) / double(l.events), 4.0 / 3.0, 0.01);
}

TEST(TriggerScout, BatchTimesFromPerfResults) {
    // `tachyon perf --json`: per batch size the lowest concurrency's avg_us is the time.
    const std::string perf = R"({"model": "m", "results": [
        {"batch_size": 1, "concurrency": 4, "avg_us": 90.0},
        {"batch_size": 1, "concurrency": 1, "avg_us": 50.0},
        {"batch_size": 64, "concurrency": 1, "avg_us": 176.0},
        {"batch_size": 256, "concurrency": 1, "avg_us": 560.0}]})";
    const auto times = perfBatchTimes(perf, "perf.json");
    ASSERT_EQ(times.size(), 3u);
    EXPECT_DOUBLE_EQ(times.at(1), 50e-6);
    const auto t = interpolatedBatchTime(times);
    EXPECT_NEAR(t(1), 50e-6, 1e-15);
    EXPECT_NEAR(t(32), 50e-6 + 31 * 2e-6, 1e-12);     // 2 us per object between 1 and 64
    EXPECT_NEAR(t(160), 176e-6 + 96 * 2e-6, 1e-12);   // 2 us per object between 64 and 256
    EXPECT_NEAR(t(512), 560e-6 + 256 * 2e-6, 1e-12);  // beyond: the last slope
    try {
        perfBatchTimes(R"({"results": [{"batch_size": 4}]})", "perf.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("perf.json: results: each entry needs batch_size and avg_us"),
                  std::string::npos);
    }
}
