#include "security/tls_transport.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tls_test_support.h"

namespace vncd::security {
namespace {

using test::ByteQueue;
using test::PipeEnd;
using test::TestCertificate;
using test::TlsClient;

constexpr char kAnonClientPriority[] = "NORMAL:+ANON-ECDH:+ANON-DH";

std::vector<uint8_t> bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

struct Pair {
  ByteQueue c2s, s2c;
  PipeEnd* server_end = nullptr;  // Owned by `server`.
  std::unique_ptr<TlsTransport> server;

  explicit Pair(const TlsCredentials& creds, size_t capacity = SIZE_MAX) {
    auto end = std::make_unique<PipeEnd>(c2s, s2c);
    end->capacity = capacity;
    server_end = end.get();
    server = std::make_unique<TlsTransport>(std::move(end), creds);
  }

  // Runs both sides until the client's handshake ends; the client's last result.
  int handshake(TlsClient& client) {
    int rc = GNUTLS_E_AGAIN;
    std::vector<uint8_t> buf(1024);
    for (int i = 0; i < 100 && rc == GNUTLS_E_AGAIN; ++i) {
      rc = client.handshake_step();
      Result<size_t> r = server->read(buf);
      if (!r) return rc == 0 ? -1 : rc;
      EXPECT_EQ(*r, 0u);  // No application data during the handshake.
      (void)server->write(std::span<const uint8_t>());
    }
    return rc;
  }
};

std::vector<uint8_t> read_all(TlsTransport& t, size_t want) {
  std::vector<uint8_t> got;
  std::vector<uint8_t> buf(want + 16);
  for (int i = 0; i < 100 && got.size() < want; ++i) {
    Result<size_t> r = t.read(buf);
    if (!r) break;
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r));
  }
  return got;
}

TEST(TlsTransport, AnonymousHandshakeThenDataBothWays) {
  auto creds = TlsCredentials::anonymous();
  ASSERT_TRUE(creds.ok()) << creds.error().message();
  EXPECT_FALSE(creds->is_x509());
  Pair p(*creds);
  TlsClient client(p.s2c, p.c2s, kAnonClientPriority, false);
  EXPECT_FALSE(p.server->handshake_done());
  // Waiting for the ClientHello: nothing to write, so no reason to watch for writable.
  EXPECT_FALSE(p.server->wants_writable(true));
  ASSERT_EQ(p.handshake(client), 0);
  // The server may need one more read to see the client's Finished.
  std::vector<uint8_t> buf(64);
  ASSERT_TRUE(p.server->read(buf).ok());
  ASSERT_TRUE(p.server->handshake_done());
  EXPECT_NE(p.server->description().find("ANON"), std::string::npos) << p.server->description();

  client.send(bytes("hello, server"));
  EXPECT_EQ(read_all(*p.server, 13), bytes("hello, server"));
  auto msg = bytes("hello, client");
  Result<size_t> w = p.server->write(msg);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, msg.size());
  EXPECT_EQ(client.receive(), msg);
  // The ciphertext on the wire is not the plaintext.
  EXPECT_TRUE(p.s2c.empty());
}

TEST(TlsTransport, X509HandshakeWithTrustedCertificate) {
  TestCertificate cert;
  auto creds = TlsCredentials::x509(cert.cert_file, cert.key_file);
  ASSERT_TRUE(creds.ok()) << creds.error().message();
  EXPECT_TRUE(creds->is_x509());
  Pair p(*creds);
  TlsClient client(p.s2c, p.c2s, "NORMAL", true, cert.cert_file);
  ASSERT_EQ(p.handshake(client), 0);
  EXPECT_EQ(client.verify(), 0u);
  client.send(bytes("x509"));
  EXPECT_EQ(read_all(*p.server, 4), bytes("x509"));
}

TEST(TlsTransport, ClientSeesAnUntrustedCertificate) {
  TestCertificate cert;
  TestCertificate other;
  auto creds = TlsCredentials::x509(cert.cert_file, cert.key_file);
  ASSERT_TRUE(creds.ok());
  Pair p(*creds);
  TlsClient client(p.s2c, p.c2s, "NORMAL", true, other.cert_file);
  ASSERT_EQ(p.handshake(client), 0);
  EXPECT_NE(client.verify(), 0u);
}

TEST(TlsTransport, HandshakeSurvivesTinyPartialWrites) {
  auto creds = TlsCredentials::anonymous();
  ASSERT_TRUE(creds.ok());
  Pair p(*creds, 7);
  TlsClient client(p.s2c, p.c2s, kAnonClientPriority, false);
  int rc = GNUTLS_E_AGAIN;
  std::vector<uint8_t> buf(256);
  for (int i = 0; i < 5000 && (rc != 0 || !p.server->handshake_done()); ++i) {
    if (rc != 0) rc = client.handshake_step();
    ASSERT_TRUE(p.server->read(buf).ok());
    if (p.server->wants_writable(false)) {
      ASSERT_TRUE(p.server->write({}).ok());
    }
  }
  ASSERT_EQ(rc, 0);
  ASSERT_TRUE(p.server->handshake_done());
  // A large write goes out 7 bytes at a time: write() returns 0 until each record is out, and
  // the caller keeps offering the same bytes.
  std::vector<uint8_t> big(40000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 31);
  size_t sent = 0;
  std::vector<uint8_t> received;
  for (int i = 0; i < 100000 && sent < big.size(); ++i) {
    Result<size_t> w = p.server->write(std::span<const uint8_t>(big).subspan(sent));
    ASSERT_TRUE(w.ok());
    sent += *w;
    if (*w == 0) {
      EXPECT_TRUE(p.server->wants_writable(false));
      auto got = client.receive();
      received.insert(received.end(), got.begin(), got.end());
    }
  }
  auto rest = client.receive();
  received.insert(received.end(), rest.begin(), rest.end());
  EXPECT_EQ(sent, big.size());
  EXPECT_EQ(received, big);
}

TEST(TlsTransport, DecryptedBytesLeftBehindAreReportedAsBufferedInput) {
  auto creds = TlsCredentials::anonymous();
  ASSERT_TRUE(creds.ok());
  Pair p(*creds);
  TlsClient client(p.s2c, p.c2s, kAnonClientPriority, false);
  ASSERT_EQ(p.handshake(client), 0);
  std::vector<uint8_t> buf(4);
  ASSERT_TRUE(p.server->read(buf).ok());
  client.send(bytes("0123456789"));
  Result<size_t> r = p.server->read(buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 4u);
  EXPECT_TRUE(p.server->has_buffered_input());
  EXPECT_EQ(read_all(*p.server, 6), bytes("456789"));
  EXPECT_FALSE(p.server->has_buffered_input());
}

TEST(TlsTransport, GarbageInsteadOfAClientHelloFails) {
  auto creds = TlsCredentials::anonymous();
  ASSERT_TRUE(creds.ok());
  Pair p(*creds);
  for (char c : std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) p.c2s.push_back(c);
  std::vector<uint8_t> buf(64);
  Result<size_t> r = p.server->read(buf);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("TLS handshake failed"), std::string::npos);
  // Dead from now on, for reads and writes alike.
  EXPECT_FALSE(p.server->write(bytes("x")).ok());
}

TEST(TlsTransport, PeerClosingMidHandshakeFails) {
  auto creds = TlsCredentials::anonymous();
  ASSERT_TRUE(creds.ok());
  Pair p(*creds);
  p.server_end->peer_closed_ = true;
  std::vector<uint8_t> buf(64);
  Result<size_t> r = p.server->read(buf);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("peer closed"), std::string::npos) << r.error().message();
}

TEST(TlsCredentials, UnreadableFilesGiveOneLineErrorsNamingThem) {
  auto missing = TlsCredentials::x509("/nonexistent/cert.pem", "/nonexistent/key.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "cannot read --x509-cert /nonexistent/cert.pem: No such file or directory");
  TestCertificate cert;
  auto no_key = TlsCredentials::x509(cert.cert_file, "/nonexistent/key.pem");
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.error().message().find("--x509-key /nonexistent/key.pem"), std::string::npos);
  // Certificate and key swapped: both readable, GnuTLS refuses them.
  auto swapped = TlsCredentials::x509(cert.key_file, cert.cert_file);
  ASSERT_FALSE(swapped.ok());
  EXPECT_NE(swapped.error().message().find("cannot load X.509 certificate"), std::string::npos);
  EXPECT_EQ(swapped.error().message().find('\n'), std::string::npos);
  auto dir = TlsCredentials::x509("/tmp", cert.key_file);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message().find("not a file"), std::string::npos);
}

}  // namespace
}  // namespace vncd::security
