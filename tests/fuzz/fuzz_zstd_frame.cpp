// libFuzzer target for cuzarr's own zstd decoder (cpp/src/cuda/zstd/): the frame and block
// parser and every entropy stage, with libzstd as the oracle. The first byte picks the mode:
//   even: the rest is a stream to decode; whenever both decoders accept it, they must give the
//         same bytes, and the GPU's blockwise decomposition must agree with ours exactly. Either may reject what the other accepts: libzstd's fast Huffman loop does
//         not check that a stream is consumed exactly (RFC 8878 4.2.2 says it must be, and ours
//         does), and libzstd limits window sizes, which ours need not.
//   odd:  the rest is plain data, compressed by libzstd at a level and with flags taken from the
//         first byte; ours must decode it exactly, and again with one bit flipped must not crash
//         (and, the checksum on, must not return wrong bytes).
// Seeds (tests/fuzz/make_seeds.py) are zstd frames of several levels and data kinds.
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cuda/zstd/blockwise_decoder.hpp"
#include "cuda/zstd/host_decoder.hpp"

namespace {

constexpr std::size_t kCapacity = 1 << 20;

// Kept between runs: zeroing two fresh MiB a run (under ASan) took most of the time.
std::vector<std::uint8_t>& buffer(int which) {
  static std::vector<std::uint8_t> buffers[2] = {std::vector<std::uint8_t>(kCapacity),
                                                 std::vector<std::uint8_t>(kCapacity)};
  return buffers[which];
}

[[noreturn]] void fail(const char* what, cuzarr::zstd::Status st) {
  std::fprintf(stderr, "fuzz_zstd_frame: %s (ours: %s)\n", what, cuzarr::zstd::status_name(st));
  std::abort();
}

// The GPU's decomposition (blockwise_decoder.hpp) must accept exactly what the sequential decoder
// accepts, with the same bytes (buffer 0 holds those). Where the sequential one fails, the output
// size is unknown: the blockwise one, asked for the whole capacity, must fail too (and not crash).
void check_blockwise(const std::uint8_t* data, std::size_t size, cuzarr::zstd::Status sequential, std::size_t produced) {
  static std::vector<std::uint8_t> out(kCapacity);
  const bool ok = sequential == cuzarr::zstd::Status::Ok;
  const auto st = cuzarr::zstd::decode_blockwise(data, size, out.data(), ok ? produced : out.size());
  if (ok && st != cuzarr::zstd::Status::Ok) fail("the blockwise decoder rejects what the sequential one decodes", st);
  if (!ok && st == cuzarr::zstd::Status::Ok) fail("the blockwise decoder accepts what the sequential one rejects", sequential);
  if (ok && std::memcmp(out.data(), buffer(0).data(), produced) != 0) fail("blockwise bytes differ", st);
}

void check_decode(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t>& ours = buffer(0);
  std::vector<std::uint8_t>& theirs = buffer(1);
  std::size_t produced = 0;
  const auto st = cuzarr::zstd::decode_into(data, size, ours.data(), ours.size(), &produced);
  const std::size_t n = ZSTD_decompress(theirs.data(), theirs.size(), data, size);
  check_blockwise(data, size, st, produced);
  if (ZSTD_isError(n) || st != cuzarr::zstd::Status::Ok) return;
  if (produced != n || std::memcmp(ours.data(), theirs.data(), n) != 0) fail("decoded bytes differ from libzstd's", st);
}

void check_round_trip(std::uint8_t mode, const std::uint8_t* data, std::size_t size) {
  const int level = static_cast<int>((mode >> 1) % 30) - 7;  // -7..22
  const bool checksum = (mode >> 6) & 1, content_size = (mode >> 7) & 1;
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
  std::vector<std::uint8_t> frame(ZSTD_compressBound(size));
  const std::size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), data, size);
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n)) return;
  frame.resize(n);
  std::vector<std::uint8_t> out(size);
  auto st = cuzarr::zstd::decode(frame.data(), frame.size(), out.data(), out.size());
  if (st != cuzarr::zstd::Status::Ok) fail("a libzstd frame does not decode", st);
  if (size != 0 && std::memcmp(out.data(), data, size) != 0) fail("a libzstd frame decodes to other bytes", st);
  // One bit flipped, at a place the data picks.
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  frame[h % frame.size()] ^= static_cast<std::uint8_t>(1u << ((h >> 32) % 8));
  st = cuzarr::zstd::decode(frame.data(), frame.size(), out.data(), out.size());
  if (checksum && st == cuzarr::zstd::Status::Ok && size != 0 && std::memcmp(out.data(), data, size) != 0) {
    // A flip in the frame header's unused bit or in a Huffman stream's padding changes nothing;
    // any other change must be caught by the checksum (but for a 2^-32 chance).
    fail("a corrupted frame with a checksum decodes to other bytes", st);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    check_decode(data + 1, size - 1);
  } else {
    check_round_trip(data[0], data + 1, size - 1);
  }
  return 0;
}
