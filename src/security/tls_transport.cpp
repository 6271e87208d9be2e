#include "security/tls_transport.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "rfb/log.h"

namespace vncd::security {
namespace {

// TigerVNC's choices, so its viewers (and every other VeNCrypt client) agree with us: anonymous
// key exchange must be asked for explicitly, and TLS 1.3 has none, so anonymous sessions end up
// on TLS 1.2 with ECDHE or DHE.
constexpr char kAnonPriority[] = "NORMAL:+ANON-ECDH:+ANON-DH";
constexpr char kX509Priority[] = "NORMAL";

std::string gnutls_message(int code) {
  const char* s = gnutls_strerror(code);
  return s ? s : "unknown GnuTLS error";
}

// A readable regular file, or a one-line reason naming `what` and the path.
Status check_readable(const std::string& what, const std::string& path) {
  if (path.empty()) return Error(what + " needs a file name");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error("cannot read " + what + " " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Error("cannot read " + what + " " + path + ": not a file");
  if (::access(path.c_str(), R_OK) != 0) {
    return Error("cannot read " + what + " " + path + ": " + std::strerror(errno));
  }
  return {};
}

Result<tls_detail::PriorityPtr> make_priority(const char* text) {
  gnutls_priority_t p = nullptr;
  int rc = gnutls_priority_init(&p, text, nullptr);
  if (rc < 0) return Error(std::string("TLS priorities \"") + text + "\": " + gnutls_message(rc));
  return tls_detail::PriorityPtr(p);
}

}  // namespace

// ---- TlsCredentials ------------------------------------------------------------------------

Result<TlsCredentials> TlsCredentials::anonymous() {
  TlsCredentials c;
  gnutls_anon_server_credentials_t anon = nullptr;
  int rc = gnutls_anon_allocate_server_credentials(&anon);
  if (rc < 0) return Error("cannot set up anonymous TLS: " + gnutls_message(rc));
  c.anon_.reset(anon);
  // RFC 7919 groups: no slow parameter generation at start-up, and ECDHE is preferred anyway.
  rc = gnutls_anon_set_server_known_dh_params(anon, GNUTLS_SEC_PARAM_MEDIUM);
  if (rc < 0) return Error("cannot set up anonymous TLS: " + gnutls_message(rc));
  auto prio = make_priority(kAnonPriority);
  if (!prio) return prio.error();
  c.priority_ = std::move(prio.value());
  return c;
}

Result<TlsCredentials> TlsCredentials::x509(const std::string& cert_file,
                                            const std::string& key_file) {
  if (Status s = check_readable("--x509-cert", cert_file); !s) return s.error();
  if (Status s = check_readable("--x509-key", key_file); !s) return s.error();
  TlsCredentials c;
  gnutls_certificate_credentials_t cert = nullptr;
  int rc = gnutls_certificate_allocate_credentials(&cert);
  if (rc < 0) return Error("cannot set up X.509 TLS: " + gnutls_message(rc));
  c.cert_.reset(cert);
  rc = gnutls_certificate_set_x509_key_file(cert, cert_file.c_str(), key_file.c_str(),
                                            GNUTLS_X509_FMT_PEM);
  if (rc < 0) {
    return Error("cannot load X.509 certificate " + cert_file + " with key " + key_file + ": " +
                 gnutls_message(rc));
  }
  rc = gnutls_certificate_set_known_dh_params(cert, GNUTLS_SEC_PARAM_MEDIUM);
  if (rc < 0) return Error("cannot set up X.509 TLS: " + gnutls_message(rc));
  auto prio = make_priority(kX509Priority);
  if (!prio) return prio.error();
  c.priority_ = std::move(prio.value());
  return c;
}

int TlsCredentials::apply(gnutls_session_t session) const {
  int rc = gnutls_priority_set(session, priority_.get());
  if (rc < 0) return rc;
  if (cert_) return gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cert_.get());
  return gnutls_credentials_set(session, GNUTLS_CRD_ANON, anon_.get());
}

// ---- TlsTransport --------------------------------------------------------------------------

TlsTransport::TlsTransport(std::unique_ptr<rfb::Transport> inner, const TlsCredentials& credentials)
    : inner_(std::move(inner)) {
  gnutls_session_t s = nullptr;
  int rc = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK);
  if (rc < 0) {
    dead_ = "TLS session set-up failed: " + gnutls_message(rc);
    return;
  }
  session_.reset(s);
  rc = credentials.apply(s);
  if (rc < 0) {
    dead_ = "TLS session set-up failed: " + gnutls_message(rc);
    return;
  }
  gnutls_transport_set_ptr(s, this);
  gnutls_transport_set_push_function(s, &TlsTransport::push);
  gnutls_transport_set_pull_function(s, &TlsTransport::pull);
  // The session's own handshake timer bounds the handshake; GnuTLS's would need blocking waits.
  gnutls_handshake_set_timeout(s, 0);
}

TlsTransport::~TlsTransport() = default;

ssize_t TlsTransport::push(gnutls_transport_ptr_t self, const void* data, size_t size) {
  auto* t = static_cast<TlsTransport*>(self);
  return t->to_gnutls(t->inner_->write({static_cast<const uint8_t*>(data), size}));
}

ssize_t TlsTransport::pull(gnutls_transport_ptr_t self, void* data, size_t size) {
  auto* t = static_cast<TlsTransport*>(self);
  return t->to_gnutls(t->inner_->read({static_cast<uint8_t*>(data), size}));
}

// GnuTLS's transport convention: a byte count, or -1 with errno EAGAIN (would block) or a hard
// error, whose reason is kept for the log.
ssize_t TlsTransport::to_gnutls(const Result<size_t>& n) {
  if (!n) {
    inner_error_ = n.error().message();
    gnutls_transport_set_errno(session_.get(), ECONNRESET);
    return -1;
  }
  if (*n == 0) {
    gnutls_transport_set_errno(session_.get(), EAGAIN);
    return -1;
  }
  return static_cast<ssize_t>(*n);
}

void TlsTransport::note_direction() {
  blocked_on_write_ = gnutls_record_get_direction(session_.get()) == 1;
}

Error TlsTransport::fail(const std::string& what, int code) {
  dead_ = what + ": " + (inner_error_.empty() ? gnutls_message(code) : inner_error_);
  return Error(dead_);
}

Status TlsTransport::handshake() {
  for (int tries = 0;; ++tries) {
    int rc = gnutls_handshake(session_.get());
    if (rc == 0) {
      handshake_done_ = true;
      blocked_on_write_ = false;
      log::debug("client ", peer(), ": TLS handshake done (", description(), ")");
      return {};
    }
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
      note_direction();
      return {};
    }
    if (gnutls_error_is_fatal(rc) == 0 && tries < kMaxNonFatalInARow) continue;
    // Tell the client why, if that can be done without blocking; the connection ends anyway.
    if (inner_error_.empty()) (void)gnutls_alert_send_appropriate(session_.get(), rc);
    return fail("TLS handshake failed", rc);
  }
}

Result<size_t> TlsTransport::read(std::span<uint8_t> buf) {
  if (!dead_.empty()) return Error(dead_);
  if (closed_) return Error("TLS transport closed");
  if (!handshake_done_) {
    if (Status s = handshake(); !s) return s.error();
    if (!handshake_done_) return size_t{0};
  }
  // Drains what is available, a record at a time, so that little is left inside GnuTLS where the
  // fd's readiness cannot announce it (has_buffered_input() covers the rest).
  size_t got = 0;
  int non_fatal = 0;
  while (got < buf.size()) {
    ssize_t n = gnutls_record_recv(session_.get(), buf.data() + got, buf.size() - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      dead_ = "the client closed the TLS session";
      break;
    }
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
      note_direction();
      break;
    }
    // Warning alerts and renegotiation requests are not fatal to GnuTLS, but vncd neither
    // renegotiates nor expects warnings: a few are ignored, then the session ends.
    if (gnutls_error_is_fatal(static_cast<int>(n)) == 0 && ++non_fatal < kMaxNonFatalInARow) {
      continue;
    }
    (void)fail("TLS receive failed", static_cast<int>(n));
    break;
  }
  // Bytes already decrypted are delivered first; the error comes with the next read.
  if (got == 0 && !dead_.empty()) return Error(dead_);
  return got;
}

Result<size_t> TlsTransport::write(std::span<const uint8_t> data) {
  if (!dead_.empty()) return Error(dead_);
  if (closed_) return Error("TLS transport closed");
  if (!handshake_done_) {
    if (Status s = handshake(); !s) return s.error();
    if (!handshake_done_) return size_t{0};
  }
  if (data.empty()) return size_t{0};
  const bool retry = pending_send_ > 0;
  const size_t chunk = retry ? pending_send_ : std::min(data.size(), kMaxRecordPayload);
  assert(chunk <= data.size());
  ssize_t n = retry ? gnutls_record_send(session_.get(), nullptr, 0)
                    : gnutls_record_send(session_.get(), data.data(), chunk);
  if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
    pending_send_ = chunk;
    note_direction();
    return size_t{0};
  }
  if (n < 0) return fail("TLS send failed", static_cast<int>(n));
  pending_send_ = 0;
  blocked_on_write_ = false;
  // A retried record reports its whole length once it has gone.
  return retry ? chunk : static_cast<size_t>(n);
}

void TlsTransport::close() {
  if (closed_) return;
  closed_ = true;
  if (session_ && handshake_done_ && dead_.empty()) {
    // Best effort: close_notify if the socket takes it now; the client sees EOF either way.
    (void)gnutls_bye(session_.get(), GNUTLS_SHUT_WR);
  }
  inner_->close();
}

bool TlsTransport::has_buffered_input() const {
  if (closed_) return false;
  if (!dead_.empty()) return true;  // So the owner reads and learns the error.
  return handshake_done_ && gnutls_record_check_pending(session_.get()) > 0;
}

bool TlsTransport::wants_writable(bool have_output) const {
  if (closed_ || !dead_.empty()) return have_output;
  if (!handshake_done_) return blocked_on_write_;
  return have_output || blocked_on_write_;
}

std::string TlsTransport::description() const {
  if (!session_ || !handshake_done_) return "no TLS session";
  char* desc = gnutls_session_get_desc(session_.get());
  if (desc == nullptr) return "TLS";
  std::string out = desc;
  gnutls_free(desc);
  return out;
}

std::unique_ptr<rfb::Transport> TlsLayer::wrap(std::unique_ptr<rfb::Transport> inner) {
  return std::make_unique<TlsTransport>(std::move(inner), credentials_);
}

}  // namespace vncd::security
