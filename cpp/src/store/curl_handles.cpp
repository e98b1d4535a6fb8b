#include "store/curl_handles.hpp"

#include <mutex>
#include <new>

#include "cuzarr/error.hpp"

namespace cuzarr::store {

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw StoreError("libcurl could not be initialised");
  });
}

void append_header(HeaderList& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) throw std::bad_alloc();
  (void)list.release();  // `next` is the same list, one item longer
  list.reset(next);
}

}  // namespace cuzarr::store
