// Test support for TLS: an in-memory transport pair, a GnuTLS client session over one end, and a
// self-signed certificate made at test time with GnuTLS's own X.509 API. Test-only.
#pragma once

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rfb/transport.h"

namespace vncd::security::test {

// Bytes one way between the two ends of a MemoryPipe.
using ByteQueue = std::deque<uint8_t>;

// One end of an in-memory stream: reads from `in`, writes to `out`. write() takes at most
// `capacity` bytes per call, so partial writes and "would block" happen.
class PipeEnd final : public rfb::Transport {
 public:
  PipeEnd(ByteQueue& in, ByteQueue& out) : in_(in), out_(out) {}
  Result<size_t> read(std::span<uint8_t> buf) override {
    if (closed_) return Error("closed");
    size_t n = std::min(buf.size(), in_.size());
    if (n == 0 && peer_closed_) return Error("peer closed");
    for (size_t i = 0; i < n; ++i) {
      buf[i] = in_.front();
      in_.pop_front();
    }
    return n;
  }
  Result<size_t> write(std::span<const uint8_t> data) override {
    if (closed_) return Error("closed");
    size_t n = std::min(data.size(), capacity);
    out_.insert(out_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    return n;
  }
  void close() override { closed_ = true; }
  int fd() const override { return -1; }
  std::string peer() const override { return "pipe"; }

  size_t capacity = SIZE_MAX;
  bool peer_closed_ = false;

 private:
  ByteQueue& in_;
  ByteQueue& out_;
  bool closed_ = false;
};

// A GnuTLS client over two queues (non-blocking: nothing to read = EAGAIN).
class TlsClient {
 public:
  TlsClient(ByteQueue& in, ByteQueue& out, const std::string& priority, bool x509,
            const std::string& ca_file = "")
      : in_(in), out_(out) {
    gnutls_init(&session_, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
    gnutls_priority_set_direct(session_, priority.c_str(), nullptr);
    if (x509) {
      gnutls_certificate_allocate_credentials(&cert_);
      if (!ca_file.empty())
        gnutls_certificate_set_x509_trust_file(cert_, ca_file.c_str(), GNUTLS_X509_FMT_PEM);
      gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, cert_);
    } else {
      gnutls_anon_allocate_client_credentials(&anon_);
      gnutls_credentials_set(session_, GNUTLS_CRD_ANON, anon_);
    }
    gnutls_transport_set_ptr(session_, this);
    gnutls_transport_set_push_function(
        session_, [](gnutls_transport_ptr_t p, const void* d, size_t n) -> ssize_t {
          auto* self = static_cast<TlsClient*>(p);
          auto* b = static_cast<const uint8_t*>(d);
          self->out_.insert(self->out_.end(), b, b + n);
          return static_cast<ssize_t>(n);
        });
    gnutls_transport_set_pull_function(session_,
                                       [](gnutls_transport_ptr_t p, void* d, size_t n) -> ssize_t {
                                         auto* self = static_cast<TlsClient*>(p);
                                         if (self->in_.empty()) {
                                           gnutls_transport_set_errno(self->session_, EAGAIN);
                                           return -1;
                                         }
                                         size_t k = std::min(n, self->in_.size());
                                         auto* b = static_cast<uint8_t*>(d);
                                         for (size_t i = 0; i < k; ++i) {
                                           b[i] = self->in_.front();
                                           self->in_.pop_front();
                                         }
                                         return static_cast<ssize_t>(k);
                                       });
    gnutls_handshake_set_timeout(session_, 0);
  }
  ~TlsClient() {
    gnutls_deinit(session_);
    if (anon_) gnutls_anon_free_client_credentials(anon_);
    if (cert_) gnutls_certificate_free_credentials(cert_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // 0 when done, GNUTLS_E_AGAIN while in progress, else a fatal error.
  int handshake_step() { return gnutls_handshake(session_); }
  // Verification of the server certificate against the trust file (0 = trusted).
  unsigned verify() {
    unsigned status = 0;
    gnutls_certificate_verify_peers3(session_, nullptr, &status);
    return status;
  }
  void send(std::span<const uint8_t> data) {
    ssize_t n = gnutls_record_send(session_, data.data(), data.size());
    (void)n;
  }
  std::vector<uint8_t> receive() {
    std::vector<uint8_t> out;
    uint8_t buf[4096];
    while (true) {
      ssize_t n = gnutls_record_recv(session_, buf, sizeof buf);
      if (n <= 0) break;
      out.insert(out.end(), buf, buf + n);
    }
    return out;
  }
  gnutls_session_t session() { return session_; }

 private:
  ByteQueue& in_;
  ByteQueue& out_;
  gnutls_session_t session_ = nullptr;
  gnutls_anon_client_credentials_t anon_ = nullptr;
  gnutls_certificate_credentials_t cert_ = nullptr;
};

// A self-signed ECDSA P-256 certificate for CN=localhost, written as PEM files in a fresh
// temporary directory (removed by the destructor).
class TestCertificate {
 public:
  TestCertificate() {
    char tmpl[] = "/tmp/vncd-tls-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    cert_file = dir_ + "/cert.pem";
    key_file = dir_ + "/key.pem";
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_init(&key);
    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    gnutls_x509_crt_init(&crt);
    gnutls_x509_crt_set_version(crt, 3);
    const unsigned char serial[] = {1};
    gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9);
    time_t now = time(nullptr);
    gnutls_x509_crt_set_activation_time(crt, now - 3600);
    gnutls_x509_crt_set_expiration_time(crt, now + 86400);
    gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
    gnutls_x509_crt_set_key(crt, key);
    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
    write(crt_pem(crt), cert_file);
    write(key_pem(key), key_file);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
  }
  ~TestCertificate() {
    std::remove(cert_file.c_str());
    std::remove(key_file.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string cert_file;
  std::string key_file;

 private:
  static std::string crt_pem(gnutls_x509_crt_t crt) {
    gnutls_datum_t d{};
    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
    std::string s(reinterpret_cast<char*>(d.data), d.size);
    gnutls_free(d.data);
    return s;
  }
  static std::string key_pem(gnutls_x509_privkey_t key) {
    gnutls_datum_t d{};
    gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d);
    std::string s(reinterpret_cast<char*>(d.data), d.size);
    gnutls_free(d.data);
    return s;
  }
  static void write(const std::string& text, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return;
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  std::string dir_;
};

}  // namespace vncd::security::test
