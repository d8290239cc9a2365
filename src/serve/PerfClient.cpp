#include "serve/PerfClient.h"

#include "grpc_service.grpc.pb.h"
#include "util/Error.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace tachyon::serve {

namespace {

class GrpcClient : public PerfClient {
public:
    explicit GrpcClient(const std::string& url) {
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);   // a connection of its own per client
        args.SetMaxReceiveMessageSize(-1);
        args.SetMaxSendMessageSize(-1);
        channel_ = grpc::CreateCustomChannel(url, grpc::InsecureChannelCredentials(), args);
        stub_ = inference::GRPCInferenceService::NewStub(channel_);
    }
    inference::ModelMetadataResponse metadata(const std::string& model, const std::string& version) override {
        inference::ModelMetadataRequest q;
        q.set_name(model);
        q.set_version(version);
        inference::ModelMetadataResponse r;
        check(call([&](grpc::ClientContext* c) { return stub_->ModelMetadata(c, q, &r); }), "ModelMetadata");
        return r;
    }
    inference::ModelStatisticsResponse statistics(const std::string& model, const std::string& version) override {
        inference::ModelStatisticsRequest q;
        q.set_name(model);
        q.set_version(version);
        inference::ModelStatisticsResponse r;
        check(call([&](grpc::ClientContext* c) { return stub_->ModelStatistics(c, q, &r); }), "ModelStatistics");
        return r;
    }
    std::string infer(const std::string& model, const std::string& version, const std::string& input,
                      const std::string& datatype, const std::vector<int64_t>& shape, const std::string& raw) override {
        // The request is built once and resent while the arguments stay the same (as
        // perf_analyzer prepares its inputs): the load generator's own copying is not
        // what is measured.
        if (!preparedFor(model, version, input, datatype, shape, raw)) {
            q_.Clear();
            q_.set_model_name(model);
            q_.set_model_version(version);
            auto* in = q_.add_inputs();
            in->set_name(input);
            in->set_datatype(datatype);
            for (int64_t d : shape) in->add_shape(d);
            q_.add_raw_input_contents(raw);
            bool own = false;
            if (!grpc::SerializationTraits<inference::ModelInferRequest>::Serialize(q_, &wire_, &own).ok())
                throw Error("ModelInfer: the request could not be serialised");
        }
        // The serialised request is resent as is and the answer is not parsed (only its
        // status matters here): per request the load generator takes from the cores it
        // shares with the server only what the transport costs.
        grpc::ByteBuffer answer;
        using Bytes = grpc::ByteBuffer;
        const grpc::Status s = call([&](grpc::ClientContext* c) {
            return grpc::internal::BlockingUnaryCall<Bytes, Bytes, Bytes, Bytes>(channel_.get(), inferMethod_, c, wire_,
                                                                                 &answer);
        });
        return s.ok() ? "" : s.error_message().empty() ? "gRPC status " + std::to_string(int(s.error_code()))
                                                        : s.error_message();
    }

private:
    template <class F>
    grpc::Status call(F&& f) {
        grpc::ClientContext c;
        c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        return f(&c);
    }
    static void check(const grpc::Status& s, const char* what) {
        if (!s.ok()) throw Error(std::string(what) + ": " + s.error_message());
    }
    bool preparedFor(const std::string& model, const std::string& version, const std::string& input,
                     const std::string& datatype, const std::vector<int64_t>& shape, const std::string& raw) const {
        if (q_.inputs_size() != 1 || q_.model_name() != model || q_.model_version() != version) return false;
        const auto& in = q_.inputs(0);
        return in.name() == input && in.datatype() == datatype &&
               std::equal(shape.begin(), shape.end(), in.shape().begin(), in.shape().end()) &&
               q_.raw_input_contents(0) == raw;
    }
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
    const grpc::internal::RpcMethod inferMethod_{"/inference.GRPCInferenceService/ModelInfer",
                                                 grpc::internal::RpcMethod::NORMAL_RPC};
    inference::ModelInferRequest q_;   // the request last sent
    grpc::ByteBuffer wire_;            // q_ serialised
};

class HttpClient : public PerfClient {
public:
    HttpClient(const std::string& host, int port) : cli_(host, port) {
        cli_.set_keep_alive(true);
        cli_.set_tcp_nodelay(true);
        cli_.set_read_timeout(60, 0);
    }
    inference::ModelMetadataResponse metadata(const std::string& model, const std::string& version) override {
        inference::ModelMetadataResponse r;
        fromJson(get(modelPath(model, version)), r, "model metadata");
        return r;
    }
    inference::ModelStatisticsResponse statistics(const std::string& model, const std::string& version) override {
        inference::ModelStatisticsResponse r;
        fromJson(get(modelPath(model, version) + "/stats"), r, "model statistics");
        return r;
    }
    std::string infer(const std::string& model, const std::string& version, const std::string& input,
                      const std::string& datatype, const std::vector<int64_t>& shape, const std::string& raw) override {
        const nlohmann::json header = {
            {"inputs", {{{"name", input}, {"datatype", datatype}, {"shape", shape},
                         {"parameters", {{"binary_data_size", raw.size()}}}}}},
            {"parameters", {{"binary_data_output", true}}}};
        const std::string h = header.dump();
        httplib::Headers hs = {{"Inference-Header-Content-Length", std::to_string(h.size())}};
        const std::string path = modelPath(model, version) + "/infer";
        // The body is built once and resent while it stays the same (see GrpcClient::infer).
        if (body_.size() != h.size() + raw.size() || body_.compare(0, h.size(), h) != 0 ||
            body_.compare(h.size(), raw.size(), raw) != 0)
            body_ = h + raw;
        const std::string& body = body_;
        auto res = cli_.Post(path.c_str(), hs, body, "application/octet-stream");
        // A keep-alive connection the server closed fails on write: the request never
        // reached it, so it is sent once more on a new connection.
        if (!res && res.error() == httplib::Error::Write) res = cli_.Post(path.c_str(), hs, body, "application/octet-stream");
        if (!res) return "HTTP: " + httplib::to_string(res.error());
        if (res->status != 200) return "HTTP " + std::to_string(res->status) + ": " + res->body;
        return "";
    }

private:
    static std::string modelPath(const std::string& model, const std::string& version) {
        return "/v2/models/" + model + (version.empty() ? "" : "/versions/" + version);
    }
    std::string get(const std::string& path) {
        auto res = cli_.Get(path.c_str());
        if (!res) throw Error("HTTP GET " + path + ": " + httplib::to_string(res.error()));
        if (res->status != 200) throw Error("HTTP GET " + path + ": " + std::to_string(res->status) + " " + res->body);
        return res->body;
    }
    static void fromJson(const std::string& body, google::protobuf::Message& m, const char* what) {
        google::protobuf::util::JsonParseOptions o;
        o.ignore_unknown_fields = true;
        if (!google::protobuf::util::JsonStringToMessage(body, &m, o).ok())
            throw Error(std::string("the server's ") + what + " is not what KServe v2 defines: " + body.substr(0, 200));
    }
    httplib::Client cli_;
    std::string body_;   // the request body last sent
};

}  // namespace

std::unique_ptr<PerfClient> makePerfClient(const std::string& protocol, const std::string& url) {
    if (protocol == "grpc") return std::make_unique<GrpcClient>(url);
    const auto colon = url.rfind(':');
    int port = 0;
    try {
        port = colon == std::string::npos ? 0 : std::stoi(url.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (port <= 0 || port > 65535) throw Error("--url '" + url + "': expected host:port");
    return std::make_unique<HttpClient>(url.substr(0, colon), port);
}

}  // namespace tachyon::serve
