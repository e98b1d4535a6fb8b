// S3Options from text (the CLI's --storage-option, Python's storage_options) and the s3:// test;
// compiled with or without libcurl so that a build without the S3 store still says why.
#include <cctype>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"
#include "store/option_text.hpp"

namespace cuzarr {

bool is_s3_url(std::string_view location) { return store::starts_with_nocase(location, "s3://"); }

void set_s3_option(S3Options& options, std::string_view name, std::string_view value) {
  const bool secret = name == "secret" || name == "token";
  store::check_option_text(name, value, secret);
  std::string text(value);
  if (name == "key") {
    options.key = std::move(text);
  } else if (name == "secret") {
    options.secret = std::move(text);
  } else if (name == "token") {
    options.token = std::move(text);
  } else if (name == "anon") {
    options.anon = store::parse_bool_option(name, text);
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
