// The request window of the network stores (store/request_window.hpp): slow start, one halving per
// burst of overload, additive growth past the threshold, the cap for small servers, and that
// requests never exceed the window however many threads ask. No clock: the threaded test checks
// only counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "store/request_window.hpp"

namespace {

using cuzarr::store::RequestWindow;
using cuzarr::store::WindowSlot;
using Signal = RequestWindow::Signal;

// Fills the window (single thread: never blocks) and returns the tickets.
std::vector<std::uint64_t> fill(RequestWindow& w) {
  std::vector<std::uint64_t> tickets;
  while (w.in_flight() < w.limit()) tickets.push_back(w.acquire());
  return tickets;
}

TEST(RequestWindow, StartsAtTheInitialWidthWithinTheCeiling) {
  EXPECT_EQ(RequestWindow(64, 16).limit(), 16u);
  EXPECT_EQ(RequestWindow(4, 16).limit(), 4u);
  EXPECT_EQ(RequestWindow(0, 0).limit(), 1u);
  EXPECT_EQ(RequestWindow(0, 0).ceiling(), 1u);
}

TEST(RequestWindow, CompletionsOfAFullWindowWidenIt) {
  RequestWindow w(64, 4);
  std::vector<std::uint64_t> t = fill(w);
  ASSERT_EQ(t.size(), 4u);
  w.release(t.back(), Signal::Done);  // the window was full: slow start widens it by one
  t.pop_back();
  EXPECT_EQ(w.limit(), 5u);
  w.release(t.back(), Signal::Done);  // 3 of 5 in flight, nobody waiting: no demand, no growth
  t.pop_back();
  EXPECT_EQ(w.limit(), 5u);
  for (std::uint64_t x : t) w.release(x, Signal::Neutral);
  EXPECT_EQ(w.limit(), 5u);
  EXPECT_EQ(w.in_flight(), 0u);
}

TEST(RequestWindow, OneBurstOfOverloadHalvesTheWindowOnce) {
  RequestWindow w(64, 64);
  std::vector<std::uint64_t> burst = fill(w);
  ASSERT_EQ(burst.size(), 64u);
  for (std::uint64_t x : burst) w.release(x, Signal::Overloaded);
  EXPECT_EQ(w.limit(), 32u);  // 64 failures of one burst: one halving
  // A request started after the halving that fails again halves it again.
  const std::uint64_t later = w.acquire();
  w.release(later, Signal::Overloaded);
  EXPECT_EQ(w.limit(), 16u);
  // Overload never closes the window.
  for (int i = 0; i < 10; ++i) w.release(w.acquire(), Signal::Overloaded);
  EXPECT_EQ(w.limit(), 1u);
}

TEST(RequestWindow, PastTheThresholdItWidensByOnePerWindowOfCompletions) {
  RequestWindow w(64, 64);
  w.release(w.acquire(), Signal::Overloaded);  // threshold and window: 32
  ASSERT_EQ(w.limit(), 32u);
  std::vector<std::uint64_t> t = fill(w);
  for (int i = 0; i < 31; ++i) {  // a full window's completions, each refilled at once
    w.release(t.back(), Signal::Done);
    t.back() = w.acquire();
  }
  EXPECT_EQ(w.limit(), 32u);
  w.release(t.back(), Signal::Done);  // the 32nd
  t.pop_back();
  EXPECT_EQ(w.limit(), 33u);
  for (std::uint64_t x : t) w.release(x, Signal::Neutral);
}

TEST(RequestWindow, ACapLowersTheCeilingForGood) {
  RequestWindow w(64, 16);
  w.cap(8);
  EXPECT_EQ(w.limit(), 8u);
  EXPECT_EQ(w.ceiling(), 8u);
  for (int round = 0; round < 5; ++round) {
    for (std::uint64_t x : fill(w)) w.release(x, Signal::Done);
  }
  EXPECT_EQ(w.limit(), 8u);
  w.cap(0);
  EXPECT_EQ(w.limit(), 1u);
}

TEST(RequestWindow, SlowStartOpensAWindowKeptFullToTheCeiling) {
  RequestWindow w(64, 4);
  std::vector<std::uint64_t> t = fill(w);
  // The reader always wants more: each completion finds the window full, and a new request takes
  // every place there is. Slow start widens it by one per completion, up to the ceiling.
  for (int i = 0; i < 100; ++i) {
    w.release(t.back(), Signal::Done);
    t.pop_back();
    for (std::uint64_t x : fill(w)) t.push_back(x);
    EXPECT_EQ(t.size(), w.limit());
  }
  EXPECT_EQ(w.limit(), 64u);
  for (std::uint64_t x : t) w.release(x, Signal::Neutral);
}

TEST(RequestWindow, ManyThreadsNeverExceedTheWindow) {
  // How far the window opens here depends on how the threads are scheduled (a completion widens
  // it only while others wait); what may never happen is more in flight than it allows.
  RequestWindow w(32, 2);
  std::atomic<bool> over{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 48; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 40; ++k) {
        WindowSlot slot(w);
        if (w.in_flight() > w.ceiling()) over = true;
        std::this_thread::yield();
        slot.finish(k % 7 == 3 ? Signal::Overloaded : Signal::Done);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(over.load());
  EXPECT_GE(w.limit(), 1u);
  EXPECT_LE(w.limit(), 32u);
  EXPECT_EQ(w.in_flight(), 0u);
}

TEST(RequestWindow, ASlotReleasedWithoutAVerdictLeavesTheWindowAsItWas) {
  RequestWindow w(8, 2);
  {
    WindowSlot a(w), b(w);
    EXPECT_EQ(w.in_flight(), 2u);
  }
  EXPECT_EQ(w.limit(), 2u);
  EXPECT_EQ(w.in_flight(), 0u);
}

}  // namespace
