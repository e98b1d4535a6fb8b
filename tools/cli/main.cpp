// The `cuzarr` command: inspect Zarr stores and read arrays to .npy files.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cuzarr/cuzarr.hpp"
#include "info.hpp"
#include "npy.hpp"
#include "verify.hpp"

namespace {

// Exit codes: 0 success, 1 usage error (CLI11) or `verify` found problems, 2 a cuzarr error (bad
// store, bad selection, I/O).
constexpr int kCuzarrError = 2;

cuzarr::OpenOptions open_options(const std::string& consolidated) {
  cuzarr::OpenOptions o;
  if (consolidated == "require") o.consolidated = cuzarr::Consolidated::Require;
  if (consolidated == "ignore") o.consolidated = cuzarr::Consolidated::Ignore;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cuzarr: read Zarr v2/v3 arrays fast, on the CPU or straight into GPU memory"};
  app.footer("Stores: a directory, a .zip file, or an http:// or https:// URL (HTTP settings and headers\n"
             "come from CUZARR_HTTP_CONCURRENCY, CUZARR_HTTP_RETRIES, CUZARR_HTTP_TIMEOUT, CUZARR_HTTP_HEADERS).");
  app.set_version_flag("--version", std::string("cuzarr ") + cuzarr::version());
  app.require_subcommand(1);

  std::string consolidated = "auto";
  auto add_consolidated = [&](CLI::App* sub) {
    sub->add_option("--consolidated", consolidated,
                    "Use consolidated metadata: auto (when present), require, ignore")
        ->check(CLI::IsMember({"auto", "require", "ignore"}))
        ->capture_default_str();
  };

  std::string path;
  bool json = false;
  CLI::App* info = app.add_subcommand(
      "info", "Describe the groups and arrays at PATH; a node that cannot be opened is listed with the reason");
  info->add_option("PATH", path, "Store directory, .zip file or http(s):// URL, or a group/array inside one (store.zarr/group/var)")
      ->required();
  info->add_flag("--json", json, "Print JSON instead of a tree");
  add_consolidated(info);

  std::string select, out;
  CLI::App* read = app.add_subcommand("read", "Read an array (or a selection of it) into a .npy file");
  read->add_option("PATH", path, "Array directory or URL (store.zarr/group/var, https://host/store.zarr/var)")->required();
  read->add_option("--select", select,
                   "Per-dimension selection, comma separated: integers, start:stop:step slices, "
                   "[i,j,k] index lists (e.g. \"0:10,5,::2\"); missing trailing dimensions are whole");
  read->add_option("--out,-o", out, "Output .npy file")->required();
  add_consolidated(read);

  CLI::App* verify = app.add_subcommand(
      "verify", "Decode every chunk of every array under PATH; list unreadable chunks (exit 1 if any)");
  verify->add_option("PATH", path, "Store directory, .zip file or http(s):// URL, or a group/array inside one")->required();
  add_consolidated(verify);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 1 (CLI11's own codes vary).
    return app.exit(e) == 0 ? 0 : 1;
  }

  try {
    if (info->parsed()) {
      cuzarr::cli::print_info(std::cout, cuzarr::open(path, open_options(consolidated)), json);
    } else if (read->parsed()) {
      const cuzarr::Array array = cuzarr::open_array(path, open_options(consolidated));
      const cuzarr::HostArray result = array.read(cuzarr::parse_selection(select));
      cuzarr::cli::write_npy(out, result);
    } else if (verify->parsed()) {
      const std::size_t problems = cuzarr::cli::verify_tree(
          std::cout, std::cerr, cuzarr::open(path, open_options(consolidated)), ::isatty(2) != 0);
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
