// For the fuzz targets of credential parsers: whether an error message repeats a secret of the
// input. A secret written once in the input may still appear in a message by chance, as part of
// the message's own words ("credentials document"); so the input is parsed again with the
// secret's characters changed, and only a message that changes with it has repeated it.
#pragma once

#include <string>
#include <string_view>

namespace cuzarr::fuzz {

// Whether `secret` is worth checking: written exactly once in `input`, long enough not to match
// by chance, and made of the characters secrets are made of (so changing them keeps the input's
// structure).
inline bool checkable_secret(std::string_view input, std::string_view secret) {
  if (secret.size() < 6) return false;
  for (char c : secret) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
                    c == '=' || c == '_' || c == '-';
    if (!ok) return false;
  }
  const std::size_t first = input.find(secret);
  return first != std::string_view::npos && input.find(secret, first + 1) == std::string_view::npos;
}

// `error_of(text)` is the message parsing `text` ends in ("" when it succeeds).
template <typename ErrorOf>
bool repeats_secret(std::string_view input, std::string_view secret, const std::string& message, ErrorOf error_of) {
  if (message.find(secret) == std::string::npos) return false;
  std::string changed(input);
  const std::size_t at = changed.find(secret);
  for (std::size_t i = at; i < at + secret.size(); ++i) changed[i] = changed[i] == 'Q' ? 'Z' : 'Q';
  std::string other(secret);
  for (char& c : other) c = c == 'Q' ? 'Z' : 'Q';
  const std::string again = error_of(changed);
  // The message followed the secret: it holds the changed one where it held the original.
  return again.find(other) != std::string::npos || again.find(secret) == std::string::npos;
}

}  // namespace cuzarr::fuzz
