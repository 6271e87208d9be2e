#include "security/vencrypt.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rfb/connection.h"
#include "rfb/wire.h"
#include "security/none_security.h"
#include "security/plain_auth.h"
#include "security/registry.h"
#include "security/vnc_auth.h"
#include "tls_test_support.h"

namespace vncd::security {
namespace {

using rfb::SecurityStep;

std::vector<uint8_t> to_vec(const rfb::ByteBuffer& b) {
  return std::vector<uint8_t>(b.span().begin(), b.span().end());
}

std::vector<uint8_t> u32s(std::initializer_list<uint32_t> values) {
  rfb::ByteBuffer b;
  for (uint32_t v : values) b.u32(v);
  return to_vec(b);
}

// A layer that only records that it was asked for (the handler never runs it).
struct MarkerLayer : rfb::TransportLayer {
  std::unique_ptr<rfb::Transport> wrap(std::unique_ptr<rfb::Transport> inner) override {
    return inner;
  }
};

VncChallenge fixed_challenge() {
  VncChallenge c{};
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i * 13 + 1);
  return c;
}

// TLS for 257..262, none for Plain; inner handlers as the registry makes them.
struct FakeServices : VeNCryptServices {
  VncPasswords passwords{"secret", "viewer"};
  std::vector<std::string> users{"alice"};
  PasswordChecker checker = [](const std::string&, const std::string& p) -> Status {
    return p == "right" ? Status() : Status(Error("wrong"));
  };
  int layers = 0;

  std::unique_ptr<rfb::TransportLayer> layer(uint32_t subtype) override {
    if (subtype == vencrypt::kPlain) return nullptr;
    ++layers;
    return std::make_unique<MarkerLayer>();
  }
  std::unique_ptr<rfb::SecurityHandler> inner(uint32_t subtype) override {
    switch (subtype) {
      case vencrypt::kTlsNone:
      case vencrypt::kX509None:
        return std::make_unique<NoneSecurityHandler>();
      case vencrypt::kTlsVnc:
      case vencrypt::kX509Vnc:
        return std::make_unique<VncAuthHandler>(
            passwords, [](std::span<uint8_t, kVncAuthChallengeSize> out) -> Status {
              auto c = fixed_challenge();
              std::copy(c.begin(), c.end(), out.begin());
              return {};
            });
      default:
        return std::make_unique<PlainAuthHandler>(users, checker);
    }
  }
};

// Runs the handler up to and including the subtype choice; returns that step.
SecurityStep negotiate(VeNCryptHandler& h, rfb::ByteBuffer& out, uint32_t subtype) {
  h.start(out);
  std::vector<uint8_t> version{0, 2};
  rfb::Reader v(version);
  EXPECT_EQ(h.step(v, out).kind, SecurityStep::Kind::kContinue);
  auto choice = u32s({subtype});
  rfb::Reader c(choice);
  SecurityStep s = h.step(c, out);
  EXPECT_EQ(c.consumed(), 4u);
  return s;
}

TEST(VeNCrypt, SendsVersionThenAckAndSubtypesInOrder) {
  FakeServices services;
  VeNCryptHandler h({vencrypt::kX509Plain, vencrypt::kTlsVnc, vencrypt::kPlain}, services);
  EXPECT_EQ(h.type(), rfb::security::kVeNCrypt);
  rfb::ByteBuffer out;
  h.start(out);
  EXPECT_EQ(to_vec(out), (std::vector<uint8_t>{0, 2}));
  out.clear();
  // The client's version, one byte at a time: nothing is consumed until both are there.
  std::vector<uint8_t> version{0, 2};
  rfb::Reader partial(std::span<const uint8_t>(version).first(1));
  EXPECT_EQ(h.step(partial, out).kind, SecurityStep::Kind::kNeedMore);
  EXPECT_EQ(partial.consumed(), 0u);
  rfb::Reader full(version);
  EXPECT_EQ(h.step(full, out).kind, SecurityStep::Kind::kContinue);
  std::vector<uint8_t> want{0, 3};
  for (uint8_t b : u32s({262, 258, 256})) want.push_back(b);
  EXPECT_EQ(to_vec(out), want);
}

TEST(VeNCrypt, RefusesOtherVersions) {
  for (auto [major, minor] : {std::pair<uint8_t, uint8_t>{0, 1}, {0, 3}, {1, 0}, {255, 255}}) {
    FakeServices services;
    VeNCryptHandler h({vencrypt::kTlsNone}, services);
    rfb::ByteBuffer out;
    h.start(out);
    out.clear();
    std::vector<uint8_t> version{major, minor};
    rfb::Reader in(version);
    SecurityStep s = h.step(in, out);
    EXPECT_EQ(s.kind, SecurityStep::Kind::kFailure);
    EXPECT_NE(s.reason.find("unsupported VeNCrypt version"), std::string::npos);
    EXPECT_EQ(to_vec(out), (std::vector<uint8_t>{255}));
  }
}

TEST(VeNCrypt, RefusesSubtypesNotOffered) {
  for (uint32_t bad : {0u, 19u, 256u, 259u, 263u, 0xFFFFFFFFu}) {
    FakeServices services;
    VeNCryptHandler h({vencrypt::kTlsNone, vencrypt::kX509Vnc}, services);
    rfb::ByteBuffer out;
    SecurityStep s = negotiate(h, out, bad);
    EXPECT_EQ(s.kind, SecurityStep::Kind::kFailure) << bad;
    EXPECT_NE(s.reason.find("was not offered"), std::string::npos);
    EXPECT_EQ(services.layers, 0);
  }
}

TEST(VeNCrypt, TlsNoneAcksStartsTlsThenSucceeds) {
  for (uint32_t subtype : {vencrypt::kTlsNone, vencrypt::kX509None}) {
    FakeServices services;
    VeNCryptHandler h({subtype}, services);
    rfb::ByteBuffer out;
    SecurityStep s = negotiate(h, out, subtype);
    ASSERT_EQ(s.kind, SecurityStep::Kind::kStartLayer);
    ASSERT_NE(s.layer, nullptr);
    EXPECT_EQ(h.chosen(), subtype);
    // The ack (1) is the last byte before the layer starts.
    EXPECT_EQ(out.span().back(), 1);
    out.clear();
    std::vector<uint8_t> nothing;
    rfb::Reader in(nothing);
    SecurityStep done = h.step(in, out);
    EXPECT_EQ(done.kind, SecurityStep::Kind::kSuccess);
    EXPECT_TRUE(out.empty());
  }
}

TEST(VeNCrypt, TlsVncRunsVncAuthOverTheLayerWithViewOnlyPassword) {
  for (uint32_t subtype : {vencrypt::kTlsVnc, vencrypt::kX509Vnc}) {
    for (const char* password : {"secret", "viewer", "wrong"}) {
      FakeServices services;
      VeNCryptHandler h({vencrypt::kTlsNone, subtype}, services);
      rfb::ByteBuffer out;
      ASSERT_EQ(negotiate(h, out, subtype).kind, SecurityStep::Kind::kStartLayer);
      out.clear();
      std::vector<uint8_t> nothing;
      rfb::Reader empty(nothing);
      // The challenge goes out over the layer.
      ASSERT_EQ(h.step(empty, out).kind, SecurityStep::Kind::kNeedMore);
      auto challenge = fixed_challenge();
      ASSERT_EQ(to_vec(out), std::vector<uint8_t>(challenge.begin(), challenge.end()));
      VncResponse r = vnc_auth_response(password, challenge);
      rfb::Reader in(r);
      SecurityStep s = h.step(in, out);
      if (std::string(password) == "wrong") {
        EXPECT_EQ(s.kind, SecurityStep::Kind::kFailure);
      } else {
        ASSERT_EQ(s.kind, SecurityStep::Kind::kSuccess) << password;
        EXPECT_EQ(s.auth.view_only, std::string(password) == "viewer");
      }
    }
  }
}

TEST(VeNCrypt, PlainHasNoAckAndNoLayer) {
  FakeServices services;
  VeNCryptHandler h({vencrypt::kPlain}, services);
  rfb::ByteBuffer out;
  SecurityStep s = negotiate(h, out, vencrypt::kPlain);
  EXPECT_EQ(s.kind, SecurityStep::Kind::kContinue);
  EXPECT_EQ(services.layers, 0);
  out.clear();
  rfb::ByteBuffer creds;
  creds.u32(5);
  creds.u32(5);
  creds.append(std::string_view("alice"));
  creds.append(std::string_view("right"));
  rfb::Reader in(creds.span());
  SecurityStep done = h.step(in, out);
  ASSERT_EQ(done.kind, SecurityStep::Kind::kSuccess) << done.reason;
  EXPECT_EQ(done.auth.user, "alice");
  EXPECT_TRUE(out.empty());  // No ack byte for Plain (gtk-vnc would wait for one otherwise).
}

TEST(VeNCrypt, TlsPlainAndX509PlainCheckCredentialsOverTheLayer) {
  for (uint32_t subtype : {vencrypt::kTlsPlain, vencrypt::kX509Plain}) {
    for (const char* password : {"right", "wrong"}) {
      FakeServices services;
      VeNCryptHandler h({subtype}, services);
      rfb::ByteBuffer out;
      ASSERT_EQ(negotiate(h, out, subtype).kind, SecurityStep::Kind::kStartLayer);
      rfb::ByteBuffer creds;
      creds.u32(5);
      creds.u32(static_cast<uint32_t>(std::string(password).size()));
      creds.append(std::string_view("alice"));
      creds.append(std::string_view(password));
      rfb::Reader in(creds.span());
      SecurityStep s = h.step(in, out);
      EXPECT_EQ(s.kind, std::string(password) == "right" ? SecurityStep::Kind::kSuccess
                                                         : SecurityStep::Kind::kFailure);
    }
  }
}

// ---- The registry's side ----------------------------------------------------------------

TEST(VeNCryptRegistry, OffersTypeNineteenOnceWhereItsFirstSubtypeIs) {
  test::TestCertificate cert;
  SecurityConfig config{.types = "x509plain,vncauth,tlsvnc,none",
                        .vnc_passwords = {"secret", ""},
                        .x509_cert = cert.cert_file,
                        .x509_key = cert.key_file,
                        .plain_users = {"alice"}};
  auto reg = SecurityRegistry::make(config);
  ASSERT_TRUE(reg.ok()) << reg.error().message();
  EXPECT_EQ(reg->offered(), (std::vector<uint8_t>{19, 2, 1}));
  EXPECT_EQ(reg->vencrypt_subtypes(), (std::vector<uint32_t>{262, 258}));
  auto h = reg->create(19);
  ASSERT_NE(h, nullptr);
  rfb::ByteBuffer out;
  h->start(out);
  std::vector<uint8_t> version{0, 2};
  rfb::Reader in(version);
  ASSERT_EQ(h->step(in, out).kind, SecurityStep::Kind::kContinue);
  std::vector<uint8_t> want{0, 2, 0, 2};
  for (uint8_t b : u32s({262, 258})) want.push_back(b);
  EXPECT_EQ(to_vec(out), want);
  // The X.509 subtype gets a real TLS layer.
  auto choice = u32s({262});
  rfb::Reader c(choice);
  SecurityStep s = h->step(c, out);
  ASSERT_EQ(s.kind, SecurityStep::Kind::kStartLayer);
  EXPECT_NE(s.layer, nullptr);
}

TEST(VeNCryptRegistry, ParsesNamesToTypesAndSubtypes) {
  auto c = parse_security_choices("TLSNone, x509vnc ,plain,vncauth");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, (std::vector<SecurityChoice>{{19, 257}, {19, 261}, {19, 256}, {2, 0}}));
  auto needs = security_needs("x509plain,tlsnone");
  ASSERT_TRUE(needs.ok());
  EXPECT_TRUE(needs->certificate);
  EXPECT_TRUE(needs->plain_users);
  EXPECT_TRUE(needs->unauthenticated);
  EXPECT_FALSE(needs->vnc_password);
  EXPECT_FALSE(needs->plain_in_clear);
  EXPECT_EQ(security_type_name(19), "vencrypt");
}

TEST(VeNCryptRegistry, ExplainsWhatEachSubtypeNeeds) {
  struct Case {
    SecurityConfig config;
    const char* expect;
  };
  std::vector<Case> cases;
  cases.push_back({SecurityConfig{.types = "tlsvnc"}, "--password-file"});
  cases.push_back({SecurityConfig{.types = "x509none"}, "--x509-cert FILE and --x509-key FILE"});
  cases.push_back({SecurityConfig{.types = "tlsplain"}, "--plain-users"});
  cases.push_back(
      {SecurityConfig{.types = "plain", .plain_users = {"alice"}}, "--allow-plain-unencrypted"});
  cases.push_back({SecurityConfig{.types = "x509none",
                                  .x509_cert = "/nonexistent/c.pem",
                                  .x509_key = "/nonexistent/k.pem"},
                   "cannot read --x509-cert /nonexistent/c.pem"});
  for (auto& c : cases) {
    auto reg = SecurityRegistry::make(c.config);
    ASSERT_FALSE(reg.ok()) << c.config.types;
    EXPECT_NE(reg.error().message().find(c.expect), std::string::npos) << reg.error().message();
  }
  SecurityConfig plain{.types = "plain", .plain_users = {"alice"}};
  plain.allow_plain_unencrypted = true;
  EXPECT_TRUE(SecurityRegistry::make(plain).ok());
}

// ---- Through the connection -------------------------------------------------------------

struct LayerDelegate : rfb::ConnectionDelegate {
  int layers = 0;
  size_t clear_bytes = 0;
  rfb::Connection* conn = nullptr;
  rfb::ServerInitInfo on_client_init(bool) override {
    return {{32, 16}, rfb::PixelFormat::rgb888(), "t"};
  }
  void on_set_pixel_format(const rfb::PixelFormat&) override {}
  void on_set_encodings(const std::vector<int32_t>&) override {}
  void on_update_request(const rfb::Rect&, bool) override {}
  void on_key(uint32_t, bool) override {}
  void on_pointer(int, int, uint8_t) override {}
  void on_cut_text(const std::string&) override {}
  bool on_transport_layer(std::unique_ptr<rfb::TransportLayer> layer) override {
    ++layers;
    clear_bytes = conn->output().size();
    return layer != nullptr;
  }
};

TEST(VeNCryptConnection, TlsNoneReachesClientInitAndMarksTheClearPrefix) {
  auto reg = SecurityRegistry::make(SecurityConfig{.types = "tlsnone"});
  ASSERT_TRUE(reg.ok()) << reg.error().message();
  LayerDelegate d;
  rfb::Connection conn(*reg, d);
  d.conn = &conn;
  conn.output().clear();
  std::string hello = "RFB 003.008\n";
  conn.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()));
  EXPECT_EQ(to_vec(conn.output()), (std::vector<uint8_t>{1, 19}));
  conn.output().clear();
  std::vector<uint8_t> client{19, 0, 2};
  for (uint8_t b : u32s({257})) client.push_back(b);
  conn.feed(client);
  ASSERT_EQ(d.layers, 1);
  // In the clear: version 0.2, ack 0, one subtype (257), ack 1. Then, over the layer,
  // SecurityResult OK.
  std::vector<uint8_t> want{0, 2, 0, 1, 0, 0, 1, 1, 1};
  EXPECT_EQ(d.clear_bytes, want.size());
  for (uint8_t b : u32s({0})) want.push_back(b);
  EXPECT_EQ(to_vec(conn.output()), want);
  EXPECT_EQ(conn.state(), rfb::Connection::State::kClientInit);
}

TEST(VeNCryptConnection, BytesBeforeTheLayerStartsCloseTheConnection) {
  auto reg = SecurityRegistry::make(SecurityConfig{.types = "tlsnone"});
  ASSERT_TRUE(reg.ok());
  LayerDelegate d;
  rfb::Connection conn(*reg, d);
  d.conn = &conn;
  std::string hello = "RFB 003.008\n";
  std::vector<uint8_t> client(hello.begin(), hello.end());
  for (uint8_t b : {19, 0, 2, 0, 0, 1, 1, 0x16, 0x03, 0x01}) client.push_back(b);
  conn.feed(client);
  EXPECT_TRUE(conn.closed());
  EXPECT_NE(conn.close_reason().find("before the security layer"), std::string::npos);
}

TEST(VeNCryptConnection, AnOwnerWithoutLayersRefusesTls) {
  auto reg = SecurityRegistry::make(SecurityConfig{.types = "tlsnone"});
  ASSERT_TRUE(reg.ok());
  struct NoLayers : LayerDelegate {
    bool on_transport_layer(std::unique_ptr<rfb::TransportLayer>) override { return false; }
  } d;
  rfb::Connection conn(*reg, d);
  std::string hello = "RFB 003.008\n";
  std::vector<uint8_t> client(hello.begin(), hello.end());
  for (uint8_t b : {19, 0, 2, 0, 0, 1, 1}) client.push_back(b);
  conn.feed(client);
  EXPECT_TRUE(conn.closed());
}

}  // namespace
}  // namespace vncd::security
