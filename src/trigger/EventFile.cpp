#include "trigger/EventFile.h"

#include "util/Error.h"
#include "util/Npy.h"

#include <hdf5.h>
#include <zip.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tachyon::trigger {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string extensionOf(const std::string& file) { return lower(fs::path(file).extension().string()); }

bool hasDatasets(const std::string& file) {
    const std::string ext = extensionOf(file);
    return ext == ".h5" || ext == ".hdf5" || ext == ".npz";
}

// ---- HDF5: one dataset, read as hyperslabs of rows ----

class Hdf5Events : public EventReader {
public:
    explicit Hdf5Events(const SampleSpec& spec) {
        name_ = spec.text();
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);   // errors are reported by us, not printed
        file_ = H5Fopen(spec.file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        if (file_ < 0) throw Error(spec.file + ": not a readable HDF5 file");
        std::string ds = spec.dataset;
        const std::vector<std::string> all = datasets();
        if (ds.empty()) {
            if (all.size() != 1)
                throw Error(spec.file + ": name the dataset as " + spec.file + ":DATASET (datasets: " + joined(all) + ")");
            ds = all[0];
        }
        while (!ds.empty() && ds[0] == '/') ds.erase(0, 1);   // visited names have no leading '/'
        if (std::find(all.begin(), all.end(), ds) == all.end())
            throw Error(spec.file + ": dataset '" + ds + "' does not exist (datasets: " + joined(all) + ")");
        set_ = H5Dopen2(file_, ds.c_str(), H5P_DEFAULT);
        if (set_ < 0) throw Error(spec.file + ": dataset '" + ds + "' cannot be opened");
        hid_t type = H5Dget_type(set_);
        const H5T_class_t cls = H5Tget_class(type);
        H5Tclose(type);
        if (cls != H5T_INTEGER && cls != H5T_FLOAT)
            throw Error(spec.file + ": dataset '" + ds + "' is not numeric (compound tables: store the columns as one "
                        "numeric 2-D dataset)");
        space_ = H5Dget_space(set_);
        const int rank = H5Sget_simple_extent_ndims(space_);
        if (rank < 1 || rank > 8) throw Error(spec.file + ": dataset '" + ds + "' has rank " + std::to_string(rank));
        dims_.resize(size_t(rank));
        H5Sget_simple_extent_dims(space_, dims_.data(), nullptr);
        rows_ = size_t(dims_[0]);
        cols_ = 1;
        for (int i = 1; i < rank; ++i) cols_ *= size_t(dims_[size_t(i)]);
        if (cols_ == 0) throw Error(spec.file + ": dataset '" + ds + "' has rows of no values");
        dsName_ = ds;
        filePath_ = spec.file;
    }
    ~Hdf5Events() override {
        if (space_ >= 0) H5Sclose(space_);
        if (set_ >= 0) H5Dclose(set_);
        if (file_ >= 0) H5Fclose(file_);
    }

    size_t read(size_t maxRows, std::vector<double>& out) override {
        const size_t n = std::min(maxRows, rows_ - done_);
        out.resize(n * cols_);
        if (n == 0) return 0;
        std::vector<hsize_t> start(dims_.size(), 0), count = dims_;
        start[0] = done_;
        count[0] = n;
        H5Sselect_hyperslab(space_, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
        hid_t mem = H5Screate_simple(int(count.size()), count.data(), nullptr);
        const herr_t rc = H5Dread(set_, H5T_NATIVE_DOUBLE, mem, space_, H5P_DEFAULT, out.data());
        H5Sclose(mem);
        if (rc < 0)
            throw Error(filePath_ + ": dataset '" + dsName_ + "': cannot read rows " + std::to_string(done_) + ".." +
                        std::to_string(done_ + n - 1) + " (truncated or corrupt file)");
        done_ += n;
        return n;
    }

private:
    static std::string joined(const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s.empty() ? "none" : s;
    }
    static herr_t visit(hid_t, const char* name, const H5O_info_t* info, void* data) {
        if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
    }
    std::vector<std::string> datasets() const {
        std::vector<std::string> names;
        H5Ovisit2(file_, H5_INDEX_NAME, H5_ITER_INC, visit, &names, H5O_INFO_BASIC);
        return names;
    }
    hid_t file_ = -1, set_ = -1, space_ = -1;
    std::vector<hsize_t> dims_;
    size_t done_ = 0;
    std::string dsName_, filePath_;
};

// ---- .npy, and .npz members extracted to a temporary .npy ----

class NpyEvents : public EventReader {
public:
    NpyEvents(const std::string& path, const std::string& name) : reader_(path) {
        name_ = name;
        rows_ = reader_.rows();
        cols_ = reader_.cols();
    }
    size_t read(size_t maxRows, std::vector<double>& out) override { return reader_.read(maxRows, out); }

private:
    NpyReader reader_;
};

// A temporary file removed when the reader goes.
struct TempFile {
    fs::path path;
    ~TempFile() {
        std::error_code ec;
        if (!path.empty()) fs::remove(path, ec);
    }
};

class NpzEvents : public EventReader {
public:
    explicit NpzEvents(const SampleSpec& spec) {
        int err = 0;
        zip_t* z = zip_open(spec.file.c_str(), ZIP_RDONLY, &err);
        if (!z) throw Error(spec.file + ": not a readable .npz (zip) archive");
        std::vector<std::string> arrays;
        for (zip_int64_t i = 0; i < zip_get_num_entries(z, 0); ++i) {
            std::string e = zip_get_name(z, zip_uint64_t(i), 0);
            if (e.size() > 4 && e.substr(e.size() - 4) == ".npy") arrays.push_back(e.substr(0, e.size() - 4));
        }
        std::string array = spec.dataset;
        std::string list;
        for (const auto& a : arrays) list += (list.empty() ? "" : ", ") + a;
        if (array.empty()) {
            if (arrays.size() != 1) {
                zip_close(z);
                throw Error(spec.file + ": name the array as " + spec.file + ":ARRAY (arrays: " + list + ")");
            }
            array = arrays[0];
        }
        zip_file_t* f = zip_fopen(z, (array + ".npy").c_str(), 0);
        if (!f) {
            zip_close(z);
            throw Error(spec.file + ": array '" + array + "' does not exist (arrays: " + (list.empty() ? "none" : list) + ")");
        }
        // Streamed out in chunks: memory stays bounded whatever the array's size.
        tmp_.path = fs::temp_directory_path() / ("tachyon-npz-" + std::to_string(getpid()) + "-" +
                                                 std::to_string(counter()++) + ".npy");
        std::ofstream out(tmp_.path, std::ios::binary);
        std::vector<char> buf(1 << 20);
        zip_int64_t got;
        while ((got = zip_fread(f, buf.data(), buf.size())) > 0) out.write(buf.data(), got);
        zip_fclose(f);
        zip_close(z);
        out.close();
        if (got < 0 || !out) throw Error(spec.file + ": array '" + array + "' cannot be extracted (corrupt archive or disk full)");
        try {
            npy_ = std::make_unique<NpyEvents>(tmp_.path.string(), spec.text());
        } catch (const Error& e) {
            std::string msg = e.what();
            const std::string t = tmp_.path.string();
            if (msg.compare(0, t.size(), t) == 0) msg = spec.text() + msg.substr(t.size());
            throw Error(msg);
        }
        name_ = spec.text();
        rows_ = npy_->rows();
        cols_ = npy_->cols();
    }
    size_t read(size_t maxRows, std::vector<double>& out) override { return npy_->read(maxRows, out); }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    TempFile tmp_;   // declared before npy_: removed after the reader closes it
    std::unique_ptr<NpyEvents> npy_;
};

// ---- CSV: counted once, then read line by line ----

class CsvEvents : public EventReader {
public:
    explicit CsvEvents(const std::string& path) : path_(path), in_(path) {
        name_ = path;
        if (!in_) throw Error(path + ": cannot open file");
        std::string line;
        std::vector<std::string> fields;
        bool first = true;
        while (std::getline(in_, line)) {
            ++lineNo_;
            if (!split(line, fields)) continue;
            if (first && !std::all_of(fields.begin(), fields.end(), isNumber)) {
                names_ = fields;
                dataStart_ = lineNo_;
                first = false;
                continue;
            }
            if (cols_ == 0) cols_ = fields.size();
            ++rows_;
            first = false;
        }
        if (cols_ == 0 && !names_.empty()) cols_ = names_.size();
        if (!names_.empty() && names_.size() != cols_)
            throw Error(path + ": the header names " + std::to_string(names_.size()) + " columns, the rows have " +
                        std::to_string(cols_));
        in_.clear();
        in_.seekg(0);
        lineNo_ = 0;
    }

    size_t read(size_t maxRows, std::vector<double>& out) override {
        out.clear();
        size_t n = 0;
        std::string line;
        std::vector<std::string> fields;
        while (n < maxRows && std::getline(in_, line)) {
            ++lineNo_;
            if (lineNo_ <= dataStart_ || !split(line, fields)) continue;
            if (fields.size() != cols_)
                throw Error(path_ + ":" + std::to_string(lineNo_) + ": expected " + std::to_string(cols_) + " values, got " +
                            std::to_string(fields.size()));
            for (const auto& f : fields) {
                if (!isNumber(f)) throw Error(path_ + ":" + std::to_string(lineNo_) + ": '" + f + "' is not a number");
                out.push_back(std::stod(f));
            }
            ++n;
        }
        return n;
    }

private:
    static bool isNumber(const std::string& s) {
        if (s.empty()) return false;
        char* end = nullptr;
        std::strtod(s.c_str(), &end);
        return end == s.c_str() + s.size();
    }
    // Fields of a data line; false for blank and comment lines.
    static bool split(const std::string& line, std::vector<std::string>& fields) {
        fields.clear();
        if (line.empty() || line[0] == '#') return false;
        std::string cur;
        bool any = false;
        for (char c : line) {
            if (c == ',' || c == ';' || c == '\t') {
                fields.push_back(trim(cur));
                cur.clear();
                any = true;
            } else {
                cur += c;
            }
        }
        if (!trim(cur).empty() || any) fields.push_back(trim(cur));
        if (!any && fields.size() == 1) {   // space-separated
            std::istringstream ss(fields[0]);
            fields.clear();
            std::string t;
            while (ss >> t) fields.push_back(t);
        }
        return !fields.empty() && !(fields.size() == 1 && fields[0].empty());
    }
    static std::string trim(const std::string& s) {
        const size_t a = s.find_first_not_of(" \r\t\"");
        if (a == std::string::npos) return "";
        const size_t b = s.find_last_not_of(" \r\t\"");
        return s.substr(a, b - a + 1);
    }
    std::string path_;
    std::ifstream in_;
    size_t lineNo_ = 0, dataStart_ = 0;
};

}  // namespace

SampleSpec parseSampleSpec(const std::string& text) {
    const size_t colon = text.rfind(':');
    if (colon != std::string::npos && colon > 0 && hasDatasets(text.substr(0, colon)))
        return {text.substr(0, colon), text.substr(colon + 1)};
    return {text, ""};
}

std::unique_ptr<EventReader> openEvents(const SampleSpec& spec) {
    std::error_code ec;
    if (!fs::exists(spec.file, ec)) throw Error(spec.file + ": no such file");
    if (fs::is_directory(spec.file, ec)) throw Error(spec.file + ": is a folder, not an event file");
    const std::string ext = extensionOf(spec.file);
    if (ext == ".h5" || ext == ".hdf5") return std::make_unique<Hdf5Events>(spec);
    if (!spec.dataset.empty() && ext != ".npz")
        throw Error(spec.text() + ": only .h5/.hdf5/.npz files hold named datasets");
    if (ext == ".npz") return std::make_unique<NpzEvents>(spec);
    if (ext == ".npy") return std::make_unique<NpyEvents>(spec.file, spec.file);
    if (ext == ".csv" || ext == ".txt") return std::make_unique<CsvEvents>(spec.file);
    throw Error(spec.file + ": unknown event file type '" + ext + "' (.h5, .hdf5, .npy, .npz, .csv)");
}

}  // namespace tachyon::trigger
