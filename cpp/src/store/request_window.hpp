// How many requests a network store keeps in flight: a window that opens while requests succeed
// and the reader wants more, and closes when the server shows strain, so that a big object store
// is read with many requests at once while a small server is not flooded (docs/stores.md).
//
// The rules are TCP's congestion control applied to requests:
// - The window starts at `initial` (at most the ceiling, the `concurrency` setting).
// - Slow start: each request that completes while the window was full (others waiting for a place)
//   widens it by one, so it doubles every round of requests, up to the threshold (at first the
//   ceiling).
// - Past the threshold it widens by one per window's worth of such completions (additive).
// - A sign of overload (a throttling or server-error answer, a failed or timed-out connection, a
//   connection that took a SYN retry to open) halves the window and sets the threshold there. Signs
//   from requests that started before the last halving are ignored: one burst that overflowed a
//   server halves the window once, not once per request.
// - cap(n) lowers the ceiling for good (a server that closes every connection after one answer).
// Pure bookkeeping behind one mutex; the tests drive it without a network.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace cuzarr::store {

class RequestWindow {
 public:
  enum class Signal {
    Done,        // the request completed (an answer of any status the store could judge)
    Overloaded,  // the server showed strain: back off
    Neutral,     // neither (a request refused for a reason of its own); the window is unchanged
  };

  RequestWindow(std::size_t ceiling, std::size_t initial);
  RequestWindow(const RequestWindow&) = delete;
  RequestWindow& operator=(const RequestWindow&) = delete;

  // Waits for a place in the window and takes it; returns the ticket to give back to release().
  std::uint64_t acquire();
  // Gives back the place taken by acquire() with what became of its request.
  void release(std::uint64_t ticket, Signal signal);
  // Never more than `n` (at least 1) in flight from now on.
  void cap(std::size_t n);

  std::size_t limit() const;
  std::size_t ceiling() const;
  std::size_t in_flight() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable room_;
  std::size_t ceiling_;
  std::size_t limit_;
  std::size_t threshold_;
  std::size_t in_flight_ = 0;
  std::size_t waiting_ = 0;
  std::size_t credit_ = 0;     // completions toward the next additive widening
  std::uint64_t started_ = 0;  // requests started so far (the tickets)
  std::uint64_t calm_since_ = 0;  // the first ticket after the last halving
};

// A place in a RequestWindow for the length of one request attempt; released with Neutral
// unless finish() said otherwise.
class WindowSlot {
 public:
  explicit WindowSlot(RequestWindow& window) : window_(window), ticket_(window.acquire()) {}
  ~WindowSlot() { window_.release(ticket_, signal_); }
  WindowSlot(const WindowSlot&) = delete;
  WindowSlot& operator=(const WindowSlot&) = delete;
  void finish(RequestWindow::Signal signal) { signal_ = signal; }

 private:
  RequestWindow& window_;
  std::uint64_t ticket_;
  RequestWindow::Signal signal_ = RequestWindow::Signal::Neutral;
};

}  // namespace cuzarr::store
