// Temporary AWS credentials without a server: the JSON the container and instance credential
// endpoints answer, when credentials are due for renewal, and the provider that renews them
// (driven by a fake clock and a fake fetch).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "cuzarr/error.hpp"
#include "store/aws_credentials.hpp"

namespace {

using cuzarr::StoreError;
using cuzarr::store::AwsCredentials;
using cuzarr::store::CredentialsProvider;
using cuzarr::store::parse_credentials_json;
using cuzarr::store::refresh_due;

TEST(CredentialsJson, ContainerAndInstanceAnswers) {
  const AwsCredentials c = parse_credentials_json(
      R"({"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s/e+c=r", "Token": "tok", "Expiration": "1994-11-06T08:49:37Z",
          "RoleArn": "arn:aws:iam::1:role/x"})",
      "test");
  EXPECT_EQ(c.key_id, "ASIAEXAMPLE");
  EXPECT_EQ(c.secret, "s/e+c=r");
  EXPECT_EQ(c.token, "tok");
  EXPECT_EQ(c.expiration, 784111777);
  const AwsCredentials imds = parse_credentials_json(
      R"({"Code": "Success", "LastUpdated": "2026-12-07T01:00:00Z", "Type": "AWS-HMAC", "AccessKeyId": "A",
          "SecretAccessKey": "B", "Token": "C", "Expiration": "2026-12-07T07:00:00Z"})",
      "test");
  EXPECT_EQ(imds.key_id, "A");
  EXPECT_TRUE(imds.expiration.has_value());
  const AwsCredentials fixed = parse_credentials_json(R"({"AccessKeyId": "A", "SecretAccessKey": "B"})", "test");
  EXPECT_TRUE(fixed.token.empty());
  EXPECT_FALSE(fixed.expiration.has_value());
}

TEST(CredentialsJson, RefusalsNameTheFieldNeverTheValue) {
  const char* secret = "do-not-show-this-secret";
  for (const char* doc : {"not json", "[]", R"({"AccessKeyId": "A"})",
                                R"({"AccessKeyId": 5, "SecretAccessKey": "do-not-show-this-secret"})",
                                R"({"AccessKeyId": "", "SecretAccessKey": "do-not-show-this-secret"})",
                                R"({"AccessKeyId": "A", "SecretAccessKey": "do-not-show-this-secret\n"})",
                                R"({"AccessKeyId": "A", "SecretAccessKey": "do-not-show-this-secret", "Expiration": "tomorrow"})",
                                R"({"Code": "AssumeRoleUnauthorizedAccess", "AccessKeyId": "A", "SecretAccessKey": "do-not-show-this-secret"})"}) {
    try {
      parse_credentials_json(doc, "the endpoint");
      FAIL() << doc;
    } catch (const StoreError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("the endpoint"), std::string::npos) << msg;
      EXPECT_EQ(msg.find(secret), std::string::npos) << msg;
    }
  }
}

TEST(RefreshDue, FiveMinutesAheadButNotBeforeHalfTheLifetime) {
  // One hour credentials: renewed five minutes before they expire.
  EXPECT_FALSE(refresh_due(1000 + 3299, 1000, 1000 + 3600));
  EXPECT_TRUE(refresh_due(1000 + 3300, 1000, 1000 + 3600));
  // Four-second credentials: after two seconds, not on every request.
  EXPECT_FALSE(refresh_due(1001, 1000, 1004));
  EXPECT_TRUE(refresh_due(1002, 1000, 1004));
  // Already expired when fetched: at most once a second.
  EXPECT_FALSE(refresh_due(1000, 1000, 900));
  EXPECT_TRUE(refresh_due(1001, 1000, 900));
}

struct FakeClock {
  std::int64_t now = 1000;
};

TEST(CredentialsProvider, RenewsBeforeExpiryAndKeepsOldOnesWhileValid) {
  FakeClock clock;
  int fetches = 0;
  bool fail = false;
  CredentialsProvider p(
      [&] {
        if (fail) throw StoreError("the endpoint is down");
        ++fetches;
        return AwsCredentials{"KEY" + std::to_string(fetches), "secret", "token", clock.now + 3600};
      },
      "a fake endpoint", [&] { return clock.now; });
  EXPECT_EQ(p.current().key_id, "KEY1");
  clock.now += 3000;
  EXPECT_EQ(p.current().key_id, "KEY1");
  clock.now += 400;  // within five minutes of the expiration
  EXPECT_EQ(p.current().key_id, "KEY2");
  EXPECT_EQ(fetches, 2);
  // A failed renewal keeps the valid credentials, and is not tried on every request.
  clock.now += 3400;
  fail = true;
  EXPECT_EQ(p.current().key_id, "KEY2");
  fail = false;
  EXPECT_EQ(p.current().key_id, "KEY2");  // within the ten seconds before the next try
  clock.now += 10;
  EXPECT_EQ(p.current().key_id, "KEY3");
  // Expired and not renewable: an error that says so.
  fail = true;
  clock.now += 4000;
  try {
    p.current();
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("have expired"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a fake endpoint"), std::string::npos) << e.what();
  }
}

TEST(CredentialsProvider, FixedOnesNeverChange) {
  CredentialsProvider p(AwsCredentials{"A", "B", "", 5});  // an expiration is ignored
  EXPECT_EQ(p.current().key_id, "A");
  EXPECT_FALSE(p.current().expiration.has_value());
}

TEST(CredentialsProvider, OneRenewalForManyThreads) {
  std::atomic<std::int64_t> now{1000};
  std::atomic<int> fetches{0};
  CredentialsProvider p(
      [&] {
        const int n = ++fetches;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return AwsCredentials{"KEY" + std::to_string(n), "s", "t", now.load() + 3600};
      },
      "fake", [&] { return now.load(); });
  now += 3500;
  std::vector<std::thread> threads;
  std::atomic<int> renewed{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (p.current().key_id == "KEY2") ++renewed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fetches.load(), 2);
  EXPECT_EQ(renewed.load(), 8);
}

}  // namespace
