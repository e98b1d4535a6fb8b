// The sequences section of a compressed block (RFC 8878 section 3.1.1.3.2): its header, the
// table each of the three codes uses, and the decoding of the interleaved FSE bitstream into
// (literal length, match length, raw Offset_Value) triples. Repeat offsets are resolved later, in
// a separate cheap pass over a frame's blocks (offsets.hpp), so that this step has no state
// carried between blocks other than its tables.
#pragma once

#include "bit_reader.hpp"
#include "common.hpp"
#include "fse.hpp"

namespace cuzarr::zstd {

enum TableMode : std::uint8_t { kModePredefined = 0, kModeRle = 1, kModeFse = 2, kModeRepeat = 3 };

struct SequencesHeader {
  std::uint32_t count = 0;        // Number_of_Sequences
  std::uint8_t modes[3] = {};     // literal lengths, offsets, match lengths (SequenceKind order)
  std::uint32_t header_size = 0;  // count and modes bytes
};

// Where the table of one code comes from, Repeat_Mode resolved: predefined, an RLE symbol, or a
// description at `offset` (from the start of the frame's input chunk).
struct TableRef {
  std::uint8_t mode = kModeRepeat;  // kModeRepeat here: none yet
  std::uint8_t symbol = 0;
  std::uint64_t offset = 0;
};

CUZARR_HD inline bool same_table(const TableRef& a, const TableRef& b) {
  return a.mode == b.mode && (a.mode == kModePredefined || (a.mode == kModeRle && a.symbol == b.symbol) ||
                              (a.mode == kModeFse && a.offset == b.offset));
}

struct Sequence {
  std::uint32_t literal_length = 0;
  std::uint32_t match_length = 0;
  std::uint32_t offset = 0;  // Offset_Value as decoded; the offset in bytes once resolved
};

CUZARR_HD inline Status parse_sequences_header(const std::uint8_t* p, std::size_t n, SequencesHeader* h) {
  if (n < 1) return Status::Truncated;
  const std::uint32_t b0 = p[0];
  if (b0 == 0) {
    h->count = 0;
    h->header_size = 1;
    h->modes[0] = h->modes[1] = h->modes[2] = kModeRepeat;
    return Status::Ok;
  }
  if (b0 < 128) {
    h->count = b0;
    h->header_size = 1;
  } else if (b0 < 255) {
    if (n < 2) return Status::Truncated;
    h->count = ((b0 - 128) << 8) + p[1];
    h->header_size = 2;
  } else {
    if (n < 3) return Status::Truncated;
    h->count = p[1] + (static_cast<std::uint32_t>(p[2]) << 8) + 0x7F00;
    h->header_size = 3;
  }
  if (n < h->header_size + 1) return Status::Truncated;
  const std::uint8_t modes = p[h->header_size];
  if (modes & 3) return Status::Reserved;
  h->modes[kLiteralLengths] = modes >> 6;
  h->modes[kOffsets] = (modes >> 4) & 3;
  h->modes[kMatchLengths] = (modes >> 2) & 3;
  h->header_size += 1;
  if (h->count > kMaxSequences) return Status::Corrupt;
  return Status::Ok;
}

// Builds the table `ref` names for code `kind`; `input` is the frame's chunk.
CUZARR_HD inline Status build_sequence_table(const std::uint8_t* input, std::size_t input_size, const TableRef& ref,
                                             int kind, FseTable* t) {
  if (ref.mode == kModePredefined) return build_predefined_table(kind, t);
  if (ref.mode == kModeRle) {
    if (ref.symbol > max_code(kind)) return Status::Corrupt;
    build_rle_table(ref.symbol, t);
    return Status::Ok;
  }
  if (ref.mode != kModeFse || ref.offset >= input_size) return Status::Corrupt;
  std::int16_t counts[kMaxFseSymbols];
  int log = 0;
  std::size_t used = 0;
  const Status st = read_fse_description(input + ref.offset, input_size - ref.offset, max_code(kind),
                                         max_table_log(kind), counts, &log, &used);
  if (st != Status::Ok) return st;
  return build_fse_table(counts, max_code(kind) + 1, log, t);
}

CUZARR_HD inline void literal_length_code(std::uint32_t code, std::uint32_t* base, int* bits) {
  if (code < 16) {
    *base = code;
    *bits = 0;
  } else if (code < 20) {
    *base = 16 + 2 * (code - 16);
    *bits = 1;
  } else if (code < 22) {
    *base = code == 20 ? 24 : 28;
    *bits = 2;
  } else if (code < 24) {
    *base = code == 22 ? 32 : 40;
    *bits = 3;
  } else if (code == 24) {
    *base = 48;
    *bits = 4;
  } else {  // 25..35: powers of two
    *bits = static_cast<int>(code) - 19;
    *base = 1u << *bits;
  }
}

CUZARR_HD inline void match_length_code(std::uint32_t code, std::uint32_t* base, int* bits) {
  if (code < 32) {
    *base = code + 3;
    *bits = 0;
  } else if (code < 36) {
    *base = 35 + 2 * (code - 32);
    *bits = 1;
  } else if (code < 38) {
    *base = code == 36 ? 43 : 47;
    *bits = 2;
  } else if (code < 40) {
    *base = code == 38 ? 51 : 59;
    *bits = 3;
  } else if (code < 42) {
    *base = code == 40 ? 67 : 83;
    *bits = 4;
  } else if (code == 42) {
    *base = 99;
    *bits = 5;
  } else {  // 43..52: powers of two plus 3
    *bits = static_cast<int>(code) - 36;
    *base = (1u << *bits) + 3;
  }
}

// Decodes `count` sequences from the bitstream p[0, n) with the three tables (SequenceKind
// order), handing each to sink(i, sequence), which returns a Status (anything but Ok stops).
template <class Sink>
CUZARR_HD inline Status decode_sequences_to(const std::uint8_t* p, std::size_t n, std::uint32_t count,
                                            const FseTable* ll, const FseTable* of, const FseTable* ml, Sink& sink) {
  if (count == 0) return Status::Ok;
  BackwardBits b;
  Status st = backward_init(b, p, n);
  if (st != Status::Ok) return st;
  BackwardWindow w;
  std::uint32_t sll = static_cast<std::uint32_t>(backward_read_cached(b, w, ll->log));
  std::uint32_t sof = static_cast<std::uint32_t>(backward_read_cached(b, w, of->log));
  std::uint32_t sml = static_cast<std::uint32_t>(backward_read_cached(b, w, ml->log));
  for (std::uint32_t i = 0; i < count; ++i) {
    const FseEntry ell = ll->entries[sll], eof = of->entries[sof], eml = ml->entries[sml];
    if (eof.symbol > 31) return Status::Corrupt;
    const std::uint32_t offset_value =
        (1u << eof.symbol) + static_cast<std::uint32_t>(backward_read_cached(b, w, eof.symbol));
    std::uint32_t base = 0;
    int bits = 0;
    match_length_code(eml.symbol, &base, &bits);
    const std::uint32_t match_length = base + static_cast<std::uint32_t>(backward_read_cached(b, w, bits));
    literal_length_code(ell.symbol, &base, &bits);
    const std::uint32_t literal_length = base + static_cast<std::uint32_t>(backward_read_cached(b, w, bits));
    const Status kept = sink(i, Sequence{literal_length, match_length, offset_value});
    if (kept != Status::Ok) return kept;
    if (i + 1 < count) {
      sll = ell.baseline + static_cast<std::uint32_t>(backward_read_cached(b, w, ell.bits));
      sml = eml.baseline + static_cast<std::uint32_t>(backward_read_cached(b, w, eml.bits));
      sof = eof.baseline + static_cast<std::uint32_t>(backward_read_cached(b, w, eof.bits));
    }
    if (backward_overflowed(b)) return Status::Corrupt;
  }
  return backward_finished(b) ? Status::Ok : Status::Corrupt;
}

struct StoreSink {
  Sequence* out;
  CUZARR_HD Status operator()(std::uint32_t i, const Sequence& s) const {
    out[i] = s;
    return Status::Ok;
  }
};

// decode_sequences_to into out[0, count).
CUZARR_HD inline Status decode_sequences(const std::uint8_t* p, std::size_t n, std::uint32_t count,
                                         const FseTable* ll, const FseTable* of, const FseTable* ml, Sequence* out) {
  StoreSink sink{out};
  return decode_sequences_to(p, n, count, ll, of, ml, sink);
}

}  // namespace cuzarr::zstd
