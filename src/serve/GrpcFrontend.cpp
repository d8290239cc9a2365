// GRPCInferenceService (proto/grpc_service.proto) on gRPC's synchronous server: each call
// runs on one of gRPC's threads, and ModelInfer blocks there until its batch is done.
#include "grpc_service.grpc.pb.h"
#include "serve/Infer.h"
#include "serve/Server.h"
#include "serve/Stats.h"
#include "util/Error.h"

#include <grpcpp/grpcpp.h>

namespace tachyon::serve {

namespace {

grpc::StatusCode grpcCode(Code c) {
    switch (c) {
        case Code::InvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
        case Code::NotFound: return grpc::StatusCode::NOT_FOUND;
        case Code::Unavailable: return grpc::StatusCode::UNAVAILABLE;
        case Code::ResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
        case Code::DeadlineExceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
        case Code::Internal: return grpc::StatusCode::INTERNAL;
    }
    return grpc::StatusCode::INTERNAL;
}

template <class F>
grpc::Status guarded(F&& f) {
    try {
        f();
        return grpc::Status::OK;
    } catch (const ServeError& e) {
        return grpc::Status(grpcCode(e.code()), e.what());
    } catch (const std::bad_alloc&) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory");
    } catch (const std::exception& e) {
        return grpc::Status(grpc::StatusCode::INTERNAL, e.what());
    }
}

// An input's values from raw_input_contents[index] or from its typed contents.
std::vector<double> inputValues(const inference::ModelInferRequest& rq, int index, const Tensor& t) {
    const std::string what = "input '" + t.name + "'";
    const size_t n = elementCount(t.shape, what);
    datatypeSize(t.datatype, what);   // refuses types the server does not serve
    if (rq.raw_input_contents_size() > 0) {
        if (index >= rq.raw_input_contents_size())
            throw ServeError(Code::InvalidArgument, what + ": no raw_input_contents entry for it");
        const std::string& raw = rq.raw_input_contents(index);
        return decodeRaw(t.datatype, raw.data(), raw.size(), n, what);
    }
    const auto& c = rq.inputs(index).contents();
    std::vector<double> v;
    auto take = [&](const auto& field) { v.assign(field.begin(), field.end()); };
    if (t.datatype == "FP32") take(c.fp32_contents());
    else if (t.datatype == "FP64") take(c.fp64_contents());
    else if (t.datatype == "INT8" || t.datatype == "INT16" || t.datatype == "INT32") take(c.int_contents());
    else if (t.datatype == "INT64") take(c.int64_contents());
    else if (t.datatype == "UINT8" || t.datatype == "UINT16" || t.datatype == "UINT32") take(c.uint_contents());
    else if (t.datatype == "UINT64") take(c.uint64_contents());
    if (v.size() != n)
        throw ServeError(Code::InvalidArgument, what + ": " + std::to_string(v.size()) + " values for a shape of " +
                                                    std::to_string(n) + " elements");
    return v;
}

class Service final : public inference::GRPCInferenceService::Service {
public:
    explicit Service(ServerState& st) : st_(st) {}

    grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*,
                            inference::ServerLiveResponse* r) override {
        r->set_live(true);
        return grpc::Status::OK;
    }
    grpc::Status ServerReady(grpc::ServerContext*, const inference::ServerReadyRequest*,
                             inference::ServerReadyResponse* r) override {
        r->set_ready(st_.ready());
        return grpc::Status::OK;
    }
    grpc::Status ModelReady(grpc::ServerContext*, const inference::ModelReadyRequest* q,
                            inference::ModelReadyResponse* r) override {
        try {
            r->set_ready(!st_.stopping && st_.repo.find(q->name(), q->version()) != nullptr);
        } catch (const ServeError&) {
            r->set_ready(false);
        }
        return grpc::Status::OK;
    }
    grpc::Status ServerMetadata(grpc::ServerContext*, const inference::ServerMetadataRequest*,
                                inference::ServerMetadataResponse* r) override {
        r->set_name("tachyon");
        r->set_version("0.1.0");
        for (const char* e : {"binary_tensor_data", "model_repository", "statistics", "model_configuration"})
            r->add_extensions(e);
        return grpc::Status::OK;
    }
    grpc::Status ModelMetadata(grpc::ServerContext*, const inference::ModelMetadataRequest* q,
                               inference::ModelMetadataResponse* r) override {
        return guarded([&] { *r = modelMetadata(st_.repo, q->name(), q->version()); });
    }
    grpc::Status ModelConfig(grpc::ServerContext*, const inference::ModelConfigRequest* q,
                             inference::ModelConfigResponse* r) override {
        return guarded([&] { *r->mutable_config() = st_.repo.find(q->name(), q->version())->config; });
    }
    grpc::Status ModelStatistics(grpc::ServerContext*, const inference::ModelStatisticsRequest* q,
                                 inference::ModelStatisticsResponse* r) override {
        return guarded([&] {
            if (q->name().empty()) {
                for (const auto& mv : st_.repo.all()) *r->add_model_stats() = modelStatistics(*mv);
            } else if (q->version().empty()) {
                st_.repo.find(q->name(), "");
                for (const auto& mv : st_.repo.versions(q->name())) *r->add_model_stats() = modelStatistics(*mv);
            } else {
                *r->add_model_stats() = modelStatistics(*st_.repo.find(q->name(), q->version()));
            }
        });
    }
    grpc::Status RepositoryIndex(grpc::ServerContext*, const inference::RepositoryIndexRequest* q,
                                 inference::RepositoryIndexResponse* r) override {
        for (const auto& e : st_.repo.index()) {
            if (q->ready() && e.state != "READY") continue;
            auto* m = r->add_models();
            m->set_name(e.name);
            m->set_version(e.version);
            m->set_state(e.state);
            m->set_reason(e.reason);
        }
        return grpc::Status::OK;
    }
    grpc::Status RepositoryModelLoad(grpc::ServerContext*, const inference::RepositoryModelLoadRequest* q,
                                     inference::RepositoryModelLoadResponse*) override {
        return guarded([&] {
            st_.repo.load(q->model_name());
            st_.repo.find(q->model_name(), "");   // reports why it did not load
        });
    }
    grpc::Status RepositoryModelUnload(grpc::ServerContext*, const inference::RepositoryModelUnloadRequest* q,
                                       inference::RepositoryModelUnloadResponse*) override {
        return guarded([&] { st_.repo.unload(q->model_name()); });
    }

    grpc::Status ModelInfer(grpc::ServerContext* ctx, const inference::ModelInferRequest* q,
                            inference::ModelInferResponse* r) override {
        const auto arrival = Clock::now();
        std::shared_ptr<ModelVersion> mv;
        return guarded([&] {
            mv = st_.repo.find(q->model_name(), q->model_version());
            if (st_.stopping) throw ServeError(Code::Unavailable, "the server is shutting down");
            InferRequest rq;
            try {
                rq = toRequest(*q, ctx);
            } catch (const ServeError&) {
                mv->batcher->recordFailure(arrival);
                throw;
            }
            InferResponse res;
            try {
                res = runInfer(*mv, rq);
            } catch (const ServeError& e) {
                if (e.code() == Code::InvalidArgument) mv->batcher->recordFailure(arrival);
                throw;
            }
            r->set_model_name(res.model);
            r->set_model_version(res.version);
            r->set_id(res.id);
            auto* o = r->add_outputs();
            o->set_name(res.output.name);
            o->set_datatype(res.output.datatype);
            for (int64_t d : res.output.shape) o->add_shape(d);
            r->add_raw_output_contents(encodeRaw(res.output.datatype, res.output.values));
        });
    }

private:
    static InferRequest toRequest(const inference::ModelInferRequest& q, grpc::ServerContext* ctx) {
        InferRequest rq;
        rq.model = q.model_name();
        rq.version = q.model_version();
        rq.id = q.id();
        for (int i = 0; i < q.inputs_size(); ++i) {
            Tensor t;
            t.name = q.inputs(i).name();
            t.datatype = q.inputs(i).datatype();
            t.shape.assign(q.inputs(i).shape().begin(), q.inputs(i).shape().end());
            t.values = inputValues(q, i, t);
            rq.inputs.push_back(std::move(t));
        }
        for (const auto& o : q.outputs()) rq.outputs.push_back({o.name(), false});
        if (auto it = q.parameters().find("timeout"); it != q.parameters().end() && it->second.int64_param() > 0)
            rq.timeout = Micros(std::min<int64_t>(it->second.int64_param(), 3'600'000'000LL));
        // The client's own deadline bounds the time in the queue too.
        const auto left = ctx->deadline() - std::chrono::system_clock::now();
        if (ctx->deadline() != std::chrono::system_clock::time_point::max() && left < std::chrono::hours(1)) {
            const Micros us = std::max(Micros(1), std::chrono::duration_cast<Micros>(left));
            if (rq.timeout.count() == 0 || us < rq.timeout) rq.timeout = us;
        }
        return rq;
    }

    ServerState& st_;
};

class GrpcFrontend : public Frontend {
public:
    GrpcFrontend(ServerState& st, const ServeOptions& opt) : service_(st), maxBytes_(opt.maxRequestBytes) {}
    int start(const std::string& host, int port) override {
        grpc::ServerBuilder b;
        int bound = 0;
        b.AddListeningPort(host + ":" + std::to_string(port), grpc::InsecureServerCredentials(), &bound);
        b.RegisterService(&service_);
        // A port another process holds is an error, not a shared port (gRPC's default).
        b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
        b.SetMaxReceiveMessageSize(int(std::min<size_t>(maxBytes_, 2147483647)));
        b.SetMaxSendMessageSize(-1);
        server_ = b.BuildAndStart();
        if (!server_ || bound <= 0) throw Error("gRPC: cannot listen on " + host + ":" + std::to_string(port));
        return bound;
    }
    void stop() override {
        if (!server_) return;
        // In-flight calls finish (up to 30 s); new ones are refused.
        server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
        server_->Wait();
    }

private:
    Service service_;
    size_t maxBytes_;
    std::unique_ptr<grpc::Server> server_;
};

}  // namespace

std::unique_ptr<Frontend> makeGrpcFrontend(ServerState& state, const ServeOptions& opt) {
    return std::make_unique<GrpcFrontend>(state, opt);
}

}  // namespace tachyon::serve
