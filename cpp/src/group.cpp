#include <string>
#include <type_traits>
#include <vector>

#include "codec/registry.hpp"
#include "cuzarr/error.hpp"
#include "node_state.hpp"

namespace cuzarr {
namespace {

using detail::Context;
using metadata::NodeKind;
using metadata::NodeMeta;

Node make_node(std::shared_ptr<const Context> context, NodeMeta meta,
               std::shared_ptr<const metadata::ConsolidatedIndex> consolidated) {
  if (meta.kind == NodeKind::Array) {
    metadata::ArrayMeta& am = *meta.array;
    codec::CodecChain chain =
        codec::CodecChain::prepare(am.zarr_format == 2 ? codec::order_v2_codecs(am.codecs) : am.codecs,
                                   codec::ChunkSpec{am.chunk_shape, am.dtype},
                                   am.fill_value, am.display);
    return Array(std::make_shared<detail::ArrayState>(
        detail::ArrayState{std::move(context), std::move(am), std::move(chain)}));
  }
  const Consolidated mode = context->options().consolidated;
  if (!consolidated && mode != Consolidated::Ignore) {
    consolidated = metadata::load_consolidated(context->store(), meta, context->max_metadata_bytes());
    if (!consolidated && mode == Consolidated::Require) {
      throw MetadataError("group '" + meta.display +
                          "' has no consolidated metadata (consolidated metadata was required)");
    }
  }
  return Group(std::make_shared<detail::GroupState>(
      detail::GroupState{std::move(context), std::move(meta), std::move(consolidated)}));
}

// What a group holds, for the message of someone who named it where an array was wanted: its
// arrays (a few, then a count), else its groups, so the next attempt can name one.
std::string members_hint(const Group& group, const std::string& where) {
  constexpr std::size_t kShown = 8;
  std::vector<std::string> arrays, groups;
  try {
    arrays = group.array_names();
    if (arrays.empty()) groups = group.group_names();
  } catch (const Error& e) {
    return "; its members cannot be listed (" + std::string(e.what()) + ")";
  }
  const std::vector<std::string>& names = arrays.empty() ? groups : arrays;
  if (names.empty()) return "; it holds no arrays or groups";
  std::string text = arrays.empty() ? "; it holds no arrays, only the groups " : "; its arrays: ";
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text + " (name one, e.g. '" + join_key(where, names.front()) + "')";
}

template <typename T>
T expect(Node node, const std::string& where) {
  if (auto* v = std::get_if<T>(&node)) return std::move(*v);
  if constexpr (std::is_same_v<T, Array>) {
    throw KeyNotFound("'" + where + "' is a group, not an array" + members_hint(std::get<Group>(node), where));
  } else {
    throw KeyNotFound("'" + where + "' is an array, not a group");
  }
}

std::string display_of(const Node& n) {
  return std::visit([](const auto& x) { return x.display_path(); }, n);
}

}  // namespace

int Group::zarr_format() const { return state_->meta.zarr_format; }
const std::string& Group::path() const { return state_->meta.path; }
const std::string& Group::display_path() const { return state_->meta.display; }
std::string Group::attributes_json() const { return state_->meta.attributes.dump(); }
bool Group::consolidated() const { return state_->consolidated != nullptr; }

namespace {

std::vector<std::string> names_of(const std::vector<GroupMember>& members, MemberKind wanted) {
  std::vector<std::string> out;
  for (const GroupMember& m : members) {
    if (m.kind == wanted) out.push_back(m.name);
  }
  return out;
}

}  // namespace

std::vector<GroupMember> Group::members() const {
  const detail::GroupState& g = *state_;
  auto children = g.consolidated ? metadata::list_children(*g.consolidated, g.meta.path)
                                 : metadata::list_children(g.context->store(), g.meta.path, g.context->max_metadata_bytes());
  std::vector<GroupMember> out;
  out.reserve(children.size());
  for (auto& [name, kind] : children) {
    const MemberKind k = kind == NodeKind::Array   ? MemberKind::Array
                         : kind == NodeKind::Group ? MemberKind::Group
                                                   : MemberKind::Unreadable;
    out.push_back(GroupMember{std::move(name), k});
  }
  return out;
}

std::vector<std::string> Group::array_names() const { return names_of(members(), MemberKind::Array); }
std::vector<std::string> Group::group_names() const { return names_of(members(), MemberKind::Group); }

Node Group::open(const std::string& name) const {
  validate_key(name);
  const std::string path = join_key(state_->meta.path, name);
  const Store& store = state_->context->store();
  if (state_->consolidated) {
    if (auto meta = metadata::load_node(*state_->consolidated, store, path)) {
      return make_node(state_->context, std::move(*meta), state_->consolidated);
    }
    if (state_->context->options().consolidated == Consolidated::Require) {
      throw KeyNotFound("no array or group '" + name + "' in the consolidated metadata of '" +
                        state_->meta.display + "'");
    }
  }
  return make_node(state_->context, metadata::load_node(store, path, state_->context->max_metadata_bytes()), nullptr);
}

Array Group::open_array(const std::string& name) const {
  Node n = open(name);
  return expect<Array>(std::move(n), join_key(state_->meta.display, name));
}

Group Group::open_group(const std::string& name) const {
  Node n = open(name);
  return expect<Group>(std::move(n), join_key(state_->meta.display, name));
}

Node open(const std::filesystem::path& path, const OpenOptions& options) {
  return open(open_store(path.string(), options.store), options);
}

Node open(std::shared_ptr<const Store> store, const OpenOptions& options) {
  if (!store) throw StoreError("cannot open a null store");
  auto context = std::make_shared<const Context>(store, options);
  return make_node(context, metadata::load_node(*store, "", context->max_metadata_bytes()), nullptr);
}

Array open_array(const std::filesystem::path& path, const OpenOptions& options) {
  Node n = open(path, options);
  const std::string where = display_of(n);
  return expect<Array>(std::move(n), where);
}

Group open_group(const std::filesystem::path& path, const OpenOptions& options) {
  Node n = open(path, options);
  const std::string where = display_of(n);
  return expect<Group>(std::move(n), where);
}

}  // namespace cuzarr
