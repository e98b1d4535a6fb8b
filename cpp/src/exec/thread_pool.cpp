#include "exec/thread_pool.hpp"

#include <atomic>
#include <exception>

namespace cuzarr::exec {

struct ThreadPool::Job {
  const std::function<void(std::size_t)>* fn = nullptr;
  std::size_t n = 0;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::condition_variable done_cv;
  std::size_t done = 0;
  std::exception_ptr error;
};

namespace {

// A thread's first throw makes the C++ runtime allocate the thread's exception state (thread-local
// data of libstdc++, which Python loads with dlopen): when memory has run out by then, glibc
// aborts the process ("cannot allocate memory for thread-local data"). Touched first thing, while
// a few bytes are still to be had, a later std::bad_alloc travels as an exception instead.
void prepare_for_exceptions() { (void)std::uncaught_exceptions(); }

}  // namespace

ThreadPool::ThreadPool(std::size_t threads) {
  for (std::size_t i = 1; i < threads; ++i) {
    try {
      workers_.emplace_back([this](std::stop_token stop) {
        prepare_for_exceptions();
        worker_loop(stop);
      });
    } catch (const std::exception&) {
      // No room for another thread (address space, process limits): work with those there are;
      // the calling thread always works too.
      break;
    }
  }
}

ThreadPool::~ThreadPool() {
  for (auto& w : workers_) w.request_stop();
  wake_.notify_all();
  // jthread joins on destruction.
}

void ThreadPool::run_items(Job& job) {
  std::size_t finished = 0;
  for (std::size_t i; (i = job.next.fetch_add(1)) < job.n;) {
    if (!job.failed.load(std::memory_order_relaxed)) {
      try {
        (*job.fn)(i);
      } catch (...) {
        std::lock_guard lock(job.mutex);
        if (!job.error) job.error = std::current_exception();
        job.failed = true;
      }
    }
    ++finished;
  }
  if (finished > 0) {
    std::lock_guard lock(job.mutex);
    job.done += finished;
    if (job.done == job.n) job.done_cv.notify_all();
  }
}

void ThreadPool::worker_loop(std::stop_token stop) {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, stop, [&] { return !queue_.empty(); });
      if (stop.stop_requested()) return;
      job = queue_.front();
      // A job whose items are all handed out leaves the queue; its runners finish it.
      if (job->next.load() >= job->n) {
        queue_.pop_front();
        continue;
      }
    }
    run_items(*job);
  }
}

void ThreadPool::parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  prepare_for_exceptions();
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  if (n > 1 && !workers_.empty()) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(job);
    }
    wake_.notify_all();
  }
  run_items(*job);
  {
    std::unique_lock lock(job->mutex);
    job->done_cv.wait(lock, [&] { return job->done == job->n; });
  }
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace cuzarr::exec
