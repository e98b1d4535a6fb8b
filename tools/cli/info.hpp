// `cuzarr info`: a description of a hierarchy as text or JSON.
#pragma once

#include <iosfwd>

#include "cuzarr/array.hpp"

namespace cuzarr::cli {

void print_info(std::ostream& out, const Node& node, bool json);

}  // namespace cuzarr::cli
