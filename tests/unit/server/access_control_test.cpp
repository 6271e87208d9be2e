// Access control: CIDR parsing and matching (IPv4, IPv6, mapped addresses, errors), --allow and
// --deny, the blacklist's timing with an injected clock, the refusal handshake, and the Server
// applying all of it to real TCP clients from different loopback addresses (127.0.0.2, .3, ...).
#include "server/access_control.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "encodings/registry.h"
#include "server/refused_client.h"
#include "server/server.h"
#include "server_test_support.h"

namespace vncd::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

Cidr cidr(const char* text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << (c.ok() ? "" : c.error().message());
  return c.ok() ? *c : *Cidr::parse("0.0.0.0/32");
}

// ---- Addresses and ranges -----------------------------------------------------------------

TEST(IpAddress, ParsesNumericAddressesOnly) {
  IpAddress v4 = ip("192.168.1.20");
  EXPECT_FALSE(v4.v6);
  EXPECT_EQ(v4.bytes[0], 192);
  EXPECT_EQ(v4.bytes[3], 20);
  EXPECT_TRUE(ip("::1").v6);
  EXPECT_TRUE(ip("[2001:db8::7]").v6);
  // Dual-stack sockets report IPv4 peers as mapped addresses: they are IPv4.
  EXPECT_EQ(ip("::ffff:10.1.2.3"), ip("10.1.2.3"));
  for (const char* bad : {"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "1.2.3.4:80",
                          "[::1", "fe80::1%eth0", " 1.2.3.4"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
}

TEST(IpAddress, PeerAddressDropsThePort) {
  EXPECT_EQ(peer_address("10.0.0.1:5900"), "10.0.0.1");
  EXPECT_EQ(peer_address("[::1]:41234"), "::1");
  EXPECT_EQ(peer_address("[fe80::1]:1"), "fe80::1");
  EXPECT_EQ(peer_address("::1"), "::1");
  EXPECT_EQ(peer_address("memory"), "memory");
}

TEST(Cidr, MatchesIPv4Ranges) {
  Cidr net = cidr("192.168.0.0/16");
  EXPECT_TRUE(net.contains(ip("192.168.0.1")));
  EXPECT_TRUE(net.contains(ip("192.168.255.255")));
  EXPECT_FALSE(net.contains(ip("192.169.0.1")));
  EXPECT_FALSE(net.contains(ip("::ffff:192.169.0.1")));
  EXPECT_TRUE(net.contains(ip("::ffff:192.168.3.4")));
  // Prefixes that do not end on a byte boundary.
  Cidr odd = cidr("10.0.0.64/27");
  EXPECT_TRUE(odd.contains(ip("10.0.0.64")));
  EXPECT_TRUE(odd.contains(ip("10.0.0.95")));
  EXPECT_FALSE(odd.contains(ip("10.0.0.96")));
  EXPECT_FALSE(odd.contains(ip("10.0.0.63")));
  // A bare address is one host; host bits in a range are ignored.
  EXPECT_TRUE(cidr("10.1.2.3").contains(ip("10.1.2.3")));
  EXPECT_FALSE(cidr("10.1.2.3").contains(ip("10.1.2.4")));
  EXPECT_TRUE(cidr("10.1.2.3/8").contains(ip("10.200.0.1")));
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("::2")));  // Families never mix.
}

TEST(Cidr, MatchesIPv6Ranges) {
  Cidr net = cidr("2001:db8::/32");
  EXPECT_TRUE(net.contains(ip("2001:db8::1")));
  EXPECT_TRUE(net.contains(ip("2001:db8:ffff:ffff::1")));
  EXPECT_FALSE(net.contains(ip("2001:db9::1")));
  EXPECT_FALSE(net.contains(ip("32.1.13.184")));  // The same leading bytes, but IPv4.
  Cidr link_local = cidr("fe80::/10");
  EXPECT_TRUE(link_local.contains(ip("febf::1")));
  EXPECT_FALSE(link_local.contains(ip("fec0::1")));
  EXPECT_TRUE(cidr("::1").contains(ip("::1")));
  EXPECT_FALSE(cidr("::1/128").contains(ip("::2")));
  EXPECT_TRUE(cidr("::/0").contains(ip("abcd::1")));
  EXPECT_TRUE(cidr("[::1]/128").contains(ip("::1")));
  // A mapped range covers the IPv4 addresses it maps.
  Cidr mapped = cidr("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped.contains(ip("10.9.9.9")));
  EXPECT_FALSE(mapped.contains(ip("11.0.0.1")));
}

TEST(Cidr, RejectsMalformedRanges) {
  for (const char* bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
        "10.0.0.0/0008", "10.0.0/8", "::/129", "example.com/24", "10.0.0.0/8/8", "1.2.3.4 "}) {
    auto c = Cidr::parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.error().message().rfind("bad address range '", 0), 0u) << c.error().message();
  }
  EXPECT_TRUE(Cidr::parse("::/128").ok());
  EXPECT_TRUE(Cidr::parse("10.0.0.0/0").ok());
}

TEST(Cidr, ListsAreCommaSeparated) {
  auto list = parse_cidr_list(" 10.0.0.0/8 ,::1,192.168.1.1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].text(), "10.0.0.0/8");
  EXPECT_EQ((*list)[1].text(), "::1");
  EXPECT_FALSE(parse_cidr_list("").ok());
  EXPECT_FALSE(parse_cidr_list("10.0.0.0/8,,::1").ok());
  EXPECT_FALSE(parse_cidr_list("10.0.0.0/8,bogus").ok());
  std::string many;
  for (size_t i = 0; i <= kMaxAddressRules; ++i) many += (i ? "," : "") + std::string("::1");
  EXPECT_FALSE(parse_cidr_list(many).ok());
}

TEST(AddressFilter, DenyWinsOverAllow) {
  EXPECT_TRUE(AddressFilter().admits("203.0.113.1"));
  EXPECT_TRUE(AddressFilter().admits("memory"));  // No rules: even unparsable peers.

  AddressFilter allow_only({cidr("10.0.0.0/8"), cidr("::1")}, {});
  EXPECT_TRUE(allow_only.admits("10.2.3.4"));
  EXPECT_TRUE(allow_only.admits("::1"));
  EXPECT_TRUE(allow_only.admits("::ffff:10.2.3.4"));
  EXPECT_FALSE(allow_only.admits("11.0.0.1"));
  EXPECT_FALSE(allow_only.admits("::2"));
  EXPECT_FALSE(allow_only.admits("memory"));

  AddressFilter both({cidr("10.0.0.0/8")}, {cidr("10.6.0.0/16")});
  EXPECT_TRUE(both.admits("10.5.0.1"));
  EXPECT_FALSE(both.admits("10.6.0.1"));

  AddressFilter deny_only({}, {cidr("192.0.2.0/24"), cidr("2001:db8::/32")});
  EXPECT_FALSE(deny_only.admits("192.0.2.77"));
  EXPECT_FALSE(deny_only.admits("2001:db8::5"));
  EXPECT_TRUE(deny_only.admits("192.0.3.1"));
  EXPECT_TRUE(deny_only.admits("2001:db9::5"));
}

// ---- Blacklist ----------------------------------------------------------------------------

class BlacklistTest : public ::testing::Test {
 protected:
  Blacklist::Clock::time_point t0 = Blacklist::Clock::time_point() + std::chrono::hours(1);
};

TEST_F(BlacklistTest, BlocksAtTheThresholdForTheTimeout) {
  Blacklist b(3, seconds(10));
  EXPECT_EQ(b.record_failure("a", t0), milliseconds(0));
  EXPECT_EQ(b.record_failure("a", t0), milliseconds(0));
  EXPECT_FALSE(b.blocked("a", t0));
  EXPECT_EQ(b.record_failure("a", t0), seconds(10));
  EXPECT_TRUE(b.blocked("a", t0));
  EXPECT_TRUE(b.blocked("a", t0 + milliseconds(9999)));
  EXPECT_EQ(b.remaining("a", t0 + seconds(4)), seconds(6));
  EXPECT_FALSE(b.blocked("a", t0 + seconds(10)));
  EXPECT_EQ(b.failures("a"), 3);
}

TEST_F(BlacklistTest, EachFurtherFailureDoublesTheBlock) {
  Blacklist b(2, seconds(10));
  b.record_failure("a", t0);
  EXPECT_EQ(b.record_failure("a", t0), seconds(10));
  // The block expires; the one attempt allowed fails again: twice as long, and so on.
  auto t = t0 + seconds(10);
  EXPECT_FALSE(b.blocked("a", t));
  EXPECT_EQ(b.record_failure("a", t), seconds(20));
  EXPECT_TRUE(b.blocked("a", t + seconds(19)));
  EXPECT_FALSE(b.blocked("a", t + seconds(20)));
  t += seconds(20);
  EXPECT_EQ(b.record_failure("a", t), seconds(40));
  EXPECT_EQ(b.record_failure("a", t + seconds(40)), seconds(80));
  // The doubling stops at the cap.
  for (int i = 0; i < 40; ++i) b.record_failure("a", t);
  EXPECT_EQ(b.record_failure("a", t), Blacklist::kMaxTimeout);
}

TEST_F(BlacklistTest, SuccessClearsTheAddress) {
  Blacklist b(2, seconds(10));
  b.record_failure("a", t0);
  b.record_success("a");
  EXPECT_EQ(b.failures("a"), 0);
  EXPECT_EQ(b.record_failure("a", t0), milliseconds(0));  // Counting starts again.
  EXPECT_EQ(b.record_failure("a", t0), seconds(10));
  // After a block, a success also resets the doubling.
  b.record_success("a");
  EXPECT_FALSE(b.blocked("a", t0));
  b.record_failure("a", t0 + seconds(1));
  EXPECT_EQ(b.record_failure("a", t0 + seconds(1)), seconds(10));
}

TEST_F(BlacklistTest, OtherAddressesAreUnaffected) {
  Blacklist b(1, seconds(10));
  EXPECT_EQ(b.record_failure("10.0.0.1", t0), seconds(10));
  EXPECT_TRUE(b.blocked("10.0.0.1", t0));
  EXPECT_FALSE(b.blocked("10.0.0.2", t0));
  EXPECT_EQ(b.failures("10.0.0.2"), 0);
  b.record_success("10.0.0.2");
  EXPECT_TRUE(b.blocked("10.0.0.1", t0));
}

TEST_F(BlacklistTest, ThresholdZeroDisablesThrottling) {
  Blacklist b(0, seconds(10));
  EXPECT_FALSE(b.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.record_failure("a", t0), milliseconds(0));
  EXPECT_FALSE(b.blocked("a", t0));
  EXPECT_EQ(b.size(), 0u);
}

TEST_F(BlacklistTest, MemoryIsBoundedAndBlockedAddressesAreKeptLongest) {
  Blacklist b(2, seconds(10));
  b.record_failure("blocked", t0);
  b.record_failure("blocked", t0);
  for (size_t i = 0; i < 3 * Blacklist::kMaxAddresses; ++i)
    b.record_failure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0);
  EXPECT_LE(b.size(), Blacklist::kMaxAddresses);
  EXPECT_TRUE(b.blocked("blocked", t0));
}

// ---- The refusal handshake -----------------------------------------------------------------

std::vector<uint8_t> bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::vector<uint8_t> refusal_for(std::string_view client_version, bool byte_by_byte) {
  RefusalHandshake h("go away");
  EXPECT_EQ(h.output().span().size(), 12u);
  EXPECT_EQ(std::string(h.output().span().begin(), h.output().span().end()), "RFB 003.008\n");
  h.output().consume(12);
  std::vector<uint8_t> in = bytes(client_version);
  if (byte_by_byte) {
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_FALSE(h.done());
      h.feed(std::span<const uint8_t>(&in[i], 1));
    }
  } else {
    h.feed(in);
  }
  EXPECT_TRUE(h.done());
  auto out = h.output().span();
  return std::vector<uint8_t>(out.begin(), out.end());
}

TEST(RefusalHandshake, SaysWhyInTheClientsVersion) {
  const std::vector<uint8_t> for_37 = {0, 0, 0, 0, 7, 'g', 'o', ' ', 'a', 'w', 'a', 'y'};
  const std::vector<uint8_t> for_33 = {0, 0, 0, 0, 0, 0, 0, 7, 'g', 'o', ' ', 'a', 'w', 'a', 'y'};
  for (bool split : {false, true}) {
    // rfbproto.rst "Security Handshake": 3.7+ get a count of 0, 3.3 a U32 type 0; then a reason.
    EXPECT_EQ(refusal_for("RFB 003.008\n", split), for_37);
    EXPECT_EQ(refusal_for("RFB 003.007\n", split), for_37);
    EXPECT_EQ(refusal_for("RFB 003.889\n", split), for_37);
    EXPECT_EQ(refusal_for("RFB 003.003\n", split), for_33);
    EXPECT_EQ(refusal_for("RFB 003.005\n", split), for_33);
    // Not RFB 3.x: nothing it would understand; just closed.
    EXPECT_TRUE(refusal_for("GET / HTTP/1", split).empty());
    EXPECT_TRUE(refusal_for("RFB 004.001\n", split).empty());
  }
}

TEST(RefusalHandshake, IgnoresWhatFollowsAndBoundsTheReason) {
  RefusalHandshake h(std::string(10000, 'x'));
  h.output().consume(12);
  h.feed(bytes("RFB 003.008\n\x01\x02\x03"));
  ASSERT_TRUE(h.done());
  EXPECT_EQ(h.output().size(), 1 + 4 + RefusalHandshake::kMaxReason);
  h.feed(bytes("more"));
  EXPECT_EQ(h.output().size(), 1 + 4 + RefusalHandshake::kMaxReason);
}

// ---- The decision ---------------------------------------------------------------------------

TEST(AccessControl, DecidesInOrderDenyBlacklistPerAddressLimit) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  ServerConfig config;
  config.deny = {"192.0.2.0/24"};
  config.blacklist_threshold = 1;
  config.max_unauthenticated_per_address = 2;
  auto ac = AccessControl::create(config, **loop);
  ASSERT_TRUE(ac.ok());
  const auto now = AccessControl::Clock::now();
  AccessControl& a = **ac;
  EXPECT_EQ(a.decide("192.0.2.1", 0, now), Admission::kDenied);
  EXPECT_EQ(a.decide("198.51.100.1", 0, now), Admission::kAdmit);
  EXPECT_EQ(a.decide("198.51.100.1", 1, now), Admission::kAdmit);
  EXPECT_EQ(a.decide("198.51.100.1", 2, now), Admission::kTooManyUnauthenticated);
  a.authentication_failed("198.51.100.1");
  EXPECT_EQ(a.decide("198.51.100.1", 0, AccessControl::Clock::now()), Admission::kBlacklisted);
  EXPECT_EQ(a.decide("198.51.100.2", 0, AccessControl::Clock::now()), Admission::kAdmit);
  a.authentication_succeeded("198.51.100.1");
  EXPECT_EQ(a.decide("198.51.100.1", 0, AccessControl::Clock::now()), Admission::kAdmit);

  config.max_unauthenticated_per_address = 0;  // No limit.
  EXPECT_EQ(a.decide("198.51.100.3", 1000, now), Admission::kAdmit);
}

TEST(AccessControl, BadRangesInTheConfigAreErrors) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  ServerConfig config;
  config.allow = {"10.0.0.0/99"};
  auto ac = AccessControl::create(config, **loop);
  ASSERT_FALSE(ac.ok());
  EXPECT_EQ(ac.error().message().rfind("--allow: bad address range", 0), 0u);
}

// ---- The server with real clients from several loopback addresses ---------------------------

// Offers VNC Authentication's number; the client's one-byte answer decides: 'y' gets in.
class ByteSecurity final : public rfb::SecurityProvider {
 public:
  std::vector<uint8_t> offered() const override { return {rfb::security::kVncAuth}; }
  std::unique_ptr<rfb::SecurityHandler> create(uint8_t) override {
    return std::make_unique<Handler>();
  }

 private:
  class Handler final : public rfb::SecurityHandler {
   public:
    uint8_t type() const override { return rfb::security::kVncAuth; }
    void start(rfb::ByteBuffer&) override {}
    rfb::SecurityStep step(rfb::Reader& in, rfb::ByteBuffer&) override {
      if (!in.has(1)) return rfb::SecurityStep::need_more();
      return in.u8() == 'y' ? rfb::SecurityStep::success()
                            : rfb::SecurityStep::failure("wrong password");
    }
  };
};

// A blocking client connecting from a chosen loopback address; reads time out after 5 s.
class Client {
 public:
  Client(int port, const char* source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return bound_ && connected_; }
  std::string read(size_t n) {
    std::string out;
    char buf[4096];
    while (out.size() < n) {
      ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  uint32_t read_u32() {
    std::string b = read(4);
    if (b.size() != 4) return 0xFFFFFFFF;
    return uint32_t{static_cast<uint8_t>(b[0])} << 24 | uint32_t{static_cast<uint8_t>(b[1])} << 16 |
           uint32_t{static_cast<uint8_t>(b[2])} << 8 | uint32_t{static_cast<uint8_t>(b[3])};
  }
  std::string read_reason() {
    uint32_t len = read_u32();
    return len > 4096 ? std::string("<no reason>") : read(len);
  }
  void send(std::string_view s) { ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  // True when the server closes within the read timeout (after anything it still sends).
  bool closed_by_server() {
    char buf[4096];
    for (;;) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

  // RFB 3.8 up to the SecurityResult, answering `answer`. Returns 0 (ok), 1 (failed), or
  // 0xFFFFFFFF when the server did not offer the expected type.
  uint32_t authenticate(char answer) {
    if (read(12) != "RFB 003.008\n") return 0xFFFFFFFF;
    send("RFB 003.008\n");
    if (read(2) != std::string("\x01\x02", 2)) return 0xFFFFFFFF;
    send(std::string("\x02", 1) + answer);
    return read_u32();
  }
  // Authenticates and completes the handshake to ServerInit.
  bool log_in() {
    if (authenticate('y') != 0) return false;
    send(std::string("\x01", 1));
    std::string init = read(24);
    if (init.size() != 24) return false;
    return read(static_cast<uint8_t>(init[23])).size() == static_cast<uint8_t>(init[23]);
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
  bool connected_ = false;
};

class ServerAccessTest : public ::testing::Test {
 protected:
  void start_server() {
    config.listen_address = "127.0.0.1";
    config.port = 0;
    config.auth_failure_delay_ms = 0;
    auto l = EventLoop::create();
    ASSERT_TRUE(l.ok());
    loop = std::move(*l);
    server = std::make_unique<Server>(config, *loop, desktop, desktop, desktop, security, registry);
    auto port_or = server->start();
    ASSERT_TRUE(port_or.ok()) << port_or.error().message();
    port = *port_or;
    thread = std::thread([this] { result = server->run(/*handle_signals=*/false); });
  }
  void TearDown() override {
    if (thread.joinable()) {
      loop->post([this] { server->stop(); });
      thread.join();
    }
    server.reset();
  }
  size_t client_count() {
    return testing::on_loop(*loop, [&] { return server->clients().size(); });
  }
  template <class Pred>
  bool eventually(Pred p, milliseconds limit = milliseconds(5000)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!p()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }

  ServerConfig config;
  enc::EncoderRegistry registry = enc::EncoderRegistry::builtin();
  testing::TestDesktop desktop{rfb::Size{64, 48}};
  ByteSecurity security;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<Server> server;
  int port = 0;
  std::thread thread;
  Status result;
};

TEST_F(ServerAccessTest, BlacklistedAddressIsRefusedWhileAnotherWorks) {
  config.blacklist_threshold = 2;
  config.blacklist_timeout_s = 60;
  start_server();
  for (int i = 0; i < 2; ++i) {
    Client c(port, "127.0.0.2");
    ASSERT_TRUE(c.connected());
    ASSERT_EQ(c.authenticate('n'), 1u);
    EXPECT_EQ(c.read_reason(), "wrong password");
  }
  {
    // RFB 3.8: no security types and the reason, then the server closes.
    Client c(port, "127.0.0.2");
    ASSERT_TRUE(c.connected());
    EXPECT_EQ(c.read(12), "RFB 003.008\n");
    c.send("RFB 003.008\n");
    EXPECT_EQ(c.read(1), std::string("\x00", 1));
    EXPECT_EQ(c.read_reason(), "too many authentication failures, try again later");
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    // RFB 3.3: security type 0 and the reason.
    Client c(port, "127.0.0.2");
    EXPECT_EQ(c.read(12), "RFB 003.008\n");
    c.send("RFB 003.003\n");
    EXPECT_EQ(c.read_u32(), 0u);
    EXPECT_EQ(c.read_reason(), "too many authentication failures, try again later");
  }
  // Another address is not affected, even with the right password after wrong ones.
  Client other(port, "127.0.0.3");
  ASSERT_TRUE(other.connected());
  EXPECT_TRUE(other.log_in());
  EXPECT_TRUE(eventually([&] { return client_count() == 1; }));
  Client still_refused(port, "127.0.0.2");
  EXPECT_EQ(still_refused.authenticate('y'), 0xFFFFFFFFu);
}

TEST_F(ServerAccessTest, SuccessClearsTheFailuresOfAnAddress) {
  config.blacklist_threshold = 2;
  start_server();
  for (int round = 0; round < 3; ++round) {
    Client bad(port, "127.0.0.4");
    ASSERT_EQ(bad.authenticate('n'), 1u) << round;
    Client good(port, "127.0.0.4");
    EXPECT_TRUE(good.log_in()) << round;
  }
}

TEST_F(ServerAccessTest, ThresholdZeroNeverBlocks) {
  config.blacklist_threshold = 0;
  start_server();
  for (int i = 0; i < 8; ++i) {
    Client bad(port, "127.0.0.5");
    ASSERT_EQ(bad.authenticate('n'), 1u) << i;
  }
  Client good(port, "127.0.0.5");
  EXPECT_TRUE(good.log_in());
}

TEST_F(ServerAccessTest, DeniedAddressIsClosedAtAcceptWithoutAWord) {
  config.deny = {"127.0.0.2/32"};
  config.allow = {"127.0.0.0/8"};
  start_server();
  Client denied(port, "127.0.0.2");
  ASSERT_TRUE(denied.connected());
  EXPECT_EQ(denied.read(12), "");  // Closed before the server's ProtocolVersion.
  Client allowed(port, "127.0.0.3");
  EXPECT_TRUE(allowed.log_in());
}

TEST_F(ServerAccessTest, AddressOutsideTheAllowListIsClosed) {
  config.allow = {"127.0.0.3", "::1"};
  start_server();
  Client outside(port, "127.0.0.2");
  EXPECT_EQ(outside.read(12), "");
  Client inside(port, "127.0.0.3");
  EXPECT_TRUE(inside.log_in());
}

TEST_F(ServerAccessTest, IdleTimeoutClosesAQuietClientOnly) {
  config.idle_timeout_ms = 200;
  start_server();
  Client quiet(port, "127.0.0.2");
  ASSERT_TRUE(quiet.log_in());
  Client busy(port, "127.0.0.3");
  ASSERT_TRUE(busy.log_in());
  const auto start = std::chrono::steady_clock::now();
  // The busy client sends a pointer event every 50 ms; the quiet one sends nothing.
  const std::string pointer("\x05\x00\x00\x01\x00\x01", 6);
  while (std::chrono::steady_clock::now() - start < milliseconds(600)) {
    busy.send(pointer);
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(quiet.closed_by_server());
  EXPECT_EQ(client_count(), 1u);
  busy.send(pointer);
  EXPECT_EQ(client_count(), 1u);
  // And the busy one goes too once it stops.
  EXPECT_TRUE(busy.closed_by_server());
}

TEST_F(ServerAccessTest, UnauthenticatedConnectionsPerAddressAreLimited) {
  config.max_unauthenticated_per_address = 2;
  start_server();
  Client a(port, "127.0.0.2");
  Client b(port, "127.0.0.2");
  ASSERT_EQ(a.read(12), "RFB 003.008\n");  // Both accepted and waiting in the handshake.
  ASSERT_EQ(b.read(12), "RFB 003.008\n");
  Client third(port, "127.0.0.2");
  EXPECT_EQ(third.read(12), "RFB 003.008\n");
  third.send("RFB 003.008\n");
  EXPECT_EQ(third.read(1), std::string("\x00", 1));
  EXPECT_EQ(third.read_reason(), "too many connections from this address, try again later");
  // Other addresses are not limited by it.
  Client other(port, "127.0.0.3");
  EXPECT_TRUE(other.log_in());
  // Authenticated connections no longer count.
  a.send("RFB 003.008\n");
  ASSERT_EQ(a.read(2), std::string("\x01\x02", 2));
  a.send("\x02y");
  ASSERT_EQ(a.read_u32(), 0u);
  Client fourth(port, "127.0.0.2");
  EXPECT_TRUE(fourth.log_in());
}

}  // namespace
}  // namespace vncd::server
