#include "store/xml.hpp"

#include <charconv>
#include <cstdint>

#include "cuzarr/error.hpp"

namespace cuzarr::store::xml {
namespace {

constexpr std::size_t kMaxDepth = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view doc) : doc_(doc) {}

  Element document() {
    if (doc_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    skip_misc();
    if (at_end() || doc_[pos_] != '<') fail("no root element");
    Element root = element(0);
    skip_misc();
    if (!at_end()) fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw StoreError("malformed XML: " + what + " (at byte " + std::to_string(pos_) + ")");
  }
  bool at_end() const { return pos_ >= doc_.size(); }
  bool looking_at(std::string_view s) const { return doc_.substr(pos_).starts_with(s); }
  void skip_space() {
    while (!at_end() && is_space(doc_[pos_])) ++pos_;
  }
  // Moves past the next `end`; the construct started at `what`.
  void skip_past(std::string_view end, const char* what) {
    const std::size_t at = doc_.find(end, pos_);
    if (at == std::string_view::npos) fail(std::string("an unterminated ") + what);
    pos_ = at + end.size();
  }

  // Whitespace, comments and processing instructions around the root element.
  void skip_misc() {
    for (;;) {
      skip_space();
      if (looking_at("<?")) {
        skip_past("?>", "processing instruction");
      } else if (looking_at("<!--")) {
        skip_past("-->", "comment");
      } else if (looking_at("<!DOCTYPE") || looking_at("<!doctype")) {
        fail("a DOCTYPE declaration (not accepted)");
      } else {
        return;
      }
    }
  }

  std::string name() {
    const std::size_t start = pos_;
    while (!at_end() && !is_space(doc_[pos_]) && doc_[pos_] != '>' && doc_[pos_] != '/' && doc_[pos_] != '=' &&
           doc_[pos_] != '<') {
      ++pos_;
    }
    if (pos_ == start) fail("a missing name");
    return std::string(doc_.substr(start, pos_ - start));
  }

  static std::string local(const std::string& qualified) {
    const std::size_t colon = qualified.find(':');
    return colon == std::string::npos ? qualified : qualified.substr(colon + 1);
  }

  void skip_attributes() {
    for (;;) {
      skip_space();
      if (at_end()) fail("an unterminated start tag");
      if (doc_[pos_] == '>' || doc_[pos_] == '/') return;
      name();
      skip_space();
      if (at_end() || doc_[pos_] != '=') fail("an attribute without a value");
      ++pos_;
      skip_space();
      if (at_end() || (doc_[pos_] != '"' && doc_[pos_] != '\'')) fail("an unquoted attribute value");
      const char quote = doc_[pos_++];
      const std::size_t close = doc_.find(quote, pos_);
      if (close == std::string_view::npos) fail("an unterminated attribute value");
      pos_ = close + 1;
    }
  }

  void entity(std::string& out) {
    const std::size_t semi = doc_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 12) fail("an unterminated entity reference");
    const std::string_view ref = doc_.substr(pos_ + 1, semi - pos_ - 1);
    if (ref == "lt") {
      out += '<';
    } else if (ref == "gt") {
      out += '>';
    } else if (ref == "amp") {
      out += '&';
    } else if (ref == "quot") {
      out += '"';
    } else if (ref == "apos") {
      out += '\'';
    } else if (ref.starts_with('#')) {
      const bool hex = ref.size() > 1 && (ref[1] == 'x' || ref[1] == 'X');
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || cp == 0 || cp > 0x10FFFF ||
          (cp >= 0xD800 && cp <= 0xDFFF)) {
        fail("an invalid character reference '&" + std::string(ref) + ";'");
      }
      append_utf8(out, cp);
    } else {
      fail("an unknown entity '&" + std::string(ref) + ";'");
    }
    pos_ = semi + 1;
  }

  Element element(std::size_t depth) {
    if (depth >= kMaxDepth) fail("elements nested deeper than " + std::to_string(kMaxDepth));
    ++pos_;  // '<'
    const std::string qualified = name();
    Element e;
    e.name = local(qualified);
    skip_attributes();
    if (doc_[pos_] == '/') {
      if (!looking_at("/>")) fail("a stray '/' in a start tag");
      pos_ += 2;
      return e;
    }
    ++pos_;  // '>'
    for (;;) {
      if (at_end()) fail("element '" + qualified + "' is not closed");
      const char c = doc_[pos_];
      if (c == '&') {
        entity(e.text);
      } else if (c != '<') {
        e.text += c;
        ++pos_;
      } else if (looking_at("</")) {
        pos_ += 2;
        const std::string closing = name();
        if (closing != qualified) fail("'</" + closing + ">' closes element '" + qualified + "'");
        skip_space();
        if (at_end() || doc_[pos_] != '>') fail("an unterminated end tag");
        ++pos_;
        return e;
      } else if (looking_at("<!--")) {
        skip_past("-->", "comment");
      } else if (looking_at("<![CDATA[")) {
        const std::size_t start = pos_ + 9;
        skip_past("]]>", "CDATA section");
        e.text.append(doc_.substr(start, pos_ - 3 - start));
      } else if (looking_at("<?")) {
        skip_past("?>", "processing instruction");
      } else if (looking_at("<!")) {
        fail("a markup declaration inside an element");
      } else {
        e.children.push_back(element(depth + 1));
      }
    }
  }

  std::string_view doc_;
  std::size_t pos_ = 0;
};

}  // namespace

const Element* Element::child(std::string_view wanted) const {
  for (const Element& c : children) {
    if (c.name == wanted) return &c;
  }
  return nullptr;
}

std::string Element::child_text(std::string_view wanted) const {
  const Element* c = child(wanted);
  return c == nullptr ? std::string() : c->text;
}

Element parse(std::string_view document) { return Parser(document).document(); }

}  // namespace cuzarr::store::xml
