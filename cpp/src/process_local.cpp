#include "process_local.hpp"

#include <pthread.h>
#include <unistd.h>

namespace cuzarr {
namespace {

// 1 in the process that loaded the library; one more in each forked child. Written only by the
// child handler, which runs while the child has a single thread.
std::atomic<std::uint64_t> generation{1};

void after_fork_in_child() { generation.fetch_add(1, std::memory_order_acq_rel); }

// Registered when the library is loaded, before anything can have been made in a ProcessLocal.
// pthread_atfork fails only without memory for the handler; then the process id stands in for
// the count (a system call per check instead of a load, but still right).
const bool counting_forks = pthread_atfork(nullptr, nullptr, &after_fork_in_child) == 0;

}  // namespace

std::uint64_t process_generation() {
  if (!counting_forks) [[unlikely]] {
    return std::uint64_t{1} << 32 | static_cast<std::uint64_t>(getpid());
  }
  return generation.load(std::memory_order_acquire);
}

}  // namespace cuzarr
