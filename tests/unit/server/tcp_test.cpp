// TcpListener and the transports: binding (port 0, IPv4/IPv6, in-use errors), accepting, and
// reading/writing through TcpTransport and MemoryTransport.
#include "server/tcp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace vncd::server {
namespace {

UniqueFd connect_to(int family, const char* addr, int port) {
  UniqueFd fd(::socket(family, SOCK_STREAM, 0));
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, addr, &a->sin_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, addr, &a->sin6_addr);
    len = sizeof *a;
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return UniqueFd();
  return fd;
}

// Accepts with a bounded wait (the listener is non-blocking).
std::unique_ptr<Transport> accept_one(TcpListener& l) {
  for (int i = 0; i < 200; ++i) {
    auto t = l.accept();
    EXPECT_TRUE(t.ok());
    if (!t.ok()) return nullptr;
    if (*t) return std::move(*t);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return nullptr;
}

TEST(TcpListener, PortZeroPicksAPortAndAccepts) {
  auto l = TcpListener::listen("127.0.0.1", 0);
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_GT(l->port(), 0);
  EXPECT_EQ(l->address(), "127.0.0.1:" + std::to_string(l->port()));

  // Nothing pending: accept() says so without blocking.
  auto none = l->accept();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);

  UniqueFd c = connect_to(AF_INET, "127.0.0.1", l->port());
  ASSERT_TRUE(c.valid());
  auto t = accept_one(*l);
  ASSERT_NE(t, nullptr);
  EXPECT_GE(t->fd(), 0);
  EXPECT_EQ(t->peer().rfind("127.0.0.1:", 0), 0u) << t->peer();

  // Bytes both ways.
  ASSERT_EQ(::send(c.get(), "ping", 4, 0), 4);
  uint8_t buf[16];
  Result<size_t> n = size_t{0};
  for (int i = 0; i < 200; ++i) {
    n = t->read(buf);
    ASSERT_TRUE(n.ok());
    if (*n > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(*n, 4u);
  EXPECT_EQ(std::string(buf, buf + 4), "ping");
  const uint8_t pong[] = {'p', 'o', 'n', 'g'};
  auto w = t->write(pong);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 4u);
  char in[4];
  ASSERT_EQ(::recv(c.get(), in, 4, MSG_WAITALL), 4);
  EXPECT_EQ(std::string(in, 4), "pong");

  // Nothing to read: 0, not an error. Then the client closes: an error naming it.
  auto empty = t->read(buf);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0u);
  c.reset();
  Result<size_t> eof = size_t{0};
  for (int i = 0; i < 200; ++i) {
    eof = t->read(buf);
    if (!eof.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(eof.ok());
  EXPECT_EQ(eof.error().message(), "connection closed by client");
}

TEST(TcpListener, PortInUseIsAClearError) {
  auto first = TcpListener::listen("127.0.0.1", 0);
  ASSERT_TRUE(first.ok());
  auto second = TcpListener::listen("127.0.0.1", first->port());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message(),
            "port " + std::to_string(first->port()) + " is already in use");
}

TEST(TcpListener, BadAddressesAreClearErrors) {
  auto bad = TcpListener::listen("300.1.2.3", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind("cannot listen on 300.1.2.3:0: ", 0), 0u)
      << bad.error().message();
  auto port = TcpListener::listen("127.0.0.1", 70000);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().message(), "cannot listen on 127.0.0.1:70000: invalid port");
  // An address this machine does not have.
  auto foreign = TcpListener::listen("192.0.2.1", 0);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message().find("cannot listen on 192.0.2.1:0"), std::string::npos);
}

TEST(TcpListener, LocalhostMeansIpv4Loopback) {
  auto l = TcpListener::listen("localhost", 0);
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->address(), "127.0.0.1:" + std::to_string(l->port()));
  UniqueFd c = connect_to(AF_INET, "127.0.0.1", l->port());
  EXPECT_TRUE(c.valid());
}

TEST(TcpListener, WildcardIpv6AlsoAcceptsIpv4) {
  UniqueFd probe(::socket(AF_INET6, SOCK_STREAM, 0));
  ASSERT_TRUE(probe.valid()) << "no IPv6 support on this machine";
  auto l = TcpListener::listen("::", 0);
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->address(), "[::]:" + std::to_string(l->port()));
  UniqueFd c4 = connect_to(AF_INET, "127.0.0.1", l->port());
  ASSERT_TRUE(c4.valid());
  auto t = accept_one(*l);
  ASSERT_NE(t, nullptr);
  // IPv4-mapped peers are shown as plain IPv4.
  EXPECT_EQ(t->peer().rfind("127.0.0.1:", 0), 0u) << t->peer();
}

TEST(MemoryTransport, CarriesBytesAndHonoursCapacity) {
  MemoryTransport t("test-peer");
  EXPECT_EQ(t.fd(), -1);
  EXPECT_EQ(t.peer(), "test-peer");
  uint8_t buf[8];
  auto none = t.read(buf);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  const uint8_t in[] = {1, 2, 3};
  t.push_input(in);
  auto n = t.read(buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(buf[2], 3);

  t.set_write_capacity(4);
  const uint8_t out[] = {9, 8, 7, 6, 5, 4};
  auto w = t.write(out);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 4u);
  auto full = t.write(out);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, 0u);
  EXPECT_EQ(t.take_output(), (std::vector<uint8_t>{9, 8, 7, 6}));

  t.close_input();
  EXPECT_FALSE(t.read(buf).ok());
  t.close();
  EXPECT_TRUE(t.closed());
  EXPECT_FALSE(t.write(out).ok());
}

}  // namespace
}  // namespace vncd::server
