// GRPCInferenceService (proto/grpc_service.proto) on gRPC's synchronous server: each call
// runs on one of gRPC's threads, and ModelInfer blocks there until its batch is done.
#include "grpc_service.grpc.pb.h"
#include "serve/GrpcStream.h"
#include "serve/Infer.h"
#include "serve/Server.h"
#include "serve/SharedMemory.h"
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
        case Code::Unsupported: return grpc::StatusCode::UNIMPLEMENTED;
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

// Triton's shared memory parameters of an input or requested output.
template <class Params>
SharedRef sharedRef(const Params& params, const std::string& what) {
    const auto region = params.find("shared_memory_region");
    if (region == params.end()) return {};
    const auto bytes = params.find("shared_memory_byte_size");
    const auto offset = params.find("shared_memory_offset");
    if (region->second.string_param().empty()) throw ServeError(Code::InvalidArgument, what + ": shared_memory_region is empty");
    if (bytes == params.end() || bytes->second.int64_param() < 0)
        throw ServeError(Code::InvalidArgument, what + ": shared_memory_region without a shared_memory_byte_size");
    if (offset != params.end() && offset->second.int64_param() < 0)
        throw ServeError(Code::InvalidArgument, what + ": shared_memory_offset is negative");
    SharedRef r;
    r.region = region->second.string_param();
    r.byteSize = size_t(bytes->second.int64_param());
    r.offset = offset == params.end() ? 0 : size_t(offset->second.int64_param());
    return r;
}

// An input's values: from raw_input_contents[raw] (the entries belong, in order, to the
// inputs that carry bytes: not those in shared memory), or from its typed contents.
std::vector<double> inputValues(const inference::ModelInferRequest& rq, int index, int raw, const Tensor& t) {
    const std::string what = "input '" + t.name + "'";
    const size_t n = elementCount(t.shape, what);
    datatypeSize(t.datatype, what);   // refuses types the server does not serve
    if (rq.raw_input_contents_size() > 0) {
        if (raw >= rq.raw_input_contents_size())
            throw ServeError(Code::InvalidArgument, what + ": no raw_input_contents entry for it");
        const std::string& bytes = rq.raw_input_contents(raw);
        return decodeRaw(t.datatype, bytes.data(), bytes.size(), n, what);
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
        for (const char* e : {"binary_tensor_data", "model_repository", "statistics", "model_configuration",
                              "system_shared_memory"})
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
            std::vector<std::string> names;
            for (const auto& [k, v] : q->parameters()) names.push_back(k);
            refuseLoadOverrides(q->model_name(), names);
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
        return inferOne(*q, ctx, *r);
    }
    // Triton's streaming call: each request answered on the stream, a failed one with its
    // error_message (the stream goes on).
    grpc::Status ModelStreamInfer(
        grpc::ServerContext* ctx,
        grpc::ServerReaderWriter<inference::ModelStreamInferResponse, inference::ModelInferRequest>* stream) override {
        pumpInferStream(*stream, [&](const inference::ModelInferRequest& q, inference::ModelStreamInferResponse& r) {
            const grpc::Status s = inferOne(q, ctx, *r.mutable_infer_response());
            if (!s.ok()) {
                r.clear_infer_response();
                r.set_error_message(s.error_message());
            }
        });
        return grpc::Status::OK;
    }

    grpc::Status SystemSharedMemoryStatus(grpc::ServerContext*, const inference::SystemSharedMemoryStatusRequest* q,
                                          inference::SystemSharedMemoryStatusResponse* r) override {
        return guarded([&] {
            for (const RegionStatus& s : st_.shm.status(q->name())) {
                auto& e = (*r->mutable_regions())[s.name];
                e.set_name(s.name);
                e.set_key(s.key);
                e.set_offset(s.offset);
                e.set_byte_size(s.byteSize);
            }
        });
    }
    grpc::Status SystemSharedMemoryRegister(grpc::ServerContext*, const inference::SystemSharedMemoryRegisterRequest* q,
                                            inference::SystemSharedMemoryRegisterResponse*) override {
        return guarded([&] { st_.shm.add(q->name(), q->key(), q->offset(), q->byte_size()); });
    }
    grpc::Status SystemSharedMemoryUnregister(grpc::ServerContext*, const inference::SystemSharedMemoryUnregisterRequest* q,
                                              inference::SystemSharedMemoryUnregisterResponse*) override {
        return guarded([&] { st_.shm.remove(q->name()); });
    }

    // No CUDA here: Triton's CUDA shared memory calls are refused, saying why.
    grpc::Status CudaSharedMemoryStatus(grpc::ServerContext*, const inference::CudaSharedMemoryStatusRequest*,
                                        inference::CudaSharedMemoryStatusResponse*) override {
        return guarded([] { refuseCudaSharedMemory("status"); });
    }
    grpc::Status CudaSharedMemoryRegister(grpc::ServerContext*, const inference::CudaSharedMemoryRegisterRequest*,
                                          inference::CudaSharedMemoryRegisterResponse*) override {
        return guarded([] { refuseCudaSharedMemory("register"); });
    }
    grpc::Status CudaSharedMemoryUnregister(grpc::ServerContext*, const inference::CudaSharedMemoryUnregisterRequest*,
                                            inference::CudaSharedMemoryUnregisterResponse*) override {
        return guarded([] { refuseCudaSharedMemory("unregister"); });
    }

private:
    grpc::Status inferOne(const inference::ModelInferRequest& q, grpc::ServerContext* ctx, inference::ModelInferResponse& r) {
        const auto arrival = Clock::now();
        std::shared_ptr<ModelVersion> mv;
        return guarded([&] {
            mv = st_.repo.find(q.model_name(), q.model_version());
            if (st_.stopping) throw ServeError(Code::Unavailable, "the server is shutting down");
            InferRequest rq;
            InferResponse res;
            try {
                rq = toRequest(q, ctx);
                st_.shm.readInputs(rq);
                res = runInfer(*mv, rq);
                st_.shm.writeOutput(rq, res);
            } catch (const ServeError& e) {
                // Queue errors are counted by the batcher itself; request errors here.
                if (e.code() == Code::InvalidArgument) mv->batcher->recordFailure(arrival);
                throw;
            }
            r.set_model_name(res.model);
            r.set_model_version(res.version);
            r.set_id(res.id);
            auto* o = r.add_outputs();
            o->set_name(res.output.name);
            o->set_datatype(res.output.datatype);
            for (int64_t d : res.output.shape) o->add_shape(d);
            if (res.outputShm.used()) {
                // The bytes are in the client's region; the answer says where.
                auto& p = *o->mutable_parameters();
                p["shared_memory_region"].set_string_param(res.outputShm.region);
                p["shared_memory_byte_size"].set_int64_param(int64_t(res.outputShm.byteSize));
                if (res.outputShm.offset) p["shared_memory_offset"].set_int64_param(int64_t(res.outputShm.offset));
            } else {
                encodeRawInto(res.output.datatype, res.output.values, *r.add_raw_output_contents());
            }
            if (res.finalFlag) (*r.mutable_parameters())["triton_final_response"].set_bool_param(true);
        });
    }

    static InferRequest toRequest(const inference::ModelInferRequest& q, grpc::ServerContext* ctx) {
        InferRequest rq;
        rq.model = q.model_name();
        rq.version = q.model_version();
        rq.id = q.id();
        int raw = 0;   // next raw_input_contents entry
        for (int i = 0; i < q.inputs_size(); ++i) {
            Tensor t;
            t.name = q.inputs(i).name();
            t.datatype = q.inputs(i).datatype();
            t.shape.assign(q.inputs(i).shape().begin(), q.inputs(i).shape().end());
            t.shm = sharedRef(q.inputs(i).parameters(), "input '" + t.name + "'");
            if (t.shm.used()) {
                elementCount(t.shape, "input '" + t.name + "'");
                datatypeSize(t.datatype, "input '" + t.name + "'");
            } else {
                t.values = inputValues(q, i, raw++, t);
            }
            rq.inputs.push_back(std::move(t));
        }
        if (raw < q.raw_input_contents_size())
            throw ServeError(Code::InvalidArgument, std::to_string(q.raw_input_contents_size()) +
                                                        " raw_input_contents entries for " + std::to_string(raw) +
                                                        " inputs that carry bytes");
        for (const auto& o : q.outputs()) {
            const std::string what = "output '" + o.name() + "'";
            if (o.parameters().count("classification"))
                throw ServeError(Code::InvalidArgument,
                                 what + ": the classification extension is not supported (request the output's values)");
            rq.outputs.push_back({o.name(), false, sharedRef(o.parameters(), what)});
        }
        if (auto it = q.parameters().find("triton_enable_empty_final_response"); it != q.parameters().end())
            rq.finalFlag = it->second.bool_param();
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
