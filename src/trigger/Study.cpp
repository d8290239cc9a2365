#include "trigger/Study.h"

#include "trigger/Rates.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "util/Process.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace fs = std::filesystem;

namespace tachyon::trigger {

using api::Json;

namespace {
constexpr double kNever = -std::numeric_limits<double>::infinity();

std::string algorithmWhere(const Menu& m, const AlgorithmSpec& a) { return m.path + ": algorithm '" + a.name + "'"; }
}  // namespace

void SampleScores::append(const SampleScores& more) {
    if (fixed.empty()) {
        fixed.resize(more.fixed.size());
        flt.resize(more.flt.size());
    }
    if (more.fixed.size() != fixed.size()) throw Error(name + ": samples scored with different menus");
    for (size_t a = 0; a < fixed.size(); ++a) {
        fixed[a].append(more.fixed[a]);
        flt[a].append(more.flt[a]);
    }
    events += more.events;
}

struct Scorer::Algorithm {
    AlgorithmSpec spec;
    std::unique_ptr<api::Model> model;
    std::vector<FixedType> inputTypes;   // per model input value (networks); empty for trees
    std::optional<MeasuredResources> measured;
};

Scorer::Scorer(const Menu& menu, bool readReports) : menu_(menu) {
    for (const AlgorithmSpec& s : menu.algorithms) {
        auto a = std::make_unique<Algorithm>();
        a->spec = s;
        try {
            a->model = api::Model::load(s.model, s.config.empty() ? Json(nullptr) : Json(s.config));
        } catch (const Error& e) {
            throw Error(algorithmWhere(menu, s) + ": " + e.what());
        }
        // Read now, so that a missing or foreign report fails before the (long) scoring.
        if (readReports && !s.report.empty()) {
            try {
                a->measured = readMeasuredResources(s.report, *a->model);
            } catch (const Error& e) {
                throw Error(algorithmWhere(menu, s) + ": " + e.what());
            }
        }
        if (!a->model->isTree())
            for (const Layer* in : a->model->graph().inputs())
                for (int i = 0; i < in->outSize(); ++i) a->inputTypes.push_back(in->type("result"));
        // Checked now against the model's outputs; columns are checked per event file.
        ExprScope scope;
        scope.outputs = a->model->outputSize();
        scope.modelInputs = a->model->inputSize();
        scope.inputColumns = std::numeric_limits<int>::max();
        scope.columnNames = menu.columns;
        Expression::parse(s.score, scope, algorithmWhere(menu, s) + ": score");
        algos_.push_back(std::move(a));
    }
}

Scorer::~Scorer() = default;

const api::Model& Scorer::model(size_t algorithm) const { return *algos_.at(algorithm)->model; }

const std::optional<MeasuredResources>& Scorer::measured(size_t algorithm) const {
    return algos_.at(algorithm)->measured;
}

SampleScores Scorer::score(const SampleSpec& file, const std::string& sampleName, std::ostream* log, size_t blockRows,
                           int threads) const {
    std::unique_ptr<EventReader> reader = openEvents(file);
    const size_t cols = reader->cols();
    if (reader->rows() == 0) throw Error(file.text() + ": no events");
    ExprScope base;
    base.inputColumns = int(cols);
    base.columnNames = menu_.columns.empty() ? reader->columnNames() : menu_.columns;
    if (!menu_.columns.empty() && menu_.columns.size() != cols)
        throw Error(menu_.path + ": columns: names " + std::to_string(menu_.columns.size()) + " columns, " + file.text() +
                    " has " + std::to_string(cols));

    struct Prepared {
        Expression score;
        std::vector<Cut> cuts;
        size_t begin, width, outs;
    };
    std::vector<Prepared> prep;
    for (const auto& a : algos_) {
        const std::string where = algorithmWhere(menu_, a->spec);
        ExprScope scope = base;
        scope.outputs = a->model->outputSize();
        scope.modelInputs = a->model->inputSize();
        const size_t begin = size_t(a->spec.inputBegin);
        const size_t end = a->spec.inputEnd < 0 ? cols : size_t(a->spec.inputEnd);
        if (end > cols || begin >= end)
            throw Error(where + ": inputs: columns " + std::to_string(begin) + ":" + std::to_string(end) + " are not in " +
                        file.text() + " (" + std::to_string(cols) + " columns)");
        if (end - begin != size_t(a->model->inputSize()))
            throw Error(where + ": the model reads " + std::to_string(a->model->inputSize()) + " inputs but " + file.text() +
                        " gives it " + std::to_string(end - begin) + " columns (choose them with inputs: a:b)");
        Prepared p{Expression::parse(a->spec.score, scope, where + ": score"), {}, begin, end - begin,
                   size_t(a->model->outputSize())};
        for (size_t c = 0; c < a->spec.cuts.size(); ++c)
            p.cuts.push_back(Cut::parse(a->spec.cuts[c], scope, where + ": cuts[" + std::to_string(c) + "]"));
        prep.push_back(std::move(p));
    }

    SampleScores s;
    s.name = sampleName;
    s.fixed.resize(algos_.size());
    s.flt.resize(algos_.size());
    std::unique_ptr<api::RateMeter> meter;
    if (log) meter = std::make_unique<api::RateMeter>(*log, reader->rows());
    std::vector<double> block, x, q, outFixed, outFloat;
    size_t rows;
    while ((rows = reader->read(blockRows, block)) > 0) {
        for (size_t ai = 0; ai < algos_.size(); ++ai) {
            const Algorithm& a = *algos_[ai];
            const Prepared& p = prep[ai];
            x.resize(rows * p.width);
            for (size_t r = 0; r < rows; ++r)
                std::copy_n(block.data() + r * cols + p.begin, p.width, x.data() + r * p.width);
            // What the firmware sees: the input quantised to the model's input type.
            q = x;
            if (!a.inputTypes.empty())
                for (size_t i = 0; i < q.size(); ++i) q[i] = a.inputTypes[i % p.width].quantize(q[i]);
            outFixed.resize(rows * p.outs);
            outFloat.resize(rows * p.outs);
            a.model->predict(x.data(), rows, outFixed.data(), false, threads);
            a.model->predict(x.data(), rows, outFloat.data(), true, threads);
            for (size_t r = 0; r < rows; ++r) {
                const double* row = block.data() + r * cols;
                bool pass = true;
                for (const Cut& c : p.cuts) pass = pass && c.pass({row, nullptr, nullptr});
                double sf = kNever, sr = kNever;
                if (pass) {
                    sf = p.score.eval({row, q.data() + r * p.width, outFixed.data() + r * p.outs});
                    sr = p.score.eval({row, x.data() + r * p.width, outFloat.data() + r * p.outs});
                    if (std::isnan(sf)) sf = kNever;
                    if (std::isnan(sr)) sr = kNever;
                }
                s.fixed[ai].push_back(sf);
                s.flt[ai].push_back(sr);
            }
        }
        s.events += rows;
        if (meter) meter->add(rows);
    }
    if (meter) meter->finish();
    return s;
}

namespace {

// JSON has no infinities: the scores of events failing the cuts are left out of plots.
Json finiteOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json histogram(const std::vector<const ScoreColumn*>& samples, const std::vector<std::string>& names, int bins) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto* s : samples)
        for (double v : *s)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    Json h;
    if (!std::isfinite(lo)) return h;
    if (hi == lo) hi = lo + 1;
    std::vector<double> edges;
    for (int i = 0; i <= bins; ++i) edges.push_back(lo + (hi - lo) * i / bins);
    h["edges"] = edges;
    for (size_t k = 0; k < samples.size(); ++k) {
        std::vector<double> counts(size_t(bins), 0.0);
        size_t n = 0;
        for (double v : *samples[k])
            if (std::isfinite(v)) {
                counts[size_t(std::min(bins - 1, int((v - lo) / (hi - lo) * bins)))] += 1;
                ++n;
            }
        for (double& c : counts) c = n ? c / double(n) : 0;   // normalised: shapes compare
        h["counts"][names[k]] = counts;
    }
    return h;
}

}  // namespace

namespace {

// What one algorithm's summary is computed from.
struct StudyContext {
    const Scorer& scorer;
    const SampleScores& background;
    const std::vector<SampleScores>& signals;
    const StudyOptions& opt;
    const Device& device;
    double collisionHz;
};

double chooseThreshold(const StudyContext& c, size_t a) {
    const Menu& menu = c.scorer.menu();
    const AlgorithmSpec& spec = menu.algorithms[a];
    const std::string where = algorithmWhere(menu, spec);
    if (spec.threshold) return *spec.threshold;
    if (!c.opt.targetRateHz) throw Error(where + ": no threshold in the menu and no --target-rate to choose one");
    return thresholdForRate(c.background.fixed[a], c.collisionHz, *c.opt.targetRateHz, where).threshold;
}

// Events whose fixed-point and float decisions differ, on every sample: counts and CSV rows.
Json countFlips(const StudyContext& c, size_t a, double threshold, std::string& csv) {
    std::ostringstream rows;
    rows.precision(17);
    rows << "sample,event,fixed_score,float_score,fixed_pass,float_pass\n";
    Json counts = Json::object();
    const auto one = [&](const SampleScores& s) {
        size_t k = 0;
        for (size_t e = 0; e < s.events; ++e) {
            const bool pf = s.fixed[a][e] > threshold, pr = s.flt[a][e] > threshold;
            if (pf == pr) continue;
            ++k;
            rows << s.name << "," << e << "," << s.fixed[a][e] << "," << s.flt[a][e] << "," << pf << "," << pr << "\n";
        }
        counts[s.name] = k;
    };
    one(c.background);
    for (const SampleScores& s : c.signals) one(s);
    csv = rows.str();
    return counts;
}

// One algorithm: summary.json's entry, its plot data, its flips file.
void summariseAlgorithm(const StudyContext& c, size_t a, StudyResult& r) {
    const AlgorithmSpec& spec = c.scorer.menu().algorithms[a];
    const size_t n = c.background.events;
    const ScoreColumn& bf = c.background.fixed[a];
    const ScoreColumn& br = c.background.flt[a];
    const double threshold = chooseThreshold(c, a);
    const Rate rf = rateOf(countAbove(bf, threshold), n, c.collisionHz);
    Json j;
    j["name"] = spec.name;
    j["score"] = spec.score;
    j["threshold"] = threshold;
    j["rate_hz"] = rf.hz;
    j["rate_err_hz"] = rf.errHz;
    j["passed"] = rf.passed;
    j["rate_float_hz"] = rateOf(countAbove(br, threshold), n, c.collisionHz).hz;
    for (const char* key : {"efficiency", "efficiency_float", "auc", "auc_float"}) j[key] = Json::object();

    Json plot;
    plot["name"] = spec.name;
    plot["threshold"] = threshold;
    for (const auto& [key, scores] : {std::pair{"rate_fixed", &bf}, std::pair{"rate_float", &br}}) {
        plot[key] = Json::array();
        for (const RatePoint& p : rateCurve(*scores, c.collisionHz)) plot[key].push_back({p.threshold, p.hz, p.errHz});
    }
    std::vector<const ScoreColumn*> hs{&bf};
    std::vector<std::string> hn{"background"};
    for (const SampleScores& s : c.signals) {
        const auto fraction = [&](const ScoreColumn& v) {
            return s.events ? double(countAbove(v, threshold)) / double(s.events) : 0.0;
        };
        j["efficiency"][s.name] = fraction(s.fixed[a]);
        j["efficiency_float"][s.name] = fraction(s.flt[a]);
        j["auc"][s.name] = auc(bf, s.fixed[a]);
        j["auc_float"][s.name] = auc(br, s.flt[a]);
        Json curve = Json::array();
        for (const RocPoint& p : roc(bf, s.fixed[a])) curve.push_back({finiteOrNull(p.threshold), p.background, p.signal});
        plot["roc"][s.name] = curve;
        hs.push_back(&s.fixed[a]);
        hn.push_back(s.name);
    }
    plot["histogram"] = histogram(hs, hn, 50);

    std::string csv;
    const Json flips = countFlips(c, a, threshold, csv);
    const size_t bgFlips = flips["background"].get<size_t>();
    const std::string flipFile = "flips_" + spec.name + ".csv";
    j["flips"] = {{"count", bgFlips}, {"fraction", double(bgFlips) / double(n)}, {"per_sample", flips}, {"file", flipFile}};
    plot["flips"] = flips;
    r.flipFiles.push_back(flipFile);
    r.flipText.push_back(csv);

    const std::optional<MeasuredResources>& measured = c.scorer.measured(a);
    const FirmwareView fw = measured ? firmwareView(c.scorer.model(a), *measured)
                                     : firmwareView(c.scorer.model(a), c.opt.backend);
    const auto known = [&](auto v) { return fw.available ? Json(v) : Json(nullptr); };
    j["latency_ns"] = known(fw.latencyNs);
    j["latency_cycles"] = known(fw.latencyCycles);
    j["ii_cycles"] = known(fw.iiCycles);
    j["clock_ns"] = known(fw.clockNs);
    j["resources"] = fw.toJson(c.device, c.opt.latencyBudgetNs);
    j["fits_budget"] = fw.fits(c.device, c.opt.latencyBudgetNs);
    j["verdict"] = fw.verdict(c.device, c.opt.latencyBudgetNs);
    r.summary["algorithms"].push_back(j);
    r.plotData["algorithms"].push_back(plot);
}

// The menu: OR of the algorithms, each one's pure rate, and pairwise overlaps (Hz).
Json summariseMenu(const StudyContext& c, const std::vector<double>& thresholds) {
    const Menu& menu = c.scorer.menu();
    const size_t nAlg = menu.algorithms.size(), n = c.background.events;
    size_t any = 0;
    std::vector<size_t> pure(nAlg, 0);
    std::vector<std::vector<size_t>> both(nAlg, std::vector<size_t>(nAlg, 0));
    std::vector<char> fired(nAlg);
    for (size_t e = 0; e < n; ++e) {
        size_t count = 0, last = 0;
        for (size_t a = 0; a < nAlg; ++a) {
            fired[a] = c.background.fixed[a][e] > thresholds[a];
            if (fired[a]) ++count, last = a;
        }
        for (size_t a = 0; a < nAlg; ++a)
            for (size_t b = 0; b < nAlg && fired[a]; ++b) both[a][b] += fired[b] ? 1 : 0;
        any += count > 0;
        if (count == 1) ++pure[last];
    }
    Json m;
    const Rate total = rateOf(any, n, c.collisionHz);
    m["rate_hz"] = total.hz;
    m["rate_err_hz"] = total.errHz;
    m["pure_rates_hz"] = Json::object();
    m["overlap"] = Json::array();
    m["names"] = Json::array();
    for (size_t a = 0; a < nAlg; ++a) {
        m["names"].push_back(menu.algorithms[a].name);
        m["pure_rates_hz"][menu.algorithms[a].name] = rateOf(pure[a], n, c.collisionHz).hz;
        Json row = Json::array();
        for (size_t b = 0; b < nAlg; ++b) row.push_back(rateOf(both[a][b], n, c.collisionHz).hz);
        m["overlap"].push_back(row);
    }
    return m;
}

}  // namespace

StudyResult summarise(const Scorer& scorer, const SampleScores& background, const std::vector<SampleScores>& signals,
                      const StudyOptions& opt) {
    const Menu& menu = scorer.menu();
    const int bunches = opt.bunches ? *opt.bunches : menu.bunches ? *menu.bunches : kDefaultBunches;
    const StudyContext c{scorer, background, signals, opt, deviceByName(opt.device),
                         opt.flat40 ? kBunchCrossingHz : bunches * kLhcRevolutionHz};
    if (background.events == 0) throw Error("background: no events");
    const auto sameMenu = [&](const SampleScores& s) {
        if (s.fixed.size() != menu.algorithms.size() || s.flt.size() != menu.algorithms.size())
            throw Error(s.name + ": scored with a different menu");
    };
    sameMenu(background);
    for (const SampleScores& s : signals) sameMenu(s);

    StudyResult r;
    r.summary["collision_rate_hz"] = c.collisionHz;
    r.summary["bunches"] = opt.flat40 ? Json(nullptr) : Json(bunches);
    r.summary["background_events"] = background.events;
    if (opt.targetRateHz) r.summary["target_rate_hz"] = *opt.targetRateHz;
    if (opt.targetRateHz) r.plotData["target_rate_hz"] = *opt.targetRateHz;
    r.summary["algorithms"] = Json::array();
    std::vector<double> thresholds;
    for (size_t a = 0; a < menu.algorithms.size(); ++a) {
        summariseAlgorithm(c, a, r);
        thresholds.push_back(r.summary["algorithms"][a]["threshold"].get<double>());
    }
    r.summary["menu"] = summariseMenu(c, thresholds);
    return r;
}

namespace {

// The PNGs, drawn by python/tachyon/trigger.py from plot_data.json.
void plotStudy(const fs::path& tmp, const std::string& dir, std::vector<std::string>& files, std::ostream& log) {
    std::string output;
    if (drawPlots("plot", (tmp / "plot_data.json").string(), tmp.string(), output)) {
        for (const auto& e : fs::directory_iterator(tmp))
            if (e.path().extension() == ".png") files.push_back((fs::path(dir) / e.path().filename()).string());
    } else {
        log << "tachyon: warning: trigger: no plots (/usr/bin/python3 with matplotlib is needed; Debian: "
               "python3-matplotlib)"
            << (output.empty() ? "" : ": " + output.substr(0, 400)) << "\n";
    }
}

}  // namespace

bool drawPlots(const std::string& mode, const std::string& dataJson, const std::string& dir, std::string& output) {
    const char* py = std::getenv("TACHYON_PYTHON");
    const std::string python = py ? py : fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const std::string script = (fs::path(api::plottingScript()).parent_path() / "trigger.py").string();
    util::ProcessOptions po;
    po.captureOutput = true;
    po.timeoutSeconds = 300;
    try {
        const util::ProcessResult pr = util::runProcess({python, script, mode, dataJson, dir}, po);
        output = pr.output;
        return pr.succeeded();
    } catch (const Error& e) {
        output = e.what();
        return false;
    }
}

std::vector<std::string> writeStudy(const StudyResult& r, const std::string& dir, const std::vector<std::string>& inputs,
                                    bool force, bool plots, std::ostream& log) {
    OutputRules rules;
    for (const auto& in : inputs) rules.others.push_back({"input", in});
    rules.force = force;
    AtomicOutput out(dir, "-o", OutputKind::Study, rules);
    fs::create_directories(out.tmp());
    std::vector<std::string> files;
    const auto put = [&](const std::string& name, const std::string& text) {
        std::ofstream f(out.tmp() / name);
        f << text;
        f.close();
        if (!f) throw Error((fs::path(dir) / name).string() + ": cannot write file");
        files.push_back((fs::path(dir) / name).string());
    };
    put("summary.json", r.summary.dump(1) + "\n");
    put("plot_data.json", r.plotData.dump() + "\n");
    for (size_t i = 0; i < r.flipFiles.size(); ++i) put(r.flipFiles[i], r.flipText[i]);
    put(manifestName(OutputKind::Study), Json{{"tool", "tachyon trigger"}}.dump() + "\n");

    if (plots) plotStudy(out.tmp(), dir, files, log);
    out.commit();
    return files;
}

}  // namespace tachyon::trigger

