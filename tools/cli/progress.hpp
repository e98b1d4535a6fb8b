// The progress bar `verify` and `copy` draw on standard error while they work through an array.
#pragma once

#include <algorithm>
#include <cstddef>
#include <ostream>
#include <string>

namespace cuzarr::cli {

// Redraws "[####....] done/total label" in place, at most ~100 times over a run, and clears the
// line when done == total. Nothing when `enabled` is false (standard error is not a terminal).
inline void draw_progress(std::ostream& err, bool enabled, std::size_t done, std::size_t total, const std::string& label) {
  if (!enabled || (done != total && done % std::max<std::size_t>(1, total / 100) != 0)) return;
  const int width = 30;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  err << "\r  [" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done << "/" << total << " "
      << label << std::flush;
  if (done == total) err << "\r\033[K" << std::flush;
}

}  // namespace cuzarr::cli
