// `cuzarr info`: a description of a hierarchy as text or JSON.
#pragma once

#include <iosfwd>
#include <vector>

#include "cuzarr/array.hpp"

namespace cuzarr::cli {

void print_info(std::ostream& out, const Node& node, bool json);

// The order `info` and `verify` take a group's members in: groups, then arrays, then the members
// whose kind cannot be read, each in name order.
std::vector<GroupMember> in_listing_order(std::vector<GroupMember> members);

}  // namespace cuzarr::cli
