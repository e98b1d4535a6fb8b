#include "store/kerchunk_template.hpp"

#include <cctype>
#include <charconv>
#include <optional>

#include "cuzarr/error.hpp"

namespace cuzarr::store {
namespace {

[[noreturn]] void fail(std::string_view expr, const std::string& why) {
  throw MetadataError("template '{{" + std::string(expr) + "}}' does not expand: " + why);
}

std::optional<std::int64_t> as_integer(std::string_view text) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

// A value of an expression: an integer, or text (a name holding text, usable only alone).
struct Value {
  std::optional<std::int64_t> number;
  std::string text;
};

// Recursive descent over one expression: sum := product (('+'|'-') product)*, product :=
// unary (('*'|'//'|'%') unary)*, unary := ('-'|'+') unary | atom, atom := integer | name | (sum).
class Expression {
 public:
  Expression(std::string_view expr, const TemplateVars& vars) : expr_(expr), vars_(vars) {}

  Value evaluate() {
    Value v = sum();
    skip_space();
    if (pos_ != expr_.size()) fail(expr_, "unexpected '" + std::string(expr_.substr(pos_)) + "'");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  void skip_space() {
    while (pos_ < expr_.size() && std::isspace(static_cast<unsigned char>(expr_[pos_]))) ++pos_;
  }
  bool take(std::string_view token) {
    skip_space();
    if (expr_.substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  std::int64_t number(const Value& v) {
    if (!v.number) fail(expr_, "'" + v.text + "' is not an integer");
    return *v.number;
  }
  Value arith(std::int64_t r) { return Value{r, {}}; }

  Value sum() {
    Value v = product();
    while (true) {
      if (take("+")) {
        std::int64_t r = 0;
        if (__builtin_add_overflow(number(v), number(product()), &r)) fail(expr_, "overflow");
        v = arith(r);
      } else if (take("-")) {
        std::int64_t r = 0;
        if (__builtin_sub_overflow(number(v), number(product()), &r)) fail(expr_, "overflow");
        v = arith(r);
      } else {
        return v;
      }
    }
  }

  Value product() {
    Value v = unary();
    while (true) {
      skip_space();
      if (take("//") || take("%")) {
        const bool floor_div = expr_[pos_ - 1] == '/';
        const std::int64_t a = number(v), b = number(unary());
        if (b == 0) fail(expr_, "division by zero");
        if (a == INT64_MIN && b == -1) fail(expr_, "overflow");
        // Python's floor division and modulo: the remainder takes the divisor's sign.
        std::int64_t q = a / b, m = a % b;
        if (m != 0 && ((m < 0) != (b < 0))) --q, m += b;
        v = arith(floor_div ? q : m);
      } else if (take("*")) {
        std::int64_t r = 0;
        if (__builtin_mul_overflow(number(v), number(unary()), &r)) fail(expr_, "overflow");
        v = arith(r);
      } else if (take("/")) {
        fail(expr_, "'/' gives a fraction; use '//'");
      } else {
        return v;
      }
    }
  }

  Value unary() {
    if (++depth_ > kMaxDepth) fail(expr_, "nested too deeply");
    Value v;
    if (take("-")) {
      const std::int64_t a = number(unary());
      if (a == INT64_MIN) fail(expr_, "overflow");
      v = arith(-a);
    } else if (take("+")) {
      v = arith(number(unary()));
    } else {
      v = atom();
    }
    --depth_;
    return v;
  }

  Value atom() {
    skip_space();
    if (take("(")) {
      Value v = sum();
      if (!take(")")) fail(expr_, "missing ')'");
      return v;
    }
    const std::size_t start = pos_;
    if (pos_ < expr_.size() && std::isdigit(static_cast<unsigned char>(expr_[pos_]))) {
      while (pos_ < expr_.size() && std::isdigit(static_cast<unsigned char>(expr_[pos_]))) ++pos_;
      const std::optional<std::int64_t> v = as_integer(expr_.substr(start, pos_ - start));
      if (!v) fail(expr_, "integer out of range");
      return arith(*v);
    }
    while (pos_ < expr_.size() && (std::isalnum(static_cast<unsigned char>(expr_[pos_])) || expr_[pos_] == '_')) ++pos_;
    const std::string_view name = expr_.substr(start, pos_ - start);
    if (name.empty()) {
      fail(expr_, pos_ < expr_.size() ? "unexpected '" + std::string(1, expr_[pos_]) + "'" : "missing value");
    }
    auto it = vars_.find(name);
    if (it == vars_.end()) fail(expr_, "no template or dimension is named '" + std::string(name) + "'");
    return Value{as_integer(it->second), it->second};
  }

  std::string_view expr_;
  const TemplateVars& vars_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string expand_template(std::string_view text, const TemplateVars& vars) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = text.find("{{", pos);
    out += text.substr(pos, open == std::string_view::npos ? open : open - pos);
    if (open == std::string_view::npos) return out;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      throw MetadataError("template '" + std::string(text) + "' does not expand: '{{' without '}}'");
    }
    const Value v = Expression(text.substr(open + 2, close - open - 2), vars).evaluate();
    out += v.number ? std::to_string(*v.number) : v.text;
    pos = close + 2;
  }
}

}  // namespace cuzarr::store
