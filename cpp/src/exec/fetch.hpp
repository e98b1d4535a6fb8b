// The fetch step's pieces, shared by every kind of chunk: a bound on the bytes in flight, the
// merging of nearby byte ranges of one value into few requests, and the one check of a stored
// chunk's size against what its codecs allow.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "codec/codec_chain.hpp"

namespace cuzarr::exec {

// Bytes a read may hold at once (Config::memory_budget). take() waits until `bytes` fit; a request
// larger than the whole budget is let through once nothing else is held, so it still proceeds.
class ByteBudget {
 public:
  explicit ByteBudget(std::size_t total) : total_(total) {}
  void take(std::size_t bytes);
  void give(std::size_t bytes);
  std::size_t total() const { return total_; }

  // Holds bytes for a scope.
  class Hold {
   public:
    Hold(ByteBudget& budget, std::size_t bytes) : budget_(budget), bytes_(bytes) { budget_.take(bytes_); }
    ~Hold() { budget_.give(bytes_); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    ByteBudget& budget_;
    std::size_t bytes_;
  };

 private:
  std::size_t total_;
  std::size_t used_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
};

// A byte range of one stored value.
struct ByteRange {
  std::uint64_t offset = 0, size = 0;
};

// One request covering ranges [first, last) of the (offset-sorted) input.
struct RangeGroup {
  std::size_t first = 0, last = 0;
  std::uint64_t offset = 0, size = 0;
};

// Merges ranges (sorted by offset) whose gaps are at most `gap` bytes into groups of at most
// `max_bytes` each (a single range larger than that is a group of its own).
std::vector<RangeGroup> coalesce(const std::vector<ByteRange>& sorted, std::uint64_t gap, std::uint64_t max_bytes);

// The size check of every stored chunk: a chunk larger than any encoding of it can be, or of
// another size than a fixed-size chain gives, is a CodecError naming array, chunk and codecs.
// Checked before the bytes are read, so a sparse 64 GiB file where a 1 MiB chunk belongs costs
// nothing.
void check_stored_size(const codec::CodecChain& chain, std::uint64_t size, std::string_view array,
                       std::string_view key);

}  // namespace cuzarr::exec
