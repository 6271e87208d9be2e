#include "security/plain_auth.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rfb/wire.h"

namespace vncd::security {
namespace {

using rfb::SecurityStep;

std::vector<uint8_t> plain_message(const std::string& user, const std::string& password) {
  rfb::ByteBuffer b;
  b.u32(static_cast<uint32_t>(user.size()));
  b.u32(static_cast<uint32_t>(password.size()));
  b.append(user);
  b.append(password);
  return std::vector<uint8_t>(b.span().begin(), b.span().end());
}

struct RecordingChecker {
  std::vector<std::string> calls;
  PasswordChecker checker() {
    return [this](const std::string& user, const std::string& password) -> Status {
      calls.push_back(user + ":" + password);
      if (password == "right") return {};
      return Error("wrong password");
    };
  }
};

TEST(ParsePlainUsers, SplitsTrimsAndRejectsBadNames) {
  auto users = parse_plain_users("alice, bob ,*");
  ASSERT_TRUE(users.ok()) << users.error().message();
  EXPECT_EQ(*users, (std::vector<std::string>{"alice", "bob", "*"}));
  for (const char* bad : {"", "alice,", ",bob", "al ice", "a\tb"}) {
    EXPECT_FALSE(parse_plain_users(bad).ok()) << '"' << bad << '"';
  }
  EXPECT_FALSE(parse_plain_users(std::string(kMaxPlainUsersLength + 1, 'a')).ok());
}

TEST(PlainUserAllowed, TigerVncPlainUsersRules) {
  EXPECT_TRUE(plain_user_allowed({"alice", "bob"}, "bob"));
  EXPECT_FALSE(plain_user_allowed({"alice", "bob"}, "mallory"));
  EXPECT_FALSE(plain_user_allowed({"alice"}, "Alice"));  // Case matters, as for Unix names.
  EXPECT_FALSE(plain_user_allowed({}, "alice"));         // Empty list: nobody.
  EXPECT_TRUE(plain_user_allowed({"*"}, "anyone"));
}

TEST(PlainAuth, AllowedUserWithRightPasswordSucceedsAndIsNamed) {
  RecordingChecker rec;
  PasswordChecker check = rec.checker();
  std::vector<std::string> allowed{"alice"};
  PlainAuthHandler h(allowed, check);
  rfb::ByteBuffer out;
  h.start(out);
  EXPECT_TRUE(out.empty());
  auto msg = plain_message("alice", "right");
  rfb::Reader in(msg);
  SecurityStep s = h.step(in, out);
  ASSERT_EQ(s.kind, SecurityStep::Kind::kSuccess) << s.reason;
  EXPECT_EQ(s.auth.user, "alice");
  EXPECT_FALSE(s.auth.view_only);
  EXPECT_EQ(in.consumed(), msg.size());
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"alice:right"}));
}

TEST(PlainAuth, WrongPasswordFailsWithAGenericReason) {
  RecordingChecker rec;
  PasswordChecker check = rec.checker();
  std::vector<std::string> allowed{"*"};
  PlainAuthHandler h(allowed, check);
  rfb::ByteBuffer out;
  auto msg = plain_message("alice", "wrong");
  rfb::Reader in(msg);
  SecurityStep s = h.step(in, out);
  ASSERT_EQ(s.kind, SecurityStep::Kind::kFailure);
  EXPECT_EQ(s.reason, "Authentication failed");
}

TEST(PlainAuth, UserNotInAllowListNeverReachesTheChecker) {
  RecordingChecker rec;
  PasswordChecker check = rec.checker();
  std::vector<std::string> allowed{"alice", "bob"};
  PlainAuthHandler h(allowed, check);
  rfb::ByteBuffer out;
  auto msg = plain_message("root", "right");
  rfb::Reader in(msg);
  EXPECT_EQ(h.step(in, out).kind, SecurityStep::Kind::kFailure);
  EXPECT_TRUE(rec.calls.empty());
}

TEST(PlainAuth, EmptyOrNulContainingNamesAreRefused) {
  RecordingChecker rec;
  PasswordChecker check = rec.checker();
  std::vector<std::string> allowed{"*"};
  for (const std::string& user : {std::string(), std::string("ali\0ce", 6)}) {
    PlainAuthHandler h(allowed, check);
    rfb::ByteBuffer out;
    auto msg = plain_message(user, "right");
    rfb::Reader in(msg);
    EXPECT_EQ(h.step(in, out).kind, SecurityStep::Kind::kFailure);
  }
  EXPECT_TRUE(rec.calls.empty());
}

TEST(PlainAuth, LengthsAreBoundedBeforeTheStringsArrive) {
  RecordingChecker rec;
  PasswordChecker check = rec.checker();
  std::vector<std::string> allowed{"*"};
  struct Case {
    uint32_t user_length, password_length;
    bool ok;
  };
  for (Case c : {Case{kPlainMaxUsernameLength + 1, 1, false},
                 Case{1, kPlainMaxPasswordLength + 1, false}, Case{0xFFFFFFFF, 0xFFFFFFFF, false},
                 Case{kPlainMaxUsernameLength, kPlainMaxPasswordLength, true}}) {
    PlainAuthHandler h(allowed, check);
    rfb::ByteBuffer b, out;
    b.u32(c.user_length);
    b.u32(c.password_length);
    rfb::Reader in(b.span());
    SecurityStep s = h.step(in, out);
    if (c.ok) {
      // Within bounds: waits for the strings, consuming nothing.
      EXPECT_EQ(s.kind, SecurityStep::Kind::kNeedMore);
      EXPECT_EQ(in.consumed(), 0u);
    } else {
      EXPECT_EQ(s.kind, SecurityStep::Kind::kFailure) << c.user_length << " " << c.password_length;
    }
  }
  EXPECT_TRUE(rec.calls.empty());
}

TEST(PlainAuth, ByteByByteNeedsMoreWithoutConsuming) {
  RecordingChecker rec;
  PasswordChecker check = rec.checker();
  std::vector<std::string> allowed{"bob"};
  PlainAuthHandler h(allowed, check);
  auto msg = plain_message("bob", "right");
  rfb::ByteBuffer out;
  for (size_t n = 0; n < msg.size(); ++n) {
    rfb::Reader in(std::span<const uint8_t>(msg).first(n));
    ASSERT_EQ(h.step(in, out).kind, SecurityStep::Kind::kNeedMore) << n;
    ASSERT_EQ(in.consumed(), 0u);
  }
  rfb::Reader in(msg);
  EXPECT_EQ(h.step(in, out).kind, SecurityStep::Kind::kSuccess);
}

TEST(PamChecker, UnknownUserIsRefusedWithoutBlocking) {
  // No account is needed: PAM refuses a user that does not exist (through pam_unix, or the
  // "other" service's pam_deny). The point is that it fails cleanly and quickly.
  PasswordChecker check = pam_checker(kDefaultPamService);
  auto started = std::chrono::steady_clock::now();
  Status s = check("vncd-no-such-user-4711", "password");
  EXPECT_FALSE(s.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

}  // namespace
}  // namespace vncd::security
