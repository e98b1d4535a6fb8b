// libFuzzer target for what an HTTP server says: status lines, headers and bodies played
// through store::Response as libcurl's callbacks hand them over, for every kind of request
// (range, front, back, whole, head), then the verdict, the result and the Retry-After value.
// Input: one byte picking the request and the body's piece size, then the header lines
// ("\n"-separated, up to an empty line; interim and redirect answers included), then the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cuzarr/error.hpp"
#include "store/http_response.hpp"
#include "store/retry_policy.hpp"

namespace {

using cuzarr::store::Outcome;
using cuzarr::store::Request;
using cuzarr::store::Response;
using cuzarr::store::Want;

void play(std::uint8_t mode, std::string_view headers, std::string_view body) {
  constexpr std::uint64_t kLength = 64;
  std::vector<std::byte> dst(kLength);
  cuzarr::Buffer out;
  std::vector<std::byte> grow;
  Request request;
  switch (mode % 5) {
    case 0: request = Request{Want::Range, 100, kLength, dst.data()}; break;
    case 1: request = Request{Want::Front, 0, kLength}; request.out = &out; request.grow = &grow; break;
    case 2: request = Request{Want::Back, 0, kLength}; request.out = &out; request.grow = &grow; break;
    case 3: request = Request{Want::Whole}; request.out = &out; request.grow = &grow; break;
    default: request = Request{Want::Head}; request.size_optional = (mode & 8) != 0; break;
  }
  Response response(request);
  std::size_t start = 0;
  while (start <= headers.size()) {
    std::size_t end = headers.find('\n', start);
    if (end == std::string_view::npos) end = headers.size();
    // libcurl hands each line over with its CRLF.
    response.header_line(std::string(headers.substr(start, end - start)) + "\r\n");
    start = end + 1;
  }
  response.header_line("\r\n");
  const std::size_t piece = 1 + (mode >> 4);
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::size_t n = std::min(piece, body.size() - at);
    if (response.body(reinterpret_cast<const std::byte*>(body.data() + at), n) != n) break;
  }
  const Outcome outcome = response.finish();
  if (outcome.kind == Outcome::Done && request.want != Want::Range && request.want != Want::Head) {
    const cuzarr::Buffer result = response.result();
    if (request.want != Want::Whole && result.size() > kLength) __builtin_trap();  // more than asked for
  }
  if (response.error_body().size() > Response::kErrorBodyLimit) __builtin_trap();
  (void)cuzarr::store::parse_retry_after(response.retry_after(), 784111777);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t split = text.find("\n\n");
  const std::string_view headers = text.substr(0, split);
  const std::string_view body = split == std::string_view::npos ? std::string_view() : text.substr(split + 2);
  try {
    play(data[0], headers, body);
  } catch (const cuzarr::Error&) {
    // A clear error is a fine answer to a hostile server.
  }
  return 0;
}
