// The size cap on metadata documents (Store::get_metadata): one wording for every store, so that
// each error names the cap and the setting that raises it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cuzarr::store {

// "the metadata document is N bytes, over the metadata size cap of M bytes (...)"; with no
// size known, "the metadata document passed the ...".
std::string metadata_too_large(std::uint64_t max_bytes, std::optional<std::uint64_t> size);

}  // namespace cuzarr::store
