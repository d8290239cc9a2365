#include "frontends/Hdf5File.h"

#include "util/Error.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
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
std::vector<std::string> readStrings(hid_t attr, hsize_t fileSize, const std::function<bool()>& heapsChecked,
                                     const std::function<void(const std::string&)>& fail) {
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
        if (!heapsChecked()) fail("cannot be read: the file is corrupt");
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

// --- Global heap check -------------------------------------------------------------
// Variable-length strings live in "global heap collections" (GCOL blocks); an attribute
// holds 16-byte references to them (length u32, collection address u64, object index
// u32). libhdf5 1.10 trusts both: a free-space object of size 0 makes its collection
// parser loop forever, an object running past its collection is read out of bounds, and
// a reference whose length disagrees with the object's size makes it allocate that
// length or copy past its buffer. None of this is reachable through the public API
// before the read, so the file's bytes are checked directly, once, before the first
// variable-length read: every collection it could load must parse, and every reference
// into one must stay within the object it names.

uint64_t le(const std::string& b, size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | uint8_t(b[at + size_t(i)]);
    return v;
}

// Objects of one collection (index -> size), or an error message.
std::optional<std::string> parseCollection(const std::string& b, size_t at, uint64_t size,
                                           std::map<uint32_t, uint64_t>& objects) {
    constexpr uint64_t kHeader = 16, kObjHeader = 16;
    for (uint64_t p = kHeader; p < size;) {
        if (p + kObjHeader > size) break;  // a tail too small for an object is free space
        const uint32_t idx = uint32_t(le(b, at + p, 2));
        const uint64_t objSize = le(b, at + p + 8, 8);
        if (objSize > size) return "an object larger than its collection";
        const uint64_t need = idx > 0 ? kObjHeader + ((objSize + 7) & ~uint64_t(7)) : objSize;
        if (need == 0) return "a free-space object of size 0";
        if (need > size - p) return "an object running past the end of its collection";
        if (idx > 0) objects[idx] = objSize;
        p += need;
    }
    return std::nullopt;
}

std::optional<std::string> checkGlobalHeaps(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string b((std::istreambuf_iterator<char>(in)), {});
    // The superblock sits at 0 or after a user block of 512, 1024, 2048... bytes; file
    // addresses count from it.
    const std::string signature("\x89HDF\r\n\x1a\n", 8);
    size_t base = 0;
    while (base < b.size() && b.compare(base, 8, signature) != 0) base = base ? base * 2 : 512;
    if (base >= b.size()) return "no HDF5 superblock";
    const int version = uint8_t(b.size() > base + 8 ? b[base + 8] : 0);
    const size_t sizes = base + (version < 2 ? 13 : 9);
    if (b.size() < sizes + 2 || b[sizes] != 8 || b[sizes + 1] != 8)
        return "variable-length strings are read only from files with 8-byte offsets and lengths";

    std::map<uint64_t, std::map<uint32_t, uint64_t>> collections;  // address -> objects
    for (size_t at = b.find("GCOL"); at != std::string::npos; at = b.find("GCOL", at + 1)) {
        if (at + 16 > b.size() || b[at + 4] != 1) continue;  // libhdf5 refuses other versions itself
        const uint64_t size = le(b, at + 8, 8);
        if (size < 16 || size > b.size() - at) continue;     // and collections beyond the file
        std::map<uint32_t, uint64_t> objects;
        if (auto why = parseCollection(b, at, size, objects))
            return "global heap collection at byte " + std::to_string(at) + " holds " + *why;
        collections[at - base] = std::move(objects);
    }
    // References: 12 bytes (address, index) naming an object, preceded by its length.
    for (const auto& [address, objects] : collections)
        for (const auto& [idx, size] : objects) {
            std::string ref(12, '\0');
            for (int i = 0; i < 8; ++i) ref[size_t(i)] = char(address >> (8 * i));
            for (int i = 0; i < 4; ++i) ref[size_t(8 + i)] = char(idx >> (8 * i));
            // Only a length beyond the object makes libhdf5 read past it; a shorter one (an
            // empty string, or 12 bytes that merely look like a reference) is harmless.
            for (size_t at = b.find(ref, 4); at != std::string::npos; at = b.find(ref, at + 1))
                if (le(b, at - 4, 4) > size)
                    return "a variable-length string at byte " + std::to_string(at - 4) + " declares " +
                           std::to_string(le(b, at - 4, 4)) + " bytes for a heap object of " + std::to_string(size);
        }
    return std::nullopt;
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

Hdf5File::Hdf5File(const std::string& path) : Hdf5File(path, path) {}

Hdf5File::Hdf5File(const std::string& path, const std::string& displayName) : path_(displayName), filePath_(path) {
    silenceHdf5();
    if (H5Fis_hdf5(path.c_str()) <= 0)
        throw Error(displayName + ": cannot open as an HDF5 file (missing, unreadable or not HDF5)");
    file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file_ < 0) throw Error(displayName + ": cannot open as an HDF5 file");
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
    auto v = readStrings(attr.id, fileSize(), [&] { return heapsAreSound(); }, [&](const std::string& why) { fail("attribute '" + name + "' of '" + objectPath + "' " + why); });
    if (v.size() != 1) fail("attribute '" + name + "' of '" + objectPath + "' is not a string");
    return v[0];
}

std::vector<std::string> Hdf5File::stringListAttribute(const std::string& objectPath, const std::string& name) const {
    if (!hasAttribute(objectPath, name)) return {};
    Handle attr(H5Aopen_by_name(file_, objectPath.empty() ? "/" : objectPath.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) fail("cannot open attribute '" + name + "' of '" + objectPath + "'");
    return readStrings(attr.id, fileSize(), [&] { return heapsAreSound(); }, [&](const std::string& why) { fail("attribute '" + name + "' of '" + objectPath + "' " + why); });
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

bool Hdf5File::heapsAreSound() const {
    if (!heapProblem_) heapProblem_ = checkGlobalHeaps(filePath_).value_or("");
    if (!heapProblem_->empty()) fail("corrupt file: " + *heapProblem_);
    return true;
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
