// The connection state machine over an in-memory byte stream: every protocol version x security
// type x way of splitting the input, plus malformed messages.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "protocol_harness.h"
#include "rfb/messages.h"

namespace vncd::test {
namespace {

using rfb::ByteBuffer;
using rfb::Connection;

enum class Sec { kNone, kVncGood, kVncBad };
const char* sec_name(Sec s) {
  switch (s) {
    case Sec::kNone:
      return "None";
    case Sec::kVncGood:
      return "VncAuthGood";
    case Sec::kVncBad:
      return "VncAuthBad";
  }
  return "?";
}

struct VersionCase {
  const char* name;
  const char* wire;         // What the client sends.
  rfb::ProtocolVersion as;  // How the server must treat it.
};
const VersionCase kVersions[] = {
    {"v3_3", "RFB 003.003\n", rfb::ProtocolVersion::k3_3},
    {"v3_5", "RFB 003.005\n", rfb::ProtocolVersion::k3_3},
    {"v3_7", "RFB 003.007\n", rfb::ProtocolVersion::k3_7},
    {"v3_8", "RFB 003.008\n", rfb::ProtocolVersion::k3_8},
    {"v3_9", "RFB 003.009\n", rfb::ProtocolVersion::k3_8},
    {"v3_889", "RFB 003.889\n", rfb::ProtocolVersion::k3_8},
};

constexpr char kPassword[] = "s3cret!";

// The client's bytes after ProtocolVersion, for the handshake up to ClientInit.
ByteBuffer client_handshake(rfb::ProtocolVersion v, Sec sec) {
  ByteBuffer b;
  const bool vnc = sec != Sec::kNone;
  if (v != rfb::ProtocolVersion::k3_3) b.u8(vnc ? rfb::security::kVncAuth : rfb::security::kNone);
  if (vnc) {
    auto resp =
        security::vnc_auth_response(sec == Sec::kVncGood ? kPassword : "wrong", fixed_challenge());
    b.append(resp);
  }
  b.u8(1);  // ClientInit: shared.
  return b;
}

// What the server must send for that handshake, after its own version string.
ByteBuffer expected_server_handshake(rfb::ProtocolVersion v, Sec sec,
                                     const rfb::ServerInitInfo& init) {
  ByteBuffer b;
  const bool vnc = sec != Sec::kNone;
  const uint8_t type = vnc ? rfb::security::kVncAuth : rfb::security::kNone;
  if (v == rfb::ProtocolVersion::k3_3) {
    b.u32(type);
  } else {
    b.u8(1);
    b.u8(type);
  }
  if (vnc) b.append(fixed_challenge());
  if (sec == Sec::kVncBad) {
    b.u32(1);
    if (v == rfb::ProtocolVersion::k3_8) {
      const std::string reason = "Authentication failed";
      b.u32(static_cast<uint32_t>(reason.size()));
      b.append(reason);
    }
    return b;
  }
  if (vnc || v == rfb::ProtocolVersion::k3_8) b.u32(0);
  b.u16(static_cast<uint16_t>(init.size.width));
  b.u16(static_cast<uint16_t>(init.size.height));
  init.format.serialize(b);
  b.u32(static_cast<uint32_t>(init.name.size()));
  b.append(init.name);
  return b;
}

// A fence payload of n bytes 0, 1, 2, ... and how RecordingDelegate prints it.
std::vector<uint8_t> payload_of(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}
std::string hex_payload(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kHex[(i >> 4) & 0xF];
    s += kHex[i & 0xF];
  }
  return s;
}

// A few normal messages after the handshake, and the events they must produce.
ByteBuffer client_messages() {
  ByteBuffer b;
  rfb::serialize(rfb::SetPixelFormat{rfb::PixelFormat::rgb565()}, b);
  rfb::serialize(rfb::SetEncodings{{16, 0, -223}}, b);
  rfb::serialize(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 48}, b);
  rfb::serialize(rfb::FramebufferUpdateRequest{true, 60, 40, 100, 100}, b);  // Clipped.
  rfb::serialize(rfb::KeyEvent{true, 0x41}, b);
  rfb::serialize(rfb::KeyEvent{false, 0x41}, b);
  rfb::serialize(rfb::PointerEvent{1, 10, 20}, b);
  rfb::serialize(rfb::PointerEvent{0, 500, 500}, b);  // Clamped.
  // The ContinuousUpdates and Fence extensions, then a message of the core protocol again.
  rfb::serialize(rfb::EnableContinuousUpdates{true, 10, 20, 30, 8}, b);
  rfb::serialize(rfb::EnableContinuousUpdates{true, 60, 40, 100, 100}, b);  // Clipped.
  rfb::serialize(rfb::ClientFence{rfb::fence::kRequest | rfb::fence::kBlockBefore, {}}, b);
  rfb::serialize(rfb::ClientFence{rfb::fence::kSyncNext, payload_of(rfb::fence::kMaxPayload)}, b);
  rfb::serialize(rfb::EnableContinuousUpdates{false, 0, 0, 0, 0}, b);
  rfb::serialize(rfb::ClientCutText{"hello \xe9", 0}, b);
  return b;
}
const std::vector<std::string> kMessageEvents = {
    "pixel-format " + rfb::PixelFormat::rgb565().str(),
    "encodings 16 0 -223",
    "update 64x48+0+0 full",
    "update 4x8+60+40 inc",
    "key 65 down",
    "key 65 up",
    "pointer 10,20 1",
    "pointer 63,47 0",
    "continuous on 30x8+10+20",
    "continuous on 4x8+60+40",
    "fence 80000001 0:",
    "fence 00000004 64:" + hex_payload(rfb::fence::kMaxPayload),
    "continuous off 0x0+0+0",
    "cut hello \xe9",
};

using HandshakeParam = std::tuple<VersionCase, Sec, Feeding>;

class HandshakeTest : public testing::TestWithParam<HandshakeParam> {};

TEST_P(HandshakeTest, NegotiatesAndServes) {
  const auto& [version, sec, feeding] = GetParam();
  TestSecurity security({sec == Sec::kNone ? rfb::security::kNone : rfb::security::kVncAuth},
                        {kPassword, ""});
  RecordingDelegate delegate;
  Connection c(security, delegate);
  delegate.connection = &c;

  ByteBuffer client;
  client.append(std::string_view(version.wire));
  ByteBuffer hs = client_handshake(version.as, sec);
  client.append(hs.span());
  if (sec != Sec::kVncBad) client.append(client_messages().span());

  feed(c, client.span(), feeding);
  EXPECT_EQ(c.version(), version.as);

  if (sec == Sec::kVncBad) {
    ASSERT_TRUE(c.failure_pending());
    c.release_failure();
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(c.close_reason(), "Authentication failed");
    EXPECT_TRUE(delegate.events.empty());
  } else {
    EXPECT_EQ(c.state(), Connection::State::kNormal) << c.close_reason();
    std::vector<std::string> expected = {"init shared=1"};
    expected.insert(expected.end(), kMessageEvents.begin(), kMessageEvents.end());
    EXPECT_EQ(delegate.events, expected);
    EXPECT_EQ(c.auth().view_only, false);
  }

  ByteBuffer want;
  want.append(std::string_view("RFB 003.008\n"));
  want.append(expected_server_handshake(version.as, sec, delegate.init).span());
  EXPECT_EQ(bytes_of(c.output()), bytes_of(want));
}

INSTANTIATE_TEST_SUITE_P(AllVersionsSecurityFeeding, HandshakeTest,
                         testing::Combine(testing::ValuesIn(kVersions),
                                          testing::Values(Sec::kNone, Sec::kVncGood, Sec::kVncBad),
                                          testing::Values(Feeding::kAllAtOnce, Feeding::kByteByByte,
                                                          Feeding::kRandomChunks)),
                         [](const testing::TestParamInfo<HandshakeParam>& p) {
                           return std::string(std::get<0>(p.param).name) + "_" +
                                  sec_name(std::get<1>(p.param)) + "_" +
                                  feeding_name(std::get<2>(p.param));
                         });

class GarbageVersionTest : public testing::TestWithParam<std::tuple<const char*, Feeding>> {};

TEST_P(GarbageVersionTest, IsRefused) {
  const auto& [wire, feeding] = GetParam();
  TestSecurity security({rfb::security::kNone});
  RecordingDelegate delegate;
  Connection c(security, delegate);
  std::string s(wire);
  feed(c, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()), feeding);
  EXPECT_TRUE(c.closed());
  EXPECT_NE(c.close_reason().find("ProtocolVersion"), std::string::npos);
  // Nothing but our own version went out.
  EXPECT_EQ(c.output().size(), 12u);
  EXPECT_TRUE(delegate.events.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Garbage, GarbageVersionTest,
    testing::Combine(
        testing::Values("GET / HTTP/1.1\r\n\r\n", "RFB 003.00x\n", "RFB 002.000\n", "RFB 003.008\r",
                        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00"),
        testing::Values(Feeding::kAllAtOnce, Feeding::kByteByByte, Feeding::kRandomChunks)));

// A connection through the whole handshake (3.8, None), ready for messages.
struct Ready {
  TestSecurity security{{rfb::security::kNone}};
  RecordingDelegate delegate;
  Connection c{security, delegate};
  Ready() {
    delegate.connection = &c;
    const uint8_t hs[] = {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n', 1, 1};
    c.feed(hs);
    c.output().consume(c.output().size());
  }
};

TEST(Malformed, InvalidPixelFormatClosesWithReason) {
  for (Feeding f : {Feeding::kAllAtOnce, Feeding::kByteByByte}) {
    Ready r, other;
    ByteBuffer b;
    rfb::PixelFormat pf = rfb::PixelFormat::rgb888();
    pf.bpp = 24;
    rfb::serialize(rfb::SetPixelFormat{pf}, b);
    feed(r.c, b.span(), f);
    EXPECT_TRUE(r.c.closed());
    EXPECT_NE(r.c.close_reason().find("bits-per-pixel 24"), std::string::npos)
        << r.c.close_reason();
    EXPECT_TRUE(r.delegate.events.size() == 1);  // Only the init.

    // Another connection is untouched and still served.
    ByteBuffer k;
    rfb::serialize(rfb::KeyEvent{true, 0x61}, k);
    other.c.feed(k.span());
    EXPECT_EQ(other.c.state(), Connection::State::kNormal);
    EXPECT_EQ(other.delegate.events.back(), "key 97 down");
  }
}

TEST(Malformed, PixelFormatFieldsAreValidated) {
  struct Case {
    const char* what;
    void (*mutate)(rfb::PixelFormat&);
  };
  const Case cases[] = {
      {"depth 0", [](rfb::PixelFormat& p) { p.depth = 0; }},
      {"depth above bpp", [](rfb::PixelFormat& p) { p.depth = 33; }},
      {"max not 2^n-1", [](rfb::PixelFormat& p) { p.red_max = 200; }},
      {"max zero", [](rfb::PixelFormat& p) { p.blue_max = 0; }},
      {"shift out of pixel", [](rfb::PixelFormat& p) { p.red_shift = 30; }},
      {"overlapping channels", [](rfb::PixelFormat& p) { p.green_shift = 12; }},
      {"colour map at 32bpp", [](rfb::PixelFormat& p) { p.true_colour = false; }},
  };
  for (const Case& cs : cases) {
    Ready r;
    rfb::PixelFormat pf = rfb::PixelFormat::rgb888();
    cs.mutate(pf);
    ByteBuffer b;
    rfb::serialize(rfb::SetPixelFormat{pf}, b);
    r.c.feed(b.span());
    EXPECT_TRUE(r.c.closed()) << cs.what;
    EXPECT_NE(r.c.close_reason().find("invalid pixel format"), std::string::npos) << cs.what;
  }
}

TEST(Malformed, SetEncodingsCountBeyondLimitCloses) {
  Ready r;
  const uint8_t msg[] = {2, 0, 0xFF, 0xFF, 0, 0, 0, 0};
  r.c.feed(msg);
  EXPECT_TRUE(r.c.closed());
  EXPECT_NE(r.c.close_reason().find("65535"), std::string::npos) << r.c.close_reason();
}

TEST(Malformed, SetEncodingsCountLargerThanBytesWaitsAndDeliversNothing) {
  Ready r;
  // Claims 100 encodings, sends 2: the rest has not arrived, so nothing is delivered and
  // the bytes that follow are read as encodings, not as messages.
  const uint8_t msg[] = {2, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 1, 4, 1, 0, 0, 0, 0, 0, 0x41};
  r.c.feed(msg);
  EXPECT_EQ(r.c.state(), Connection::State::kNormal);
  EXPECT_EQ(r.delegate.events.size(), 1u);
  std::vector<uint8_t> rest(100 * 4 - (sizeof msg - 4), 0);
  r.c.feed(rest);
  ASSERT_EQ(r.delegate.events.size(), 2u);
  EXPECT_EQ(r.delegate.events[1].substr(0, 15), "encodings 0 1 6");
}

TEST(Malformed, CutTextLengthAllOnesCloses) {
  for (Feeding f : {Feeding::kAllAtOnce, Feeding::kByteByByte, Feeding::kRandomChunks}) {
    Ready r;
    const uint8_t msg[] = {6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 'x'};
    feed(r.c, msg, f);
    EXPECT_TRUE(r.c.closed());
    EXPECT_NE(r.c.close_reason().find("4294967295"), std::string::npos) << r.c.close_reason();
  }
}

TEST(Malformed, OverlongCutTextIsSkippedNotBuffered) {
  for (Feeding f : {Feeding::kAllAtOnce, Feeding::kRandomChunks}) {
    rfb::ConnectionConfig cfg;
    cfg.limits.max_cut_text = 16;
    TestSecurity security({rfb::security::kNone});
    RecordingDelegate d;
    Connection c(security, d, cfg);
    ByteBuffer b;
    b.append(std::string_view("RFB 003.008\n"));
    b.u8(1);
    b.u8(0);
    rfb::serialize(rfb::ClientCutText{std::string(1000, 'z'), 0}, b);
    rfb::serialize(rfb::KeyEvent{true, 0x62}, b);
    feed(c, b.span(), f);
    EXPECT_EQ(c.state(), Connection::State::kNormal);
    ASSERT_EQ(d.events.size(), 3u);
    EXPECT_EQ(d.events[1], "cut-dropped 1000");
    EXPECT_EQ(d.events[2], "key 98 down");
  }
}

TEST(Malformed, UnknownMessageTypeCloses) {
  Ready r, other;
  const uint8_t msg[] = {0x7F, 1, 2, 3};
  r.c.feed(msg);
  EXPECT_TRUE(r.c.closed());
  EXPECT_EQ(r.c.close_reason(), "unknown client message type 127");
  // Input after close is ignored.
  const uint8_t more[] = {4, 1, 0, 0, 0, 0, 0, 0x41};
  r.c.feed(more);
  EXPECT_EQ(r.delegate.events.size(), 1u);
  other.c.feed(more);
  EXPECT_EQ(other.delegate.events.back(), "key 65 down");
}

// --- ContinuousUpdates and Fence (rfbproto.rst "EnableContinuousUpdates", "ClientFence") ------

class ExtensionTest : public testing::TestWithParam<Feeding> {};

TEST_P(ExtensionTest, FencePayloadsUpToTheLimitAreDelivered) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, rfb::fence::kMaxPayload}) {
    Ready r;
    ByteBuffer b;
    rfb::serialize(
        rfb::ClientFence{rfb::fence::kRequest | rfb::fence::kBlockAfter | 0x100u, payload_of(n)},
        b);
    rfb::serialize(rfb::KeyEvent{true, 0x61}, b);
    feed(r.c, b.span(), GetParam());
    EXPECT_EQ(r.c.state(), Connection::State::kNormal) << n << ": " << r.c.close_reason();
    // Flags arrive as sent, unknown bits included: clearing them is the response's business.
    EXPECT_EQ(r.delegate.events,
              (std::vector<std::string>{
                  "init shared=1", "fence 80000102 " + std::to_string(n) + ":" + hex_payload(n),
                  "key 97 down"}))
        << n;
  }
}

TEST_P(ExtensionTest, FencePayloadOverLimitClosesWithReason) {
  Ready r, other;
  ByteBuffer b;
  rfb::serialize(rfb::ClientFence{rfb::fence::kRequest, payload_of(rfb::fence::kMaxPayload + 1)},
                 b);
  rfb::serialize(rfb::KeyEvent{true, 0x61}, b);
  feed(r.c, b.span(), GetParam());
  EXPECT_TRUE(r.c.closed());
  EXPECT_EQ(r.c.close_reason(), "Fence payload of 65 bytes exceeds the protocol limit of 64");
  EXPECT_EQ(r.delegate.events.size(), 1u);  // Only the init: neither the fence nor the key.
  // Nothing is written to a client closed after the handshake (3.8 has no reason string here).
  EXPECT_TRUE(r.c.output().empty());

  // The other connection still parses the same key.
  ByteBuffer k;
  rfb::serialize(rfb::KeyEvent{true, 0x61}, k);
  feed(other.c, k.span(), GetParam());
  EXPECT_EQ(other.delegate.events.back(), "key 97 down");
}

TEST_P(ExtensionTest, FenceLengthOverLimitClosesBeforeThePayloadArrives) {
  Ready r;
  const uint8_t header[] = {248, 0, 0, 0, 0x80, 0, 0, 0, 255};
  feed(r.c, header, GetParam());
  EXPECT_TRUE(r.c.closed());
  EXPECT_NE(r.c.close_reason().find("255 bytes"), std::string::npos) << r.c.close_reason();
}

TEST_P(ExtensionTest, EnableContinuousUpdatesAreaIsClippedLikeAnUpdateRequest) {
  struct Case {
    uint16_t x, y, w, h;
  };
  const Case cases[] = {
      {0, 0, 64, 48}, {0, 0, 65535, 65535}, {60, 40, 100, 100}, {65000, 65000, 1000, 1000},
      {64, 0, 1, 1},  {3, 4, 0, 5},
  };
  Ready r;
  ByteBuffer b;
  std::vector<std::string> expected = {"init shared=1"};
  for (const Case& cs : cases) {
    rfb::serialize(rfb::EnableContinuousUpdates{true, cs.x, cs.y, cs.w, cs.h}, b);
    rfb::serialize(rfb::FramebufferUpdateRequest{true, cs.x, cs.y, cs.w, cs.h}, b);
    // Both go through the same clipping, so the two events must name the same area.
    const rfb::Rect clipped = rfb::Rect{cs.x, cs.y, cs.w, cs.h}.intersect(rfb::Rect{0, 0, 64, 48});
    expected.push_back("continuous on " + clipped.str());
    expected.push_back("update " + clipped.str() + " inc");
  }
  rfb::serialize(rfb::EnableContinuousUpdates{false, 1, 2, 3, 4}, b);
  expected.push_back("continuous off 3x4+1+2");
  feed(r.c, b.span(), GetParam());
  EXPECT_EQ(r.c.state(), Connection::State::kNormal) << r.c.close_reason();
  EXPECT_EQ(r.delegate.events, expected);
  EXPECT_EQ(r.delegate.events[3], "continuous on 64x48+0+0");
  EXPECT_EQ(r.delegate.events[5], "continuous on 4x8+60+40");
}

// A delegate that predates the extensions: the default callbacks ignore them.
struct CoreOnlyDelegate : rfb::ConnectionDelegate {
  std::vector<uint32_t> keys;
  rfb::ServerInitInfo on_client_init(bool) override {
    return {{64, 48}, rfb::PixelFormat::rgb888(), "core"};
  }
  void on_set_pixel_format(const rfb::PixelFormat&) override {}
  void on_set_encodings(const std::vector<int32_t>&) override {}
  void on_update_request(const rfb::Rect&, bool) override {}
  void on_key(uint32_t keysym, bool) override { keys.push_back(keysym); }
  void on_pointer(int, int, uint8_t) override {}
  void on_cut_text(const std::string&) override {}
};

TEST_P(ExtensionTest, DefaultDelegateIgnoresBothAndGoesOn) {
  TestSecurity security({rfb::security::kNone});
  CoreOnlyDelegate d;
  Connection c(security, d);
  ByteBuffer b;
  b.append(std::string_view("RFB 003.008\n"));
  b.u8(1);
  b.u8(1);
  rfb::serialize(rfb::EnableContinuousUpdates{true, 0, 0, 10, 10}, b);
  rfb::serialize(rfb::KeyEvent{true, 1}, b);
  rfb::serialize(rfb::ClientFence{rfb::fence::kRequest, payload_of(5)}, b);
  rfb::serialize(rfb::KeyEvent{true, 2}, b);
  feed(c, b.span(), GetParam());
  EXPECT_EQ(c.state(), Connection::State::kNormal) << c.close_reason();
  EXPECT_EQ(d.keys, (std::vector<uint32_t>{1, 2}));
}

INSTANTIATE_TEST_SUITE_P(Feeding, ExtensionTest,
                         testing::Values(Feeding::kAllAtOnce, Feeding::kByteByByte,
                                         Feeding::kRandomChunks),
                         [](const testing::TestParamInfo<Feeding>& p) {
                           return std::string(feeding_name(p.param));
                         });

TEST(Security, TypeNotOfferedGets38Reason) {
  TestSecurity security({rfb::security::kVncAuth}, {kPassword, ""});
  RecordingDelegate d;
  Connection c(security, d);
  const uint8_t msg[] = {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n', 1};
  c.feed(msg);
  ASSERT_TRUE(c.failure_pending());
  c.release_failure();
  EXPECT_TRUE(c.closed());
  ByteBuffer want;
  want.append(std::string_view("RFB 003.008\n"));
  want.u8(1);
  want.u8(2);
  want.u32(1);
  const std::string reason = "security type 1 was not offered";
  want.u32(static_cast<uint32_t>(reason.size()));
  want.append(reason);
  EXPECT_EQ(bytes_of(c.output()), bytes_of(want));
}

TEST(Security, TypeNotOfferedIn37JustCloses) {
  TestSecurity security({rfb::security::kVncAuth}, {kPassword, ""});
  RecordingDelegate d;
  Connection c(security, d);
  const uint8_t msg[] = {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '7', '\n', 1};
  c.feed(msg);
  c.release_failure();
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(c.output().size(), 12u + 2u);
}

TEST(Security, NoTypesFor33ClientSendsInvalidWithReason) {
  TestSecurity security({rfb::security::kVeNCrypt});
  RecordingDelegate d;
  Connection c(security, d);
  const uint8_t msg[] = {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '3', '\n'};
  c.feed(msg);
  EXPECT_TRUE(c.closed());
  rfb::Reader r(c.output().span());
  r.skip(12);
  EXPECT_EQ(r.u32(), 0u);
  uint32_t len = r.u32();
  ASSERT_TRUE(r.has(len));
  auto reason = r.bytes(len);
  EXPECT_EQ(std::string(reason.begin(), reason.end()),
            "no security type available for an RFB 3.3 client");
}

TEST(Security, ViewOnlyPasswordGivesViewOnlySession) {
  TestSecurity security({rfb::security::kVncAuth}, {kPassword, "viewer"});
  RecordingDelegate d;
  Connection c(security, d);
  ByteBuffer b;
  b.append(std::string_view("RFB 003.008\n"));
  b.u8(2);
  b.append(security::vnc_auth_response("viewer", fixed_challenge()));
  b.u8(0);
  c.feed(b.span());
  EXPECT_EQ(c.state(), Connection::State::kNormal);
  EXPECT_TRUE(c.auth().view_only);
  EXPECT_EQ(d.events.front(), "init shared=0");
}

TEST(Lifecycle, DelegateMayCloseDuringClientInit) {
  TestSecurity security({rfb::security::kNone});
  RecordingDelegate d;
  d.refuse_init = true;
  Connection c(security, d);
  d.connection = &c;
  const uint8_t msg[] = {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n', 1, 0, 4, 1};
  c.feed(msg);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(c.close_reason(), "refused");
  EXPECT_EQ(d.events.size(), 1u);
}

TEST(Lifecycle, InputBufferHoldsAtMostOnePartialMessage) {
  Ready r;
  // 10,000 pointer events in one feed all get delivered; nothing accumulates.
  ByteBuffer b;
  for (int i = 0; i < 10000; ++i) rfb::serialize(rfb::PointerEvent{0, 1, 2}, b);
  r.c.feed(b.span());
  EXPECT_EQ(r.delegate.events.size(), 10001u);
}

}  // namespace
}  // namespace vncd::test
