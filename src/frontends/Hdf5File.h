// A small read-only view of an HDF5 file over the libhdf5 C API: just what the Keras
// frontend needs (string attributes, datasets as doubles, listing a group's datasets).
// Every failure throws tachyon::Error naming the file and the object.
#pragma once

#include <hdf5.h>

#include <optional>
#include <string>
#include <vector>

namespace tachyon {

class Hdf5File {
public:
    explicit Hdf5File(const std::string& path);
    // A file read from `path` but named `displayName` in messages and path(): the weights of
    // a Keras 3 archive, extracted to a temporary, are "model.keras:model.weights.h5".
    Hdf5File(const std::string& path, const std::string& displayName);
    ~Hdf5File();
    Hdf5File(const Hdf5File&) = delete;
    Hdf5File& operator=(const Hdf5File&) = delete;

    const std::string& path() const { return path_; }
    // True when every component of the slash-separated path exists.
    bool exists(const std::string& objectPath) const;
    bool hasAttribute(const std::string& objectPath, const std::string& name) const;
    // A scalar string attribute (fixed or variable length); nullopt when absent.
    std::optional<std::string> stringAttribute(const std::string& objectPath, const std::string& name) const;
    // A 1-D array of strings (Keras' layer_names / weight_names); empty when absent.
    std::vector<std::string> stringListAttribute(const std::string& objectPath, const std::string& name) const;
    // A numeric dataset converted to double, row-major; dims receives its shape.
    std::vector<double> readDataset(const std::string& datasetPath, std::vector<size_t>& dims) const;
    // Paths (relative to groupPath) of all datasets below a group, recursively.
    std::vector<std::string> datasetsUnder(const std::string& groupPath) const;

private:
    [[noreturn]] void fail(const std::string& what) const;
    hsize_t fileSize() const;
    // Checks the file's global heaps once (see Hdf5File.cpp); throws when they are corrupt.
    bool heapsAreSound() const;
    mutable std::optional<std::string> heapProblem_;  // "" once checked and sound
    void checkStored(hid_t ds, hid_t type, size_t elements, const std::string& datasetPath) const;
    std::string path_;      // what messages name
    std::string filePath_;  // what is read
    hid_t file_ = -1;
};

}  // namespace tachyon
