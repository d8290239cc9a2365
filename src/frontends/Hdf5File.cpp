#include "frontends/Hdf5File.h"

#include "util/Error.h"

#include <cmath>
#include <functional>


namespace tachyon {

namespace {

// Closes an HDF5 handle when it goes out of scope.
struct Handle {
    hid_t id;
    herr_t (*close)(hid_t);
    Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
    ~Handle() { if (id >= 0) close(id); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    bool ok() const { return id >= 0; }
};

// HDF5 prints its error stack to stderr by default; our errors carry the message instead.
void silenceHdf5() {
    static const bool once = [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); return true; }();
    (void)once;
}

// Keras' string attributes (configs, layer and weight names) are far below this; a
// corrupt file may declare anything.
constexpr hsize_t kMaxAttributeBytes = hsize_t(1) << 30;

// Reads a string attribute's elements (fixed or variable length). Declared sizes are
// checked against the bytes the attribute really holds before anything is allocated.
std::vector<std::string> readStrings(hid_t attr, hsize_t fileSize, const std::function<void(const std::string&)>& fail) {
    Handle type(H5Aget_type(attr), H5Tclose);
    Handle space(H5Aget_space(attr), H5Sclose);
    if (!type.ok() || !space.ok() || H5Tget_class(type.id) != H5T_STRING) return {};
    hssize_t n = H5Sget_simple_extent_npoints(space.id);
    if (n <= 0) return {};
    const hsize_t stored = H5Aget_storage_size(attr);
    const bool variable = H5Tis_variable_str(type.id) > 0;
    // In the file, a variable-length string is a 16-byte reference into a global heap,
    // a fixed-length one its bytes.
    const hsize_t elementBytes = variable ? 16 : H5Tget_size(type.id);
    if (elementBytes == 0 || hsize_t(n) > kMaxAttributeBytes / elementBytes || hsize_t(n) * elementBytes > stored ||
        stored > fileSize)
        fail("declares " + std::to_string(n) + " strings of " + std::to_string(elementBytes) + " bytes but holds " +
             std::to_string(stored) + " bytes");
    std::vector<std::string> out;
    if (variable) {
        std::vector<char*> ptrs(n, nullptr);
        Handle memType(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(memType.id, H5T_VARIABLE);
        H5Tset_cset(memType.id, H5Tget_cset(type.id));
        if (H5Aread(attr, memType.id, ptrs.data()) < 0) return {};
        for (char* p : ptrs) out.emplace_back(p ? p : "");
        H5Dvlen_reclaim(memType.id, space.id, H5P_DEFAULT, ptrs.data());
    } else {
        size_t len = H5Tget_size(type.id);
        std::vector<char> buf(len * n + 1, '\0');
        if (H5Aread(attr, type.id, buf.data()) < 0) return {};
        for (hssize_t i = 0; i < n; ++i) {
            const char* s = buf.data() + i * len;
            size_t l = 0;
            while (l < len && s[l] != '\0') ++l;   // fixed-length strings are NUL-padded
            out.emplace_back(s, l);
        }
    }
    return out;
}

// Depth-first walk of a group (by index: the same calls work on every HDF5 1.10+ API).
void collectDatasets(hid_t group, const std::string& prefix, std::vector<std::string>& out, int depth) {
    H5G_info_t info;
    if (depth > 16 || H5Gget_info(group, &info) < 0) return;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        ssize_t len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (len <= 0) continue;
        std::string name(len + 1, '\0');
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), len + 1, H5P_DEFAULT);
        name.resize(len);
        Handle child(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
        if (!child.ok()) continue;
        const std::string path = prefix.empty() ? name : prefix + "/" + name;
        const H5I_type_t t = H5Iget_type(child.id);
        if (t == H5I_DATASET) out.push_back(path);
        else if (t == H5I_GROUP) collectDatasets(child.id, path, out, depth + 1);
    }
}

}  // namespace

Hdf5File::Hdf5File(const std::string& path) : path_(path) {
    silenceHdf5();
    if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": cannot open as an HDF5 file (missing, unreadable or not HDF5)");
    file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file_ < 0) throw Error(path + ": cannot open as an HDF5 file");
}

Hdf5File::~Hdf5File() {
    if (file_ >= 0) H5Fclose(file_);
}

void Hdf5File::fail(const std::string& what) const { throw Error(path_ + ": " + what); }

bool Hdf5File::exists(const std::string& objectPath) const {
    if (objectPath.empty() || objectPath == "/") return true;
    // H5Lexists needs every intermediate link to exist, so test component by component.
    std::string prefix;
    size_t start = objectPath[0] == '/' ? 1 : 0;
    while (start <= objectPath.size()) {
        size_t slash = objectPath.find('/', start);
        if (slash == std::string::npos) slash = objectPath.size();
        prefix += "/" + objectPath.substr(start, slash - start);
        if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
        start = slash + 1;
    }
    return true;
}

bool Hdf5File::hasAttribute(const std::string& objectPath, const std::string& name) const {
    return exists(objectPath) && H5Aexists_by_name(file_, objectPath.empty() ? "/" : objectPath.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

std::optional<std::string> Hdf5File::stringAttribute(const std::string& objectPath, const std::string& name) const {
    if (!hasAttribute(objectPath, name)) return std::nullopt;
    Handle attr(H5Aopen_by_name(file_, objectPath.empty() ? "/" : objectPath.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) fail("cannot open attribute '" + name + "' of '" + objectPath + "'");
    auto v = readStrings(attr.id, fileSize(), [&](const std::string& why) { fail("attribute '" + name + "' of '" + objectPath + "' " + why); });
    if (v.size() != 1) fail("attribute '" + name + "' of '" + objectPath + "' is not a string");
    return v[0];
}

std::vector<std::string> Hdf5File::stringListAttribute(const std::string& objectPath, const std::string& name) const {
    if (!hasAttribute(objectPath, name)) return {};
    Handle attr(H5Aopen_by_name(file_, objectPath.empty() ? "/" : objectPath.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) fail("cannot open attribute '" + name + "' of '" + objectPath + "'");
    return readStrings(attr.id, fileSize(), [&](const std::string& why) { fail("attribute '" + name + "' of '" + objectPath + "' " + why); });
}

std::vector<double> Hdf5File::readDataset(const std::string& datasetPath, std::vector<size_t>& dims) const {
    if (!exists(datasetPath)) fail("dataset '" + datasetPath + "' not found");
    Handle ds(H5Dopen2(file_, datasetPath.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) fail("'" + datasetPath + "' is not a dataset");
    Handle type(H5Dget_type(ds.id), H5Tclose);
    const H5T_class_t cls = H5Tget_class(type.id);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail("dataset '" + datasetPath + "' is not numeric");
    Handle space(H5Dget_space(ds.id), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.id);
    if (rank < 0 || rank > 8) fail("dataset '" + datasetPath + "' has an unsupported rank");
    std::vector<hsize_t> h(rank);
    if (H5Sget_simple_extent_dims(space.id, h.data(), nullptr) < 0) fail("dataset '" + datasetPath + "' has no shape");
    size_t n = 1;
    dims.assign(h.begin(), h.end());
    for (hsize_t d : h) {
        if (d > (size_t(1) << 31) || (n *= d) > (size_t(1) << 31))
            fail("dataset '" + datasetPath + "' is too large");
    }
    checkStored(ds.id, type.id, n, datasetPath);
    std::vector<double> out(n);
    if (n && H5Dread(ds.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
        fail("cannot read dataset '" + datasetPath + "'");
    return out;
}

hsize_t Hdf5File::fileSize() const {
    hsize_t size = 0;
    if (H5Fget_filesize(file_, &size) < 0) fail("cannot tell the file size");
    return size;
}

// A corrupt (or hostile) 20 KB file may declare billions of elements: check that the
// file really holds the declared data before allocating memory for it.
void Hdf5File::checkStored(hid_t ds, hid_t type, size_t elements, const std::string& datasetPath) const {
    if (elements == 0) return;
    const hsize_t stored = H5Dget_storage_size(ds);
    Handle dcpl(H5Dget_create_plist(ds), H5Pclose);
    const int filters = dcpl.ok() ? H5Pget_nfilters(dcpl.id) : 0;
    const double declared = double(elements) * double(H5Tget_size(type));
    // Uncompressed data is stored whole; deflate, the strongest HDF5 filter in common
    // use, shrinks data at most about 1032:1.
    const double holdable = filters > 0 ? double(stored) * 1100.0 : double(stored);
    if (stored > fileSize() || declared > holdable)
        fail("dataset '" + datasetPath + "' declares " + std::to_string(elements) + " elements (" +
             std::to_string(std::llround(declared)) + " bytes) but the file stores " + std::to_string(stored) +
             " bytes of it");
}

std::vector<std::string> Hdf5File::datasetsUnder(const std::string& groupPath) const {
    std::vector<std::string> out;
    if (!exists(groupPath)) return out;
    Handle group(H5Oopen(file_, groupPath.empty() ? "/" : groupPath.c_str(), H5P_DEFAULT), H5Oclose);
    if (group.ok()) collectDatasets(group.id, "", out, 0);
    return out;
}

}  // namespace tachyon
