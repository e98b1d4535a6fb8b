// A fixed set of worker threads running parallel loops. The calling thread works on its own loop
// too, so loops submitted from several threads at once (dask workers) all make progress.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cuzarr::exec {

class ThreadPool {
 public:
  // `threads` counts the caller: a pool of 1 runs everything on the calling thread.
  explicit ThreadPool(std::size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs fn(0) .. fn(n-1), in any order, and returns when all have finished. The first exception
  // thrown stops the items not yet started and is rethrown here.
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

  std::size_t size() const { return workers_.size() + 1; }

 private:
  struct Job;
  void worker_loop(std::stop_token stop);
  static void run_items(Job& job);

  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::jthread> workers_;
};

}  // namespace cuzarr::exec
