#include "info.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "cuzarr/error.hpp"

namespace cuzarr::cli {
namespace {

using Json = nlohmann::json;

// A child that cannot be opened (a codec cuzarr lacks, bad metadata) is listed with the reason
// and the listing goes on: one bad array must not hide the rest of the hierarchy.
template <typename Open>
auto try_open(Open&& open, std::string& why) -> std::optional<decltype(open())> {
  try {
    return open();
  } catch (const Error& e) {
    why = e.what();
    return std::nullopt;
  }
}

std::string child_path(const Group& g, const std::string& name) {
  return g.path().empty() ? name : g.path() + "/" + name;
}

Json unreadable_json(const char* node_type, const std::string& path, const std::string& why) {
  return Json{{"node_type", node_type}, {"path", path}, {"readable", false}, {"error", why}};
}

Json array_json(const Array& a) {
  Json names = Json::array();
  for (const auto& n : a.dimension_names()) names.push_back(n ? Json(*n) : Json(nullptr));
  return Json{{"node_type", "array"},
              {"path", a.path()},
              {"zarr_format", a.zarr_format()},
              {"shape", a.shape()},
              {"readable", true},
              {"chunks", a.chunks()},
              {"shards", a.shards() ? Json(*a.shards()) : Json(nullptr)},
              {"dtype", a.dtype().name()},
              {"fill_value", Json::parse(a.fill_value_json())},
              {"codecs", Json::parse(a.codecs_json())},
              {"decode_chain", a.codec_chain()},
              {"dimension_names", a.dimension_names().empty() ? Json(nullptr) : names},
              {"attributes", Json::parse(a.attributes_json())}};
}

// The group's members; a store that cannot be listed gives none and the reason in `why`.
std::vector<GroupMember> members_of(const Group& g, std::string& why) {
  return try_open([&] { return g.members(); }, why).value_or(std::vector<GroupMember>{});
}

// How a member's kind is named where it cannot be opened.
const char* kind_name(MemberKind k) {
  return k == MemberKind::Group ? "group" : k == MemberKind::Array ? "array" : "unknown";
}

Json group_json(const Group& g) {
  Json children = Json::object();
  std::string listing_error;
  std::string why;
  for (const GroupMember& m : in_listing_order(members_of(g, listing_error))) {
    const auto child = try_open([&] { return g.open(m.name); }, why);
    if (!child) children[m.name] = unreadable_json(kind_name(m.kind), child_path(g, m.name), why);
    else children[m.name] = std::holds_alternative<Group>(*child) ? group_json(std::get<Group>(*child))
                                                                  : array_json(std::get<Array>(*child));
  }
  Json out{{"node_type", "group"},
           {"path", g.path()},
           {"zarr_format", g.zarr_format()},
           {"consolidated", g.consolidated()},
           {"attributes", Json::parse(g.attributes_json())},
           {"children", children}};
  if (!listing_error.empty()) out["children_error"] = listing_error;
  return out;
}

std::string join(const std::vector<std::int64_t>& v) {
  std::string s = "(";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

void print_attrs(std::ostream& out, const std::string& attrs, const std::string& indent) {
  const Json j = Json::parse(attrs);
  for (const auto& [k, v] : j.items()) out << indent << "  @" << k << " = " << v.dump() << "\n";
}

void print_array(std::ostream& out, const Array& a, const std::string& name, const std::string& indent) {
  out << indent << name << "  " << a.dtype().name() << " " << join(a.shape()) << " chunks "
      << join(a.chunks());
  if (a.shards()) out << " shards " << join(*a.shards());
  if (!a.dimension_names().empty()) {
    out << " dims (";
    for (std::size_t i = 0; i < a.dimension_names().size(); ++i) {
      out << (i ? ", " : "") << a.dimension_names()[i].value_or("-");
    }
    out << ")";
  }
  out << "  v" << a.zarr_format() << " [" << a.codec_chain() << "] fill " << a.fill_value_json() << "\n";
  print_attrs(out, a.attributes_json(), indent);
}

void print_group(std::ostream& out, const Group& g, const std::string& name, const std::string& indent);

void print_node(std::ostream& out, const Node& node, const std::string& name, const std::string& indent) {
  if (const auto* a = std::get_if<Array>(&node)) print_array(out, *a, name, indent);
  else print_group(out, std::get<Group>(node), name, indent);
}

void print_group(std::ostream& out, const Group& g, const std::string& name, const std::string& indent) {
  out << indent << name << "/  group v" << g.zarr_format() << (g.consolidated() ? " (consolidated)" : "")
      << "\n";
  print_attrs(out, g.attributes_json(), indent);
  std::string listing_error;
  std::string why;
  for (const GroupMember& m : in_listing_order(members_of(g, listing_error))) {
    if (const auto n = try_open([&] { return g.open(m.name); }, why)) {
      print_node(out, *n, m.name, indent + "  ");
    } else {
      out << indent << "  " << m.name
          << (m.kind == MemberKind::Group ? "/  group, " : m.kind == MemberKind::Array ? "  array, " : "  ")
          << "unreadable: " << why << "\n";
    }
  }
  if (!listing_error.empty()) out << indent << "  (members cannot be listed: " << listing_error << ")\n";
}

}  // namespace

std::vector<GroupMember> in_listing_order(std::vector<GroupMember> members) {
  const auto rank = [](MemberKind k) { return k == MemberKind::Group ? 0 : k == MemberKind::Array ? 1 : 2; };
  std::stable_sort(members.begin(), members.end(),
                   [&](const GroupMember& a, const GroupMember& b) { return rank(a.kind) < rank(b.kind); });
  return members;
}

void print_info(std::ostream& out, const Node& node, bool json) {
  if (json) {
    const Json j = std::visit(
        [](const auto& n) {
          if constexpr (std::is_same_v<std::decay_t<decltype(n)>, Array>) return array_json(n);
          else return group_json(n);
        },
        node);
    out << j.dump(2) << "\n";
    return;
  }
  std::visit(
      [&](const auto& n) {
        if constexpr (std::is_same_v<std::decay_t<decltype(n)>, Array>) print_array(out, n, n.display_path(), "");
        else print_group(out, n, n.display_path(), "");
      },
      node);
}

}  // namespace cuzarr::cli
