// What every generated project (HLS, Verilog, trees) writes the same way: text files,
// raw test-vector files (docs/semantics.md), random test inputs and the common fields
// of tachyon_project.json.
#pragma once

#include "lower/LoweredGraph.h"
#include "ir/Graph.h"
#include "ir/Target.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tachyon::backend {

void writeText(const std::string& path, const std::string& text);
// One row per line, raw integers separated by single spaces.
void writeRawRows(const std::string& path, const int64_t* data, size_t rows, size_t cols);
// The same rows as values of type t (hls4ml's float test-bench files).
void writeValueRows(const std::string& path, const int64_t* data, size_t rows, size_t cols, const FixedType& t);
// The same with one type per column (the inputs of a model with several inputs).
void writeValueRows(const std::string& path, const int64_t* data, size_t rows, const std::vector<FixedType>& colTypes);

// Random raw rows of type t: a third typical values (N(0, s^2) with s in 1..4, quantised),
// a third uniform over the whole raw range (so inner layers saturate or wrap), a third
// mixing the extremes (min, max, 0, +-1 LSB) with typical values.
std::vector<int64_t> randomTestRows(const FixedType& t, size_t rows, size_t cols, uint64_t seed);
// Random rows for all model inputs: each input's values drawn as above in its own type
// (seed + its index), then concatenated per row in input order (the emulator's row layout).
std::vector<int64_t> randomModelInputRows(const Graph& g, size_t rows, uint64_t seed);
// The type of each value of such a row.
std::vector<FixedType> modelInputColumnTypes(const Graph& g);
// The test rows of a project: the user's own rows (`userRows`, row-major float values of
// all model inputs, hls4ml's InputData) cast to the input types as the emulator casts
// them, or `randomRows` random rows (randomModelInputRows) when there are none. `rows`
// receives the number of rows.
std::vector<int64_t> projectTestRows(const Graph& g, const std::vector<double>& userRows, size_t randomRows,
                                     uint64_t seed, size_t& rows);

// backend, kind "nn", top, model, clock, part, sizes, port types, test rows, and the
// Dense and Conv layers built as XNOR-popcount (binary x binary, passes/BinaryMac.h).
nlohmann::ordered_json networkManifest(const Graph& g, const LoweredGraph& low, const Target& target,
                                       const std::string& backend, const std::string& top, size_t testRows);

}  // namespace tachyon::backend
