#include "trigger/Rates.h"

#include "trigger/ScoreColumn.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace tachyon::trigger {

Rate rateOf(size_t passed, size_t events, double collisionHz) {
    Rate r;
    r.passed = passed;
    r.events = events;
    if (events == 0) return r;
    const double n = double(events), k = double(passed);
    r.hz = k / n * collisionHz;
    r.errHz = std::sqrt(k * (1.0 - k / n)) / n * collisionHz;
    return r;
}

size_t countAbove(std::span<const double> scores, double threshold) {
    return size_t(std::count_if(scores.begin(), scores.end(), [&](double s) { return s > threshold; }));
}

ThresholdChoice thresholdForRate(std::span<const double> scores, double collisionHz, double targetHz,
                                 const std::string& what) {
    if (scores.empty()) throw Error(what + ": no background events");
    const size_t n = scores.size();
    if (!(targetHz >= 0)) throw Error(what + ": target rate must be >= 0 Hz");
    const double perEvent = collisionHz / double(n);
    if (targetHz > 0 && targetHz < perEvent) {
        std::ostringstream os;
        os << what << ": target rate " << targetHz << " Hz is unreachable with " << n
           << " background events: one event stands for " << perEvent << " Hz (use more events or a higher target)";
        throw Error(os.str());
    }
    // The most events that may pass: the largest k with k x perEvent <= target.
    size_t maxPass = size_t(std::min(double(n), std::floor(targetHz / perEvent)));
    while (maxPass < n && double(maxPass + 1) * collisionHz / double(n) <= targetHz) ++maxPass;
    while (maxPass > 0 && double(maxPass) * collisionHz / double(n) > targetHz) --maxPass;

    const ScoreColumn ascending = sortedCopy(scores);
    const double* sorted = ascending.data();
    const auto fromTop = [&](size_t i) { return sorted[n - 1 - i]; };   // i-th largest
    ThresholdChoice c;
    // Walk the distinct values from the top: #{s > v} is the index of v's first copy.
    size_t i = 0;
    c.threshold = fromTop(0);
    while (i < n) {
        const double v = fromTop(i);
        if (i > maxPass) break;   // #{s > v} = i exceeds the budget
        c.threshold = v;
        while (i < n && fromTop(i) == v) ++i;
    }
    if (i == n && maxPass >= n) {
        // Every event may pass: go just below the lowest score.
        const double lowest = sorted[0];
        c.threshold = std::isfinite(lowest) ? std::nextafter(lowest, -std::numeric_limits<double>::infinity())
                                            : std::numeric_limits<double>::lowest();
    }
    if (c.threshold == -std::numeric_limits<double>::infinity()) c.threshold = std::numeric_limits<double>::lowest();
    c.rate = rateOf(size_t(sorted + n - std::upper_bound(sorted, sorted + n, c.threshold)), n, collisionHz);
    return c;
}

double auc(std::span<const double> backgroundScores, std::span<const double> signalScores) {
    if (backgroundScores.empty() || signalScores.empty()) return 0;
    const ScoreColumn background = sortedCopy(backgroundScores), signal = sortedCopy(signalScores);
    // For each signal score: background below it counts 1, equal counts 1/2.
    double sum = 0;
    size_t below = 0, upTo = 0;   // #{b < s}, #{b <= s}
    for (double s : signal) {
        while (below < background.size() && background[below] < s) ++below;
        if (upTo < below) upTo = below;
        while (upTo < background.size() && background[upTo] <= s) ++upTo;
        sum += double(below) + 0.5 * double(upTo - below);
    }
    return sum / (double(background.size()) * double(signal.size()));
}

std::vector<RocPoint> roc(std::span<const double> backgroundScores, std::span<const double> signalScores,
                          size_t maxPoints) {
    std::vector<RocPoint> all;
    if (backgroundScores.empty() || signalScores.empty()) return all;
    ScoreColumn both;
    both.append(backgroundScores);
    both.append(signalScores);
    double* first = both.mutableData();
    std::sort(first, first + both.size());
    const std::span<const double> thresholds(first, size_t(std::unique(first, first + both.size()) - first));
    const ScoreColumn background = sortedCopy(backgroundScores), signal = sortedCopy(signalScores);
    const auto fractionAbove = [](const ScoreColumn& sorted, double t) {
        return double(sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), t)) / double(sorted.size());
    };
    const double below = std::nextafter(thresholds.front(), -std::numeric_limits<double>::infinity());
    all.push_back({below, fractionAbove(background, below), fractionAbove(signal, below)});
    const size_t step = std::max<size_t>(1, thresholds.size() / std::max<size_t>(1, maxPoints - 1));
    for (size_t i = 0; i < thresholds.size(); i += step)
        all.push_back({thresholds[i], fractionAbove(background, thresholds[i]), fractionAbove(signal, thresholds[i])});
    const double top = thresholds.back();
    if (all.back().threshold != top) all.push_back({top, 0.0, 0.0});
    return all;
}

std::vector<RatePoint> rateCurve(std::span<const double> unsorted, double collisionHz, size_t points) {
    std::vector<RatePoint> curve;
    if (unsorted.empty()) return curve;
    const ScoreColumn scores = sortedCopy(unsorted);
    // Thresholds at quantiles of the scores, so that the curve is dense where events are.
    std::vector<double> ts;
    for (size_t i = 0; i < points; ++i) ts.push_back(scores[i * (scores.size() - 1) / std::max<size_t>(1, points - 1)]);
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    for (double t : ts) {
        if (!std::isfinite(t)) continue;
        const size_t k = size_t(scores.end() - std::upper_bound(scores.begin(), scores.end(), t));
        const Rate r = rateOf(k, scores.size(), collisionHz);
        curve.push_back({t, r.hz, r.errHz});
    }
    return curve;
}

}  // namespace tachyon::trigger
