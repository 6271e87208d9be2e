#include "security/vnc_auth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <string>
#include <vector>

#include "rfb/wire.h"
#include "security/des.h"
#include "test_util.h"

namespace vncd::security {
namespace {

using rfb::SecurityStep;
using test::from_hex;
using test::to_hex;

VncChallenge counting_challenge() {
  VncChallenge c{};
  std::iota(c.begin(), c.end(), uint8_t{0});
  return c;
}

ChallengeSource fixed_source(VncChallenge c) {
  return [c](std::span<uint8_t, kVncAuthChallengeSize> out) {
    std::copy(c.begin(), c.end(), out.begin());
    return Status();
  };
}

TEST(VncDesKey, ReversesBitsOfEachPasswordByteAndPadsWithZeros) {
  // 'p' = 0x70 = 01110000 -> 00001110; 'a' = 0x61 = 01100001 -> 10000110.
  EXPECT_EQ(to_hex(vnc_des_key("pa")), "0e86000000000000");
  EXPECT_EQ(to_hex(vnc_des_key("password")), "0e86ceceeef64e26");
  EXPECT_EQ(to_hex(vnc_des_key("")), "0000000000000000");
  // Only 8 bytes count.
  EXPECT_EQ(vnc_des_key("passwordandmore"), vnc_des_key("password"));
  // The vncpasswd obfuscation key in FIPS order, as other tools (e.g. `openssl enc -des-ecb -K`)
  // need it: a widely published value.
  const DesKey d3des_key = {23, 82, 107, 6, 35, 78, 88, 7};
  EXPECT_EQ(to_hex(reverse_key_bits(d3des_key)), "e84ad660c4721ae0");
  EXPECT_EQ(reverse_key_bits(reverse_key_bits(d3des_key)), d3des_key);
}

// Expected responses were produced by LibVNCServer 0.9.14's rfbEncryptBytes (its own d3des, an
// implementation independent of ours) for the challenge 00 01 02 ... 0f; "password" was also
// checked with `openssl enc -des-ecb -K 0e86ceceeef64e26`.
TEST(VncAuthResponse, MatchesLibVncServer) {
  const VncChallenge challenge = counting_challenge();
  struct Case {
    const char* password;
    const char* response;
  };
  static constexpr Case kCases[] = {
      {"secret", "ee22539f33a5983ec12f9c2edbc995dd"},
      {"password", "b866924125c8eebb9debc1db61c538e2"},
      {"longerpassword123", "e643133ce9c50a862501251cc33e1e39"},  // Truncated to "longerpa".
      {"a", "449407fb6f71bd517aca76866568a4e2"},
      {"view12", "bb2204949f5a0a8d111d14c7ab3fc045"},
      {"12345678", "83dd2b4dbd04367f28578fdd5b142740"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(to_hex(vnc_auth_response(c.password, challenge)), c.response) << c.password;
  }
  VncChallenge other{};
  auto bytes = from_hex("f0e1d2c3b4a5968778695a4b3c2d1e0f");
  std::copy(bytes.begin(), bytes.end(), other.begin());
  EXPECT_EQ(to_hex(vnc_auth_response("secret", other)), "53adb6ba5930f99bd9d8454d317d0340");
}

// Each half is encrypted on its own (ECB): equal halves give equal halves.
TEST(VncAuthResponse, EncryptsHalvesIndependently) {
  VncChallenge c{};
  std::fill(c.begin(), c.end(), uint8_t{0x42});
  VncResponse r = vnc_auth_response("secret", c);
  EXPECT_TRUE(std::equal(r.begin(), r.begin() + 8, r.begin() + 8));
  EXPECT_NE(to_hex(r), to_hex(c));
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  std::vector<uint8_t> a = {1, 2, 3, 4};
  std::vector<uint8_t> b = a;
  EXPECT_TRUE(constant_time_equal(a, b));
  for (size_t i = 0; i < b.size(); ++i) {
    b[i] ^= 0x80;
    EXPECT_FALSE(constant_time_equal(a, b)) << i;
    b[i] ^= 0x80;
  }
  EXPECT_FALSE(constant_time_equal(a, std::vector<uint8_t>{1, 2, 3}));
  EXPECT_TRUE(constant_time_equal(std::vector<uint8_t>{}, std::vector<uint8_t>{}));
}

TEST(SystemRandom, FillsWithFreshBytes) {
  ChallengeSource source = system_challenge_source();
  VncChallenge a{};
  VncChallenge b{};
  ASSERT_TRUE(source(a).ok());
  ASSERT_TRUE(source(b).ok());
  // Two 128-bit draws from the kernel collide with probability 2^-128.
  EXPECT_NE(a, b);
  std::vector<uint8_t> big(4096, 0);
  ASSERT_TRUE(system_random(big).ok());
  EXPECT_GT(std::count_if(big.begin(), big.end(), [](uint8_t v) { return v != 0; }), 3900);
}

// Drives a handler the way the connection does.
class VncAuthHandlerTest : public ::testing::Test {
 protected:
  SecurityStep answer(VncAuthHandler& h, std::span<const uint8_t> response, size_t* consumed) {
    rfb::Reader in(response);
    rfb::ByteBuffer out;
    SecurityStep s = h.step(in, out);
    *consumed = in.consumed();
    EXPECT_TRUE(out.empty());
    return s;
  }

  std::vector<uint8_t> started(VncAuthHandler& h) {
    rfb::ByteBuffer out;
    h.start(out);
    return {out.span().begin(), out.span().end()};
  }

  VncChallenge challenge_ = counting_challenge();
};

TEST_F(VncAuthHandlerTest, SendsChallengeAndAcceptsFullPassword) {
  VncAuthHandler h(VncPasswords{"secret", ""}, fixed_source(challenge_));
  EXPECT_EQ(h.type(), rfb::security::kVncAuth);
  std::vector<uint8_t> sent = started(h);
  ASSERT_EQ(sent.size(), kVncAuthChallengeSize);
  EXPECT_TRUE(std::equal(sent.begin(), sent.end(), challenge_.begin()));

  VncResponse r = vnc_auth_response("secret", challenge_);
  size_t consumed = 99;
  SecurityStep s = answer(h, std::span<const uint8_t>(r).first(15), &consumed);
  EXPECT_EQ(s.kind, SecurityStep::Kind::kNeedMore);
  EXPECT_EQ(consumed, 0u);

  std::vector<uint8_t> with_extra(r.begin(), r.end());
  with_extra.push_back(0xaa);  // The next message's first byte must be left alone.
  s = answer(h, with_extra, &consumed);
  EXPECT_EQ(s.kind, SecurityStep::Kind::kSuccess);
  EXPECT_FALSE(s.auth.view_only);
  EXPECT_EQ(consumed, kVncAuthResponseSize);
}

TEST_F(VncAuthHandlerTest, WrongResponseFailsWithPlainReason) {
  VncAuthHandler h(VncPasswords{"secret", "view12"}, fixed_source(challenge_));
  started(h);
  VncResponse r = vnc_auth_response("secreT", challenge_);
  size_t consumed = 0;
  SecurityStep s = answer(h, r, &consumed);
  EXPECT_EQ(s.kind, SecurityStep::Kind::kFailure);
  EXPECT_EQ(s.reason, "Authentication failed");
  EXPECT_EQ(consumed, kVncAuthResponseSize);
}

TEST_F(VncAuthHandlerTest, ResponseForAnotherChallengeFails) {
  VncAuthHandler h(VncPasswords{"secret", ""}, fixed_source(challenge_));
  started(h);
  VncChallenge other = challenge_;
  other[15] ^= 1;
  size_t consumed = 0;
  EXPECT_EQ(answer(h, vnc_auth_response("secret", other), &consumed).kind,
            SecurityStep::Kind::kFailure);
}

TEST_F(VncAuthHandlerTest, ViewOnlyPasswordGivesViewOnlySession) {
  VncAuthHandler h(VncPasswords{"secret", "view12"}, fixed_source(challenge_));
  started(h);
  size_t consumed = 0;
  SecurityStep s = answer(h, vnc_auth_response("view12", challenge_), &consumed);
  ASSERT_EQ(s.kind, SecurityStep::Kind::kSuccess);
  EXPECT_TRUE(s.auth.view_only);
}

TEST_F(VncAuthHandlerTest, PasswordsCountOnlyTheirFirstEightBytes) {
  VncAuthHandler h(VncPasswords{"longerpassword123", ""}, fixed_source(challenge_));
  started(h);
  size_t consumed = 0;
  SecurityStep s = answer(h, vnc_auth_response("longerpa", challenge_), &consumed);
  EXPECT_EQ(s.kind, SecurityStep::Kind::kSuccess);
}

TEST_F(VncAuthHandlerTest, FullAccessWinsWhenBothPasswordsMatch) {
  VncAuthHandler h(VncPasswords{"samepass", "samepass-but-longer"}, fixed_source(challenge_));
  started(h);
  size_t consumed = 0;
  SecurityStep s = answer(h, vnc_auth_response("samepass", challenge_), &consumed);
  ASSERT_EQ(s.kind, SecurityStep::Kind::kSuccess);
  EXPECT_FALSE(s.auth.view_only);
}

// An empty password means "not configured": the all-zero key must never open the door.
TEST_F(VncAuthHandlerTest, EmptyPasswordsAreNeverAccepted) {
  VncAuthHandler h(VncPasswords{"", ""}, fixed_source(challenge_));
  started(h);
  size_t consumed = 0;
  EXPECT_EQ(answer(h, vnc_auth_response("", challenge_), &consumed).kind,
            SecurityStep::Kind::kFailure);

  VncAuthHandler h2(VncPasswords{"secret", ""}, fixed_source(challenge_));
  started(h2);
  EXPECT_EQ(answer(h2, vnc_auth_response("", challenge_), &consumed).kind,
            SecurityStep::Kind::kFailure);
}

TEST_F(VncAuthHandlerTest, FailingChallengeSourceFailsTheExchangeWithReason) {
  VncAuthHandler h(VncPasswords{"secret", ""},
                   [](std::span<uint8_t, kVncAuthChallengeSize>) -> Status {
                     return Error("entropy unavailable");
                   });
  std::vector<uint8_t> sent = started(h);
  ASSERT_EQ(sent.size(), kVncAuthChallengeSize);
  EXPECT_TRUE(std::all_of(sent.begin(), sent.end(), [](uint8_t b) { return b == 0; }));
  // Even the right answer to the all-zero challenge is refused.
  VncChallenge zeros{};
  size_t consumed = 0;
  SecurityStep s = answer(h, vnc_auth_response("secret", zeros), &consumed);
  EXPECT_EQ(s.kind, SecurityStep::Kind::kFailure);
  EXPECT_NE(s.reason.find("entropy unavailable"), std::string::npos);
  EXPECT_EQ(consumed, kVncAuthResponseSize);
}

TEST(VncAuthHandler, NullSourceUsesRandomChallenges) {
  VncAuthHandler a(VncPasswords{"secret", ""}, nullptr);
  VncAuthHandler b(VncPasswords{"secret", ""}, nullptr);
  rfb::ByteBuffer out_a;
  rfb::ByteBuffer out_b;
  a.start(out_a);
  b.start(out_b);
  ASSERT_EQ(out_a.size(), kVncAuthChallengeSize);
  ASSERT_EQ(out_b.size(), kVncAuthChallengeSize);
  EXPECT_FALSE(std::equal(out_a.span().begin(), out_a.span().end(), out_b.span().begin()));

  // And the handler checks against the challenge it actually sent.
  VncChallenge sent{};
  std::copy(out_a.span().begin(), out_a.span().end(), sent.begin());
  VncResponse r = vnc_auth_response("secret", sent);
  rfb::Reader in(r);
  rfb::ByteBuffer out;
  EXPECT_EQ(a.step(in, out).kind, SecurityStep::Kind::kSuccess);
}

}  // namespace
}  // namespace vncd::security
