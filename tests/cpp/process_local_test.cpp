// ProcessLocal (cpp/src/process_local.hpp) and the CUDA fork rule (cpp/src/cuda/fork_check.hpp):
// after fork() a child makes its own state, never touches or destroys its parent's, and a child
// forked after CUDA was initialised gets a CudaError. Each child reports through its exit code and
// is bounded by alarm(), so a hang fails the test instead of stopping the run.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "cuda/fork_check.hpp"
#include "cuzarr/error.hpp"
#include "exec/thread_pool.hpp"
#include "process_local.hpp"
#include "sanitizer.hpp"


namespace {

using cuzarr::ProcessLocal;

std::atomic<int> made{0}, destroyed{0};

struct Counted {
  Counted() { ++made; }
  ~Counted() { ++destroyed; }
  std::mutex mutex;
  pid_t owner = ::getpid();
};

// Runs `child` in a forked child (exit code its result, 100 + signal when it dies, 99 when it
// throws) and returns that code.
template <class F>
int in_child(F child) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(30);
    int code = 99;
    try {
      code = child();
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

#ifdef CUZARR_ASAN
#define SKIP_UNDER_ASAN() GTEST_SKIP() << "clang 14's ASan allocator is not fork-safe (pthread_atfork handlers came in LLVM 18)"
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

TEST(ProcessLocal, OneValuePerProcessAndThreadsAgree) {
  ProcessLocal<Counted> local([] { return std::make_unique<Counted>(); });
  std::vector<Counted*> seen(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) threads.emplace_back([&, i] { seen[i] = &local.get(); });
  for (auto& t : threads) t.join();
  for (Counted* c : seen) EXPECT_EQ(c, &local.get());
  EXPECT_EQ(local.get().owner, ::getpid());
}

TEST(ProcessLocal, ChildMakesItsOwnAndLeavesTheParentsAlone) {
  SKIP_UNDER_ASAN();
  auto local = std::make_unique<ProcessLocal<Counted>>([] { return std::make_unique<Counted>(); });
  Counted& parents = local->get();
  // A thread of the parent holds the value's mutex at the fork, as a reader holds a pool's lock:
  // the child must neither wait for it nor unlock, destroy or reuse it.
  std::atomic<bool> holding{false}, release{false};
  std::thread holder([&] {
    std::lock_guard lock(parents.mutex);
    holding = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (!holding) std::this_thread::yield();
  const int code = in_child([&] {
    Counted& mine = local->get();
    if (&mine == &parents) return 1;
    if (mine.owner != ::getpid()) return 2;
    // Several threads of the child race to make it: all must get the one kept.
    std::vector<Counted*> seen(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) threads.emplace_back([&, i] { seen[i] = &local->get(); });
    for (auto& t : threads) t.join();
    for (Counted* c : seen) {
      if (c != &mine) return 3;
    }
    std::lock_guard lock(mine.mutex);  // the child's own lock is free
    const int destroyed_before = destroyed;
    local.reset();  // destroys the child's value only
    if (destroyed != destroyed_before + 1) return 4;
    return 0;
  });
  release = true;
  holder.join();
  EXPECT_EQ(code, 0) << "1: the parent's value, 2: made by another process, 3: threads disagree, "
                        "4: the parent's value destroyed in the child, 114: hung";
  EXPECT_EQ(&local->get(), &parents);  // the parent keeps its own
}

TEST(ProcessLocal, ValueFirstUsedInTheChildIsMadeThere) {
  SKIP_UNDER_ASAN();
  ProcessLocal<Counted> local([] { return std::make_unique<Counted>(); });
  EXPECT_EQ(in_child([&] { return local.get().owner == ::getpid() ? 0 : 1; }), 0);
  EXPECT_EQ(local.get().owner, ::getpid());
}

TEST(ProcessLocal, GrandchildMakesItsOwnToo) {
  SKIP_UNDER_ASAN();
  ProcessLocal<Counted> local([] { return std::make_unique<Counted>(); });
  Counted* parents = &local.get();
  EXPECT_EQ(in_child([&] {
              Counted* childs = &local.get();
              if (childs == parents) return 1;
              return in_child([&] { return &local.get() != childs && &local.get() != parents ? 0 : 1; });
            }),
            0);
}

// A thread pool made in the parent, its workers busy at the fork: the child's pool is a new one
// whose workers exist, and the parent's is not joined in the child (that would wait forever).
TEST(ProcessLocal, ThreadPoolWorksInAChildForkedDuringAParallelLoop) {
  SKIP_UNDER_ASAN();
  ProcessLocal<cuzarr::exec::ThreadPool> pool([] { return std::make_unique<cuzarr::exec::ThreadPool>(4); });
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop) pool.get().parallel_for(64, [](std::size_t) { std::this_thread::sleep_for(std::chrono::microseconds(50)); });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int round = 0; round < 5; ++round) {
    const int code = in_child([&] {
      std::atomic<long> sum{0};
      pool.get().parallel_for(1000, [&](std::size_t i) {
        sum += static_cast<long>(i);
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      });
      return sum == 499500 && pool.get().size() == 4 ? 0 : 1;
    });
    EXPECT_EQ(code, 0) << "round " << round << " (114: hung)";
  }
  stop = true;
  busy.join();
}

TEST(CudaForkRule, ChildOfAProcessThatUsedCudaGetsAClearError) {
  SKIP_UNDER_ASAN();
  // Before any CUDA use, a child may use CUDA (it will be the first to initialise it).
  EXPECT_EQ(in_child([] {
              cuzarr::cuda::claim_cuda_for_this_process();
              return in_child([] {
                try {
                  cuzarr::cuda::claim_cuda_for_this_process();
                } catch (const cuzarr::CudaError& e) {
                  return std::string(e.what()).find("spawn") != std::string::npos ? 0 : 2;
                }
                return 1;
              });
            }),
            0) << "1: a grandchild of the process that claimed CUDA was allowed to use it";
  cuzarr::cuda::claim_cuda_for_this_process();
  cuzarr::cuda::claim_cuda_for_this_process();  // again in the same process: fine
  EXPECT_EQ(in_child([] {
              try {
                cuzarr::cuda::claim_cuda_for_this_process();
              } catch (const cuzarr::CudaError& e) {
                const std::string what = e.what();
                return what.find("forked after CUDA was initialised") != std::string::npos ? 0 : 2;
              }
              return 1;
            }),
            0) << "1: no error in the child, 2: an unclear message";
}

}  // namespace
