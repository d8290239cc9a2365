// _tachyon: the pybind11 binding of src/api (the same library the `tachyon` CLI calls).
// python/tachyon/__init__.py wraps it in the documented `tachyon` API (docs/python.md).
// Configurations cross the boundary as JSON text; arrays as numpy float64 without a copy
// when the caller's array is already C-contiguous float64. Long calls release the GIL.
#include "api/Api.h"
#include "fixed/FixedType.h"
#include "trigger/Study.h"
#include "util/Error.h"

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

// Rows of `x` for a model taking `perRow` values per sample: (N, perRow), (N, *shape), or one
// sample of exactly perRow values (1-D), which is treated as N = 1.
size_t rowsOf(const InArray& x, int perRow) {
    if (x.ndim() == 0) throw Error("input: a scalar is not a batch of rows");
    size_t total = size_t(x.size());
    if (x.ndim() == 1 && total == size_t(perRow)) return 1;
    size_t per = 1;
    for (py::ssize_t d = 1; d < x.ndim(); ++d) per *= size_t(x.shape(d));
    if (per != size_t(perRow))
        throw Error("input: rows have " + std::to_string(per) + " values but the model takes " +
                    std::to_string(perRow) + " inputs");
    return size_t(x.shape(0));
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
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            exc(e.what());
        }
    });

    py::class_<api::Model>(m, "Model")
        .def_property_readonly("path", &api::Model::path)
        .def_property_readonly("is_tree", &api::Model::isTree)
        .def("config", [](const api::Model& self) { return fromJson(self.config()); })
        .def("set_config",
             [](api::Model& self, const py::object& cfg) {
                 Json j = toJson(cfg);
                 py::gil_scoped_release nogil;
                 self.setConfig(j);
             })
        .def_property_readonly("warnings", &api::Model::warnings)
        .def_property_readonly("input_shape", &api::Model::inputShape)
        .def_property_readonly("output_shape", &api::Model::outputShape)
        .def_property_readonly("layers", &api::Model::layerNames)
        .def("summary", &api::Model::summary)
        .def(
            "predict",
            [](const api::Model& self, const InArray& x, bool floatMode, int threads, bool withStats) {
                const size_t rows = rowsOf(x, self.inputSize());
                py::array_t<double> out = outArray(rows, self.outputShape());
                std::vector<LayerStats> stats;
                {
                    py::gil_scoped_release nogil;
                    self.predict(x.data(), rows, out.mutable_data(), floatMode, threads,
                                 withStats && !self.isTree() ? &stats : nullptr);
                }
                if (withStats) return py::object(py::make_tuple(out, statsList(stats)));
                return py::object(out);
            },
            py::arg("x"), py::arg("float") = false, py::arg("threads") = 0, py::arg("stats") = false)
        .def(
            "trace",
            [](const api::Model& self, const InArray& x, bool floatMode) {
                const size_t rows = rowsOf(x, self.inputSize());
                std::vector<std::vector<double>> tr;
                {
                    py::gil_scoped_release nogil;
                    tr = self.trace(x.data(), rows, floatMode);
                }
                py::dict d;
                const auto names = self.layerNames();
                const auto shapes = self.layerShapes();
                for (size_t k = 0; k < tr.size(); ++k) {
                    py::array_t<double> a = outArray(rows, shapes[k]);
                    std::copy(tr[k].begin(), tr[k].end(), a.mutable_data());
                    d[py::str(names[k])] = a;
                }
                return d;
            },
            py::arg("x"), py::arg("float") = false)
        .def(
            "profile",
            [](const api::Model& self, const InArray& x, int threads) {
                const size_t rows = rowsOf(x, self.inputSize());
                api::ProfileReport r;
                {
                    py::gil_scoped_release nogil;
                    r = api::profile(self, x.data(), rows, threads);
                }
                return py::make_tuple(fromJson(r.toJson()), r.table());
            },
            py::arg("x"), py::arg("threads") = 0)
        .def(
            "write",
            [](const api::Model& self, const std::string& dir, const std::string& backend, const std::string& cmvm,
               int stages) {
                py::gil_scoped_release nogil;
                self.write(dir, backend, cmvm, stages, &std::cerr);
            },
            py::arg("dir"), py::arg("backend"), py::arg("cmvm") = "da", py::arg("stages") = -1);

    m.def(
        "load",
        [](const std::string& path, const py::object& config) {
            Json j = toJson(config);
            py::gil_scoped_release nogil;
            return api::Model::load(path, j);
        },
        py::arg("path"), py::arg("config") = py::none());

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
        [](const std::string& path, const py::object& config, const InArray& x, double targetAgreement,
           double maxError, int maxBits, int margin, bool exactAccum, int threads) {
            auto probe = api::Model::load(path, toJson(config));
            const size_t rows = rowsOf(x, probe->inputSize());
            api::AutoPrecisionOptions o;
            o.targetAgreement = targetAgreement;
            o.maxError = maxError;
            o.maxBits = maxBits;
            o.margin = margin;
            o.exactAccumulators = exactAccum;
            o.threads = threads;
            Json base = probe->config();
            api::AutoPrecisionResult r;
            {
                py::gil_scoped_release nogil;
                r = api::autoPrecision(path, base, x.data(), rows, o, std::cerr);
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
        py::arg("threads") = 0);

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
    m.def("csim", simulation(&api::csim), py::arg("dir"));
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
                const trigger::Scorer scorer(trigger::readMenu(menu));
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
                opt.latencyBudgetNs = trigger::parseDurationNs(py::str(latencyBudget).cast<std::string>());
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
