// The checks every storage option's text goes through (the CLI's --storage-option, Python's
// storage_options), shared by the S3, GCS and Azure setters. Messages name the option, never its
// value unless the caller says it is no secret.
#pragma once

#include <string_view>

namespace cuzarr::store {

// Throws StoreError when `value` holds a line break or NUL, or is empty and `may_be_empty` is not set.
void check_option_text(std::string_view name, std::string_view value, bool may_be_empty);

// true/false (also True/False, 1/0, yes/no); anything else is a StoreError naming the option.
bool parse_bool_option(std::string_view name, std::string_view text);

// Whether `text` starts with `prefix` (given in lower case), in any case.
bool starts_with_nocase(std::string_view text, std::string_view prefix);

}  // namespace cuzarr::store
