#include "security/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "rfb/wire.h"
#include "security/none_security.h"

namespace vncd::security {
namespace {

using rfb::SecurityStep;

TEST(ParseSecurityList, KeepsOrder) {
  auto types = parse_security_list("none,vncauth");
  ASSERT_TRUE(types.ok()) << types.error().message();
  EXPECT_EQ(*types, (std::vector<uint8_t>{rfb::security::kNone, rfb::security::kVncAuth}));
  types = parse_security_list("vncauth,none");
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(*types, (std::vector<uint8_t>{rfb::security::kVncAuth, rfb::security::kNone}));
  types = parse_security_list("vncauth");
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(*types, (std::vector<uint8_t>{rfb::security::kVncAuth}));
}

TEST(ParseSecurityList, IgnoresCaseAndSpacesAroundNames) {
  auto types = parse_security_list(" VncAuth , None ");
  ASSERT_TRUE(types.ok()) << types.error().message();
  EXPECT_EQ(*types, (std::vector<uint8_t>{rfb::security::kVncAuth, rfb::security::kNone}));
}

TEST(ParseSecurityList, UnknownNameListsKnownOnes) {
  auto types = parse_security_list("none,tls");
  ASSERT_FALSE(types.ok());
  EXPECT_EQ(types.error().message(),
            "unknown security type \"tls\"; known types: none, vncauth, plain, tlsnone, tlsvnc, "
            "tlsplain, x509none, x509vnc, x509plain");
}

TEST(ParseSecurityList, RejectsEmptyDuplicateAndOversizedLists) {
  for (const char* bad : {"", "  ", "none,", ",none", "none,,vncauth"}) {
    auto types = parse_security_list(bad);
    EXPECT_FALSE(types.ok()) << '"' << bad << '"';
  }
  EXPECT_NE(parse_security_list("").error().message().find("known types: none, vncauth"),
            std::string::npos);
  auto dup = parse_security_list("none,NONE");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message(), "security type none is listed twice");
  std::string huge(kMaxSecurityListLength + 1, 'n');
  auto big = parse_security_list(huge);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("too long"), std::string::npos);
}

TEST(SecurityTypeName, NamesBuiltInTypes) {
  EXPECT_EQ(security_type_name(rfb::security::kNone), "none");
  EXPECT_EQ(security_type_name(rfb::security::kVncAuth), "vncauth");
  EXPECT_EQ(security_type_name(200), "unknown");
}

TEST(SecurityRegistry, VncAuthWithoutPasswordExplainsPasswordFile) {
  auto reg = SecurityRegistry::make(SecurityConfig{.types = "none,vncauth"});
  ASSERT_FALSE(reg.ok());
  EXPECT_NE(reg.error().message().find("--password-file"), std::string::npos)
      << reg.error().message();
}

TEST(SecurityRegistry, PassesOnListErrors) {
  auto reg = SecurityRegistry::make(SecurityConfig{.types = "nonsense"});
  ASSERT_FALSE(reg.ok());
  EXPECT_NE(reg.error().message().find("unknown security type \"nonsense\""), std::string::npos);
}

TEST(SecurityRegistry, NoneOnlyNeedsNoPassword) {
  auto reg = SecurityRegistry::make(SecurityConfig{.types = "none"});
  ASSERT_TRUE(reg.ok()) << reg.error().message();
  EXPECT_EQ(reg->offered(), (std::vector<uint8_t>{rfb::security::kNone}));
  auto h = reg->create(rfb::security::kNone);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->type(), rfb::security::kNone);
}

TEST(SecurityRegistry, OffersInConfiguredOrderAndCreatesWorkingHandlers) {
  VncChallenge challenge{};
  std::iota(challenge.begin(), challenge.end(), uint8_t{100});
  SecurityConfig config{
      .types = "vncauth,none",
      .vnc_passwords = {"secret", "view12"},
      .challenge_source =
          [challenge](std::span<uint8_t, kVncAuthChallengeSize> out) {
            std::copy(challenge.begin(), challenge.end(), out.begin());
            return Status();
          },
  };
  auto reg = SecurityRegistry::make(config);
  ASSERT_TRUE(reg.ok()) << reg.error().message();
  rfb::SecurityProvider& provider = *reg;
  EXPECT_EQ(provider.offered(),
            (std::vector<uint8_t>{rfb::security::kVncAuth, rfb::security::kNone}));

  // Each create() gives a fresh handler; both run a full exchange.
  for (const char* password : {"secret", "view12"}) {
    auto h = provider.create(rfb::security::kVncAuth);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->type(), rfb::security::kVncAuth);
    rfb::ByteBuffer out;
    h->start(out);
    ASSERT_EQ(out.size(), kVncAuthChallengeSize);
    EXPECT_TRUE(std::equal(challenge.begin(), challenge.end(), out.span().begin()));
    VncResponse r = vnc_auth_response(password, challenge);
    rfb::Reader in(r);
    rfb::ByteBuffer reply;
    SecurityStep s = h->step(in, reply);
    ASSERT_EQ(s.kind, SecurityStep::Kind::kSuccess) << password;
    EXPECT_EQ(s.auth.view_only, std::string(password) == "view12");
  }
}

TEST(NoneSecurity, SucceedsAtOnceWithoutBytes) {
  NoneSecurityHandler h;
  EXPECT_EQ(h.type(), rfb::security::kNone);
  rfb::ByteBuffer out;
  h.start(out);
  EXPECT_TRUE(out.empty());
  std::vector<uint8_t> nothing;
  rfb::Reader empty(nothing);
  SecurityStep s = h.step(empty, out);
  EXPECT_EQ(s.kind, SecurityStep::Kind::kSuccess);
  EXPECT_FALSE(s.auth.view_only);
  EXPECT_TRUE(out.empty());

  // Bytes that follow belong to the next phase (ClientInit): None leaves them alone.
  NoneSecurityHandler h2;
  std::vector<uint8_t> client_init = {1};
  rfb::Reader in(client_init);
  EXPECT_EQ(h2.step(in, out).kind, SecurityStep::Kind::kSuccess);
  EXPECT_EQ(in.consumed(), 0u);
}

}  // namespace
}  // namespace vncd::security
