#include <charconv>
#include <string>

#include "cuzarr/error.hpp"
#include "cuzarr/selection.hpp"
#include "plan/chunk_plan.hpp"

namespace cuzarr {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::int64_t parse_int(std::string_view s, std::string_view whole) {
  s = trim(s);
  std::int64_t v = 0;
  const char* begin = s.data();
  if (!s.empty() && s.front() == '+') ++begin;
  auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    throw SelectionError("invalid selection '" + std::string(whole) + "': '" + std::string(s) +
                         "' is not an integer");
  }
  return v;
}

DimSelection parse_item(std::string_view item, std::string_view whole) {
  item = trim(item);
  if (item.empty()) throw SelectionError("invalid selection '" + std::string(whole) + "': empty item");
  if (item.front() == '[') {
    if (item.back() != ']') {
      throw SelectionError("invalid selection '" + std::string(whole) + "': unclosed '['");
    }
    std::vector<std::int64_t> indices;
    std::string_view body = trim(item.substr(1, item.size() - 2));
    while (!body.empty()) {
      auto comma = body.find(',');
      indices.push_back(parse_int(body.substr(0, comma), whole));
      if (comma == std::string_view::npos) break;
      body = body.substr(comma + 1);
    }
    return indices;
  }
  if (item.find(':') == std::string_view::npos) return parse_int(item, whole);
  Slice s;
  std::string_view parts[3];
  int n = 0;
  std::size_t start = 0;
  while (true) {
    if (n == 3) throw SelectionError("invalid selection '" + std::string(whole) + "': too many ':'");
    auto colon = item.find(':', start);
    parts[n++] = item.substr(start, colon == std::string_view::npos ? colon : colon - start);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (!trim(parts[0]).empty()) s.start = parse_int(parts[0], whole);
  if (n > 1 && !trim(parts[1]).empty()) s.stop = parse_int(parts[1], whole);
  if (n > 2 && !trim(parts[2]).empty()) s.step = parse_int(parts[2], whole);
  return s;
}

}  // namespace

Selection parse_selection(std::string_view text) {
  Selection sel;
  if (trim(text).empty()) return sel;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0 || depth > 1) {
      throw SelectionError("invalid selection '" + std::string(text) + "': unbalanced brackets");
    }
    if (c == ',' && depth == 0) {
      sel.dims.push_back(parse_item(text.substr(start, i - start), text));
      start = i + 1;
    }
  }
  if (depth != 0) {
    throw SelectionError("invalid selection '" + std::string(text) + "': unbalanced brackets");
  }
  return sel;
}

std::vector<std::int64_t> result_shape(const Selection& selection,
                                       const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> out;
  for (const plan::DimIndex& d : plan::normalize(selection, shape)) {
    if (!d.dropped) out.push_back(d.count());
  }
  return out;
}

}  // namespace cuzarr
