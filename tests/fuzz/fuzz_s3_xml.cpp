// libFuzzer target for the XML documents an S3 server answers: the reader (store/xml.hpp) and
// what S3Store takes from its result, a ListObjectsV2 page (keys, prefixes, truncation, token)
// or an error document (code, message). Input: the document.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cuzarr/error.hpp"
#include "store/xml.hpp"

namespace {

namespace xml = cuzarr::store::xml;

// Walks the tree as deep as the reader allowed it to be (every element is visited once).
std::size_t count(const xml::Element& e) {
  std::size_t n = 1;
  for (const xml::Element& c : e.children) n += count(c);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const xml::Element doc = xml::parse(text);
    if (count(doc) > size + 1) __builtin_trap();  // more elements than the document has bytes
    if (doc.name == "ListBucketResult") {
      std::size_t names = 0;
      for (const xml::Element& item : doc.children) {
        if (item.name == "Contents") names += item.child_text("Key").size();
        if (item.name == "CommonPrefixes") names += item.child_text("Prefix").size();
      }
      if (names > size) __builtin_trap();  // entity decoding never grows text
      (void)doc.child_text("IsTruncated");
      (void)doc.child_text("NextContinuationToken");
    } else if (doc.name == "Error") {
      (void)doc.child_text("Code");
      (void)doc.child_text("Message");
      if (const xml::Element* e = doc.child("Resource")) (void)e->text.size();
    }
  } catch (const cuzarr::Error&) {
    // Malformed XML: a clear StoreError.
  }
  return 0;
}
