// State that belongs to one process: remade in a child after fork(), never shared with the parent.
//
// A forked child gets a copy of the parent's memory but only the thread that called fork(). What
// the parent's other threads held at that moment stays held forever in the child (a pool's mutex,
// an easy handle on loan, a count of requests in flight), and what the parent keeps using it
// shares with the child (the sockets of keep-alive connections, the file offset of an open file
// description). So connection pools, archive handles, thread pools and the like live in a
// ProcessLocal: each process that uses one makes its own on first use.
//
// The parent's copy is never destroyed in the child, on purpose: its destructor would touch what
// the parent still uses (curl_easy_cleanup can send a TLS close_notify on the parent's socket),
// lock mutexes that threads which do not exist in the child hold, or join those threads. It is
// leaked -- a few bytes of the child's address space that the child never uses.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace cuzarr {

// A number for this process, different in a child made with fork() than in its parent (a
// pthread_atfork handler counts forks; siblings may share a number, but never memory). One atomic
// load: cheap enough to check on every request.
std::uint64_t process_generation();

// A T made by `make` on first use in each process. get() is thread-safe, also in a child whose
// threads race to make theirs: each may call `make`, one result is kept and the others are
// destroyed, so `make` must have no effect beyond the T it returns.
template <class T>
class ProcessLocal {
 public:
  explicit ProcessLocal(std::function<std::unique_ptr<T>()> make) : make_(std::move(make)) {}

  ~ProcessLocal() {
    Slot* slot = slot_.load(std::memory_order_acquire);
    // Only this process's own: a slot inherited from the parent is leaked (see the top).
    if (slot != nullptr && slot->generation == process_generation()) std::unique_ptr<Slot> owned(slot);
  }
  ProcessLocal(const ProcessLocal&) = delete;
  ProcessLocal& operator=(const ProcessLocal&) = delete;

  T& get() const {
    const std::uint64_t generation = process_generation();
    Slot* seen = slot_.load(std::memory_order_acquire);
    if (seen != nullptr && seen->generation == generation) [[likely]] {
      return *seen->value;
    }
    auto fresh = std::make_unique<Slot>(Slot{generation, make_()});
    while (!slot_.compare_exchange_weak(seen, fresh.get(), std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (seen != nullptr && seen->generation == generation) return *seen->value;  // another thread's won
    }
    // `seen` was null or the parent's: dropped without being destroyed, see the top.
    return *fresh.release()->value;
  }

 private:
  struct Slot {
    std::uint64_t generation;
    std::unique_ptr<T> value;
  };
  std::function<std::unique_ptr<T>()> make_;
  // Owns the slot of the process that made it (a raw pointer because it is swapped atomically and
  // because the parent's must outlive its owner in the child).
  mutable std::atomic<Slot*> slot_{nullptr};
};

// Records the first process that did something (initialised CUDA) so that a forked descendant
// can tell it inherited that state instead of making it.
class ProcessMark {
 public:
  // Marks this process, unless one was marked before (this one or an ancestor).
  void mark() {
    std::uint64_t none = 0;
    marked_.compare_exchange_strong(none, process_generation(), std::memory_order_acq_rel);
  }
  // Whether an ancestor process was marked (so this one is a forked child of it).
  bool inherited() const {
    const std::uint64_t at = marked_.load(std::memory_order_acquire);
    return at != 0 && at != process_generation();
  }

 private:
  std::atomic<std::uint64_t> marked_{0};
};

}  // namespace cuzarr
