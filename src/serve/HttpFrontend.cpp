// KServe v2 REST (and Triton's REST extensions) over cpp-httplib.
#include "serve/HttpProtocol.h"
#include "serve/Server.h"
#include "serve/Stats.h"
#include "util/Error.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

namespace tachyon::serve {

using Json = nlohmann::json;

namespace {

// Protobuf's JSON mapping writes 64-bit integers as strings; Triton's REST answers have
// numbers there (shapes, dims, counts, nanoseconds). Names and versions stay strings.
void int64StringsToNumbers(Json& j, const std::string& key = "") {
    static const char* const textKeys[] = {"name", "version", "versions", "platform", "backend", "runtime",
                                           "string_value", "label_filename", "default_model_filename", "reason"};
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) int64StringsToNumbers(it.value(), it.key());
    } else if (j.is_array()) {
        for (Json& e : j) int64StringsToNumbers(e, key);
    } else if (j.is_string()) {
        for (const char* k : textKeys)
            if (key == k) return;
        const std::string& v = j.get_ref<const std::string&>();
        if (v.empty() || v.size() > 19) return;
        const bool negative = v[0] == '-';
        if (v.size() == size_t(negative) ||
            !std::all_of(v.begin() + negative, v.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return;
        if (negative) j = std::stoll(v);
        else j = std::stoull(v);
    }
}

std::string protoJson(const google::protobuf::Message& m) {
    std::string s;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    o.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(m, &s, o);
    Json j = Json::parse(s);
    int64StringsToNumbers(j);
    return j.dump();
}

void sendJson(httplib::Response& res, const std::string& body, int status = 200) {
    res.status = status;
    res.set_content(body, "application/json");
}

void sendError(httplib::Response& res, int status, const std::string& msg) { sendJson(res, errorJson(msg), status); }

// The parameter names of a load request body ({"parameters": {...}}; empty or no JSON: none).
std::vector<std::string> loadParameterNames(const std::string& body) {
    std::vector<std::string> names;
    const Json j = Json::parse(body, nullptr, false);
    if (j.is_object())
        if (auto p = j.find("parameters"); p != j.end() && p->is_object())
            for (auto it = p->begin(); it != p->end(); ++it) names.push_back(it.key());
    return names;
}

// SO_REUSEADDR (a restarted server binds over its old TIME_WAIT connections) but not
// cpp-httplib's SO_REUSEPORT: a port another process listens on must be an error.
void exclusivePort(httplib::Server& svr) {
    svr.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
}

// A cpp-httplib server on its own listening thread: what the inference and the metrics
// front ends share (binding, the thread, stopping).
class HttpListener : public Frontend {
public:
    explicit HttpListener(std::string what) : what_(std::move(what)) { exclusivePort(svr_); }
    int start(const std::string& host, int port) override {
        const int bound = port == 0 ? svr_.bind_to_any_port(host) : (svr_.bind_to_port(host, port) ? port : -1);
        if (bound <= 0) throw Error(what_ + ": cannot listen on " + host + ":" + std::to_string(port));
        thread_ = std::thread([this] { svr_.listen_after_bind(); });
        return bound;
    }
    void stop() override {
        svr_.stop();
        if (thread_.joinable()) thread_.join();
    }

protected:
    httplib::Server svr_;

private:
    std::string what_;
    std::thread thread_;
};

class HttpFrontend : public HttpListener {
public:
    HttpFrontend(ServerState& st, const ServeOptions& opt)
        : HttpListener("HTTP"), st_(st), maxBytes_(opt.maxRequestBytes) {
        const int threads = std::max(4, opt.httpThreads);
        svr_.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
        svr_.set_payload_max_length(opt.maxRequestBytes);
        svr_.set_keep_alive_max_count(1000000);
        svr_.set_tcp_nodelay(true);   // small answers go out at once (no Nagle delay)
        svr_.set_read_timeout(30, 0);
        routes();
    }
private:
    // Runs a handler, turning errors into the protocol's JSON error answers.
    template <class F>
    void guarded(httplib::Response& res, F&& f) {
        try {
            f();
        } catch (const ServeError& e) {
            sendError(res, httpStatus(e.code()), e.what());
        } catch (const std::bad_alloc&) {
            sendError(res, 503, "out of memory");
        } catch (const std::exception& e) {
            sendError(res, 500, e.what());
        }
    }

    // A POST route whose handler gets the body read here: --max-request-bytes bounds the
    // body as the handler sees it, after gzip/deflate decoding and chunked transfer
    // (cpp-httplib itself bounds only a declared Content-Length, so a small compressed
    // or chunked body could otherwise grow without limit).
    template <class Handler>
    void postRoute(const char* pattern, Handler handler) {
        svr_.Post(pattern, [this, handler](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& reader) {
            std::string body;
            // No Content-Length and no Transfer-Encoding: the body is empty (RFC 9112 6.3).
            // tritonclient.http (geventhttpclient) sends its body-less POSTs (unregister,
            // unload) so; cpp-httplib would wait for the connection to close instead.
            if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
                handler(req, body, res);
                return;
            }
            if (req.has_header("Content-Length")) {
                // One allocation for a declared body (no regrowing copies while it arrives).
                const std::string n = req.get_header_value("Content-Length");
                char* end = nullptr;
                const unsigned long long declared = std::strtoull(n.c_str(), &end, 10);
                if (end && *end == '\0') body.reserve(size_t(std::min<unsigned long long>(declared, maxBytes_)));
            }
            bool tooLarge = false;
            const bool ok = reader([&](const char* data, size_t n) {
                if (n > maxBytes_ - body.size()) {
                    tooLarge = true;
                    return false;
                }
                body.append(data, n);
                return true;
            });
            if (tooLarge || res.status == 413) {
                res.set_header("Connection", "close");   // the rest of the body is not read
                sendError(res, 413, "the request body exceeds --max-request-bytes (" + std::to_string(maxBytes_) +
                                        " bytes, counted after decompression)");
            } else if (!ok) {
                res.set_header("Connection", "close");
                sendError(res, 400, "the request body could not be read (cut short, or a compressed body that does "
                                    "not decode)");
            } else {
                handler(req, body, res);
            }
        });
    }

    void routes() {
        svr_.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
        svr_.Get("/v2/health/ready",
                 [this](const httplib::Request&, httplib::Response& res) { res.status = st_.ready() ? 200 : 503; });
        svr_.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
            sendJson(res, Json{{"name", "tachyon"},
                               {"version", "0.1.0"},
                               {"extensions", {"binary_tensor_data", "model_repository", "statistics", "model_configuration",
                                              "system_shared_memory"}}}
                              .dump());
        });
        svr_.Get("/v2/models/stats", [this](const httplib::Request&, httplib::Response& res) {
            guarded(res, [&] {
                inference::ModelStatisticsResponse r;
                for (const auto& mv : st_.repo.all()) *r.add_model_stats() = modelStatistics(*mv);
                sendJson(res, protoJson(r));
            });
        });
        const char* modelPath = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/config|/stats)?)";
        svr_.Get(modelPath, [this](const httplib::Request& req, httplib::Response& res) {
            guarded(res, [&] { modelGet(req.matches[1], req.matches[2], req.matches[3], res); });
        });
        postRoute(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/infer)",
                  [this](const httplib::Request& req, const std::string& body, httplib::Response& res) {
                      infer(req, body, res);
                  });
        postRoute("/v2/repository/index", [this](const httplib::Request&, const std::string&, httplib::Response& res) {
            Json idx = Json::array();
            for (const auto& e : st_.repo.index()) {
                Json m = {{"name", e.name}, {"state", e.state}};
                if (!e.version.empty()) m["version"] = e.version;
                if (!e.reason.empty()) m["reason"] = e.reason;
                idx.push_back(m);
            }
            sendJson(res, idx.dump());
        });
        sharedMemoryRoutes();
        postRoute(R"(/v2/repository/models/([^/]+)/(load|unload))",
                  [this](const httplib::Request& req, const std::string& body, httplib::Response& res) {
                      guarded(res, [&] {
                          const std::string name = req.matches[1];
                          if (req.matches[2] == "load") {
                              refuseLoadOverrides(name, loadParameterNames(body));
                              st_.repo.load(name);
                              st_.repo.find(name, "");   // reports why it did not load
                          } else {
                              st_.repo.unload(name);
                          }
                          sendJson(res, "{}");
                      });
                  });
    }

    // Triton's system shared memory extension over REST.
    void sharedMemoryRoutes() {
        svr_.Get(R"(/v2/systemsharedmemory(?:/region/([^/]+))?/status)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                     guarded(res, [&] {
                         Json regions = Json::array();
                         for (const RegionStatus& r : st_.shm.status(req.matches[1]))
                             regions.push_back(
                                 {{"name", r.name}, {"key", r.key}, {"offset", r.offset}, {"byte_size", r.byteSize}});
                         sendJson(res, regions.dump());
                     });
                 });
        postRoute(R"(/v2/systemsharedmemory/region/([^/]+)/register)",
                  [this](const httplib::Request& req, const std::string& body, httplib::Response& res) {
                      guarded(res, [&] {
                          const Json j = Json::parse(body, nullptr, false);
                          const auto count = [&](const char* k, bool required) -> size_t {
                              const auto it = j.is_object() ? j.find(k) : j.end();
                              if (it == j.end() && !required) return 0;
                              if (it == j.end() || !it->is_number_unsigned())
                                  throw ServeError(Code::InvalidArgument,
                                                   std::string("shared memory register: '") + k + "' must be a byte count");
                              return it->get<size_t>();
                          };
                          if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
                              throw ServeError(Code::InvalidArgument,
                                               "shared memory register: the body must be a JSON object with a string 'key'");
                          st_.shm.add(req.matches[1], j["key"].get<std::string>(), count("offset", false),
                                      count("byte_size", true));
                          sendJson(res, "{}");
                      });
                  });
        // No CUDA here: Triton's CUDA shared memory calls are refused, saying why.
        svr_.Get(R"(/v2/cudasharedmemory(?:/region/[^/]+)?/status)", [this](const httplib::Request&, httplib::Response& res) {
            guarded(res, [] { refuseCudaSharedMemory("status"); });
        });
        postRoute(R"(/v2/cudasharedmemory(?:/region/[^/]+)?/(register|unregister))",
                  [this](const httplib::Request& req, const std::string&, httplib::Response& res) {
                      guarded(res, [&] { refuseCudaSharedMemory(req.matches[1]); });
                  });
        postRoute(R"(/v2/systemsharedmemory(?:/region/([^/]+))?/unregister)",
                  [this](const httplib::Request& req, const std::string&, httplib::Response& res) {
                      guarded(res, [&] {
                          st_.shm.remove(req.matches[1]);
                          sendJson(res, "{}");
                      });
                  });
    }

    void modelGet(const std::string& name, const std::string& version, const std::string& what,
                  httplib::Response& res) {
        if (what == "/ready") {
            bool ready = false;
            try {
                ready = !st_.stopping && st_.repo.find(name, version) != nullptr;
            } catch (const ServeError&) {
            }
            res.status = ready ? 200 : 400;
            return;
        }
        if (what == "/stats") {
            inference::ModelStatisticsResponse r;
            const auto mv = st_.repo.find(name, version);
            if (version.empty())
                for (const auto& v : st_.repo.versions(name)) *r.add_model_stats() = modelStatistics(*v);
            else
                *r.add_model_stats() = modelStatistics(*mv);
            sendJson(res, protoJson(r));
            return;
        }
        if (what == "/config") {
            sendJson(res, protoJson(st_.repo.find(name, version)->config));
            return;
        }
        sendJson(res, protoJson(modelMetadata(st_.repo, name, version)));
    }

    void infer(const httplib::Request& req, const std::string& body, httplib::Response& res) {
        const auto arrival = Clock::now();
        std::shared_ptr<ModelVersion> mv;
        try {
            mv = st_.repo.find(req.matches[1], req.matches[2]);
            if (st_.stopping) throw ServeError(Code::Unavailable, "the server is shutting down");
            long long headerLength = -1;
            if (req.has_header("Inference-Header-Content-Length")) {
                const std::string h = req.get_header_value("Inference-Header-Content-Length");
                try {
                    size_t used = 0;
                    headerLength = std::stoll(h, &used);
                    if (used != h.size() || headerLength < 0) throw std::invalid_argument(h);
                } catch (const std::exception&) {
                    throw ServeError(Code::InvalidArgument, "Inference-Header-Content-Length '" + h + "' is not a byte count");
                }
            }
            InferRequest rq = parseHttpInfer(body, headerLength, mv->name, req.matches[2]);
            st_.shm.readInputs(rq);
            InferResponse r = runInfer(*mv, rq);
            st_.shm.writeOutput(rq, r);
            const HttpBody b = encodeHttpInfer(r);
            if (b.headerLength) {
                res.set_header("Inference-Header-Content-Length", std::to_string(b.headerLength));
                res.set_content(b.body, "application/octet-stream");
            } else {
                res.set_content(b.body, "application/json");
            }
            res.status = 200;
        } catch (const ServeError& e) {
            // Queue errors are counted by the batcher itself; request errors here.
            if (mv && e.code() == Code::InvalidArgument) mv->batcher->recordFailure(arrival);
            sendError(res, httpStatus(e.code()), e.what());
        } catch (const std::bad_alloc&) {
            sendError(res, 503, "out of memory");
        } catch (const std::exception& e) {
            sendError(res, 500, e.what());
        }
    }

    ServerState& st_;
    size_t maxBytes_;
};

class MetricsFrontend : public HttpListener {
public:
    explicit MetricsFrontend(ServerState& st) : HttpListener("metrics"), st_(st) {
        svr_.new_task_queue = [] { return new httplib::ThreadPool(2); };
        svr_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(prometheusText(st_.repo), "text/plain; version=0.0.4");
        });
    }
private:
    ServerState& st_;
};

}  // namespace

std::unique_ptr<Frontend> makeHttpFrontend(ServerState& state, const ServeOptions& opt) {
    return std::make_unique<HttpFrontend>(state, opt);
}
std::unique_ptr<Frontend> makeMetricsFrontend(ServerState& state) { return std::make_unique<MetricsFrontend>(state); }

}  // namespace tachyon::serve
