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
        fixed[a].insert(fixed[a].end(), more.fixed[a].begin(), more.fixed[a].end());
        flt[a].insert(flt[a].end(), more.flt[a].begin(), more.flt[a].end());
    }
    events += more.events;
}

struct Scorer::Algorithm {
    AlgorithmSpec spec;
    std::unique_ptr<api::Model> model;
    std::vector<FixedType> inputTypes;   // per model input value (networks); empty for trees
};

Scorer::Scorer(const Menu& menu) : menu_(menu) {
    for (const AlgorithmSpec& s : menu.algorithms) {
        auto a = std::make_unique<Algorithm>();
        a->spec = s;
        try {
            a->model = api::Model::load(s.model, s.config.empty() ? Json(nullptr) : Json(s.config));
        } catch (const Error& e) {
            throw Error(algorithmWhere(menu, s) + ": " + e.what());
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

Json histogram(const std::vector<const std::vector<double>*>& samples, const std::vector<std::string>& names, int bins) {
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

StudyResult summarise(const Scorer& scorer, const SampleScores& background, const std::vector<SampleScores>& signals,
                      const StudyOptions& opt) {
    const Menu& menu = scorer.menu();
    const int bunches = opt.bunches ? *opt.bunches : menu.bunches ? *menu.bunches : kDefaultBunches;
    const double collisionHz = opt.flat40 ? kBunchCrossingHz : bunches * kLhcRevolutionHz;
    const Device& device = deviceByName(opt.device);
    const size_t nAlg = menu.algorithms.size(), n = background.events;
    if (n == 0) throw Error("background: no events");

    StudyResult r;
    Json& sum = r.summary;
    sum["collision_rate_hz"] = collisionHz;
    sum["bunches"] = opt.flat40 ? Json(nullptr) : Json(bunches);
    sum["background_events"] = n;
    if (opt.targetRateHz) sum["target_rate_hz"] = *opt.targetRateHz;
    std::vector<std::vector<char>> fired(nAlg);
    sum["algorithms"] = Json::array();
    for (size_t a = 0; a < nAlg; ++a) {
        const AlgorithmSpec& spec = menu.algorithms[a];
        const std::string where = algorithmWhere(menu, spec);
        const std::vector<double>& bf = background.fixed[a];
        const std::vector<double>& br = background.flt[a];
        double threshold;
        if (spec.threshold) {
            threshold = *spec.threshold;
        } else if (opt.targetRateHz) {
            threshold = thresholdForRate(bf, collisionHz, *opt.targetRateHz, where).threshold;
        } else {
            throw Error(where + ": no threshold in the menu and no --target-rate to choose one");
        }
        const Rate rf = rateOf(countAbove(bf, threshold), n, collisionHz);
        const Rate rr = rateOf(countAbove(br, threshold), n, collisionHz);
        Json j;
        j["name"] = spec.name;
        j["score"] = spec.score;
        j["threshold"] = threshold;
        j["rate_hz"] = rf.hz;
        j["rate_err_hz"] = rf.errHz;
        j["passed"] = rf.passed;
        j["rate_float_hz"] = rr.hz;
        j["efficiency"] = Json::object();
        j["efficiency_float"] = Json::object();
        j["auc"] = Json::object();
        j["auc_float"] = Json::object();
        fired[a].resize(n);
        for (size_t e = 0; e < n; ++e) fired[a][e] = bf[e] > threshold;

        // Decision flips, fixed vs float, on every sample.
        std::ostringstream flips;
        flips.precision(17);
        flips << "sample,event,fixed_score,float_score,fixed_pass,float_pass\n";
        Json flipCounts = Json::object();
        size_t bgFlips = 0;
        const auto countFlips = [&](const SampleScores& s) {
            size_t k = 0;
            for (size_t e = 0; e < s.events; ++e) {
                const bool pf = s.fixed[a][e] > threshold, pr = s.flt[a][e] > threshold;
                if (pf == pr) continue;
                ++k;
                flips << s.name << "," << e << "," << s.fixed[a][e] << "," << s.flt[a][e] << "," << pf << "," << pr << "\n";
            }
            flipCounts[s.name] = k;
            return k;
        };
        bgFlips = countFlips(background);
        Json plot;
        plot["name"] = spec.name;
        plot["threshold"] = threshold;
        plot["rate_fixed"] = Json::array();
        for (const RatePoint& p : rateCurve(bf, collisionHz)) plot["rate_fixed"].push_back({p.threshold, p.hz, p.errHz});
        plot["rate_float"] = Json::array();
        for (const RatePoint& p : rateCurve(br, collisionHz)) plot["rate_float"].push_back({p.threshold, p.hz, p.errHz});
        std::vector<const std::vector<double>*> hs{&bf};
        std::vector<std::string> hn{"background"};
        for (const SampleScores& s : signals) {
            if (s.fixed.size() != nAlg) throw Error(s.name + ": scored with a different menu");
            j["efficiency"][s.name] = s.events ? double(countAbove(s.fixed[a], threshold)) / double(s.events) : 0.0;
            j["efficiency_float"][s.name] = s.events ? double(countAbove(s.flt[a], threshold)) / double(s.events) : 0.0;
            j["auc"][s.name] = auc(bf, s.fixed[a]);
            j["auc_float"][s.name] = auc(br, s.flt[a]);
            countFlips(s);
            Json curve = Json::array();
            for (const RocPoint& p : roc(bf, s.fixed[a])) curve.push_back({finiteOrNull(p.threshold), p.background, p.signal});
            plot["roc"][s.name] = curve;
            hs.push_back(&s.fixed[a]);
            hn.push_back(s.name);
        }
        plot["histogram"] = histogram(hs, hn, 50);
        const std::string flipFile = "flips_" + spec.name + ".csv";
        j["flips"] = {{"count", bgFlips}, {"fraction", double(bgFlips) / double(n)}, {"per_sample", flipCounts},
                      {"file", flipFile}};
        plot["flips"] = flipCounts;
        r.flipFiles.push_back(flipFile);
        r.flipText.push_back(flips.str());

        const FirmwareView fw = firmwareView(scorer.model(a), opt.backend);
        j["latency_ns"] = fw.available ? Json(fw.latencyNs) : Json(nullptr);
        j["latency_cycles"] = fw.available ? Json(fw.latencyCycles) : Json(nullptr);
        j["ii_cycles"] = fw.available ? Json(fw.iiCycles) : Json(nullptr);
        j["clock_ns"] = fw.available ? Json(fw.clockNs) : Json(nullptr);
        j["resources"] = fw.toJson(device, opt.latencyBudgetNs);
        j["fits_budget"] = fw.fits(device, opt.latencyBudgetNs);
        j["verdict"] = fw.verdict(device, opt.latencyBudgetNs);
        sum["algorithms"].push_back(j);
        r.plotData["algorithms"].push_back(plot);
    }
    if (opt.targetRateHz) r.plotData["target_rate_hz"] = *opt.targetRateHz;

    // The menu: OR of the algorithms, each one's pure rate, and pairwise overlaps (Hz).
    size_t any = 0;
    std::vector<size_t> pure(nAlg, 0);
    std::vector<std::vector<size_t>> both(nAlg, std::vector<size_t>(nAlg, 0));
    for (size_t e = 0; e < n; ++e) {
        size_t count = 0, last = 0;
        for (size_t a = 0; a < nAlg; ++a)
            if (fired[a][e]) {
                ++count;
                last = a;
                for (size_t b = 0; b < nAlg; ++b) both[a][b] += fired[b][e] ? 1 : 0;
            }
        any += count > 0;
        if (count == 1) ++pure[last];
    }
    Json& m = sum["menu"];
    const Rate total = rateOf(any, n, collisionHz);
    m["rate_hz"] = total.hz;
    m["rate_err_hz"] = total.errHz;
    m["pure_rates_hz"] = Json::object();
    m["overlap"] = Json::array();
    for (size_t a = 0; a < nAlg; ++a) {
        m["pure_rates_hz"][menu.algorithms[a].name] = rateOf(pure[a], n, collisionHz).hz;
        Json row = Json::array();
        for (size_t b = 0; b < nAlg; ++b) row.push_back(rateOf(both[a][b], n, collisionHz).hz);
        m["overlap"].push_back(row);
    }
    m["names"] = Json::array();
    for (const auto& a : menu.algorithms) m["names"].push_back(a.name);
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

