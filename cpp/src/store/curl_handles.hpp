// libcurl's handles as RAII types and the two steps every user of libcurl here needs first: one
// global initialisation, and header lists that grow without leaking on a failed append. Shared by
// the request engine (curl_transport.cpp) and the credential endpoints' plain requests.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace cuzarr::store {

struct EasyDelete {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct ShareDelete {
  void operator()(CURLSH* s) const { curl_share_cleanup(s); }
};
struct SlistDelete {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDelete>;
using HeaderList = std::unique_ptr<curl_slist, SlistDelete>;

// curl_global_init, once per process (it is not safe to race with other threads' first use of
// libcurl); a StoreError when libcurl cannot be initialised.
void init_curl();

// Appends one "Name: value" line to `list`; std::bad_alloc when libcurl has no memory for it.
void append_header(HeaderList& list, const std::string& line);

}  // namespace cuzarr::store
