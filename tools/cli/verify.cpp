#include "verify.hpp"

#include <ostream>
#include <utility>

#include "cuzarr/error.hpp"
#include "info.hpp"
#include "progress.hpp"

namespace cuzarr::cli {
namespace {

std::size_t verify_array(std::ostream& out, std::ostream& err, const Array& a, bool bar) {
  auto progress = [&](std::size_t done, std::size_t total) { draw_progress(err, bar, done, total, a.display_path()); };
  const VerifyReport r = a.verify(progress);
  out << (r.errors.empty() ? "ok     " : "FAILED ") << a.display_path() << ": " << r.chunks << " chunks, "
      << r.missing << " missing (fill value), " << r.errors.size() << " unreadable\n";
  for (const std::string& e : r.errors) out << "  " << e << "\n";
  return r.errors.size();
}

// Every member is opened and verified in turn; one that cannot be opened (bad metadata, whatever
// its kind) is reported with the reason and the others are still verified.
std::size_t verify_group(std::ostream& out, std::ostream& err, const Group& g, bool bar) {
  std::vector<GroupMember> members;
  try {
    members = g.members();
  } catch (const Error& e) {
    out << "FAILED " << g.display_path() << ": " << e.what() << "\n";
    return 1;
  }
  std::size_t problems = 0;
  for (const GroupMember& m : in_listing_order(std::move(members))) {
    try {
      problems += verify_tree(out, err, g.open(m.name), bar);
    } catch (const Error& e) {
      out << "FAILED " << g.display_path() << "/" << m.name << ": " << e.what() << "\n";
      ++problems;
    }
  }
  return problems;
}

}  // namespace

std::size_t verify_tree(std::ostream& out, std::ostream& err, const Node& node, bool progress_bar) {
  if (const auto* a = std::get_if<Array>(&node)) return verify_array(out, err, *a, progress_bar);
  return verify_group(out, err, std::get<Group>(node), progress_bar);
}

}  // namespace cuzarr::cli
