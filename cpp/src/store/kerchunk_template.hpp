// The jinja-like templates of kerchunk references (version 1): "{{u}}" in a reference's URL, and
// "{{ (i + 1) * 1000 }}" in the keys, URLs, offsets and lengths of `gen` entries. Only what
// kerchunk writes is understood: a name, or integer arithmetic (+ - * // % and parentheses) over
// names and integer literals. Anything else is an error, never left unexpanded.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cuzarr::store {

// The names a template may use and their values, as text (a number is its decimal digits).
using TemplateVars = std::map<std::string, std::string, std::less<>>;

// `text` with every "{{ expression }}" replaced by its value. Throws MetadataError saying what
// did not expand (an unknown name, text in arithmetic, an unclosed "{{", division by zero,
// overflow); the caller names the reference.
std::string expand_template(std::string_view text, const TemplateVars& vars);

}  // namespace cuzarr::store
