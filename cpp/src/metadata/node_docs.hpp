// The metadata documents a writer stores, made from a definition (cuzarr::ArrayDefinition,
// GroupDefinition): v3 zarr.json, v2 .zarray/.zgroup/.zattrs, and their entries in consolidated
// metadata. The reverse of node.hpp; the documents made here are read back by its parsers before
// anything is written, so one set of rules checks both directions.
#pragma once

#include <map>
#include <string>

#include "cuzarr/array.hpp"
#include "metadata/json_util.hpp"

namespace cuzarr::metadata {

// Documents by key relative to the node ("zarr.json", or ".zarray" and ".zattrs").
using NodeDocs = std::map<std::string, Json>;

// Throws MetadataError naming `where` for JSON text that does not parse or is of the wrong type.
NodeDocs array_docs(const ArrayDefinition& definition, const std::string& where);
NodeDocs group_docs(int zarr_format, const Json& attributes);

// Adds the documents of the node at `relative` (a path below the group) to the consolidated
// metadata `group_doc` holds (a v3 group's zarr.json, or a v2 .zmetadata); false when it holds none.
bool add_consolidated(Json& group_doc, int zarr_format, const std::string& relative, const NodeDocs& docs);

}  // namespace cuzarr::metadata
