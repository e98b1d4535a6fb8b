// The `cuzarr` command: inspect Zarr stores, read arrays to .npy files, write .npy files into
// arrays, and copy (recompress) stores.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "copy.hpp"
#include "cuzarr/cuzarr.hpp"
#include "info.hpp"
#include "npy.hpp"
#include "verify.hpp"

namespace {

// Exit codes: 0 success, 1 usage error (CLI11) or `verify` found problems, 2 a cuzarr error (bad
// store, bad selection, I/O).
constexpr int kCuzarrError = 2;

// "--storage-option NAME=VALUE": the options of the location's cloud (S3's key, secret, ...; GCS's
// token, ...; Azure's account_name, ...) and the network settings concurrency, retries and
// timeout. A bad value is a cuzarr error that never repeats a secret.
void set_storage_option(cuzarr::StoreOptions& store, const std::string& path, const std::string& item) {
  const std::size_t eq = item.find('=');
  if (eq == std::string::npos || eq == 0) {
    // Not repeated: "secret:VALUE" (a typo for '=') or a bare value may be the secret itself.
    throw cuzarr::StoreError("--storage-option takes NAME=VALUE (e.g. region=eu-west-1); an argument of " +
                             std::to_string(item.size()) + " characters has " +
                             (eq == 0 ? "no NAME before its '='" : "no '='") + " (not shown: it may hold a secret)");
  }
  const std::string name = item.substr(0, eq), value = item.substr(eq + 1);
  if (name == "concurrency" || name == "retries" || name == "timeout") {
    std::size_t used = 0;
    double number = 0;
    try {
      number = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size() || !(number >= 0) || number > 1e6) {
      throw cuzarr::StoreError("storage option '" + name + "' must be a number, got '" + value + "'");
    }
    if (name == "timeout") {
      store.http_timeout = number;
    } else if (number != static_cast<double>(static_cast<std::size_t>(number))) {
      throw cuzarr::StoreError("storage option '" + name + "' must be a whole number, got '" + value + "'");
    } else if (name == "concurrency") {
      store.http_concurrency = static_cast<std::size_t>(number);
    } else {
      store.http_retries = static_cast<std::size_t>(number);
    }
    return;
  }
  if (cuzarr::is_gcs_url(path)) {
    cuzarr::set_gcs_option(store.gcs, name, value);
  } else if (cuzarr::is_azure_url(path)) {
    cuzarr::set_azure_option(store.azure, name, value);
  } else {
    cuzarr::set_s3_option(store.s3, name, value);
  }
}

cuzarr::OpenOptions open_options(const std::string& path, const std::string& consolidated,
                                 const std::vector<std::string>& storage_options) {
  cuzarr::OpenOptions o;
  if (consolidated == "require") o.consolidated = cuzarr::Consolidated::Require;
  if (consolidated == "ignore") o.consolidated = cuzarr::Consolidated::Ignore;
  for (const std::string& item : storage_options) set_storage_option(o.store, path, item);
  return o;
}

// The arguments of --storage-option / -S as given on the command line: CLI11's own usage errors
// may repeat an argument ("The following argument was not expected: ..."), and these may hold a
// secret.
std::vector<std::string> storage_option_arguments(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if ((a == "-S" || a == "--storage-option") && i + 1 < argc) {
      out.emplace_back(argv[++i]);
    } else if (a.starts_with("--storage-option=")) {
      out.emplace_back(a.substr(17));
    } else if (a.starts_with("-S") && a.size() > 2) {
      out.emplace_back(a.substr(2));
    }
  }
  return out;
}

// `text` with the value of each of `arguments` written as "***": all of an argument without '=',
// the part after it unless NAME is a setting that holds no secret.
std::string redacted(std::string text, const std::vector<std::string>& arguments) {
  for (const std::string& s : arguments) {
    const std::size_t eq = s.find('=');
    const std::string name = eq == std::string::npos ? std::string() : s.substr(0, eq);
    if (name == "concurrency" || name == "retries" || name == "timeout" || name == "anon" || name == "region" ||
        name == "addressing_style" || name == "profile") {
      continue;
    }
    const std::string hidden = eq == std::string::npos ? s : s.substr(eq + 1);
    if (hidden.empty()) continue;
    for (std::size_t at = text.find(hidden); at != std::string::npos; at = text.find(hidden, at + 3)) {
      text.replace(at, hidden.size(), "***");
    }
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cuzarr: read Zarr v2/v3 arrays fast, on the CPU or straight into GPU memory"};
  app.footer("Stores: a directory, a .zip file, an http:// or https:// URL (HTTP settings and headers\n"
             "come from CUZARR_HTTP_CONCURRENCY, CUZARR_HTTP_RETRIES, CUZARR_HTTP_TIMEOUT, CUZARR_HTTP_HEADERS),\n"
             "or an s3://bucket/prefix URL (credentials from --storage-option key=/secret=/token=, else\n"
             "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, else the AWS_PROFILE or default\n"
             "profile of ~/.aws/credentials and ~/.aws/config, else a container credential endpoint or the\n"
             "EC2 instance metadata service; no credentials: unsigned requests), a gs://bucket/prefix URL\n"
             "(-S token=anon|cloud|ACCESS_TOKEN|CREDENTIALS.json, -S key=/secret= for an HMAC key, else\n"
             "GOOGLE_APPLICATION_CREDENTIALS, else gcloud's application default credentials), or an\n"
             "az://container/prefix URL (also abfs:// and https://ACCOUNT.blob.core.windows.net/...;\n"
             "-S account_name=, account_key=, sas_token=, connection_string=, tenant_id=/client_id=/client_secret=,\n"
             "anon=true, else AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN,\n"
             "AZURE_STORAGE_CONNECTION_STRING, AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET).\n"
             "Prefer the environment or a profile for secrets: a command line is visible to other users.");
  app.set_version_flag("--version", std::string("cuzarr ") + cuzarr::version());
  app.require_subcommand(1);

  std::string consolidated = "auto";
  std::vector<std::string> storage_options;
  auto add_consolidated = [&](CLI::App* sub) {
    sub->add_option("--consolidated", consolidated,
                    "Use consolidated metadata: auto (when present), require, ignore")
        ->check(CLI::IsMember({"auto", "require", "ignore"}))
        ->capture_default_str();
    sub->add_option("--storage-option,-S", storage_options,
                    "NAME=VALUE, repeatable: for s3:// URLs key, secret, token, anon (true/false), endpoint_url, "
                    "region, profile, addressing_style (path/virtual/auto); for gs:// URLs token, key, secret, "
                    "anon, project, endpoint_url; for az:// URLs account_name, account_key, sas_token, "
                    "connection_string, tenant_id, client_id, client_secret, anon, account_host, endpoint_url; for any "
                    "URL concurrency, retries, "
                    "timeout (seconds)")
        ->expected(1)
        ->allow_extra_args(false)  // one NAME=VALUE per -S, so PATH may follow it
        ->take_all();
  };

  std::string path;
  bool json = false;
  CLI::App* info = app.add_subcommand(
      "info", "Describe the groups and arrays at PATH; a node that cannot be opened is listed with the reason");
  info->add_option("PATH", path, "Store directory, .zip file, http(s)://, s3://, gs:// or az:// URL, or a group/array inside one (store.zarr/group/var)")
      ->required();
  info->add_flag("--json", json, "Print JSON instead of a tree");
  add_consolidated(info);

  std::string select, out;
  CLI::App* read = app.add_subcommand("read", "Read an array (or a selection of it) into a .npy file");
  read->add_option("PATH", path, "Array directory or URL (store.zarr/group/var, https://host/store.zarr/var, s3://bucket/store.zarr/var, gs://..., az://...)")->required();
  read->add_option("--select", select,
                   "Per-dimension selection, comma separated: integers, start:stop:step slices, "
                   "[i,j,k] index lists (e.g. \"0:10,5,::2\"); missing trailing dimensions are whole");
  read->add_option("--out,-o", out, "Output .npy file")->required();
  add_consolidated(read);

  CLI::App* verify = app.add_subcommand(
      "verify", "Decode every chunk of every array under PATH; list unreadable chunks (exit 1 if any)");
  verify->add_option("PATH", path, "Store directory, .zip file, http(s)://, s3://, gs:// or az:// URL, or a group/array inside one")->required();
  add_consolidated(verify);

  std::string destination, codec, chunks_text;
  int zarr_format = 0;
  CLI::App* copy = app.add_subcommand(
      "copy", "Copy the group or array at SRC, and everything below it, into a new local store DST, recompressed with --codec");
  copy->add_option("SRC", path, "Store directory, .zip file, http(s)://, s3://, gs:// or az:// URL, kerchunk references, or a group/array inside one")
      ->required();
  copy->add_option("DST", destination, "A local directory that holds no Zarr node yet (made if missing)")->required();
  copy->add_option("--codec", codec,
                   "none, zstd[:LEVEL], gzip[:LEVEL], zlib[:LEVEL], lz4, blosc-lz4[:LEVEL], blosc-zstd[:LEVEL], a v3 "
                   "codec list as JSON ('[...]') or a v2 compressor ('{...}'); default: each array's own codecs");
  copy->add_option("--zarr-format", zarr_format, "Write Zarr v2 or v3 (default: each node's own; another format "
                                                 "takes --codec, zstd by default)")
      ->check(CLI::IsMember({2, 3}));
  copy->add_option("--chunks", chunks_text, "The (inner) chunk shape of every array, comma separated (e.g. 16,512,512); "
                                            "a sharded array keeps its shards, which must be multiples of it");
  add_consolidated(copy);

  std::string input;
  CLI::App* write = app.add_subcommand("write", "Write a .npy file into an array (or a selection of it)");
  write->add_option("PATH", path, "Array directory in a local store (store.zarr/group/var)")->required();
  write->add_option("--input,-i", input, "The .npy file; its type must be the array's and its shape the selection's")
      ->required();
  write->add_option("--select", select, "Per-dimension selection, as for read (default: the whole array)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 1 (CLI11's own codes vary).
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << redacted(e.what(), storage_option_arguments(argc, argv)) << "\nRun with --help for more information.\n";
    return 1;
  }

  try {
    if (info->parsed()) {
      cuzarr::cli::print_info(std::cout, cuzarr::open(path, open_options(path, consolidated, storage_options)), json);
    } else if (read->parsed()) {
      const cuzarr::Array array = cuzarr::open_array(path, open_options(path, consolidated, storage_options));
      const cuzarr::HostArray result = array.read(cuzarr::parse_selection(select));
      cuzarr::cli::write_npy(out, result);
      // Say what was written: a silent success leaves the user to check the file.
      std::cout << "wrote " << out << ": " << result.dtype.name() << " (";
      for (std::size_t d = 0; d < result.shape.size(); ++d) std::cout << (d ? ", " : "") << result.shape[d];
      std::cout << (result.shape.size() == 1 ? ",)" : ")") << " from " << array.display_path()
                << (select.empty() ? "" : " [" + select + "]") << '\n';
    } else if (copy->parsed()) {
      cuzarr::cli::CopyOptions o;
      o.codec = codec;
      o.zarr_format = zarr_format;
      o.progress = ::isatty(2) != 0;
      if (!chunks_text.empty()) {
        const cuzarr::Selection parsed = cuzarr::parse_selection(chunks_text);
        for (const cuzarr::DimSelection& d : parsed.dims) {
          const auto* n = std::get_if<std::int64_t>(&d);
          if (n == nullptr || *n < 1) throw cuzarr::SelectionError("--chunks takes positive sizes, e.g. 16,512,512");
          o.chunks.push_back(*n);
        }
      }
      const cuzarr::cli::CopyReport r = cuzarr::cli::copy_tree(
          std::cout, std::cerr, cuzarr::open(path, open_options(path, consolidated, storage_options)), destination, o);
      std::cout << "copied " << r.arrays << " array(s) and " << r.groups << " group(s), " << r.bytes << " bytes, to "
                << destination << '\n';
    } else if (write->parsed()) {
      cuzarr::OpenOptions o;
      o.mode = cuzarr::Mode::ReadWrite;
      const cuzarr::Array array = cuzarr::open_array(path, o);
      const cuzarr::cli::NpyFile values = cuzarr::cli::read_npy(input);
      if (values.descr != array.dtype().numpy_str()) {
        throw cuzarr::SelectionError(input + " holds values of type '" + values.descr + "'; array " +
                                     array.display_path() + " is " + array.dtype().name() + " ('" +
                                     array.dtype().numpy_str() + "')");
      }
      array.write(cuzarr::parse_selection(select), cuzarr::Input{values.data.data(), values.shape, values.byte_strides});
      std::cout << "wrote " << input << " into " << array.display_path() << (select.empty() ? "" : " [" + select + "]")
                << '\n';
    } else if (verify->parsed()) {
      const std::size_t problems = cuzarr::cli::verify_tree(
          std::cout, std::cerr, cuzarr::open(path, open_options(path, consolidated, storage_options)), ::isatty(2) != 0);
      if (problems > 0) {
        std::cout << problems << " problem(s) found\n";
        return 1;
      }
    }
  } catch (const cuzarr::Error& e) {
    std::cerr << "cuzarr: error: " << e.what() << "\n";
    return kCuzarrError;
  } catch (const std::exception& e) {
    std::cerr << "cuzarr: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
