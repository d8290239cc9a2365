// The arithmetic of trigger rates (docs/trigger.md, "Rates"): pure functions over score
// arrays, so that they are tested against independent numpy computations. Sorted copies are
// ScoreColumns: on disk for large samples, like the scores themselves.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace tachyon::trigger {

constexpr double kLhcRevolutionHz = 11245.6;   // LHC revolution frequency
constexpr int kDefaultBunches = 2544;          // colliding bunches, Run 3 typical fill
constexpr double kBunchCrossingHz = 40.0e6;    // the flat 40 MHz mode

// Hz that one passing event of a sample of `events` stands for at `collisionHz`.
struct Rate {
    size_t passed = 0, events = 0;
    double hz = 0, errHz = 0;   // errHz: binomial, sqrt(k (1 - k/N)) / N x collisionHz
};
Rate rateOf(size_t passed, size_t events, double collisionHz);

// Events pass when score > threshold. Scores of -inf never pass (events failing the cuts).
size_t countAbove(std::span<const double> scores, double threshold);

// The lowest threshold whose rate is <= targetHz: the smallest score value v with
// #{score > v} x collisionHz / N <= targetHz. When every event may pass, a threshold just
// below the lowest score. Throws tachyon::Error (naming `what`) when the target is below
// the rate of one event of the sample but above zero: the sample cannot resolve it.
struct ThresholdChoice {
    double threshold = 0;
    Rate rate;
};
ThresholdChoice thresholdForRate(std::span<const double> scores, double collisionHz, double targetHz,
                                 const std::string& what);

// Area under the ROC curve: P(signal score > background score) + P(equal) / 2.
double auc(std::span<const double> background, std::span<const double> signal);

// Points (background efficiency, signal efficiency) at every distinct threshold, thinned
// to at most maxPoints, from (1, 1) down to (0, 0).
struct RocPoint {
    double threshold, background, signal;
};
std::vector<RocPoint> roc(std::span<const double> background, std::span<const double> signal, size_t maxPoints = 400);

// Rate (Hz) vs threshold for the plot: up to `points` thresholds spread over the scores.
struct RatePoint {
    double threshold, hz, errHz;
};
std::vector<RatePoint> rateCurve(std::span<const double> scores, double collisionHz, size_t points = 200);

}  // namespace tachyon::trigger
