// The HTTP side of HttpStore without the network: what a request asks for, and the checks on
// what came back (status, Content-Length, Content-Range, body length), fed from libcurl's header
// and body callbacks. Kept apart so that the tests can play any server answer through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/buffer.hpp"

namespace cuzarr::store {

enum class Want {
  Whole,  // the whole value, into `grow`
  Range,  // exactly [offset, offset + length), into `dst`
  Front,  // the first min(length, size) bytes, into `dst`
  Back,   // the last min(length, size) bytes, into `dst`
  Head,   // nothing but the size
};

struct Request {
  Want want = Want::Whole;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::byte* dst = nullptr;                // Range (Front): the caller's memory, room for `length` bytes
  Buffer* out = nullptr;                   // Front, Back, Whole: sized once the answer tells the size
  std::vector<std::byte>* grow = nullptr;  // ... or, when it does not, grown as bytes come
  bool size_optional = false;            // Head: an answer without Content-Length is fine
  // Whole: a metadata document's cap (Store::get_metadata). A larger Content-Length fails before
  // anything is allocated, a body without one once it passes the cap; both are final, not retried.
  std::optional<std::uint64_t> metadata_cap{};

  // The value of CURLOPT_RANGE ("0-99", "-100"), empty for none.
  std::string range_header() const;
  // "GET <url> (bytes 0-99)" for messages.
  std::string describe(const std::string& url) const;
};

// What a finished attempt came to.
struct Outcome {
  enum Kind { Done, Missing, Retry, Fail } kind = Done;
  std::string why;  // for Retry and Fail
};

class Response {
 public:
  Response() = default;
  explicit Response(const Request& request) : request_(request) {}

  // One header line as libcurl hands it over (with its CRLF). A status line starts a new
  // response: redirects and interim answers come before the final one.
  void header_line(std::string_view line);
  // Body bytes: returns n to go on, 0 to stop the transfer (a protocol problem, or a 200 answer
  // to a range request that has passed the bytes asked for).
  std::size_t body(const std::byte* data, std::size_t n);
  // The verdict once the transfer ended without a transport error (or was stopped early).
  Outcome finish();

  bool stopped_early() const { return stopped_; }
  const std::string& problem() const { return problem_; }
  // Whether problem() is one a retry cannot cure (a value over its cap, an encoding not asked for).
  bool problem_is_final() const { return final_; }
  std::uint64_t copied() const { return copied_; }
  std::uint64_t total_size() const { return total_.value_or(0); }
  int status() const { return status_; }
  // The start (at most kErrorBodyLimit bytes) of the body of an answer that is not 200 or 206: an
  // S3 error document, say. A longer body stops the transfer there (stopped_early()): an error
  // page that never ends is not read on.
  const std::string& error_body() const { return error_body_; }
  static constexpr std::size_t kErrorBodyLimit = 64 * 1024;
  // A Whole read takes its buffer up front from Content-Length only up to this size; past it, the
  // buffer grows as bytes come, so a lying Content-Length (2^62) costs nothing.
  static constexpr std::uint64_t kUpFrontLimit = std::uint64_t{64} << 20;
  // The final answer's ETag (as sent, quotes included; at most 256 bytes) and Last-Modified (seconds
  // since the epoch; nullopt when absent or not an HTTP date).
  const std::string& etag() const { return etag_; }
  std::optional<std::int64_t> last_modified() const { return last_modified_; }
  // The final answer's Retry-After value (at most 64 bytes), "" without one: how long a
  // throttling server (429, 503) asks the client to wait (retry_policy.hpp reads it).
  const std::string& retry_after() const { return retry_after_; }
  // The bytes of a Front, Back or Whole request, once finish() said Done.
  Buffer result();

 private:
  struct ContentRange {
    bool unsatisfied = false;  // "bytes */N"
    std::uint64_t start = 0, end = 0;  // inclusive
    std::optional<std::uint64_t> total;
  };
  void begin();
  void fail_final(std::string why);
  std::string encoding_problem() const;
  std::string status_text() const;
  std::size_t take(const std::byte* data, std::size_t n);

  Request request_;
  int status_ = 0;
  std::string reason_;
  std::optional<std::uint64_t> content_length_;
  std::optional<ContentRange> range_;
  bool started_ = false;
  bool stopped_ = false;
  std::uint64_t pos_ = 0;  // offset in the value of the next body byte
  std::uint64_t window_start_ = 0, window_end_ = 0;
  std::uint64_t copied_ = 0;
  std::byte* dst_ = nullptr;    // where the window's bytes go, or null to append to grow
  std::uint64_t capacity_ = 0;  // bytes dst_ can take
  std::optional<std::uint64_t> total_;
  std::string problem_;
  bool final_ = false;
  std::string content_encoding_;  // "" or "identity": the bytes as stored
  std::string error_body_;
  std::string retry_after_;
  std::string etag_;
  std::optional<std::int64_t> last_modified_;
};

}  // namespace cuzarr::store
