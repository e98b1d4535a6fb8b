// A running mean of measured times or rates that follows the machine: the plain mean of the first
// samples, then an exponential mean over about the last eight.
#pragma once

#include <algorithm>

namespace cuzarr::cuda {

struct RunningMean {
  double value = 0;
  int samples = 0;
  void add(double x) {
    ++samples;
    const double weight = std::max(1.0 / samples, 1.0 / 8);
    value += weight * (x - value);
  }
};

}  // namespace cuzarr::cuda
