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

namespace {

struct NpyHeader {
    size_t rows = 0, cols = 0;
    char kind = 'f';
    int size = 8;
};

// Reads the magic and header; leaves `in` at the first data byte.
NpyHeader readHeader(std::istream& in, const std::string& path) {
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw Error(path + ": not a .npy file (bad magic)");
    uint32_t hlen = 0;
    if (magic[6] == 1) {
        uint16_t h16 = 0;
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
    NpyHeader h;
    if (dims.size() == 1) { h.rows = dims[0]; h.cols = 1; }
    else if (dims.size() == 2) { h.rows = dims[0]; h.cols = dims[1]; }
    else if (dims.empty()) { h.rows = 1; h.cols = 1; }
    else {
        // (N, *sample shape): N rows of the flattened samples, C order, as the Python API takes.
        h.rows = dims[0];
        h.cols = 1;
        for (size_t k = 1; k < dims.size(); ++k) {
            if (dims[k] && h.cols > (size_t(1) << 62) / dims[k]) throw Error(path + ": shape " + shape + " is impossibly large");
            h.cols *= dims[k];
        }
    }
    if (descr.find("<f8") != std::string::npos) { h.kind = 'f'; h.size = 8; }
    else if (descr.find("<f4") != std::string::npos) { h.kind = 'f'; h.size = 4; }
    else if (descr.find("<i8") != std::string::npos) { h.kind = 'i'; h.size = 8; }
    else if (descr.find("<i4") != std::string::npos) { h.kind = 'i'; h.size = 4; }
    else throw Error(path + ": unsupported dtype " + descr + " (float32/float64/int32/int64)");
    return h;
}

void decode(const NpyHeader& h, const char* buf, size_t n, double* out) {
    for (size_t i = 0; i < n; ++i) {
        const char* p = buf + i * size_t(h.size);
        if (h.kind == 'f' && h.size == 8) { double v; std::memcpy(&v, p, 8); out[i] = v; }
        else if (h.kind == 'f') { float v; std::memcpy(&v, p, 4); out[i] = v; }
        else if (h.size == 8) { int64_t v; std::memcpy(&v, p, 8); out[i] = double(v); }
        else { int32_t v; std::memcpy(&v, p, 4); out[i] = v; }
    }
}

// A header may declare any shape: refuse shapes whose byte count overflows, rows without
// columns (nothing to read, endlessly), and, for a regular file, more data than the file
// holds, before anyone allocates memory for them. (A pipe's length is unknown: its reads
// fail at the end instead.)
void checkDeclaredSize(std::istream& in, const NpyHeader& h, const std::string& path) {
    const std::string shape = std::to_string(h.rows) + " x " + std::to_string(h.cols);
    if (h.cols == 0 && h.rows > 0) throw Error(path + ": shape " + shape + " has no columns");
    const size_t maxValues = (size_t(1) << 62) / size_t(h.size);
    if (h.cols && h.rows > maxValues / h.cols) throw Error(path + ": shape " + shape + " is impossibly large");
    const auto here = in.tellg();
    if (here < 0 || !in.seekg(0, std::ios::end)) {
        in.clear();
        return;
    }
    const auto end = in.tellg();
    in.seekg(here);
    const size_t bytes = h.rows * h.cols * size_t(h.size);
    if (end >= here && bytes > size_t(end - here))
        throw Error(path + ": shape " + shape + " needs " + std::to_string(bytes) + " bytes of data, the file has " +
                    std::to_string(size_t(end - here)));
}

std::string npyHeader(size_t rows, size_t cols) {
    std::ostringstream h;
    h << "{'descr': '<f8', 'fortran_order': False, 'shape': (" << rows << ", " << cols << "), }";
    std::string header = h.str();
    size_t total = 10 + header.size() + 1;
    header += std::string((64 - total % 64) % 64, ' ') + "\n";
    std::string out("\x93NUMPY\x01\x00", 8);
    uint16_t hlen = uint16_t(header.size());
    out.append(reinterpret_cast<const char*>(&hlen), 2);
    return out + header;
}

}  // namespace

struct NpyReader::State {
    std::ifstream in;
    std::string path;
    NpyHeader h;
    size_t done = 0;
    std::vector<char> buf;
};

NpyReader::NpyReader(const std::string& path) : st_(new State) {
    st_->path = path;
    st_->in.open(path, std::ios::binary);
    if (!st_->in) {
        delete st_;
        throw Error(path + ": cannot open file");
    }
    try {
        st_->h = readHeader(st_->in, path);
    } catch (...) {
        delete st_;
        throw;
    }
    rows_ = st_->h.rows;
    cols_ = st_->h.cols;
    try {
        checkDeclaredSize(st_->in, st_->h, path);
    } catch (...) {
        delete st_;
        throw;
    }
}

NpyReader::~NpyReader() { delete st_; }

size_t NpyReader::read(size_t maxRows, std::vector<double>& out) {
    size_t n = std::min(maxRows, rows_ - st_->done);
    out.resize(n * cols_);
    if (n == 0) return 0;
    st_->buf.resize(n * cols_ * size_t(st_->h.size));
    if (!st_->in.read(st_->buf.data(), std::streamsize(st_->buf.size())))
        throw Error(st_->path + ": truncated data (expected " + std::to_string(rows_) + " rows)");
    decode(st_->h, st_->buf.data(), n * cols_, out.data());
    st_->done += n;
    return n;
}

std::vector<double> readNpy(const std::string& path, size_t& rows, size_t& cols) {
    NpyReader r(path);
    rows = r.rows();
    cols = r.cols();
    std::vector<double> out;
    r.read(rows, out);
    return out;
}

struct NpyWriter::State {
    std::ofstream out;
    std::string path;
    size_t rows = 0, cols = 0, done = 0;
};

NpyWriter::NpyWriter(const std::string& path, size_t rows, size_t cols) : st_(new State) {
    st_->path = path;
    st_->rows = rows;
    st_->cols = cols;
    st_->out.open(path, std::ios::binary);
    if (!st_->out) {
        delete st_;
        throw Error(path + ": cannot write file");
    }
    std::string h = npyHeader(rows, cols);
    st_->out.write(h.data(), std::streamsize(h.size()));
}

NpyWriter::~NpyWriter() { delete st_; }

void NpyWriter::write(const double* data, size_t rows) {
    st_->out.write(reinterpret_cast<const char*>(data), std::streamsize(rows * st_->cols * sizeof(double)));
    st_->done += rows;
    if (!st_->out) throw Error(st_->path + ": write failed");
}

void NpyWriter::close() {
    st_->out.close();
    if (st_->done != st_->rows || !st_->out)
        throw Error(st_->path + ": wrote " + std::to_string(st_->done) + " of " + std::to_string(st_->rows) + " rows");
}

void writeNpy(const std::string& path, const double* data, size_t rows, size_t cols) {
    NpyWriter w(path, rows, cols);
    w.write(data, rows);
    w.close();
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
    out.close();  // flushes: a full disk may only show here
    if (!out) throw Error(path + ": write failed (disk full?)");
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
