#include "store/http_response.hpp"
#include "store/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "store/metadata_read.hpp"

namespace cuzarr::store {
namespace {

constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A server's header value for a message: printable, bounded.
std::string shown_value(std::string_view v) {
  std::string out;
  for (unsigned char c : v.substr(0, 64)) out += (c < 0x20 || c >= 0x7F) ? '?' : static_cast<char>(c);
  return v.size() > 64 ? out + "..." : out;
}

std::string bytes_text(std::uint64_t start, std::uint64_t end_exclusive) {
  return std::to_string(start) + "-" + std::to_string(end_exclusive - 1);
}

}  // namespace

std::string Request::range_header() const {
  switch (want) {
    case Want::Range: return bytes_text(offset, offset + length);
    case Want::Front: return bytes_text(0, length);
    case Want::Back: return "-" + std::to_string(length);
    default: return "";
  }
}

std::string Request::describe(const std::string& url) const {
  std::string s = (want == Want::Head ? "HEAD " : "GET ") + url;
  switch (want) {
    case Want::Range: return s + " (bytes " + range_header() + ")";
    case Want::Front: return s + " (first " + std::to_string(length) + " bytes)";
    case Want::Back: return s + " (last " + std::to_string(length) + " bytes)";
    default: return s;
  }
}

void Response::header_line(std::string_view line) {
  line = trim(line);
  if (line.starts_with("HTTP/")) {
    *this = Response(request_);
    const std::size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      std::string_view rest = line.substr(sp + 1);
      const std::size_t sp2 = rest.find(' ');
      const auto code = parse_u64(rest.substr(0, sp2));
      status_ = code && *code < 1000 ? static_cast<int>(*code) : 0;
      if (sp2 != std::string_view::npos) reason_ = std::string(trim(rest.substr(sp2 + 1)));
    }
    return;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view name = trim(line.substr(0, colon));
  const std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "Retry-After")) {
    retry_after_ = std::string(value.substr(0, 64));
    return;
  }
  if (iequals(name, "ETag")) {
    etag_ = std::string(value.substr(0, 256));
    return;
  }
  if (iequals(name, "Last-Modified")) {
    last_modified_ = parse_http_date(value);
    return;
  }
  if (iequals(name, "Content-Length")) {
    content_length_ = parse_u64(value);
    if (!content_length_) problem_ = "invalid Content-Length '" + std::string(value) + "'";
  } else if (iequals(name, "Content-Range")) {
    // "bytes 0-99/1234", "bytes 0-99/*" or, with 416, "bytes */1234".
    ContentRange cr;
    bool ok = value.starts_with("bytes ");
    std::string_view spec = ok ? trim(value.substr(6)) : value;
    const std::size_t slash = spec.find('/');
    ok = ok && slash != std::string_view::npos;
    if (ok) {
      const std::string_view span = spec.substr(0, slash), total = spec.substr(slash + 1);
      if (total != "*") {
        cr.total = parse_u64(total);
        ok = cr.total.has_value();
      }
      if (span == "*") {
        cr.unsatisfied = true;
      } else {
        const std::size_t dash = span.find('-');
        const auto a = dash == std::string_view::npos ? std::nullopt : parse_u64(span.substr(0, dash));
        const auto b = dash == std::string_view::npos ? std::nullopt : parse_u64(span.substr(dash + 1));
        ok = ok && a && b && *a <= *b && (!cr.total || *b < *cr.total);
        if (ok) {
          cr.start = *a;
          cr.end = *b;
        }
      }
    }
    if (ok) {
      range_ = cr;
    } else {
      problem_ = "invalid Content-Range '" + std::string(value) + "'";
    }
  } else if (iequals(name, "Content-Encoding")) {
    // cuzarr sends no Accept-Encoding: a coding here was not asked for. Its bytes are not the
    // stored value, and a Range of them is no range of the value, so the answer is refused (in
    // begin() and finish()) rather than decoded or handed over.
    if (!value.empty() && !iequals(value, "identity")) content_encoding_ = shown_value(value);
  }
}

void Response::fail_final(std::string why) {
  problem_ = std::move(why);
  final_ = true;
}

std::string Response::encoding_problem() const {
  return "the server sent the value with Content-Encoding '" + content_encoding_ +
         "', which cuzarr did not ask for (it reads values as stored; serve these files without on-the-fly "
         "compression)";
}

void Response::begin() {
  started_ = true;
  if (!content_encoding_.empty()) {
    fail_final(encoding_problem());
    return;
  }
  if (status_ == 206) {
    if (!range_ || range_->unsatisfied) {
      problem_ = "a 206 answer without a Content-Range";
      return;
    }
    pos_ = range_->start;
    total_ = range_->total;
    if (content_length_ && *content_length_ != range_->end - range_->start + 1) {
      problem_ = "Content-Length " + std::to_string(*content_length_) + " does not match Content-Range bytes " +
                 bytes_text(range_->start, range_->end + 1);
      return;
    }
  } else {
    // A server that ignores Range sends the whole value; the bytes asked for are cut from it.
    pos_ = 0;
    total_ = content_length_;
  }
  switch (request_.want) {
    case Want::Range:
      window_start_ = request_.offset;
      window_end_ = request_.offset + request_.length;
      break;
    case Want::Front:
      window_start_ = 0;
      window_end_ = request_.length;
      break;
    case Want::Back:
      if (total_) {
        window_start_ = *total_ - std::min(request_.length, *total_);
        window_end_ = *total_;
      } else if (status_ == 206) {
        window_start_ = range_->start;
        window_end_ = range_->end + 1;
      } else {
        problem_ = "the server ignored the suffix range and sent no Content-Length";
      }
      break;
    case Want::Whole:
      window_start_ = 0;
      window_end_ = kUnbounded;
      break;
    case Want::Head:
      break;
  }
  if (!problem_.empty()) return;
  if (request_.want == Want::Whole && request_.metadata_cap && total_ && *total_ > *request_.metadata_cap) {
    fail_final(metadata_too_large(*request_.metadata_cap, *total_));  // before any allocation
    return;
  }
  if (status_ == 206 && range_->start > window_start_) {
    problem_ = "the server sent bytes " + bytes_text(range_->start, range_->end + 1) + " for bytes " +
               bytes_text(window_start_, window_end_) + " asked";
    return;
  }
  // Where the bytes go: the caller's memory, a buffer of the size now known, or a growing one.
  if (request_.dst != nullptr) {
    dst_ = request_.dst;
    capacity_ = request_.length;
  } else if (request_.out != nullptr) {
    std::optional<std::uint64_t> n;
    if (total_) {
      n = std::min(window_end_, *total_) - std::min(window_start_, *total_);
    } else if (request_.want == Want::Back) {
      n = window_end_ - window_start_;
    }
    // A large declared size is not taken on trust: the bytes must come first.
    if (n && request_.want == Want::Whole && *n > kUpFrontLimit && request_.grow != nullptr) n.reset();
    if (n) {
      *request_.out = Buffer(static_cast<std::size_t>(*n));
      dst_ = request_.out->data();
      capacity_ = *n;
    }
  }
}

std::size_t Response::take(const std::byte* data, std::size_t n) {
  const std::uint64_t lo = std::max(pos_, window_start_);
  std::uint64_t hi = std::min(pos_ + n, window_end_);
  if (dst_ != nullptr) hi = std::min(hi, window_start_ + capacity_);
  if (lo < hi) {
    const std::byte* from = data + (lo - pos_);
    if (dst_ != nullptr) {
      std::memcpy(dst_ + (lo - window_start_), from, static_cast<std::size_t>(hi - lo));
    } else if (request_.grow != nullptr) {
      request_.grow->insert(request_.grow->end(), from, from + (hi - lo));
    }
    copied_ += hi - lo;
  }
  return n;
}

Buffer Response::result() {
  if (dst_ != nullptr) return std::move(*request_.out);
  return request_.grow != nullptr ? Buffer::copy_of(*request_.grow) : Buffer();
}

std::size_t Response::body(const std::byte* data, std::size_t n) {
  if (status_ != 200 && status_ != 206) {  // an error page, kept for a store that reads them
    const std::size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, error_body_.size());
    error_body_.append(reinterpret_cast<const char*>(data), std::min(room, n));
    if (n > room) {
      stopped_ = true;  // the rest is not needed: judged by its status and its start
      return 0;
    }
    return n;
  }
  if (request_.want == Want::Head) return n;
  if (!started_) begin();
  if (!problem_.empty()) return 0;
  if (request_.want == Want::Whole && request_.metadata_cap && pos_ + n > *request_.metadata_cap) {
    fail_final(metadata_too_large(*request_.metadata_cap, total_));
    return 0;
  }
  take(data, n);
  pos_ += n;
  if (status_ == 200 && window_end_ != kUnbounded && pos_ >= window_end_) {
    // A server that ignored the range: the rest is not needed once the bytes asked for came...
    if (content_length_ ? pos_ < *content_length_ : request_.want == Want::Range) {
      stopped_ = true;
      return 0;
    }
    // ... except for the size of the whole value (Front), which an answer without a length only
    // tells at its end: read on that far, but not without end.
    if (!content_length_ && pos_ > window_end_ + kUpFrontLimit) {
      fail_final("the server ignored the range, sent no Content-Length and went on past " + std::to_string(pos_) +
                 " bytes; an answer of unknown length is read no further");
      return 0;
    }
  }
  return n;
}

std::string Response::status_text() const {
  return "HTTP " + std::to_string(status_) + (reason_.empty() ? "" : " " + reason_);
}

Outcome Response::finish() {
  if (status_ == 404 || status_ == 410) return {Outcome::Missing, {}};
  if (status_ == 416) {
    const bool edge = request_.want == Want::Front || request_.want == Want::Back;
    if (edge && range_ && range_->unsatisfied && range_->total == std::uint64_t{0}) {
      total_ = 0;  // any range of an empty value is unsatisfiable
      copied_ = 0;
      return {Outcome::Done, {}};
    }
    std::string why = status_text();
    if (range_ && range_->total) why += ": the value is " + std::to_string(*range_->total) + " bytes long";
    return {Outcome::Fail, why};
  }
  if (status_ == 408 || status_ == 429 || (status_ >= 500 && status_ < 600)) return {Outcome::Retry, status_text()};
  if (status_ != 200 && !(status_ == 206 && request_.want != Want::Head)) {
    return {Outcome::Fail, status_ == 0 ? std::string("no HTTP status in the answer") : status_text()};
  }
  if (request_.want == Want::Head) {
    if (!content_encoding_.empty()) return {Outcome::Fail, encoding_problem()};
    total_ = content_length_;
    if (!total_ && !request_.size_optional) return {Outcome::Fail, "the answer to HEAD has no Content-Length"};
    return {Outcome::Done, {}};
  }
  if (!started_) begin();  // an empty body
  if (!problem_.empty()) return {final_ ? Outcome::Fail : Outcome::Retry, problem_};
  if (!total_ && status_ == 200 && !stopped_) total_ = pos_;  // the whole value came
  std::uint64_t expected = 0;
  switch (request_.want) {
    case Want::Range:
      if (total_ && request_.offset + request_.length > *total_) {
        return {Outcome::Fail, "the value is " + std::to_string(*total_) + " bytes long; cannot read bytes [" +
                                   std::to_string(request_.offset) + ", " +
                                   std::to_string(request_.offset + request_.length) + ")"};
      }
      expected = request_.length;
      break;
    case Want::Front:
    case Want::Back:
      if (!total_) return {Outcome::Fail, "the server did not say how long the value is (Content-Range bytes a-b/*)"};
      expected = std::min(request_.length, *total_);
      break;
    case Want::Whole:
      expected = total_.value_or(copied_);
      break;
    case Want::Head:
      break;
  }
  if (copied_ != expected) {
    return {Outcome::Retry, "the answer held " + std::to_string(copied_) + " of the " + std::to_string(expected) +
                                " bytes asked (a truncated body)"};
  }
  return {Outcome::Done, {}};
}

}  // namespace cuzarr::store
