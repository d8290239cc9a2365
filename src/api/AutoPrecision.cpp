// Post-training quantisation: integer bits per layer from the ranges observed on
// calibration data (plus a margin), fractional bits per layer by search against the float
// model, smallest total first (docs/python.md, "Automatic precision").
#include "api/Api.h"
#include "config/TrainedTypes.h"

#include "frontends/Frontend.h"
#include "passes/Pass.h"
#include "util/AtomicOutput.h"
#include "util/Error.h"
#include "util/NonFinite.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace tachyon::api {

double agreement(const double* a, const double* b, size_t rows, size_t cols) {
    if (rows == 0) return 1.0;
    size_t same = 0;
    if (cols == 1) {   // one score: the decision at 0.5
        for (size_t r = 0; r < rows; ++r) same += (a[r] > 0.5) == (b[r] > 0.5);
        return double(same) / double(rows);
    }
    for (size_t r = 0; r < rows; ++r) {
        const double* x = a + r * cols;
        const double* y = b + r * cols;
        same += std::max_element(x, x + cols) - x == std::max_element(y, y + cols) - y;
    }
    return double(same) / double(rows);
}

double relativeError(const double* fixed, const double* ref, size_t n) {
    double num = 0, den = 0;
    for (size_t k = 0; k < n; ++k) {
        num += std::fabs(fixed[k] - ref[k]);
        den += std::fabs(ref[k]);
    }
    return den > 0 ? num / den : num;
}

namespace {

// Signed integer bits (sign included) that hold every value of magnitude <= absMax.
int intBitsFor(double absMax) {
    if (!(absMax > 0)) return 1;
    return int(std::floor(std::log2(absMax))) + 2;
}

std::string fixedStr(int width, int integer, bool roundSat) {
    std::string s = "ap_fixed<" + std::to_string(width) + "," + std::to_string(integer);
    return s + (roundSat ? ",AP_RND,AP_SAT>" : ">");
}

// One searched quantity: the fractional bits of a layer's parameters or of its result.
struct Knob {
    std::string layer;
    bool params = false;   // parameters (weight/bias/scale/shift) vs result (+ accum)
    int frac = 0, minFrac = 0, maxFrac = 0;
    double cost = 1;       // bits saved per fractional bit (ordering of the search)
};

struct LayerPlan {
    std::string name;
    int result = -1, params = -1;          // knob indices
    int resultInt = 1, accumInt = 0;       // accumInt > 0: a MAC layer
    std::map<std::string, int> paramInt;   // weight/bias/scale/shift
    bool autoResult = false;               // Reshape: result auto (the input type)
    bool bounded = false;                  // softmax/sigmoid/tanh: no margin
    int tiedTo = -1;                       // a fused ReLU/linear: the MAC plan whose result it takes
    int inputPlan = -1;                    // MAC layers: the plan of the layer they read
    std::map<std::string, std::string> kept;   // var -> type the trained model fixes (not searched)
};

// One sigmoid output is a binary classifier's score: judged by the decision at 0.5.
bool isSigmoidScore(const Layer& out, size_t nOut) {
    return nOut == 1 && out.kind == LayerKind::Activation &&
           (out.activation() == ActKind::Sigmoid || out.activation() == ActKind::HardSigmoid);
}

bool isBounded(const Layer& l) {
    if (l.kind == LayerKind::Softmax) return true;
    if (l.kind != LayerKind::Activation) return false;
    const ActKind a = l.activation();
    return a == ActKind::Sigmoid || a == ActKind::Tanh || a == ActKind::HardSigmoid || a == ActKind::Softsign;
}

}  // namespace

std::string AutoPrecisionResult::table() const {
    std::ostringstream os;
    int w = 7;
    for (const LayerChoice& c : layers) w = std::max(w, int(c.layer.size()) + 2);
    os << std::left << std::setw(w) << "layer" << std::setw(30) << "weight" << std::setw(30) << "bias"
       << std::setw(24) << "accum" << "result\n";
    for (const LayerChoice& c : layers) {
        auto get = [&](const char* v) {
            auto it = c.types.find(v);
            if (it == c.types.end() && std::string(v) == "weight") it = c.types.find("scale");
            if (it == c.types.end() && std::string(v) == "bias") it = c.types.find("shift");
            return it == c.types.end() ? std::string("-") : it->second;
        };
        os << std::left << std::setw(w) << c.layer << std::setw(30) << get("weight") << std::setw(30) << get("bias")
           << std::setw(24) << get("accum") << get("result") << "\n";
    }
    os << (classifier ? "agreement with the float model (argmax; one score: decision at 0.5): " : "relative error against the float model: ")
       << std::setprecision(6) << metric << " on the calibration rows (" << evaluations << " evaluations)"
       << (met ? "" : "  -- target NOT met") << "\n";
    return os.str();
}

AutoPrecisionResult autoPrecision(const std::string& modelPath, const Json& baseConfigIn, const double* x, size_t rows,
                                  const AutoPrecisionOptions& opt, std::ostream& log) {
    if (rows == 0) throw Error("auto-precision: the calibration data has no rows");
    if (opt.maxBits < 2 || opt.maxBits > 64) throw Error("--max-bits: must be 2..64");
    auto base = Model::load(modelPath, baseConfigIn, opt.weights);
    {
        // One NaN makes every range NaN, and the types chosen from it meaningless
        // (ap_fixed<-2147483627,...>): calibration data must be finite.
        NonFiniteCount bad;
        bad.add(x, rows, size_t(base->inputSize()), 0);
        if (bad.total())
            throw Error("auto-precision: the calibration data has " + bad.describe() +
                        "; ranges cannot be measured on them: remove or replace those rows");
    }
    Json baseConfig = base->config();
    const size_t nOut = size_t(base->outputSize());

    AutoPrecisionResult res;
    double maxError = opt.maxError;
    {
        const Graph imported = loadModel(modelPath, opt.weights);
        const bool sigmoidScore = isSigmoidScore(imported.output(), nOut);
        res.classifier = maxError < 0 && (nOut > 1 || sigmoidScore);
        if (sigmoidScore && res.classifier)
            log << "auto-precision: one sigmoid output, so judged as a classifier (decisions at 0.5)\n";
    }
    if (!res.classifier && maxError < 0) {
        maxError = 0.01;
        log << "auto-precision: one output, so judged as regression with --max-error " << maxError << "\n";
    }

    // 1. Ranges on the calibration data (float), with the base configuration's graph.
    log << "auto-precision: profiling " << rows << " calibration rows\n";
    const ProfileReport prof = profile(*base, x, rows, opt.threads);
    std::map<std::string, std::map<std::string, double>> absMax;   // layer -> var -> max |v|
    for (const LayerProfile& lp : prof.layers)
        for (const VarProfile& v : lp.vars) absMax[lp.name][v.var] = std::max(std::fabs(v.min), std::fabs(v.max));
    std::vector<double> ref(rows * nOut);
    base->predict(x, rows, ref.data(), true, opt.threads);

    // 2. Layers as the configuration names them: after BatchNorm folding, before fusion.
    Graph pre = loadModel(modelPath, opt.weights);
    foldBatchNorm(pre, base->parsedConfig());
    std::vector<Knob> knobs;
    std::vector<LayerPlan> plans;
    std::map<std::string, size_t> planOf;
    for (const Layer& l : pre.layers) {
        LayerPlan p;
        p.name = l.name;
        const auto& am = absMax[l.name];
        auto get = [&](const std::string& v) {
            auto it = am.find(v);
            return it == am.end() ? -1.0 : it->second;
        };
        if (l.kind == LayerKind::Reshape) {
            p.autoResult = true;
            planOf[l.name] = plans.size();
            plans.push_back(p);
            continue;
        }
        if (l.kind == LayerKind::Transpose || l.kind == LayerKind::Pad || l.kind == LayerKind::Resize) continue;
        // What training fixed stays as trained (QKeras/HGQ/QONNX/binary, GarNet vertex counts).
        // Its `auto` is Tachyon's exact rule, named so that a base configuration in hls4ml
        // mode (where `auto` is hls4ml's inference) keeps it exact too.
        auto keep = [&](const std::string& var) {
            if (auto t = trainedType(pre, l, var)) p.kept[var] = *t == "auto" ? "auto_exact" : *t;
        };
        keep("result");
        keep("accum");
        for (const auto& [var, values] : l.params) keep(var);
        // A ReLU/linear right after a MAC layer that feeds only it takes the MAC's result
        // type, so fuse_activation merges the two (as hls4ml does).
        if (l.kind == LayerKind::Activation &&
            (l.activation() == ActKind::ReLU || l.activation() == ActKind::Linear) && l.inputs.size() == 1 &&
            !p.kept.count("result")) {
            const Layer& prod = pre.at(l.input());
            if (isMac(prod) && pre.consumers(prod.name).size() == 1 && planOf.count(prod.name)) {
                p.tiedTo = int(planOf[prod.name]);
                planOf[l.name] = plans.size();
                plans.push_back(p);
                continue;
            }
        }
        for (const auto& [var, values] : l.params) {
            // Trained constants are exact as they are; names a configuration cannot carry
            // (GarNet's FLR0_bias, ...) keep the base configuration's types.
            if (p.kept.count(var) || !isPrecisionVariable(var)) continue;
            double m = 0;
            for (double v : values) m = std::max(m, std::fabs(v));
            p.paramInt[var] = intBitsFor(m);
        }
        if (!p.paramInt.empty()) {
            Knob k;
            k.layer = l.name;
            k.params = true;
            int maxInt = -64;
            for (auto& [var, i] : p.paramInt) maxInt = std::max(maxInt, i);
            k.minFrac = 2 - maxInt;
            k.maxFrac = opt.maxBits - maxInt;
            double n = 0;
            for (const auto& [var, i] : p.paramInt) n += double(l.params.at(var).size());
            k.cost = n;
            p.params = int(knobs.size());
            knobs.push_back(k);
        }
        p.bounded = isBounded(l);
        if (isMac(l) && planOf.count(l.input())) p.inputPlan = int(planOf[l.input()]);
        const int margin = p.bounded ? 0 : opt.margin;
        double rmax = get("result");
        if (isMac(l)) {
            const double amax = get("accum");
            p.accumInt = intBitsFor(amax) + margin;
            rmax = std::max(rmax, amax);   // the result holds the value before a fused activation
        }
        if (rmax < 0) rmax = 1;   // not observed (fused away): keep a small range
        if (p.bounded) rmax = 1;  // softmax, sigmoid, tanh, ...: |y| <= 1, and 1 itself must fit
        p.resultInt = intBitsFor(rmax) + margin;
        Knob k;
        k.layer = l.name;
        const int widest = std::max(p.resultInt, p.accumInt);
        if (widest > opt.maxBits - 1)
            throw Error(l.name + ": auto-precision: the observed range needs " + std::to_string(widest) +
                        " integer bits, more than --max-bits " + std::to_string(opt.maxBits) + " allows");
        k.minFrac = std::max(2 - p.resultInt, 0);
        k.maxFrac = opt.maxBits - widest;
        // Scores are cut on, not only ranked: an output softmax/sigmoid keeps a resolution.
        if (p.bounded && &l == &pre.output()) k.minFrac = std::max(k.minFrac, std::min(opt.scoreFracBits, k.maxFrac));
        if (p.kept.count("result")) {   // trained: nothing to search
            planOf[l.name] = plans.size();
            plans.push_back(p);
            continue;
        }
        double fan = 1;
        for (const Layer* c : pre.consumers(l.name))
            if (isMac(*c)) fan = std::max(fan, double(macDims(*c).nOut));
        k.cost = double(l.outSize()) * fan;
        p.result = int(knobs.size());
        knobs.push_back(k);
        planOf[l.name] = plans.size();
        plans.push_back(p);
    }

    // 3. The configuration for a setting of the knobs.
    auto configFor = [&](const std::vector<Knob>& ks) {
        Json cfg = baseConfig;
        if (cfg.contains("HLSConfig")) {   // hls4ml's nesting: lift it (Config reads both)
            Json h = cfg["HLSConfig"];
            cfg.erase("HLSConfig");
            for (auto it = h.begin(); it != h.end(); ++it) cfg[it.key()] = it.value();
        }
        Json& names = cfg["LayerName"];
        if (!names.is_object()) names = Json::object();
        for (const LayerPlan& p : plans) {
            Json& entry = names[p.name];
            if (!entry.is_object()) entry = Json::object();
            Json prec = entry.contains("Precision") && entry["Precision"].is_object() ? entry["Precision"] : Json::object();
            if (p.autoResult) {
                prec["result"] = "auto";
            } else {
                if (p.params >= 0) {
                    const int f = ks[size_t(p.params)].frac;
                    for (const auto& [var, i] : p.paramInt) prec[var] = fixedStr(std::max(i + f, 2), i, true);
                }
                const LayerPlan& q = p.tiedTo >= 0 ? plans[size_t(p.tiedTo)] : p;
                if (q.result >= 0) {
                    const int f = ks[size_t(q.result)].frac;
                    prec["result"] = fixedStr(q.resultInt + f, q.resultInt, false);
                    int fa = f;
                    if (opt.exactAccumulators && p.params >= 0 && p.inputPlan >= 0) {
                        // products exact: the input's LSB times the weights' LSB
                        const LayerPlan& in = plans[size_t(p.inputPlan)];
                        const LayerPlan& inq = in.tiedTo >= 0 ? plans[size_t(in.tiedTo)] : in;
                        if (inq.result >= 0) fa = std::max(f, ks[size_t(inq.result)].frac + ks[size_t(p.params)].frac);
                    }
                    fa = std::min(fa, 64 - p.accumInt);
                    if (p.accumInt > 0) prec["accum"] = fixedStr(p.accumInt + fa, p.accumInt, false);
                }
            }
            for (const auto& [var, type] : p.kept) prec[var] = type;
            entry["Precision"] = prec;
        }
        return cfg;
    };

    const Graph imported = loadModel(modelPath, opt.weights);
    std::vector<double> y(rows * nOut);
    std::vector<int64_t> raw(rows * nOut);
    auto evaluate = [&](const std::vector<Knob>& ks, double* metricOut) {
        ++res.evaluations;
        Json cfg = configFor(ks);
        Config c = Config::parse(jsonToYaml(cfg), "<auto-precision>");
        Graph g = imported;
        runPipeline(g, c);
        Emulator emu(g);
        EmulatorOptions eo;
        eo.threads = opt.threads;
        emu.runFixed(x, rows, raw.data(), y.data(), nullptr, eo);
        const double m = res.classifier ? agreement(y.data(), ref.data(), rows, nOut)
                                        : relativeError(y.data(), ref.data(), rows * nOut);
        if (metricOut) *metricOut = m;
        return res.classifier ? m >= opt.targetAgreement : m <= maxError;
    };

    // 4. Search: the widest setting must pass; then the smallest uniform fractional
    // width; then each knob alone, largest cost first, as low as it goes.
    for (Knob& k : knobs) k.frac = k.maxFrac;
    double metric = 0;
    if (!evaluate(knobs, &metric)) {
        log << "auto-precision: even at --max-bits " << opt.maxBits << " the target is not met (" << metric
            << "); writing the widest types\n";
        res.metric = metric;
        res.met = false;
    } else {
        int lo = -8, hi = 0;
        for (const Knob& k : knobs) hi = std::max(hi, k.maxFrac);
        auto uniform = [&](int u) {
            std::vector<Knob> ks = knobs;
            for (Knob& k : ks) k.frac = std::clamp(u, k.minFrac, k.maxFrac);
            return ks;
        };
        while (lo < hi) {   // smallest u that passes (monotone in practice)
            const int mid = lo + (hi - lo) / 2;
            if (evaluate(uniform(mid), nullptr)) hi = mid;
            else lo = mid + 1;
        }
        knobs = uniform(hi);
        log << "auto-precision: uniform fractional bits " << hi << " pass; refining per layer\n";
        std::vector<size_t> order(knobs.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return knobs[a].cost > knobs[b].cost; });
        for (int pass = 0; pass < 2; ++pass) {
            bool changed = false;
            for (size_t k : order) {
                int l = knobs[k].minFrac, h = knobs[k].frac;
                if (pass == 1) l = std::max(l, h - 1);
                while (l < h) {
                    const int mid = l + (h - l) / 2;
                    std::vector<Knob> ks = knobs;
                    ks[k].frac = mid;
                    if (evaluate(ks, nullptr)) h = mid;
                    else l = mid + 1;
                }
                if (h != knobs[k].frac) changed = true;
                knobs[k].frac = h;
            }
            if (!changed) break;
        }
        res.met = evaluate(knobs, &metric);
        res.metric = metric;
    }
    res.config = configFor(knobs);
    // The chosen types, per layer.
    for (const LayerPlan& p : plans) {
        LayerChoice c;
        c.layer = p.name;
        const Json& prec = res.config["LayerName"][p.name]["Precision"];
        for (auto it = prec.begin(); it != prec.end(); ++it)
            if (it.value().is_string()) c.types[it.key()] = it.value().get<std::string>();
        res.layers.push_back(c);
    }
    return res;
}

int cmdAutoPrecision(const std::string& model, const std::string& cfg, const std::string& calib,
                     const AutoPrecisionOptions& opt, const std::string& out, bool force) {
    // Checked before the search, so a bad output name costs nothing.
    OutputRules rules;
    rules.force = force;
    rules.others = inputsOf(model, {{"configuration (-c)", cfg}, {"calibration data (--auto-precision)", calib}},
                            opt.weights);
    std::unique_ptr<AtomicOutput> written;
    if (!out.empty()) written = std::make_unique<AtomicOutput>(out, "-o", OutputKind::File, rules);
    size_t rows = 0, cols = 0;
    const std::vector<double> x = readRows(calib, rows, cols);
    auto t0 = std::chrono::steady_clock::now();
    {
        auto m = Model::load(model, cfg.empty() ? Json(nullptr) : Json(cfg), opt.weights);
        if (int(cols) != m->inputSize())
            throw Error(calib + ": has " + std::to_string(cols) + " columns but the model takes " +
                        std::to_string(m->inputSize()) + " inputs");
        NonFiniteCount bad;
        bad.add(x.data(), rows, cols, 0);
        if (bad.total())
            throw Error(calib + ": --auto-precision: " + bad.describe() +
                        "; ranges cannot be measured on them: remove or replace those rows");
    }
    const AutoPrecisionResult r =
        autoPrecision(model, cfg.empty() ? Json(nullptr) : Json(cfg), x.data(), rows, opt, std::cerr);
    std::cerr << r.table() << "search took " << std::fixed << std::setprecision(2)
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n"
              << std::defaultfloat;
    const std::string text = "# Tachyon auto-precision for " + model + " from " + calib + " (" +
                             std::to_string(rows) + " rows)\n" + jsonToYaml(r.config);
    if (out.empty()) {
        std::cout << text;
    } else {
        std::ofstream f(written->tmp());
        f << text;
        f.close();
        if (!f) throw Error(out + ": -o: cannot write file (disk full?)");
        written->commit();
        std::cerr << "wrote " << out << "\n";
    }
    return r.met ? 0 : 2;
}

int cmdProfile(const std::string& model, const std::string& cfg, const std::string& calib, const std::string& outDir,
               int threads, bool force) {
    const auto inputs = inputsOf(model, {{"configuration (-c)", cfg}, {"input (-i)", calib}});
    if (!outDir.empty()) checkOutput(outDir, "-o", OutputKind::Profile, {inputs, force});   // before the work
    size_t rows = 0, cols = 0;
    const std::vector<double> x = readRows(calib, rows, cols);
    auto m = Model::load(model, cfg.empty() ? Json(nullptr) : Json(cfg));
    if (int(cols) != m->inputSize())
        throw Error(calib + ": has " + std::to_string(cols) + " columns but model '" + m->graph().name + "' takes " +
                    std::to_string(m->inputSize()) + " inputs");
    const ProfileReport r = profile(*m, x.data(), rows, threads);
    std::cout << r.table();
    if (!outDir.empty()) {
        for (const std::string& f : writeProfile(r, outDir, std::cerr, force, inputs)) std::cerr << "wrote " << f << "\n";
    }
    return 0;
}

}  // namespace tachyon::api
