// A small XML reader for the documents S3 answers with (ListBucketResult, Error): elements,
// character data, CDATA, comments, processing instructions and the predefined and numeric
// entities. Attributes are skipped, namespace prefixes dropped, and a DOCTYPE is refused (no
// entity definitions to expand). Nesting is bounded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cuzarr::store::xml {

struct Element {
  std::string name;  // local name, without a namespace prefix
  std::string text;  // the character data directly inside, entities decoded
  std::vector<Element> children;

  // The first child named `name`, or nullptr.
  const Element* child(std::string_view name) const;
  // The text of the first child named `name`, or "" when there is none.
  std::string child_text(std::string_view name) const;
};

// The document's root element. Throws StoreError("malformed XML: ...") naming what is wrong and
// where (a byte offset).
Element parse(std::string_view document);

}  // namespace cuzarr::store::xml
