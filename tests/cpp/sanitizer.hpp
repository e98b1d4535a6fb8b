// CUZARR_ASAN is defined when the test is built with AddressSanitizer (gcc or clang): clang 14's
// ASan allocator has no fork handlers, so the tests that fork while other threads run skip then.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define CUZARR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CUZARR_ASAN 1
#endif
#endif
