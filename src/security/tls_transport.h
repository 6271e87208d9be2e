// TLS for VeNCrypt over GnuTLS: server credentials (anonymous ECDHE/DHE, or an X.509 certificate
// and key) loaded once at start-up and shared by every session, and TlsTransport, which decorates
// any rfb::Transport. Loop thread only; credentials must outlive every transport that uses them.
#pragma once

#include <gnutls/gnutls.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "rfb/result.h"
#include "rfb/security.h"
#include "rfb/transport.h"

namespace vncd::security {

namespace tls_detail {
// Move-only owners of GnuTLS handles (each handle type is a pointer to an opaque struct).
struct SessionDeleter {
  void operator()(gnutls_session_t s) const { gnutls_deinit(s); }
};
struct AnonDeleter {
  void operator()(gnutls_anon_server_credentials_t c) const {
    gnutls_anon_free_server_credentials(c);
  }
};
struct CertDeleter {
  void operator()(gnutls_certificate_credentials_t c) const {
    gnutls_certificate_free_credentials(c);
  }
};
struct PriorityDeleter {
  void operator()(gnutls_priority_t p) const { gnutls_priority_deinit(p); }
};
using SessionPtr = std::unique_ptr<std::remove_pointer_t<gnutls_session_t>, SessionDeleter>;
using AnonPtr =
    std::unique_ptr<std::remove_pointer_t<gnutls_anon_server_credentials_t>, AnonDeleter>;
using CertPtr =
    std::unique_ptr<std::remove_pointer_t<gnutls_certificate_credentials_t>, CertDeleter>;
using PriorityPtr = std::unique_ptr<std::remove_pointer_t<gnutls_priority_t>, PriorityDeleter>;
}  // namespace tls_detail

// What a TLS server session authenticates itself with.
class TlsCredentials {
 public:
  // Anonymous key exchange (ECDHE, or DHE with the RFC 7919 group): encryption without server
  // authentication, for VeNCrypt's TLS* subtypes.
  static Result<TlsCredentials> anonymous();
  // A PEM certificate (chain) and its private key, for the X509* subtypes. Errors are one line
  // naming the file and what is wrong with it.
  static Result<TlsCredentials> x509(const std::string& cert_file, const std::string& key_file);

  bool is_x509() const { return cert_ != nullptr; }
  // Sets the priorities and credentials on a new server session; a GnuTLS error code or 0.
  int apply(gnutls_session_t session) const;

 private:
  TlsCredentials() = default;

  tls_detail::AnonPtr anon_;
  tls_detail::CertPtr cert_;
  tls_detail::PriorityPtr priority_;
};

// A TLS server session over another transport. The handshake is driven by read() and write()
// (each returns 0 until it is done); afterwards they carry application data. Non-blocking
// throughout: GnuTLS's "would block" becomes 0, as for the inner transport.
class TlsTransport final : public rfb::Transport {
 public:
  // Longest plaintext written as one record.
  static constexpr size_t kMaxRecordPayload = 16384;
  // Non-fatal GnuTLS results (warning alerts) tolerated in a row before giving up.
  static constexpr int kMaxNonFatalInARow = 8;

  TlsTransport(std::unique_ptr<rfb::Transport> inner, const TlsCredentials& credentials);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  Result<size_t> read(std::span<uint8_t> buf) override;
  // After it returned 0, the next call must start with the same bytes (GnuTLS keeps the record
  // it could not send and finishes it first).
  Result<size_t> write(std::span<const uint8_t> data) override;
  // Sends close_notify if it can without blocking, then closes the inner transport.
  void close() override;
  int fd() const override { return inner_->fd(); }
  bool has_buffered_input() const override;
  bool wants_writable(bool have_output) const override;
  std::string peer() const override { return inner_->peer(); }

  bool handshake_done() const { return handshake_done_; }
  // "TLS1.3 ECDHE-SECP256R1 AES-256-GCM" style description, once the handshake is done.
  std::string description() const;

 private:
  static ssize_t push(gnutls_transport_ptr_t self, const void* data, size_t size);
  static ssize_t pull(gnutls_transport_ptr_t self, void* data, size_t size);
  ssize_t to_gnutls(const Result<size_t>& n);
  // Advances the handshake; an error when it failed.
  Status handshake();
  Error fail(const std::string& what, int code);
  void note_direction();

  std::unique_ptr<rfb::Transport> inner_;
  tls_detail::SessionPtr session_;
  std::string dead_;         // Set once the session failed: why.
  std::string inner_error_;  // Why the inner transport failed, for the message.
  size_t pending_send_ = 0;  // Plaintext bytes of a record GnuTLS holds after "would block".
  bool handshake_done_ = false;
  bool blocked_on_write_ = false;
  bool closed_ = false;
};

// The rfb::TransportLayer VeNCrypt hands to the session: wraps its transport in a TlsTransport.
class TlsLayer final : public rfb::TransportLayer {
 public:
  explicit TlsLayer(const TlsCredentials& credentials) : credentials_(credentials) {}
  std::unique_ptr<rfb::Transport> wrap(std::unique_ptr<rfb::Transport> inner) override;

 private:
  const TlsCredentials& credentials_;
};

}  // namespace vncd::security
