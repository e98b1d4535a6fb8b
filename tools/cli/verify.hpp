// `cuzarr verify`: decode every chunk of every array under a path and report the bad ones.
#pragma once

#include <iosfwd>
#include <string>

#include "cuzarr/array.hpp"

namespace cuzarr::cli {

// Returns the number of problems found (corrupt chunks and arrays that cannot be opened).
std::size_t verify_tree(std::ostream& out, std::ostream& err, const Node& node, bool progress_bar);

}  // namespace cuzarr::cli
