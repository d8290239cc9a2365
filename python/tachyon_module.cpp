// _tachyon: the pybind11 binding of src/api (the same library the `tachyon` CLI calls).
// python/tachyon/__init__.py wraps it in the documented `tachyon` API (docs/python.md).
// Configurations cross the boundary as JSON text; arrays as numpy float64 without a copy
// when the caller's array is already C-contiguous float64. Long calls release the GIL.
#include "api/Api.h"
#include "fixed/FixedType.h"
#include "trigger/Study.h"
#include "util/Error.h"
#include "util/Json.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <iostream>
#include <sstream>

namespace py = pybind11;
using namespace tachyon;
using api::Json;

namespace {

using InArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Worker threads a call may ask for: more would only fail to start (and abort the process).
constexpr int kMaxThreads = 1024;

int checkedThreads(int threads) {
    if (threads < 0 || threads > kMaxThreads)
        throw py::value_error("threads: " + std::to_string(threads) + " is not between 0 (every core) and " +
                              std::to_string(kMaxThreads));
    return threads;
}

// "(N, 16)": -1 stands for the number of rows.
std::string shapeText(const std::vector<py::ssize_t>& dims) {
    std::string s = "(";
    for (size_t k = 0; k < dims.size(); ++k) s += (k ? ", " : "") + (dims[k] < 0 ? "N" : std::to_string(dims[k]));
    return s + (dims.size() == 1 ? ",)" : ")");
}

// A batch of rows for a model taking samples of `shape`: (N, *shape), (N, prod(shape)), or
// one sample of exactly `shape` (N = 1). Any real dtype is converted to float64; anything
// else is refused with TypeError, a shape that fits none of these with ValueError.
struct Rows {
    InArray x;
    size_t rows = 0;
};
// `obj` as a numpy array of real numbers (TypeError for anything else).
py::array realArray(const py::object& obj) {
    py::array a = py::array::ensure(obj);   // null when numpy cannot make an array of it
    if (!a) throw py::type_error("x: expected a numpy array of real numbers, got " +
                                 std::string(py::str(py::type::of(obj).attr("__name__"))));
    const char kind = a.dtype().kind();
    if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f')
        throw py::type_error("x: dtype " + std::string(py::str(a.dtype())) +
                             " is not real numbers (expected bool, integer or floating point)");
    return a;
}

Rows rowsFor(const py::object& obj, const Shape& shape) {
    py::array a = realArray(obj);
    std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim()), one(shape.begin(), shape.end());
    py::ssize_t size = 1;
    for (int d : shape) size *= d;
    std::vector<py::ssize_t> rest;
    if (a.ndim() >= 1) rest.assign(got.begin() + 1, got.end());
    size_t rows = 0;
    if (a.ndim() >= 1 && (rest == one || rest == std::vector<py::ssize_t>{size})) rows = size_t(got[0]);
    else if (got == one) rows = 1;
    else {
        std::vector<py::ssize_t> full{-1}, flat{-1, size};
        full.insert(full.end(), one.begin(), one.end());
        std::string expected = shapeText(full);
        if (full != flat) expected += " or " + shapeText(flat);
        throw py::value_error("x: shape " + shapeText(got) + " does not fit the model's input: expected " + expected +
                              ", or one sample " + shapeText(one));
    }
    InArray converted = InArray::ensure(a);
    if (!converted) throw py::type_error("x: cannot convert dtype " + std::string(py::str(a.dtype())) + " to float64");
    return {converted, rows};
}

py::array_t<double> outArray(size_t rows, const Shape& shape) {
    std::vector<py::ssize_t> dims{py::ssize_t(rows)};
    for (int d : shape) dims.push_back(d);
    return py::array_t<double>(dims);
}

py::object fromJson(const Json& j) { return py::module_::import("json").attr("loads")(j.dump()); }
Json toJson(const py::object& o) {
    if (o.is_none()) return nullptr;
    if (py::isinstance<py::str>(o)) return o.cast<std::string>();
    return Json::parse(py::module_::import("json").attr("dumps")(o).cast<std::string>());
}

py::list statsList(const std::vector<LayerStats>& stats) {
    py::list l;
    for (const auto& s : stats) {
        py::dict d;
        d["layer"] = s.layer;
        d["result_overflows"] = s.resultOverflows;
        d["accum_overflows"] = s.accumOverflows;
        d["values"] = s.values;
        l.append(d);
    }
    return l;
}

py::list warningList(const std::vector<api::PredictWarning>& warnings) {
    py::list l;
    for (const auto& w : warnings) {
        py::dict d;
        d["kind"] = api::kindName(w.kind);
        d["layer"] = w.layer;
        d["count"] = w.count;
        d["message"] = w.message;
        l.append(d);
    }
    return l;
}

// Thrown between blocks of rows when Python has a pending signal (Ctrl-C): the prediction
// stops, and the binding raises the pending KeyboardInterrupt once it holds the GIL again.
struct Interrupted : std::exception {
    const char* what() const noexcept override { return "interrupted"; }
};

// ---- tachyon.trigger: per-file scores as plain dicts of numpy arrays (they travel to and
// from Dask workers by pickle) ----

py::dict scoresToPython(const trigger::SampleScores& s) {
    py::dict d;
    d["name"] = s.name;
    d["events"] = s.events;
    py::list fixed, flt;
    for (size_t a = 0; a < s.fixed.size(); ++a) {
        fixed.append(py::array_t<double>(py::ssize_t(s.fixed[a].size()), s.fixed[a].data()));
        flt.append(py::array_t<double>(py::ssize_t(s.flt[a].size()), s.flt[a].data()));
    }
    d["fixed"] = fixed;
    d["float"] = flt;
    return d;
}

trigger::SampleScores scoresFromPython(const py::dict& d) {
    trigger::SampleScores s;
    s.name = d["name"].cast<std::string>();
    s.events = d["events"].cast<size_t>();
    for (const char* key : {"fixed", "float"})
        for (const auto& item : d[key].cast<py::list>()) {
            const InArray a = item.cast<InArray>();
            if (size_t(a.size()) != s.events) throw Error(s.name + ": " + key + " scores do not match its event count");
            (std::string(key) == "fixed" ? s.fixed : s.flt).emplace_back(a.data(), a.data() + a.size());
        }
    return s;
}

}  // namespace

PYBIND11_MODULE(_tachyon, m) {
    m.doc() = "Tachyon's library (src/api) for the tachyon Python package";
    static py::exception<Error> exc(m, "TachyonError", PyExc_RuntimeError);
    // Every failure of the library is a TachyonError (filesystem and JSON errors included);
    // Python's own exceptions (TypeError, ValueError, KeyboardInterrupt) pass through.
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const py::error_already_set&) {
            throw;
        } catch (const py::builtin_exception&) {
            throw;
        } catch (const std::bad_alloc&) {
            PyErr_SetString(PyExc_MemoryError, "out of memory");
        } catch (const Error& e) {
            exc(util::capMessage(e.what()).c_str());   // 2 KB at most, as the CLI prints
        } catch (const std::exception& e) {
            exc(util::capMessage(e.what()).c_str());
        }
    });
    // The same cap for the TachyonErrors the Python layer raises itself.
    m.def("cap_message", [](const std::string& msg) { return util::capMessage(msg); }, py::arg("message"));

    // A Python Model holds a SharedModel: a new configuration swaps in a new immutable
    // model, while predictions still running in other threads keep the one they started with.
    using Shared = api::SharedModel;
    py::class_<Shared>(m, "Model")
        .def_property_readonly("path", [](const Shared& s) { return s.get()->path(); })
        .def_property_readonly("is_tree", [](const Shared& s) { return s.get()->isTree(); })
        .def("config", [](const Shared& s) { return fromJson(s.get()->config()); })
        .def("set_config",
             [](Shared& s, const py::object& cfg) {
                 if (!py::isinstance<py::dict>(cfg)) throw py::type_error("config must be a dict in hls4ml's layout");
                 Json j = toJson(cfg);
                 py::gil_scoped_release nogil;
                 s.setConfig(j);
             })
        .def_property_readonly("warnings", [](const Shared& s) { return s.get()->warnings(); })
        .def_property_readonly("input_shape", [](const Shared& s) { return s.get()->inputShape(); })
        .def_property_readonly("output_shape", [](const Shared& s) { return s.get()->outputShape(); })
        .def_property_readonly("layers", [](const Shared& s) { return s.get()->layerNames(); })
        .def("summary", [](const Shared& s) { return s.get()->summary(); })
        .def(
            "predict",
            // Returns (y, warnings, stats): warnings as dicts, the Python layer turns them
            // into warning categories; stats (per-layer overflow counts) only when asked for,
            // else None: building a dict per layer is most of a one-row call's cost.
            [](const Shared& s, const py::object& xObj, bool floatMode, int threads, bool fidelity, bool withStats) {
                const auto model = s.get();
                Rows in = rowsFor(xObj, model->inputShape());
                api::PredictOptions opt;
                opt.floatMode = floatMode;
                opt.threads = checkedThreads(threads);
                opt.checkFidelity = fidelity;
                // Ctrl-C: Python's signal handlers run between blocks of rows.
                opt.betweenBlocks = [] {
                    py::gil_scoped_acquire gil;
                    if (PyErr_CheckSignals() != 0) throw Interrupted();
                };
                py::array_t<double> out = outArray(in.rows, model->outputShape());
                api::PredictReport rep;
                bool interrupted = false;
                {
                    py::gil_scoped_release nogil;
                    try {
                        rep = model->run(in.x.data(), in.rows, out.mutable_data(), opt);
                    } catch (const Interrupted&) {
                        interrupted = true;
                    }
                }
                if (interrupted) throw py::error_already_set();   // the pending KeyboardInterrupt
                return py::make_tuple(out, warningList(rep.warnings),
                                      withStats ? py::object(statsList(rep.stats)) : py::object(py::none()));
            },
            py::arg("x"), py::arg("float") = false, py::arg("threads") = 0, py::arg("fidelity") = true,
            py::arg("stats") = false)
        .def(
            "trace",
            [](const Shared& s, const py::object& xObj, bool floatMode) {
                const auto model = s.get();
                Rows in = rowsFor(xObj, model->inputShape());
                std::vector<std::vector<double>> tr;
                {
                    py::gil_scoped_release nogil;
                    tr = model->trace(in.x.data(), in.rows, floatMode);
                }
                py::dict d;
                const auto names = model->layerNames();
                const auto shapes = model->layerShapes();
                for (size_t k = 0; k < tr.size(); ++k) {
                    py::array_t<double> a = outArray(in.rows, shapes[k]);
                    std::copy(tr[k].begin(), tr[k].end(), a.mutable_data());
                    d[py::str(names[k])] = a;
                }
                return d;
            },
            py::arg("x"), py::arg("float") = false)
        .def(
            "profile",
            [](const Shared& s, const py::object& xObj, int threads) {
                const auto model = s.get();
                Rows in = rowsFor(xObj, model->inputShape());
                checkedThreads(threads);
                api::ProfileReport r;
                {
                    py::gil_scoped_release nogil;
                    r = api::profile(*model, in.x.data(), in.rows, threads);
                }
                return py::make_tuple(fromJson(r.toJson()), r.table());
            },
            py::arg("x"), py::arg("threads") = 0)
        .def(
            "write",
            [](const Shared& s, const std::string& dir, const std::string& backend, const std::string& cmvm,
               int stages, bool force) {
                const auto model = s.get();
                py::gil_scoped_release nogil;
                model->write(dir, backend, cmvm, stages, &std::cerr, force);
            },
            py::arg("dir"), py::arg("backend"), py::arg("cmvm") = "da", py::arg("stages") = -1,
            py::arg("force") = false);

    m.def(
        "load",
        [](const std::string& path, const py::object& config, const std::string& weights) {
            Json j = toJson(config);
            py::gil_scoped_release nogil;
            return std::make_unique<Shared>(api::Model::load(path, j, weights));
        },
        py::arg("path"), py::arg("config") = py::none(), py::arg("weights") = "");

    m.def(
        "config_from_model",
        [](const std::string& path, const std::string& granularity, const std::string& prec, int reuse) {
            Json j;
            {
                py::gil_scoped_release nogil;
                j = api::configFromModel(path, granularity, prec, reuse);
            }
            return fromJson(j);
        },
        py::arg("path"), py::arg("granularity") = "model", py::arg("default_precision") = "ap_fixed<16,6>",
        py::arg("default_reuse_factor") = 1);

    m.def(
        "auto_precision",
        [](const std::string& path, const py::object& config, const py::object& xObj, double targetAgreement,
           double maxError, int maxBits, int margin, bool exactAccum, int threads, const std::string& weights,
           int scoreBits) {
            auto probe = api::Model::load(path, toJson(config), weights);
            Rows in = rowsFor(xObj, probe->inputShape());
            checkedThreads(threads);
            api::AutoPrecisionOptions o;
            o.targetAgreement = targetAgreement;
            o.maxError = maxError;
            o.maxBits = maxBits;
            o.margin = margin;
            o.exactAccumulators = exactAccum;
            o.threads = threads;
            o.weights = weights;
            o.scoreFracBits = scoreBits;
            Json base = probe->config();
            api::AutoPrecisionResult r;
            {
                py::gil_scoped_release nogil;
                r = api::autoPrecision(path, base, in.x.data(), in.rows, o, std::cerr);
            }
            py::dict d;
            d["config"] = fromJson(r.config);
            d["classifier"] = r.classifier;
            d["metric"] = r.metric;
            d["met"] = r.met;
            d["evaluations"] = r.evaluations;
            d["table"] = r.table();
            py::dict layers;
            for (const auto& c : r.layers) layers[py::str(c.layer)] = c.types;
            d["layers"] = layers;
            return d;
        },
        py::arg("path"), py::arg("config"), py::arg("x"), py::arg("target_agreement") = 0.999,
        py::arg("max_error") = -1.0, py::arg("max_bits") = 18, py::arg("margin") = 1, py::arg("exact_accum") = true,
        py::arg("threads") = 0, py::arg("weights") = "", py::arg("score_bits") = 8);

    m.def(
        "write_profile",
        [](const py::object& report, const std::string& dir) {
            // Round trip through the report's JSON form: the same files as `tachyon profile -o`.
            Json j = toJson(report);
            api::ProfileReport r;
            r.model = j.value("model", "");
            r.rows = j.value("rows", size_t(0));
            for (const Json& jl : j.at("layers")) {
                api::LayerProfile lp;
                lp.name = jl.at("name");
                lp.kind = jl.at("kind");
                for (const Json& jv : jl.at("vars")) {
                    api::VarProfile v;
                    v.var = jv.at("var");
                    v.type = jv.at("type");
                    v.typeMin = jv.at("type_min");
                    v.typeMax = jv.at("type_max");
                    v.lsb = jv.at("lsb");
                    v.count = jv.at("count");
                    v.zeros = jv.at("zeros");
                    v.min = jv.at("min");
                    v.max = jv.at("max");
                    for (int k = 0; k < 5; ++k) v.log2q[k] = jv.at("log2_abs")[size_t(k)];
                    v.overflow = jv.at("overflow");
                    v.belowLsb = jv.at("below_lsb");
                    v.emulatedOverflow = jv.at("emulated_overflow");
                    lp.vars.push_back(v);
                }
                r.layers.push_back(lp);
            }
            py::gil_scoped_release nogil;
            return api::writeProfile(r, dir, std::cerr);
        },
        py::arg("report"), py::arg("dir"));

    // csim and rtlsim: the same binding around either simulator.
    const auto simulation = [](api::SimResult (*simulate)(const std::string&, std::ostream&)) {
        return [simulate](const std::string& dir) {
            api::SimResult r;
            {
                py::gil_scoped_release nogil;
                r = simulate(dir, std::cerr);
            }
            py::dict d;
            d["rows"] = r.rows;
            d["mismatches"] = r.mismatches;
            return d;
        };
    };
    // (Xilinx's own ap_* headers: through $TACHYON_AP_INCLUDE, which api::csim reads.)
    m.def("csim", simulation([](const std::string& dir, std::ostream& log) { return api::csim(dir, log); }),
          py::arg("dir"));
    // csim/rtlsim on the user's rows: x is (N, ...) with the model's inputs per row.
    m.def(
        "simulate_rows",
        [](const std::string& dir, const std::string& simulator, const py::object& xObj) {
            const py::array a = realArray(xObj);
            if (a.ndim() < 1 || a.shape(0) == 0)
                throw py::value_error("x: expected a batch of rows (N, inputs) with N >= 1");
            const InArray c = InArray::ensure(a);
            if (!c) throw py::type_error("x: cannot convert dtype " + std::string(py::str(a.dtype())) + " to float64");
            const std::vector<double> x(c.data(), c.data() + c.size());
            const size_t cols = x.size() / size_t(a.shape(0));
            api::SimResult r;
            {
                py::gil_scoped_release nogil;
                r = api::simulateOnRows(dir, simulator, x, cols, "x", std::cerr);
            }
            py::dict d;
            d["rows"] = r.rows;
            d["mismatches"] = r.mismatches;
            return d;
        },
        py::arg("dir"), py::arg("simulator"), py::arg("x"));
    m.def("rtlsim", simulation(&api::rtlsim), py::arg("dir"));
    m.def(
        "report",
        [](const std::string& dir) {
            api::Resources r;
            {
                py::gil_scoped_release nogil;
                r = api::report(dir, std::cerr);
            }
            py::dict d;
            d["luts"] = r.luts;
            d["ffs"] = r.ffs;
            d["carry"] = r.carry;
            d["dsps"] = r.dsps;
            d["brams"] = r.brams;
            d["srls"] = r.srls;
            d["logic_levels"] = r.logicLevels;
            d["worst_path_ns"] = r.worstPathNs;
            d["latency_cycles"] = r.latencyCycles;
            d["clock_ns"] = r.clockNs;
            d["text"] = r.text();
            return d;
        },
        py::arg("dir"));
    // Config::parse on YAML text (what `-c` reads): raises TachyonError naming the key,
    // returns the warnings about hls4ml keys Tachyon records without using.
    m.def(
        "check_config",
        [](const std::string& text, const std::string& source) { return Config::parse(text, source).warnings; },
        py::arg("text"), py::arg("source") = "<yaml>");
    m.def("yaml_to_config", [](const std::string& text) { return fromJson(api::yamlToJson(text, "<yaml>")); });
    m.def("config_to_yaml", [](const py::object& cfg) { return api::jsonToYaml(toJson(cfg)); });
    // The exact ap_fixed cast (FixedType::castDouble) of every value, so that tachyon.qat's
    // quantisers are tested against the C++ arithmetic itself.
    m.def(
        "fixed_cast",
        [](const InArray& x, const std::string& type) {
            FixedType t;
            try {
                t = FixedType::parse(type);
            } catch (const std::invalid_argument& e) {
                throw Error("fixed_cast: type '" + type + "': " + e.what());
            }
            py::array_t<double> y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
            const double* in = x.data();
            double* out = y.mutable_data();
            const size_t n = size_t(x.size());
            for (size_t i = 0; i < n; ++i) {
                if (!std::isfinite(in[i])) throw Error("fixed_cast: value " + std::to_string(i) + " is not finite");
                out[i] = t.toDouble(t.castDouble(in[i]));
            }
            return y;
        },
        py::arg("x"), py::arg("type"));
    // tachyon.trigger (python/tachyon/trigger.py): score files anywhere, summarise here.
    m.def(
        "trigger_score",
        [](const std::string& menu, const std::string& file, const std::string& sample, int threads) {
            trigger::SampleScores s;
            {
                py::gil_scoped_release nogil;
                const trigger::Scorer scorer(trigger::readMenu(menu), /*readReports=*/false);
                s = scorer.score(trigger::parseSampleSpec(file), sample, nullptr, 65536, threads);
            }
            return scoresToPython(s);
        },
        py::arg("menu"), py::arg("file"), py::arg("sample"), py::arg("threads") = 1);
    m.def(
        "trigger_summarise",
        [](const std::string& menu, const py::list& background, const py::list& signals, const py::object& targetRate,
           const py::object& bunches, bool flat40, const py::object& latencyBudget, const std::string& device,
           const py::object& out, bool plots, bool force, const std::string& backend) {
            trigger::StudyOptions opt;
            if (!targetRate.is_none()) opt.targetRateHz = trigger::parseRateHz(py::str(targetRate).cast<std::string>());
            if (!bunches.is_none()) opt.bunches = bunches.cast<int>();
            opt.flat40 = flat40;
            if (!latencyBudget.is_none())
                opt.latencyBudgetNs = trigger::parseLatencyBudgetNs(py::str(latencyBudget).cast<std::string>());
            opt.device = device;
            opt.backend = backend;
            trigger::SampleScores bg;
            bg.name = "background";
            for (const auto& b : background) bg.append(scoresFromPython(b.cast<py::dict>()));
            std::vector<trigger::SampleScores> sig;
            for (const auto& item : signals) {
                const py::tuple t = item.cast<py::tuple>();   // (name, [per-file scores])
                trigger::SampleScores s;
                s.name = t[0].cast<std::string>();
                for (const auto& f : t[1].cast<py::list>()) s.append(scoresFromPython(f.cast<py::dict>()));
                sig.push_back(std::move(s));
            }
            const std::string dir = out.is_none() ? "" : py::str(out).cast<std::string>();
            trigger::StudyResult r;
            {
                py::gil_scoped_release nogil;
                const trigger::Scorer scorer(trigger::readMenu(menu));
                r = trigger::summarise(scorer, bg, sig, opt);
                if (!dir.empty()) trigger::writeStudy(r, dir, {menu}, force, plots, std::cerr);
            }
            return fromJson(r.summary);
        },
        py::arg("menu"), py::arg("background"), py::arg("signals"), py::arg("target_rate") = py::none(),
        py::arg("bunches") = py::none(), py::arg("flat40") = false, py::arg("latency_budget") = py::none(),
        py::arg("device") = "VU9P", py::arg("out") = py::none(), py::arg("plots") = true, py::arg("force") = false,
        py::arg("backend") = "hls");
}
