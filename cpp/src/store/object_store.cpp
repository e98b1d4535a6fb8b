#include "store/object_store.hpp"

#include <set>

#include "cuzarr/error.hpp"
#include "cuzarr/store.hpp"

namespace cuzarr::store {

std::string sanitized(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= 300) {
      out += "...";
      break;
    }
    out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
  }
  return out;
}

ErrorDocument read_error_document(const Response& response) {
  ErrorDocument out;
  if (response.error_body().empty()) return out;
  try {
    const xml::Element doc = xml::parse(response.error_body());
    if (doc.name == "Error") {
      out.code = sanitized(doc.child_text("Code"));
      out.message = sanitized(doc.child_text("Message"));
    }
  } catch (const StoreError&) {
    // Not an error document (a proxy's page): judged by its status alone.
  }
  return out;
}

std::string status_text(int status, const ErrorDocument& error) {
  return "HTTP " + std::to_string(status) + (error.code.empty() ? "" : " " + error.code) +
         (error.message.empty() ? "" : ": " + error.message);
}

bool retryable_status(int status) { return status == 408 || status == 429 || (status >= 500 && status < 600); }

namespace {
bool retryable_code(const std::string& code) {
  return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" || code == "RequestTimeout" ||
         code == "OperationAborted" || code == "Throttling" || code == "ThrottlingException" ||
         code == "RequestLimitExceeded" || code == "ServerBusy" || code == "OperationTimedOut";
}
}  // namespace

std::optional<Outcome> judge_object_answer(const Response& response, std::string_view missing_code,
                                           const std::string& where,
                                           const std::function<std::string(const ErrorDocument&, int)>& hint) {
  const int status = response.status();
  if (status == 200 || status == 206) return std::nullopt;
  const ErrorDocument error = read_error_document(response);
  if (error.code == missing_code || (error.code.empty() && (status == 404 || status == 410))) {
    return Outcome{Outcome::Missing, {}};
  }
  const std::string why = status_text(status, error);
  if (retryable_code(error.code) || retryable_status(status)) return Outcome{Outcome::Retry, why};
  const std::string more = hint ? hint(error, status) : std::string();
  return Outcome{Outcome::Fail, why + " (" + where + (more.empty() ? "" : "; " + more) + ")"};
}

BucketPath split_bucket_path(std::string_view rest, const std::function<void(const std::string&)>& check_bucket) {
  const std::size_t slash = rest.find('/');
  BucketPath out;
  out.bucket = std::string(rest.substr(0, slash));
  check_bucket(out.bucket);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (!prefix.empty()) {
      validate_key(prefix);
      out.prefix = std::string(prefix);
    }
  }
  return out;
}

std::optional<std::vector<std::string>> list_children(
    const std::string& dir, const std::string& shown,
    const std::function<std::optional<ListPage>(const std::string&)>& page) {
  std::set<std::string> names;
  std::set<std::string> tokens_seen;
  std::string token;
  for (;;) {
    std::optional<ListPage> p = page(token);
    if (!p) return std::nullopt;
    for (std::string& name : p->names) {
      if (!name.starts_with(dir)) continue;  // a server that ignored the prefix
      name.erase(0, dir.size());
      if (!name.empty() && name.find('/') == std::string::npos) names.insert(std::move(name));
    }
    if (p->next.empty()) break;
    if (!tokens_seen.insert(p->next).second) {
      throw StoreError("listing " + shown + ": the server repeated a continuation token (a listing that never ends)");
    }
    token = std::move(p->next);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::optional<xml::Element> fetch_xml(const CurlTransport& transport, const std::string& url, const std::string& shown,
                                      const std::string& what, const std::string& root, const AnswerJudge& judge) {
  Buffer out;
  std::vector<std::byte> grow;
  Request request{Want::Whole};
  request.out = &out;
  request.grow = &grow;
  Response response(request);
  if (!transport.run(url, shown + " (" + what + ")", request, response, judge)) return std::nullopt;
  const Buffer body = response.result();
  const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  xml::Element doc;
  try {
    doc = xml::parse(text);
  } catch (const StoreError& e) {
    throw StoreError("listing " + shown + ": the answer is not a " + what + " result: " + e.what());
  }
  if (doc.name != root) {
    throw StoreError("listing " + shown + ": the answer is a <" + doc.name + "> document, not <" + root + ">");
  }
  return doc;
}

std::optional<ListPage> list_objects_v2_page(const CurlTransport& transport, const std::string& bucket_url,
                                             const std::string& dir, const std::string& token,
                                             const std::string& shown, const AnswerJudge& judge) {
  // Query parameters in the order AWS Signature V4 sorts them, each encoded as it encodes them,
  // so the query libcurl signs is already canonical.
  std::string query = "?";
  if (!token.empty()) query += "continuation-token=" + percent_encode(token, false) + "&";
  query += "delimiter=%2F&list-type=2&prefix=" + percent_encode(dir, false);
  const std::optional<xml::Element> doc =
      fetch_xml(transport, bucket_url + "/" + query, shown, "ListObjectsV2", "ListBucketResult", judge);
  if (!doc) return std::nullopt;
  ListPage page;
  for (const xml::Element& item : doc->children) {
    if (item.name == "Contents") {
      page.names.push_back(item.child_text("Key"));
    } else if (item.name == "CommonPrefixes") {
      std::string name = item.child_text("Prefix");
      while (!name.empty() && name.back() == '/') name.pop_back();
      page.names.push_back(std::move(name));
    }
  }
  if (doc->child_text("IsTruncated") == "true") {
    page.next = doc->child_text("NextContinuationToken");
    if (page.next.empty()) throw StoreError("listing " + shown + ": a truncated page without a NextContinuationToken");
  }
  return page;
}

ObjectBackend::ObjectBackend(std::string scheme, BucketPath location)
    : scheme_(std::move(scheme)),
      location_(std::move(location)),
      display_(scheme_ + location_.bucket + (location_.prefix.empty() ? "" : "/" + location_.prefix)) {}

bool ObjectBackend::fetch(std::string_view key, const Request& request, Response& response) const {
  validate_key(key);
  const std::string full = join_key(location_.prefix, key);
  return transport().run(object_url(full), scheme_ + location_.bucket + "/" + full, request, response,
                         [&](const Response& r) { return judge(r, full); });
}

std::string ObjectBackend::object_url(const std::string& full) const {
  return bucket_url() + "/" + percent_encode(full, /*keep_slash=*/true);
}

std::optional<ListPage> ObjectBackend::list_page(const std::string& dir, const std::string& token, const std::string& shown,
                                                 const AnswerJudge& judge) const {
  return list_objects_v2_page(transport(), bucket_url(), dir, token, shown, judge);
}

std::vector<std::string> ObjectBackend::list_dir(std::string_view prefix) const {
  if (!prefix.empty()) validate_key(prefix);
  std::string dir = join_key(location_.prefix, prefix);
  if (!dir.empty()) dir += '/';
  const std::string shown = scheme_ + location_.bucket + "/" + dir;
  const AnswerJudge answer_judge = [&](const Response& r) { return judge(r, dir); };
  return list_children(dir, shown, [&](const std::string& token) { return list_page(dir, token, shown, answer_judge); })
      .value_or(std::vector<std::string>{});
}

}  // namespace cuzarr::store

namespace cuzarr {

ObjectStore::ObjectStore(std::unique_ptr<store::ObjectBackend> backend) : backend_(std::move(backend)) {}

ObjectStore::~ObjectStore() = default;

bool ObjectStore::fetch(std::string_view key, const store::Request& request, store::Response& response) const {
  return backend_->fetch(key, request, response);
}

std::vector<std::string> ObjectStore::list_dir(std::string_view prefix) const { return backend_->list_dir(prefix); }

std::string ObjectStore::describe() const { return backend_->display(); }

std::size_t ObjectStore::preferred_concurrency() const { return backend_->concurrency(); }

}  // namespace cuzarr
