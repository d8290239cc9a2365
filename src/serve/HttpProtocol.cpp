#include "serve/HttpProtocol.h"

#include <nlohmann/json.hpp>

namespace tachyon::serve {

using Json = nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& msg) { throw ServeError(Code::InvalidArgument, msg); }

// Appends the numbers of a (possibly nested) JSON array in row-major order.
void flatten(const Json& j, std::vector<double>& out, const std::string& what, size_t limit, int depth = 0) {
    if (depth > 32) bad(what + ": data nests too deeply");
    if (j.is_array()) {
        for (const Json& e : j) flatten(e, out, what, limit, depth + 1);
    } else if (j.is_number()) {
        if (out.size() >= limit) bad(what + ": data holds more values than its shape");
        out.push_back(j.get<double>());
    } else if (j.is_boolean()) {
        if (out.size() >= limit) bad(what + ": data holds more values than its shape");
        out.push_back(j.get<bool>() ? 1.0 : 0.0);
    } else {
        bad(what + ": data holds a " + std::string(j.type_name()) + ", not a number");
    }
}

const Json* member(const Json& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

std::string stringMember(const Json& obj, const char* key, const std::string& what, bool required) {
    const Json* v = member(obj, key);
    if (!v) {
        if (required) bad(what + ": '" + key + "' is missing");
        return "";
    }
    if (!v->is_string()) bad(what + ": '" + key + "' must be a string");
    return v->get<std::string>();
}

bool boolParameter(const Json& obj, const char* key, const std::string& what) {
    const Json* p = member(obj, "parameters");
    if (!p) return false;
    if (!p->is_object()) bad(what + ": 'parameters' must be an object");
    const Json* v = member(*p, key);
    if (!v) return false;
    if (!v->is_boolean()) bad(what + ": parameter '" + std::string(key) + "' must be true or false");
    return v->get<bool>();
}

size_t countParameter(const Json& params, const char* key, const std::string& what) {
    const Json* v = member(params, key);
    if (!v) return 0;
    if (!v->is_number_unsigned()) bad(what + ": parameter '" + std::string(key) + "' must be a byte count");
    return v->get<size_t>();
}

// shared_memory_region / _byte_size / _offset in a tensor's parameters (Triton's system
// shared memory extension); an unused SharedRef when the tensor names no region.
SharedRef sharedRef(const Json& tensor, const std::string& what) {
    const Json* params = member(tensor, "parameters");
    if (!params || !params->is_object() || !member(*params, "shared_memory_region")) return {};
    SharedRef r;
    r.region = stringMember(*params, "shared_memory_region", what, true);
    if (r.region.empty()) bad(what + ": shared_memory_region is empty");
    if (!member(*params, "shared_memory_byte_size")) bad(what + ": shared_memory_region without shared_memory_byte_size");
    r.byteSize = countParameter(*params, "shared_memory_byte_size", what);
    r.offset = countParameter(*params, "shared_memory_offset", what);
    return r;
}

// Triton's classification extension returns top-k labels; Tachyon's models have no labels.
void refuseClassification(const Json& tensor, const std::string& what) {
    const Json* params = member(tensor, "parameters");
    if (params && params->is_object() && member(*params, "classification"))
        bad(what + ": the classification extension is not supported (request the output's values)");
}

}  // namespace

InferRequest parseHttpInfer(const std::string& body, long long headerLength, const std::string& model,
                            const std::string& version) {
    if (headerLength > (long long)body.size())
        bad("Inference-Header-Content-Length " + std::to_string(headerLength) + " exceeds the body's " +
            std::to_string(body.size()) + " bytes");
    const size_t jsonBytes = headerLength >= 0 ? size_t(headerLength) : body.size();
    Json j = Json::parse(body.begin(), body.begin() + long(jsonBytes), nullptr, false);
    if (j.is_discarded()) bad("the request body is not valid JSON");
    if (!j.is_object()) bad("the request body must be a JSON object");
    InferRequest rq;
    rq.model = model;
    rq.version = version;
    if (const Json* id = member(j, "id")) {
        if (!id->is_string()) bad("'id' must be a string");
        rq.id = id->get<std::string>();
    }
    rq.binaryOutputs = boolParameter(j, "binary_data_output", "request");
    if (const Json* p = member(j, "parameters"); p && p->is_object())
        if (const Json* t = member(*p, "timeout")) {
            if (!t->is_number_integer() || t->get<long long>() < 0) bad("parameter 'timeout' must be microseconds >= 0");
            rq.timeout = Micros(std::min<long long>(t->get<long long>(), 3'600'000'000LL));
        }
    const Json* inputs = member(j, "inputs");
    if (!inputs || !inputs->is_array()) bad("'inputs' must be an array of tensors");
    size_t offset = jsonBytes;   // next binary tensor
    for (const Json& ji : *inputs) {
        if (!ji.is_object()) bad("every input must be a JSON object");
        Tensor t;
        t.name = stringMember(ji, "name", "input", true);
        const std::string what = "input '" + t.name + "'";
        t.datatype = stringMember(ji, "datatype", what, true);
        const Json* shape = member(ji, "shape");
        if (!shape || !shape->is_array()) bad(what + ": 'shape' must be an array of integers");
        for (const Json& d : *shape) {
            if (!d.is_number_integer()) bad(what + ": 'shape' must be an array of integers");
            t.shape.push_back(d.get<int64_t>());
        }
        const size_t elements = elementCount(t.shape, what);
        datatypeSize(t.datatype, what);   // refuses types the server does not serve
        t.shm = sharedRef(ji, what);
        const Json* params = member(ji, "parameters");
        const Json* binSize = params && params->is_object() ? member(*params, "binary_data_size") : nullptr;
        if (t.shm.used()) {
            if (binSize || member(ji, "data")) bad(what + ": names a shared memory region and also carries data");
        } else if (binSize) {
            if (headerLength < 0) bad(what + ": binary_data_size without an Inference-Header-Content-Length header");
            if (!binSize->is_number_unsigned()) bad(what + ": binary_data_size must be a byte count");
            const size_t n = binSize->get<size_t>();
            if (n > body.size() - offset)
                bad(what + ": binary_data_size " + std::to_string(n) + " runs past the end of the body");
            t.values = decodeRaw(t.datatype, body.data() + offset, n, elements, what);
            offset += n;
        } else {
            const Json* data = member(ji, "data");
            if (!data) bad(what + ": no 'data' and no binary_data_size");
            t.values.reserve(std::min<size_t>(elements, 1 << 20));
            flatten(*data, t.values, what, elements);
            if (t.values.size() != elements)
                bad(what + ": " + std::to_string(t.values.size()) + " values for a shape of " + std::to_string(elements) +
                    " elements");
        }
        rq.inputs.push_back(std::move(t));
    }
    if (offset != body.size()) bad("the body has " + std::to_string(body.size() - offset) + " bytes no input claims");
    if (const Json* outputs = member(j, "outputs")) {
        if (!outputs->is_array()) bad("'outputs' must be an array");
        for (const Json& jo : *outputs) {
            if (!jo.is_object()) bad("every requested output must be a JSON object");
            RequestedOutput o;
            o.name = stringMember(jo, "name", "output", true);
            o.binary = boolParameter(jo, "binary_data", "output '" + o.name + "'");
            o.shm = sharedRef(jo, "output '" + o.name + "'");
            refuseClassification(jo, "output '" + o.name + "'");
            rq.outputs.push_back(o);
        }
    }
    return rq;
}

HttpBody encodeHttpInfer(const InferResponse& r) {
    Json out = {{"name", r.output.name}, {"datatype", r.output.datatype}, {"shape", r.output.shape}};
    std::string raw;
    if (r.outputShm.used()) {
        // The bytes are in the client's region; the answer says where (Triton's layout).
        out["parameters"] = {{"shared_memory_region", r.outputShm.region},
                             {"shared_memory_byte_size", r.outputShm.byteSize}};
        if (r.outputShm.offset) out["parameters"]["shared_memory_offset"] = r.outputShm.offset;
    } else if (r.binary) {
        raw = encodeRaw(r.output.datatype, r.output.values);
        out["parameters"] = {{"binary_data_size", raw.size()}};
    } else {
        out["data"] = r.output.values;
    }
    Json j = {{"model_name", r.model}, {"model_version", r.version}, {"outputs", Json::array({out})}};
    if (!r.id.empty()) j["id"] = r.id;
    HttpBody b;
    b.body = j.dump();
    if (r.binary && !r.outputShm.used()) {
        b.headerLength = b.body.size();
        b.body += raw;
    }
    return b;
}

std::string errorJson(const std::string& message) { return Json{{"error", message}}.dump(); }

}  // namespace tachyon::serve
