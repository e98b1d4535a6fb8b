#include "store/request_window.hpp"

#include <algorithm>

namespace cuzarr::store {

RequestWindow::RequestWindow(std::size_t ceiling, std::size_t initial)
    : ceiling_(std::max<std::size_t>(1, ceiling)),
      limit_(std::clamp<std::size_t>(initial, 1, ceiling_)),
      threshold_(ceiling_) {}

std::uint64_t RequestWindow::acquire() {
  std::unique_lock lock(mutex_);
  ++waiting_;
  room_.wait(lock, [&] { return in_flight_ < limit_; });
  --waiting_;
  ++in_flight_;
  return started_++;
}

void RequestWindow::release(std::uint64_t ticket, Signal signal) {
  std::size_t wake = 1;
  {
    std::lock_guard lock(mutex_);
    const bool full = waiting_ > 0 || in_flight_ >= limit_;
    --in_flight_;
    if (signal == Signal::Overloaded) {
      if (ticket >= calm_since_) {
        threshold_ = std::max<std::size_t>(1, limit_ / 2);
        limit_ = threshold_;
        credit_ = 0;
        calm_since_ = started_;
      }
    } else if (signal == Signal::Done && full && limit_ < ceiling_) {
      if (limit_ < threshold_) {
        ++limit_;
        wake = 2;  // the place given back and the new one
      } else if (++credit_ >= limit_) {
        credit_ = 0;
        ++limit_;
        wake = 2;
      }
    }
  }
  if (wake == 1) room_.notify_one();
  else room_.notify_all();
}

void RequestWindow::cap(std::size_t n) {
  std::lock_guard lock(mutex_);
  ceiling_ = std::max<std::size_t>(1, std::min(ceiling_, n));
  limit_ = std::min(limit_, ceiling_);
  threshold_ = std::min(threshold_, ceiling_);
}

std::size_t RequestWindow::limit() const {
  std::lock_guard lock(mutex_);
  return limit_;
}

std::size_t RequestWindow::ceiling() const {
  std::lock_guard lock(mutex_);
  return ceiling_;
}

std::size_t RequestWindow::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

}  // namespace cuzarr::store
