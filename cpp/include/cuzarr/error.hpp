/// @file
/// Error hierarchy shared by every module. Messages carry their context (array path, chunk key,
/// codec) so that a user reading only the message knows which file is at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace cuzarr {

/// The base of every exception cuzarr throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Metadata that is missing, malformed or inconsistent (JSON syntax, JSON types, shapes, dtypes).
class MetadataError : public Error {
 public:
  using Error::Error;
};

/// A chunk that cannot be decoded: wrong size, corrupt stream, checksum mismatch.
class CodecError : public Error {
 public:
  using Error::Error;
};

/// The store refused: I/O failure, invalid key, truncated file.
class StoreError : public Error {
 public:
  using Error::Error;
};

/// Raised only where absence is an error (a node path that does not exist); a missing chunk is
/// never an error, it reads as the fill value.
class KeyNotFound : public StoreError {
 public:
  using StoreError::StoreError;
};

/// A selection that does not fit the array (index out of range, wrong rank, bad step).
class SelectionError : public Error {
 public:
  using Error::Error;
};

/// A valid Zarr feature (codec, data type, grid, transformer) that cuzarr does not implement.
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

/// A CUDA runtime or driver call failed; the message names the call.
class CudaError : public Error {
 public:
  using Error::Error;
};

}  // namespace cuzarr
