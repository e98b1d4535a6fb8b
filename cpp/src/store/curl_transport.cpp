#include "store/curl_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "cuzarr/config.hpp"
#include "cuzarr/error.hpp"
#include "store/curl_handles.hpp"
#include "store/request_window.hpp"
#include "store/retry_policy.hpp"
#include "store/url.hpp"
#include "process_local.hpp"

namespace cuzarr::store {
namespace {

using Clock = std::chrono::steady_clock;


// The CA certificates https requests verify against: CURL_CA_BUNDLE, then SSL_CERT_FILE (the
// variables the curl tool and OpenSSL read), else libcurl's built-in bundle when that file exists,
// else the first bundle found where Linux distributions keep one: a libcurl built on one
// distribution (the wheel carries Debian's) looks for that distribution's path. Empty: libcurl's
// own default.
std::string ca_bundle() {
  for (const char* name : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  std::error_code ec;
  if (info->age >= CURLVERSION_SEVENTH && info->cainfo != nullptr &&
      std::filesystem::is_regular_file(info->cainfo, ec)) {
    return "";
  }
  for (const char* path : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                           "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/ca-bundle.pem",
                           "/etc/ssl/cert.pem"}) {
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return "";
}

void check_header(const std::string& name, const std::string& value) {
  if (name.empty() || name.find_first_of(":\r\n\t \0", 0, 6) != std::string::npos) {
    throw StoreError("invalid HTTP header name '" + name + "'");
  }
  if (value.find_first_of("\r\n\0", 0, 3) != std::string::npos) {
    throw StoreError("the value of HTTP header '" + name + "' holds a line break or NUL");
  }
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "range") throw StoreError("HTTP header 'Range' cannot be set: cuzarr sets it per request");
}

struct Progress {
  double timeout;
  Clock::time_point last;
  curl_off_t seen = 0;
  bool timed_out = false;
};

// A request that makes no progress (no byte up or down) for `timeout` seconds is abandoned; a
// slow but moving transfer of a large range is not.
int on_progress(void* data, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* p = static_cast<Progress*>(data);
  const Clock::time_point now = Clock::now();
  if (dlnow + ulnow != p->seen) {
    p->seen = dlnow + ulnow;
    p->last = now;
    return 0;
  }
  if (std::chrono::duration<double>(now - p->last).count() > p->timeout) {
    p->timed_out = true;
    return 1;
  }
  return 0;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<Response*>(user)->header_line(std::string_view(data, size * count));
  return size * count;
}

// No exception may cross libcurl's C frames: one raised here (no memory for a buffer) stops the
// transfer and is thrown again once curl_easy_perform has returned.
struct Sink {
  Response* response;
  std::exception_ptr error;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  try {
    return sink->response->body(reinterpret_cast<const std::byte*>(data), size * count);
  } catch (...) {
    sink->error = std::current_exception();
    return 0;
  }
}

bool retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      return true;
    default:
      return false;
  }
}

std::string seconds_text(double s) {
  std::string t = std::to_string(s);
  while (t.back() == '0') t.pop_back();
  if (t.back() == '.') t.pop_back();
  return t;
}

// A draw from [0, 1) for the jitter of retry_delay. It needs no entropy source: a per-thread
// engine seeded from the clock and the thread. (std::random_device would also pull arc4random,
// glibc 2.36, into the wheel's static libstdc++ and raise its manylinux tag.)
double jitter_unit() {
  thread_local std::minstd_rand engine(static_cast<std::uint_fast32_t>(
      std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
      static_cast<std::size_t>(Clock::now().time_since_epoch().count())));
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

TransportSettings transport_settings(const StoreOptions& options, bool environment_headers) {
  const Config& cfg = config();
  TransportSettings s;
  s.concurrency = options.http_concurrency.value_or(cfg.http_concurrency);
  s.concurrency_given = options.http_concurrency.has_value() || cfg.http_concurrency_given;
  s.retries = options.http_retries.value_or(cfg.http_retries);
  s.timeout = options.http_timeout.value_or(cfg.http_timeout);
  if (s.concurrency == 0) throw StoreError("HTTP concurrency must be at least 1");
  if (!(s.timeout > 0)) throw StoreError("HTTP timeout must be a positive number of seconds");
  if (environment_headers) s.headers = cfg.http_headers;
  for (const auto& [name, value] : options.http_headers) s.headers[name] = value;
  for (const auto& [name, value] : s.headers) check_header(name, value);
  return s;
}

bool sets_header(const std::map<std::string, std::string>& headers, std::string_view lower_name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& header) {
    const std::string& name = header.first;
    return name.size() == lower_name.size() &&
           std::equal(name.begin(), name.end(), lower_name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == static_cast<unsigned char>(b);
           });
  });
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string without_userinfo(const std::string& url) {
  const Authority a = find_authority(url);
  if (!a.valid || a.host == a.begin) return url;
  return url.substr(0, a.begin) + url.substr(a.host);
}

class CurlTransport::Impl {
 public:
  explicit Impl(TransportSettings settings) : settings_(std::move(settings)) {
    init_curl();
    if (settings_.concurrency == 0) throw StoreError("HTTP concurrency must be at least 1");
    for (const auto& [name, value] : settings_.headers) {
      check_header(name, value);
      // "Name;" is curl's way to send a header with an empty value.
      append_header(headers_, value.empty() ? name + ";" : name + ": " + value);
    }
    user_agent_ = std::string("cuzarr/") + version();
    ca_bundle_ = ca_bundle();
    pool_.get();  // this process's pool now: a failure to make it is an error of the open
  }

  std::size_t concurrency() const { return settings_.concurrency; }

  bool run(const std::string& url, const std::string& shown, const Request& request, Response& response,
           const AnswerJudge& judge) const {
    RetryPolicy policy;
    policy.retries = settings_.retries;
    policy.budget = settings_.retry_budget;
    double waited = 0;
    for (std::size_t attempt = 0;; ++attempt) {
      if (request.grow != nullptr) request.grow->clear();
      response = Response(request);
      const Outcome outcome = attempt_once(url, request, response, judge);
      if (outcome.kind == Outcome::Done) return true;
      if (outcome.kind == Outcome::Missing) return false;
      if (outcome.kind == Outcome::Fail) throw StoreError(request.describe(shown) + ": " + outcome.why);
      // A throttled answer (429, 503, S3's SlowDown) may say how long to wait.
      std::optional<double> retry_after;
      if (!response.retry_after().empty()) retry_after = parse_retry_after(response.retry_after(), unix_now());
      const std::optional<double> wait = retry_delay(policy, attempt, waited, retry_after, jitter_unit());
      if (!wait) {
        throw StoreError(request.describe(shown) + ": " + outcome.why + " (after " + std::to_string(attempt + 1) +
                         (attempt == 0 ? " attempt" : " attempts") +
                         (attempt < policy.retries ? ", " + seconds_text(std::round(waited * 10) / 10) + " s of waiting" : std::string()) + ")");
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(*wait));
      waited += *wait;
    }
  }

 private:
  struct Pool;

  // One attempt in a place of the request window, which learns from how it went.
  Outcome attempt_once(const std::string& url, const Request& request, Response& response,
                       const AnswerJudge& judge) const {
    Pool& pool = pool_.get();  // this process's: a forked child never uses its parent's connections
    WindowSlot slot(pool.window);
    Lease lease(pool);
    CURL* h = lease.handle();
    const Outcome outcome = perform(h, pool, url, request, response, judge);
    slot.finish(window_signal(h, pool, outcome));
    return outcome;
  }

  // What an attempt tells the request window: a retryable failure or a connection that needed a
  // SYN retry to open (the server's listen queue overflowed) is overload; an answer over HTTP/1.0
  // (a server that closes every connection after one answer, as `python -m http.server`) caps
  // the window at kSmallServerConcurrency unless the concurrency was set by the user.
  RequestWindow::Signal window_signal(CURL* h, Pool& pool, const Outcome& outcome) const {
    if (outcome.kind == Outcome::Retry) return RequestWindow::Signal::Overloaded;
    if (outcome.kind == Outcome::Fail) return RequestWindow::Signal::Neutral;
    curl_off_t connect_us = 0;
    if (curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK && connect_us >= kSlowConnectUs) {
      return RequestWindow::Signal::Overloaded;
    }
    long version = 0;
    if (!settings_.concurrency_given && curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version) == CURLE_OK &&
        version == CURL_HTTP_VERSION_1_0) {
      pool.window.cap(kSmallServerConcurrency);
    }
    return RequestWindow::Signal::Done;
  }

  Outcome perform(CURL* h, Pool& pool, const std::string& url, const Request& request, Response& response,
                  const AnswerJudge& judge) const {
    curl_easy_reset(h);  // keeps the handle's live connections
    char errors[CURL_ERROR_SIZE] = {};
    Progress progress{settings_.timeout, Clock::now()};
    curl_easy_setopt(h, CURLOPT_SHARE, pool.share.get());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errors);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    // Redirects are followed below, not by libcurl: libcurl keeps custom headers (X-Api-Key, ...)
    // on a redirect to another host and follows https -> http.
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.timeout * 1000.0));
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &progress);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    Sink sink{&response, nullptr};
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    if (!ca_bundle_.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle_.c_str());
    if (request.want == Want::Head) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    const std::string range = request.range_header();
    if (!range.empty()) curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
    // This attempt's credentials (temporary ones may have been renewed since the last) and its
    // header list: the headers, plus the session token where there is one (an x-amz-* header,
    // so libcurl signs it) and the headers made for this attempt (a bearer token, a signature).
    AwsCredentials keys;
    std::vector<std::string> extra;
    try {
      if (!settings_.aws_sigv4.empty()) {
        keys = settings_.aws_credentials();
        if (!keys.token.empty()) extra.push_back("x-amz-security-token: " + keys.token);
      }
      if (settings_.attempt_headers) {
        const std::string range_value = range.empty() ? std::string() : "bytes=" + range;
        for (std::string& line : settings_.attempt_headers({request.want == Want::Head ? "HEAD" : "GET", url, range_value})) {
          extra.push_back(std::move(line));
        }
      }
    } catch (const StoreError& e) {
      return {Outcome::Fail, e.what()};  // expired and not renewable: named with the request
    }
    HeaderList attempt_list;
    if (!extra.empty()) {
      for (const curl_slist* item = headers_.get(); item != nullptr; item = item->next) append_header(attempt_list, item->data);
      for (const std::string& line : extra) append_header(attempt_list, line);
    }
    curl_slist* const headers = attempt_list ? attempt_list.get() : headers_.get();

    std::string current = url;
    bool foreign = false;  // a redirect left the origin: headers and credentials stay behind for good
    for (std::size_t hop = 0;; ++hop) {
      curl_easy_setopt(h, CURLOPT_URL, current.c_str());
      send_credentials(h, !foreign, headers, keys);
      const CURLcode rc = curl_easy_perform(h);
      if (sink.error) std::rethrow_exception(sink.error);
      // Stopped on purpose (the bytes asked for came, or an error page reached its cap): the
      // answer is judged as it stands.
      if (!(rc == CURLE_WRITE_ERROR && response.stopped_early())) {
        if (!response.problem().empty()) {
          return {response.problem_is_final() ? Outcome::Fail : Outcome::Retry, response.problem()};
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK && progress.timed_out) {
          return {Outcome::Retry, "no progress for " + seconds_text(settings_.timeout) + " s (the HTTP timeout)"};
        }
        if (rc != CURLE_OK) {
          std::string text = curl_easy_strerror(rc);
          if (errors[0] != '\0') text += std::string(": ") + errors;
          return {retryable(rc) ? Outcome::Retry : Outcome::Fail, text};
        }
      }
      const int status = response.status();
      const bool redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
      char* next = nullptr;
      if (redirect && settings_.follow_redirects && curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next) == CURLE_OK &&
          next != nullptr) {
        if (hop >= kMaxRedirects) return {Outcome::Fail, "more than " + std::to_string(kMaxRedirects) + " redirects"};
        const RedirectDecision decision = judge_redirect(current, next);
        if (decision.kind == RedirectDecision::Refused) return {Outcome::Fail, decision.why};
        foreign = foreign || decision.kind == RedirectDecision::OtherOrigin;
        current = next;
        if (request.grow != nullptr) request.grow->clear();
        response = Response(request);
        progress = Progress{settings_.timeout, Clock::now()};
        errors[0] = '\0';
        continue;
      }
      if (judge) {
        if (std::optional<Outcome> verdict = judge(response)) return *verdict;
      }
      return response.finish();
    }
  }

  // The custom headers and the AWS signature go only to the origin they were given for.
  void send_credentials(CURL* h, bool allowed, curl_slist* headers, const AwsCredentials& keys) const {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, allowed ? headers : nullptr);
    if (settings_.aws_sigv4.empty()) return;
    // libcurl computes the signature from these per request (and copies the strings); USERNAME
    // and PASSWORD apart, so a ':' in the secret needs no escaping.
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, allowed ? settings_.aws_sigv4.c_str() : nullptr);
    curl_easy_setopt(h, CURLOPT_USERNAME, allowed ? keys.key_id.c_str() : nullptr);
    curl_easy_setopt(h, CURLOPT_PASSWORD, allowed ? keys.secret.c_str() : nullptr);
  }

  static constexpr std::size_t kMaxRedirects = 8;
  // The request window's first width, its cap for servers that answer over HTTP/1.0, and the
  // connect time that means a SYN was dropped and sent again (Linux retries after 1 s).
  static constexpr std::size_t kInitialWindow = 16;
  static constexpr std::size_t kSmallServerConcurrency = 4;
  static constexpr curl_off_t kSlowConnectUs = 900000;

  // The easy handles (each with its live keep-alive connections) and the share (DNS cache, TLS
  // sessions) of one process, in a ProcessLocal: a forked child makes its own and leaves the
  // parent's alone (process_local.hpp says why they are never cleaned up there).
  struct Pool {
    explicit Pool(std::size_t concurrency) : window(concurrency, std::min(concurrency, kInitialWindow)) {
      share.reset(curl_share_init());
      if (!share) throw std::bad_alloc();
      curl_share_setopt(share.get(), CURLSHOPT_LOCKFUNC, &Pool::lock);
      curl_share_setopt(share.get(), CURLSHOPT_UNLOCKFUNC, &Pool::unlock);
      curl_share_setopt(share.get(), CURLSHOPT_USERDATA, this);
      curl_share_setopt(share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl_share_setopt(share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
      // Not CURL_LOCK_DATA_CONNECT: libcurl's shared connection cache is not thread-safe (its known
      // bug "A shared connection cache is not thread-safe"; reads from many threads crashed the
      // process now and then). Each pooled handle keeps its own connections alive instead.
    }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
      static_cast<Pool*>(user)->share_locks[static_cast<std::size_t>(data)].lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* user) {
      static_cast<Pool*>(user)->share_locks[static_cast<std::size_t>(data)].unlock();
    }

    std::mutex share_locks[CURL_LOCK_DATA_LAST];
    std::unique_ptr<CURLSH, ShareDelete> share;  // after the locks: cleaned up before them
    RequestWindow window;
    std::mutex mutex;
    std::vector<Easy> idle;  // after the share: every handle is cleaned up before it
  };

  // An easy handle for the length of one attempt (taken inside a place of the window, so at most
  // the window's ceiling exist at once).
  class Lease {
   public:
    explicit Lease(Pool& pool) : pool_(pool) {
      {
        std::lock_guard lock(pool_.mutex);
        if (!pool_.idle.empty()) {
          handle_ = std::move(pool_.idle.back());
          pool_.idle.pop_back();
        }
      }
      if (!handle_) handle_.reset(curl_easy_init());
      if (!handle_) throw StoreError("libcurl could not create a request handle");
    }
    ~Lease() {
      std::lock_guard lock(pool_.mutex);
      pool_.idle.push_back(std::move(handle_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CURL* handle() const { return handle_.get(); }

   private:
    Pool& pool_;
    Easy handle_;
  };

  TransportSettings settings_;
  std::string user_agent_;
  std::string ca_bundle_;  // empty: libcurl's default
  HeaderList headers_;
  ProcessLocal<Pool> pool_{[this] { return std::make_unique<Pool>(settings_.concurrency); }};
};

CurlTransport::CurlTransport(TransportSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}
CurlTransport::~CurlTransport() = default;

bool CurlTransport::run(const std::string& url, const std::string& shown, const Request& request,
                        Response& response, const AnswerJudge& judge) const {
  return impl_->run(url, shown, request, response, judge);
}

std::size_t CurlTransport::concurrency() const { return impl_->concurrency(); }

}  // namespace cuzarr::store
