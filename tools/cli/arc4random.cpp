// Linked into the tool only with CUZARR_STATIC_LIBSTDCXX (the wheel). GCC 12's static libstdc++
// pulls std::random_device into any program that uses its exceptions, and random_device refers
// to glibc 2.36's arc4random, although cuzarr never draws from it; that one reference would raise
// the wheel's manylinux tag from 2_34 to 2_36. This definition is what glibc's is (getrandom,
// retried on EINTR, abort when the kernel cannot give randomness), and keeps the floor at 2.34.
#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

extern "C" std::uint32_t arc4random(void) noexcept {
  std::uint32_t value = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  std::size_t got = 0;
  while (got < sizeof value) {
    const ssize_t n = getrandom(bytes + got, sizeof value - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      std::abort();
    }
  }
  return value;
}
