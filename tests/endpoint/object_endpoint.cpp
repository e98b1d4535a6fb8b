// cuzarr_object_endpoint: a test server that behaves like an object store on the network, for the
// tests and the network benchmark (bench/object_store.py). It serves one directory over HTTP/1.1
// in the URL forms of the three clouds' path-style APIs:
//   S3 and GCS's XML API   GET/HEAD /<bucket>/<key>            ListObjectsV2: /<bucket>?list-type=2
//   Azure Blob (Azurite)   GET/HEAD /<account>/<container>/<blob>  List Blobs: ?restype=container&comp=list
// and shapes its answers as the services do over a wide-area link:
//   --latency-ms L     every answer's first byte waits L ms after its request arrived (default 30)
//   --rate-mb R        each connection sends at most R MB/s (10^6 bytes; default 100; 0: unpaced)
//   --max-connections C   at most C connections are served at once; more wait in the listen queue
//                         (default 256)
//   --max-rps N        more than N requests in one second are answered 503 SlowDown (default 0: never)
// so that a client's throughput grows with its requests in flight, as against S3, GCS and Azure.
// Signatures and credentials are not checked (the tests' gateways do that); requests are counted
// (GET /_endpoint/stats answers JSON), and a path that would leave the directory is refused.
//
//   cuzarr_object_endpoint --root DIR --port P [--host 127.0.0.1] [--azure-account NAME] [options above]
//
// The directory's first level are the buckets (containers); with --azure-account NAME, paths that
// start with /NAME/ are Azure's and the account segment is dropped. One thread per connection:
// the threads mostly sleep (latency and pacing), and sendfile moves the bytes.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string root;
  std::string host = "127.0.0.1";
  int port = 0;
  double latency_ms = 30.0;
  double rate_mb = 100.0;
  int max_connections = 256;
  long max_rps = 0;
  std::string azure_account;
};

struct Stats {
  std::atomic<std::uint64_t> requests{0}, gets{0}, heads{0}, lists{0}, slowdowns{0}, bytes{0}, connections{0};
  std::atomic<int> open_connections{0}, max_open_connections{0};
};

Settings g_settings;
Stats g_stats;

// Connection slots: the accept loop takes one before accept() and a connection's thread gives it back.
std::mutex g_slot_mutex;
std::condition_variable g_slot_free;
int g_slots_used = 0;

// Requests per whole second, for --max-rps.
std::mutex g_rps_mutex;
std::int64_t g_rps_second = -1;
long g_rps_count = 0;

bool over_request_rate() {
  if (g_settings.max_rps <= 0) return false;
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(g_rps_mutex);
  if (now != g_rps_second) {
    g_rps_second = now;
    g_rps_count = 0;
  }
  return ++g_rps_count > g_settings.max_rps;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded ('+' stays: S3 paths keep it literal); nullopt for a malformed escape or a NUL.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      const char c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      out.push_back(c);
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    const std::size_t eq = part.find('=');
    const auto name = url_decode(part.substr(0, eq));
    const auto value = eq == std::string_view::npos ? std::optional<std::string>("") : url_decode(part.substr(eq + 1));
    if (name && value) out[*name] = *value;
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

struct Request {
  std::string method, path, query;
  std::map<std::string, std::string> headers;  // names in lower case
  bool keep_alive = true;
};

// Reads one request head into `req`; false when the peer closed or sent something unparsable.
// `pending` keeps bytes read past the head (a pipelined next request).
bool read_request(int fd, std::string& pending, Request& req) {
  std::size_t end;
  while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
    if (pending.size() > 65536) return false;
    char buf[8192];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
  const std::string head = pending.substr(0, end);
  pending.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const std::size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return false;
  req.method = first.substr(0, sp1);
  const std::string target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string version = first.substr(sp2 + 1);
  const std::size_t qm = target.find('?');
  req.path = target.substr(0, qm);
  req.query = qm == std::string::npos ? "" : target.substr(qm + 1);
  req.headers.clear();
  while (line_end != std::string::npos) {
    const std::size_t next = head.find("\r\n", line_end + 2);
    const std::string line = head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      req.headers[lower(line.substr(0, colon))] = line.substr(v);
    }
    line_end = next;
  }
  const auto conn = req.headers.find("connection");
  const std::string conn_value = conn == req.headers.end() ? "" : lower(conn->second);
  req.keep_alive = version == "HTTP/1.1" ? conn_value != "close" : conn_value == "keep-alive";
  // A request body (none of ours has one) is read and dropped so the next request parses.
  const auto length = req.headers.find("content-length");
  if (length != req.headers.end()) {
    const unsigned long long n = std::strtoull(length->second.c_str(), nullptr, 10);
    if (n > (1u << 20)) return false;
    while (pending.size() < n) {
      char buf[8192];
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) return false;
      pending.append(buf, static_cast<std::size_t>(r));
    }
    pending.erase(0, n);
  }
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 416: return "Range Not Satisfiable";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// Waits out the first-byte latency of a request that arrived at `arrived`.
void wait_latency(Clock::time_point arrived) {
  if (g_settings.latency_ms > 0) {
    std::this_thread::sleep_until(arrived + std::chrono::microseconds(static_cast<std::int64_t>(g_settings.latency_ms * 1000)));
  }
}

bool send_head(int fd, int status, std::uint64_t length, const std::string& extra, bool keep_alive) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  head += "Content-Length: " + std::to_string(length) + "\r\n";
  head += extra;
  head += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  head += "\r\n";
  return send_all(fd, head);
}

// A small answer with a body (error documents, listings, stats), paced like the rest.
bool answer(int fd, Clock::time_point arrived, int status, const std::string& content_type, const std::string& body,
            const std::string& extra, bool head_only, bool keep_alive) {
  wait_latency(arrived);
  if (!send_head(fd, status, body.size(), "Content-Type: " + content_type + "\r\n" + extra, keep_alive)) return false;
  if (head_only) return true;
  g_stats.bytes += body.size();
  return send_all(fd, body);
}

bool error_answer(int fd, Clock::time_point arrived, int status, const std::string& code, const std::string& message,
                  bool azure, bool head_only, bool keep_alive) {
  const std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" +
                           xml_escape(message) + "</Message></Error>";
  const std::string extra = azure ? "x-ms-error-code: " + code + "\r\n" : "";
  return answer(fd, arrived, status, "application/xml", body, extra, head_only, keep_alive);
}

// The file's bytes [first, first + count) at `rate_mb` per connection (a slice at a time, each
// sent no earlier than the rate allows).
bool send_file_range(int sock, int file, std::uint64_t first, std::uint64_t count) {
  const double rate = g_settings.rate_mb * 1e6;  // bytes per second
  const std::uint64_t slice = rate > 0 ? std::max<std::uint64_t>(16384, static_cast<std::uint64_t>(rate / 200)) : (8u << 20);
  const Clock::time_point start = Clock::now();
  off_t offset = static_cast<off_t>(first);
  std::uint64_t sent = 0;
  while (sent < count) {
    if (rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<std::int64_t>(sent / rate * 1e9)));
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(slice, count - sent));
    const ssize_t n = ::sendfile(sock, file, &offset, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::uint64_t>(n);
    g_stats.bytes += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Parses "bytes=a-b", "bytes=a-" or "bytes=-n" against a size; nullopt: unsatisfiable;
// {0, size} with `partial` false when there is no (usable) Range header.
struct Span {
  std::uint64_t first = 0, count = 0;
  bool partial = false;
};
std::optional<Span> parse_range(const std::string* header, std::uint64_t size) {
  Span whole{0, size, false};
  if (!header) return whole;
  std::string_view h(*header);
  if (h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos) return whole;
  h.remove_prefix(6);
  const std::size_t dash = h.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string a(h.substr(0, dash)), b(h.substr(dash + 1));
  if (a.empty()) {
    if (b.empty()) return whole;
    const std::uint64_t n = std::strtoull(b.c_str(), nullptr, 10);
    if (n == 0) return std::nullopt;
    const std::uint64_t take = std::min(n, size);
    return Span{size - take, take, true};
  }
  const std::uint64_t first = std::strtoull(a.c_str(), nullptr, 10);
  if (first >= size) return std::nullopt;
  std::uint64_t last = b.empty() ? size - 1 : std::strtoull(b.c_str(), nullptr, 10);
  if (last < first) return whole;
  last = std::min(last, size - 1);
  return Span{first, last - first + 1, true};
}

// A path below the root made of the URL's segments; nullopt when a segment is "..", ".", empty
// (a doubled '/') or the path does not decode.
std::optional<std::vector<std::string>> segments(const std::string& raw_path) {
  const auto path = url_decode(raw_path);
  if (!path || path->empty() || (*path)[0] != '/') return std::nullopt;
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i <= path->size()) {
    const std::size_t slash = path->find('/', i);
    const std::string seg = path->substr(i, slash == std::string::npos ? std::string::npos : slash - i);
    if (slash == std::string::npos && seg.empty()) break;  // a trailing '/'
    if (seg.empty() || seg == "." || seg == "..") return std::nullopt;
    out.push_back(seg);
    if (slash == std::string::npos) break;
    i = slash + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& segs, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < segs.size(); ++i) out += (out.empty() ? "" : "/") + segs[i];
  return out;
}

struct Entry {
  std::string name;  // full key below the bucket
  bool dir = false;
  std::uint64_t size = 0;
};

// One level of `bucket_dir` under `prefix` ('/' delimited), sorted by name.
std::vector<Entry> list_level(const std::string& bucket_dir, const std::string& prefix) {
  const std::size_t slash = prefix.rfind('/');
  const std::string parent = slash == std::string::npos ? "" : prefix.substr(0, slash + 1);
  const std::string stem = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
  std::vector<Entry> out;
  DIR* d = ::opendir((bucket_dir + "/" + parent).c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || name.compare(0, stem.size(), stem) != 0) continue;
    struct stat st {};
    if (::stat((bucket_dir + "/" + parent + name).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) out.push_back({parent + name + "/", true, 0});
    else if (S_ISREG(st.st_mode)) out.push_back({parent + name, false, static_cast<std::uint64_t>(st.st_size)});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string stats_json() {
  return "{\"requests\": " + std::to_string(g_stats.requests.load()) + ", \"gets\": " + std::to_string(g_stats.gets.load()) +
         ", \"heads\": " + std::to_string(g_stats.heads.load()) + ", \"lists\": " + std::to_string(g_stats.lists.load()) +
         ", \"slowdowns\": " + std::to_string(g_stats.slowdowns.load()) + ", \"bytes\": " +
         std::to_string(g_stats.bytes.load()) + ", \"connections\": " + std::to_string(g_stats.connections.load()) +
         ", \"max_open_connections\": " + std::to_string(g_stats.max_open_connections.load()) + "}";
}

// Answers one request; false when the connection must close.
bool serve(int fd, const Request& req, Clock::time_point arrived) {
  const bool head_only = req.method == "HEAD";
  const bool ka = req.keep_alive;
  if (req.path == "/_endpoint/stats") return answer(fd, arrived, 200, "application/json", stats_json(), "", head_only, ka) && ka;
  g_stats.requests++;
  auto segs = segments(req.path);
  bool azure = false;
  if (segs && !g_settings.azure_account.empty() && !segs->empty() && (*segs)[0] == g_settings.azure_account) {
    azure = true;
    segs->erase(segs->begin());
  }
  if (req.method != "GET" && req.method != "HEAD") {
    return error_answer(fd, arrived, 405, "MethodNotAllowed", "this endpoint only reads", azure, head_only, false) && false;
  }
  if (!segs || segs->empty()) {
    return error_answer(fd, arrived, 400, "InvalidURI", "not a bucket path: " + req.path, azure, head_only, ka) && ka;
  }
  if (over_request_rate()) {
    g_stats.slowdowns++;
    return error_answer(fd, arrived, 503, azure ? "ServerBusy" : "SlowDown", "Please reduce your request rate.", azure,
                        head_only, ka) &&
           ka;
  }
  const std::string bucket_dir = g_settings.root + "/" + (*segs)[0];
  if (!is_dir(bucket_dir)) {
    return error_answer(fd, arrived, 404, azure ? "ContainerNotFound" : "NoSuchBucket",
                        "The specified bucket does not exist.", azure, head_only, ka) &&
           ka;
  }
  const auto query = parse_query(req.query);
  const bool s3_list = query.count("list-type") != 0;
  const bool azure_list = query.count("comp") != 0 && query.at("comp") == "list";
  if (s3_list || azure_list) {
    g_stats.lists++;
    const std::string prefix = query.count("prefix") ? query.at("prefix") : "";
    const std::vector<Entry> entries = list_level(bucket_dir, prefix);
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    if (s3_list) {
      body += "<ListBucketResult><Name>" + xml_escape((*segs)[0]) + "</Name><Prefix>" + xml_escape(prefix) +
              "</Prefix><KeyCount>" + std::to_string(entries.size()) + "</KeyCount><IsTruncated>false</IsTruncated>";
      for (const Entry& e : entries) {
        if (e.dir) body += "<CommonPrefixes><Prefix>" + xml_escape(e.name) + "</Prefix></CommonPrefixes>";
        else body += "<Contents><Key>" + xml_escape(e.name) + "</Key><Size>" + std::to_string(e.size) + "</Size></Contents>";
      }
      body += "</ListBucketResult>";
    } else {
      body += "<EnumerationResults ContainerName=\"" + xml_escape((*segs)[0]) + "\"><Prefix>" + xml_escape(prefix) +
              "</Prefix><Blobs>";
      for (const Entry& e : entries) {
        if (e.dir) body += "<BlobPrefix><Name>" + xml_escape(e.name) + "</Name></BlobPrefix>";
        else body += "<Blob><Name>" + xml_escape(e.name) + "</Name><Properties><Content-Length>" +
                     std::to_string(e.size) + "</Content-Length></Properties></Blob>";
      }
      body += "</Blobs><NextMarker/></EnumerationResults>";
    }
    return answer(fd, arrived, 200, "application/xml", body, "", head_only, ka) && ka;
  }
  (head_only ? g_stats.heads : g_stats.gets)++;
  const std::string file = bucket_dir + "/" + join(*segs, 1);
  const int f = segs->size() < 2 ? -1 : ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (f < 0 || ::fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (f >= 0) ::close(f);
    return error_answer(fd, arrived, 404, azure ? "BlobNotFound" : "NoSuchKey", "The specified key does not exist.",
                        azure, head_only, ka) &&
           ka;
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const auto range_it = req.headers.find("range");
  const std::optional<Span> span = parse_range(range_it == req.headers.end() ? nullptr : &range_it->second, size);
  if (!span) {
    ::close(f);
    return error_answer(fd, arrived, 416, "InvalidRange", "The requested range is not satisfiable", azure, head_only, ka) &&
           ka;
  }
  std::string extra = "Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nETag: \"" +
                      std::to_string(st.st_ino) + "-" + std::to_string(size) + "\"\r\n";
  if (span->partial) {
    extra += "Content-Range: bytes " + std::to_string(span->first) + "-" + std::to_string(span->first + span->count - 1) +
             "/" + std::to_string(size) + "\r\n";
  }
  wait_latency(arrived);
  bool ok = send_head(fd, span->partial ? 206 : 200, span->count, extra, ka);
  if (ok && !head_only) ok = send_file_range(fd, f, span->first, span->count);
  ::close(f);
  return ok && ka;
}

void connection(int fd) {
  const int open_now = ++g_stats.open_connections;
  int seen = g_stats.max_open_connections.load();
  while (open_now > seen && !g_stats.max_open_connections.compare_exchange_weak(seen, open_now)) {
  }
  g_stats.connections++;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string pending;
  Request req;
  while (read_request(fd, pending, req)) {
    if (!serve(fd, req, Clock::now())) break;
  }
  ::close(fd);
  --g_stats.open_connections;
  {
    std::lock_guard<std::mutex> lock(g_slot_mutex);
    --g_slots_used;
  }
  g_slot_free.notify_one();
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "cuzarr_object_endpoint: %s\nusage: cuzarr_object_endpoint --root DIR --port P [--host H] "
               "[--latency-ms L] [--rate-mb R] [--max-connections C] [--max-rps N] [--azure-account NAME]\n",
               why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Settings& s = g_settings;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) usage(("a value is missing after " + name).c_str());
    const char* value = argv[++i];
    char* end = nullptr;
    if (name == "--root") s.root = value;
    else if (name == "--host") s.host = value;
    else if (name == "--azure-account") s.azure_account = value;
    else if (name == "--port") s.port = static_cast<int>(std::strtol(value, &end, 10));
    else if (name == "--latency-ms") s.latency_ms = std::strtod(value, &end);
    else if (name == "--rate-mb") s.rate_mb = std::strtod(value, &end);
    else if (name == "--max-connections") s.max_connections = static_cast<int>(std::strtol(value, &end, 10));
    else if (name == "--max-rps") s.max_rps = std::strtol(value, &end, 10);
    else usage(("unknown option " + name).c_str());
    if (end && *end) usage(("not a number: " + name + " " + value).c_str());
  }
  if (s.root.empty() || !is_dir(s.root)) usage("--root must name a directory");
  if (s.port <= 0 || s.port > 65535 || s.latency_ms < 0 || s.rate_mb < 0 || s.max_connections < 1 || s.max_rps < 0) {
    usage("a value is out of range");
  }
  ::signal(SIGPIPE, SIG_IGN);
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(s.port));
  if (::inet_pton(AF_INET, s.host.c_str(), &addr.sin_addr) != 1) usage("--host must be an IPv4 address");
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 4096) != 0) {
    std::fprintf(stderr, "cuzarr_object_endpoint: cannot listen on %s:%d: %s\n", s.host.c_str(), s.port, std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "cuzarr_object_endpoint: serving %s on %s:%d (latency %.1f ms, %.1f MB/s per connection, %d connections)\n",
               s.root.c_str(), s.host.c_str(), s.port, s.latency_ms, s.rate_mb, s.max_connections);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(g_slot_mutex);
      g_slot_free.wait(lock, [] { return g_slots_used < g_settings.max_connections; });
      ++g_slots_used;
    }
    int fd;
    do {
      fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd < 0) {
      std::fprintf(stderr, "cuzarr_object_endpoint: accept failed: %s\n", std::strerror(errno));
      return 1;
    }
    std::thread(connection, fd).detach();
  }
}
