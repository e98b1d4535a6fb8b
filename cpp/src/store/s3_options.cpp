// S3Options from text (the CLI's --storage-option, Python's storage_options) and the s3:// test;
// compiled with or without libcurl so that a build without the S3 store still says why.
#include <cctype>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr {

bool is_s3_url(std::string_view location) {
  if (location.size() < 5) return false;
  for (std::size_t i = 0; i < 5; ++i) {
    if (std::tolower(static_cast<unsigned char>(location[i])) != "s3://"[i]) return false;
  }
  return true;
}

void set_s3_option(S3Options& options, std::string_view name, std::string_view value) {
  const bool secret = name == "secret" || name == "token";
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    throw StoreError("storage option '" + std::string(name) + "' holds a line break or NUL");
  }
  if (value.empty() && !secret) throw StoreError("storage option '" + std::string(name) + "' is empty");
  std::string text(value);
  if (name == "key") {
    options.key = std::move(text);
  } else if (name == "secret") {
    options.secret = std::move(text);
  } else if (name == "token") {
    options.token = std::move(text);
  } else if (name == "anon") {
    if (text == "true" || text == "True" || text == "1" || text == "yes") {
      options.anon = true;
    } else if (text == "false" || text == "False" || text == "0" || text == "no") {
      options.anon = false;
    } else {
      throw StoreError("storage option 'anon' must be true or false, got '" + text + "'");
    }
  } else if (name == "endpoint_url") {
    options.endpoint_url = std::move(text);
  } else if (name == "region") {
    options.region = std::move(text);
  } else if (name == "profile") {
    options.profile = std::move(text);
  } else if (name == "addressing_style") {
    if (text != "path" && text != "virtual" && text != "auto") {
      throw StoreError("storage option 'addressing_style' must be path, virtual or auto, got '" + text + "'");
    }
    options.addressing_style = std::move(text);
  } else {
    throw StoreError("unknown S3 storage option '" + std::string(name) +
                     "'; the S3 options are key, secret, token, anon, endpoint_url, region, profile and "
                     "addressing_style");
  }
}

}  // namespace cuzarr
