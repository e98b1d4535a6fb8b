#include "metadata/node_docs.hpp"

#include "cuzarr/error.hpp"
#include "metadata/dtype_parse.hpp"

namespace cuzarr::metadata {
namespace {

Json parse_text(const std::string& text, const std::string& what, const std::string& where) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) throw MetadataError("'" + where + "': " + what + " is not JSON: " + text);
  return j;
}

// The zero a v3 fill value of `data_type` is when none is given (zarr-python's default).
Json default_fill(const std::string& data_type) {
  if (data_type == "bool") return false;
  if (data_type.starts_with("complex")) return Json::array({0.0, 0.0});
  if (data_type.starts_with("float")) return 0.0;
  return 0;
}

Json names_json(const std::vector<std::optional<std::string>>& names) {
  Json out = Json::array();
  for (const auto& n : names) out.push_back(n ? Json(*n) : Json(nullptr));
  return out;
}

}  // namespace

NodeDocs array_docs(const ArrayDefinition& def, const std::string& where) {
  const Json attributes = parse_text(def.attributes, "attributes", where);
  if (!attributes.is_object()) throw MetadataError("'" + where + "': attributes must be a JSON object");
  Json fill = parse_text(def.fill_value, "fill_value", where);
  if (!def.dimension_names.empty() && def.dimension_names.size() != def.shape.size()) {
    throw MetadataError("'" + where + "': " + std::to_string(def.dimension_names.size()) + " dimension names for " +
                        std::to_string(def.shape.size()) + " dimensions");
  }
  if (def.chunks.size() != def.shape.size()) {
    throw MetadataError("'" + where + "': chunks has " + std::to_string(def.chunks.size()) + " dimensions, shape " +
                        std::to_string(def.shape.size()));
  }
  NodeDocs docs;
  if (def.zarr_format == 2) {
    if (def.shards) throw MetadataError("'" + where + "': shards need zarr_format 3");
    Json attrs = attributes;
    if (!def.dimension_names.empty()) attrs["_ARRAY_DIMENSIONS"] = names_json(def.dimension_names);
    Json compressor = def.compressor.empty() ? Json{{"id", "zstd"}, {"level", 0}}
                                             : parse_text(def.compressor, "compressor", where);
    Json filters = parse_text(def.filters, "filters", where);
    if (filters.is_array() && filters.empty()) filters = nullptr;  // zarr-python writes null for none
    docs[".zarray"] = Json{{"zarr_format", 2},
                           {"shape", def.shape},
                           {"chunks", def.chunks},
                           {"dtype", def.dtype},
                           {"compressor", compressor},
                           {"fill_value", fill},
                           {"order", std::string(1, def.order)},
                           {"filters", filters},
                           {"dimension_separator", std::string(1, def.separator ? def.separator : '.')}};
    if (!attrs.empty()) docs[".zattrs"] = attrs;
    return docs;
  }
  if (def.zarr_format != 3) throw MetadataError("'" + where + "': zarr_format must be 2 or 3");
  Json codecs = def.codecs.empty() ? Json::array({Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                                  Json{{"name", "zstd"}, {"configuration", {{"level", 0}, {"checksum", false}}}}})
                                   : parse_text(def.codecs, "codecs", where);
  std::vector<std::int64_t> grid = def.chunks;
  if (def.shards) {
    grid = *def.shards;
    const Json index = Json::array({Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, Json{{"name", "crc32c"}}});
    codecs = Json::array({Json{{"name", "sharding_indexed"},
                               {"configuration",
                                {{"chunk_shape", def.chunks}, {"codecs", codecs}, {"index_codecs", index}, {"index_location", "end"}}}}});
  }
  if (fill.is_null()) fill = default_fill(def.dtype);
  Json doc{{"zarr_format", 3},
           {"node_type", "array"},
           {"shape", def.shape},
           {"data_type", def.dtype},
           {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", grid}}}}},
           {"chunk_key_encoding",
            {{"name", "default"}, {"configuration", {{"separator", std::string(1, def.separator ? def.separator : '/')}}}}},
           {"fill_value", fill},
           {"codecs", codecs},
           {"attributes", attributes},
           {"storage_transformers", Json::array()}};
  if (!def.dimension_names.empty()) doc["dimension_names"] = names_json(def.dimension_names);
  docs["zarr.json"] = std::move(doc);
  return docs;
}

NodeDocs group_docs(int zarr_format, const Json& attributes) {
  NodeDocs docs;
  if (zarr_format == 2) {
    docs[".zgroup"] = Json{{"zarr_format", 2}};
    if (!attributes.empty()) docs[".zattrs"] = attributes;
  } else {
    docs["zarr.json"] = Json{{"zarr_format", 3}, {"node_type", "group"}, {"attributes", attributes}};
  }
  return docs;
}

bool add_consolidated(Json& group_doc, int zarr_format, const std::string& relative, const NodeDocs& docs) {
  if (zarr_format == 2) {
    if (!group_doc.is_object() || !group_doc.contains("metadata") || !group_doc["metadata"].is_object()) return false;
    for (const auto& [name, doc] : docs) group_doc["metadata"][relative + "/" + name] = doc;
    return true;
  }
  if (!group_doc.is_object() || !group_doc.contains("consolidated_metadata")) return false;
  Json& cm = group_doc["consolidated_metadata"];
  if (!cm.is_object() || !cm.contains("metadata") || !cm["metadata"].is_object()) return false;
  cm["metadata"][relative] = docs.at("zarr.json");
  return true;
}

}  // namespace cuzarr::metadata
