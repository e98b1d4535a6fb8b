#include "codec/element_ops.hpp"

#include <cctype>

#include "codec/bytes_codec.hpp"
#include "metadata/dtype_parse.hpp"

namespace cuzarr::codec {

const std::byte* c_order_elements(const ChunkView& view, const DataType& dtype, Buffer& tmp) {
  const std::vector<std::int64_t> dense = c_order_strides(view.shape, dtype.size);
  if (view.byte_strides == dense && view.swap_unit == 0) return view.data;
  const std::int64_t n = element_count(view.shape);
  tmp = Buffer(static_cast<std::size_t>(n * dtype.size));
  std::vector<std::int64_t> index(view.shape.size(), 0);
  const std::byte* src = view.data;
  for (std::int64_t i = 0; i < n; ++i) {
    std::memcpy(tmp.data() + i * dtype.size, src, static_cast<std::size_t>(dtype.size));
    // Odometer step over the view's strides, last dimension fastest.
    for (std::size_t d = view.shape.size(); d-- > 0;) {
      src += view.byte_strides[d];
      if (++index[d] < view.shape[d]) break;
      src -= view.byte_strides[d] * view.shape[d];
      index[d] = 0;
    }
  }
  if (view.swap_unit != 0) byteswap_in_place(tmp.data(), n, dtype);
  return tmp.data();
}

DataType parse_numpy_dtype(const metadata::Json& value, const std::string& where) {
  if (!value.is_string()) {
    throw MetadataError("'" + where + "': a data type must be a string, got " + value.dump());
  }
  const std::string s = value.get<std::string>();
  if (!s.empty() && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
    return metadata::parse_v2_dtype(value, where).first;
  }
  // NumPy's bare codes ("i2", "f8", "M8[ns]"): the byte order is the filter's business, not the
  // code's (filters run on native values).
  if (s.size() >= 2 && std::isalpha(static_cast<unsigned char>(s[0])) &&
      std::isdigit(static_cast<unsigned char>(s[1]))) {
    return metadata::parse_v2_dtype(metadata::Json("<" + s), where).first;
  }
  for (const char* prefix : {"datetime64", "timedelta64"}) {
    const std::string p(prefix);
    if (s.starts_with(p)) {
      return metadata::parse_v2_dtype(metadata::Json(std::string(p == "datetime64" ? "<M8" : "<m8") + s.substr(p.size())),
                                      where)
          .first;
    }
  }
  return metadata::parse_v3_dtype(value, where);
}

}  // namespace cuzarr::codec
