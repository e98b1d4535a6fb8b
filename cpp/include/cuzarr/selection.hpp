/// @file
/// Which elements of an array a read returns: per dimension an integer (the dimension is dropped),
/// a slice with a positive step, or a list of indices (outer / orthogonal indexing: the result
/// holds every combination, in the order given, duplicates allowed). Negative integers count from
/// the end, as in Python.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

namespace cuzarr {

/// start:stop:step of one dimension, as in Python (positive steps only).
struct Slice {
  std::optional<std::int64_t> start;  ///< default 0
  std::optional<std::int64_t> stop;   ///< default: the dimension's length
  std::int64_t step = 1;              ///< must be > 0
};

/// One dimension's selection: an index (the dimension is dropped), a Slice, or a list of indices.
using DimSelection = std::variant<std::int64_t, Slice, std::vector<std::int64_t>>;

/// What a read returns: one DimSelection per dimension.
struct Selection {
  /// Fewer entries than the array's rank select the trailing dimensions whole.
  std::vector<DimSelection> dims;

  /// The whole array.
  static Selection all() { return {}; }
};

/// Parses "0:10,5,::2,[3,1,2]" (Python-like; empty text selects everything). Throws SelectionError.
Selection parse_selection(std::string_view text);

/// Shape of the result of `selection` on an array of `shape`. Throws SelectionError.
std::vector<std::int64_t> result_shape(const Selection& selection,
                                       const std::vector<std::int64_t>& shape);

}  // namespace cuzarr
