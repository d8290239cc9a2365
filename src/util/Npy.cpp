#include "util/Npy.h"

#include "util/Error.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace tachyon {

namespace {

std::string headerValue(const std::string& header, const std::string& key) {
    auto k = header.find("'" + key + "'");
    if (k == std::string::npos) return "";
    auto colon = header.find(':', k);
    if (colon == std::string::npos) return "";
    size_t start = colon + 1;
    while (start < header.size() && header[start] == ' ') ++start;
    if (start < header.size() && header[start] == '(') {
        return header.substr(start, header.find(')', start) - start + 1);
    }
    size_t end = header.find_first_of(",}", start);
    return header.substr(start, end - start);
}

}  // namespace

std::vector<double> readNpy(const std::string& path, size_t& rows, size_t& cols) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file");
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw Error(path + ": not a .npy file (bad magic)");
    uint32_t hlen = 0;
    if (magic[6] == 1) {
        uint16_t h16;
        in.read(reinterpret_cast<char*>(&h16), 2);
        hlen = h16;
    } else {
        in.read(reinterpret_cast<char*>(&hlen), 4);
    }
    if (!in || hlen > (1u << 20)) throw Error(path + ": truncated .npy header");
    std::string header(hlen, '\0');
    if (!in.read(header.data(), hlen)) throw Error(path + ": truncated .npy header");
    std::string descr = headerValue(header, "descr");
    std::string order = headerValue(header, "fortran_order");
    std::string shape = headerValue(header, "shape");
    if (order.find("True") != std::string::npos) throw Error(path + ": Fortran-ordered arrays are not supported");
    std::vector<size_t> dims;
    {
        std::string s = shape;
        for (char& c : s)
            if (c == '(' || c == ')' || c == ',') c = ' ';
        std::istringstream ss(s);
        long long d;
        while (ss >> d) {
            if (d < 0) throw Error(path + ": negative dimension");
            dims.push_back(size_t(d));
        }
    }
    if (dims.size() == 1) { rows = dims[0]; cols = 1; }
    else if (dims.size() == 2) { rows = dims[0]; cols = dims[1]; }
    else if (dims.empty()) { rows = 1; cols = 1; }
    else throw Error(path + ": expected a 1-D or 2-D array, got shape " + shape);
    size_t n = rows * cols;
    int size;
    char kind;
    if (descr.find("<f8") != std::string::npos) { kind = 'f'; size = 8; }
    else if (descr.find("<f4") != std::string::npos) { kind = 'f'; size = 4; }
    else if (descr.find("<i8") != std::string::npos) { kind = 'i'; size = 8; }
    else if (descr.find("<i4") != std::string::npos) { kind = 'i'; size = 4; }
    else throw Error(path + ": unsupported dtype " + descr + " (float32/float64/int32/int64)");
    std::vector<char> buf(n * size);
    if (!in.read(buf.data(), std::streamsize(buf.size())))
        throw Error(path + ": truncated data (expected " + std::to_string(n) + " values)");
    std::vector<double> out(n);
    for (size_t i = 0; i < n; ++i) {
        const char* p = buf.data() + i * size;
        if (kind == 'f' && size == 8) { double v; std::memcpy(&v, p, 8); out[i] = v; }
        else if (kind == 'f') { float v; std::memcpy(&v, p, 4); out[i] = v; }
        else if (size == 8) { int64_t v; std::memcpy(&v, p, 8); out[i] = double(v); }
        else { int32_t v; std::memcpy(&v, p, 4); out[i] = v; }
    }
    return out;
}

void writeNpy(const std::string& path, const double* data, size_t rows, size_t cols) {
    std::ostringstream h;
    h << "{'descr': '<f8', 'fortran_order': False, 'shape': (" << rows << ", " << cols << "), }";
    std::string header = h.str();
    size_t total = 10 + header.size() + 1;
    header += std::string((64 - total % 64) % 64, ' ') + "\n";
    std::ofstream out(path, std::ios::binary);
    if (!out) throw Error(path + ": cannot write file");
    out.write("\x93NUMPY\x01\x00", 8);
    uint16_t hlen = uint16_t(header.size());
    out.write(reinterpret_cast<const char*>(&hlen), 2);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char*>(data), std::streamsize(rows * cols * sizeof(double)));
    if (!out) throw Error(path + ": write failed");
}

std::vector<double> readCsv(const std::string& path, size_t& rows, size_t& cols) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open file");
    std::vector<double> out;
    std::string line;
    rows = 0;
    cols = 0;
    size_t lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        if (line.empty() || line[0] == '#') continue;
        for (char& c : line)
            if (c == ',' || c == ';' || c == '\t') c = ' ';
        std::istringstream ss(line);
        size_t n = 0;
        std::string tok;
        while (ss >> tok) {
            try {
                size_t pos;
                out.push_back(std::stod(tok, &pos));
                if (pos != tok.size()) throw 0;
            } catch (...) {
                throw Error(path + ":" + std::to_string(lineNo) + ": '" + tok + "' is not a number");
            }
            ++n;
        }
        if (n == 0) continue;
        if (cols == 0) cols = n;
        else if (n != cols)
            throw Error(path + ":" + std::to_string(lineNo) + ": expected " + std::to_string(cols) + " values, got " + std::to_string(n));
        ++rows;
    }
    return out;
}

void writeCsv(const std::string& path, const double* data, size_t rows, size_t cols) {
    std::ofstream out(path);
    if (!out) throw Error(path + ": cannot write file");
    out << std::setprecision(17);
    for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) out << (c ? "," : "") << data[r * cols + c];
        out << "\n";
    }
}

static bool isCsv(const std::string& path) {
    auto dot = path.rfind('.');
    std::string ext = dot == std::string::npos ? "" : path.substr(dot);
    return ext == ".csv" || ext == ".txt" || ext == ".dat";
}

std::vector<double> readMatrix(const std::string& path, size_t& rows, size_t& cols) {
    return isCsv(path) ? readCsv(path, rows, cols) : readNpy(path, rows, cols);
}

void writeMatrix(const std::string& path, const double* data, size_t rows, size_t cols) {
    if (isCsv(path)) writeCsv(path, data, rows, cols);
    else writeNpy(path, data, rows, cols);
}

}  // namespace tachyon
