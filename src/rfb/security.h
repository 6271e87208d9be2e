// Security: the interface each RFB security type implements (one handshake step at a time) and
// the provider the connection asks for offered types. Used on the loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rfb/transport.h"
#include "rfb/wire.h"

namespace vncd::rfb {

// Security type numbers (rfbproto.rst, "Security Types").
namespace security {
inline constexpr uint8_t kInvalid = 0;
inline constexpr uint8_t kNone = 1;
inline constexpr uint8_t kVncAuth = 2;
inline constexpr uint8_t kVeNCrypt = 19;
}  // namespace security

// What a successful authentication established about the session.
struct AuthInfo {
  bool view_only = false;
  std::string user;
};

// A layer a security type puts between the connection and the client's byte stream (VeNCrypt's
// TLS). Made by a handler, applied by whoever owns the transport (the session).
class TransportLayer {
 public:
  virtual ~TransportLayer() = default;
  // Returns a transport that reads and writes through `inner`, which it owns from now on. Its
  // own handshake is driven by the returned transport's read() and write() calls.
  virtual std::unique_ptr<Transport> wrap(std::unique_ptr<Transport> inner) = 0;
};

struct SecurityStep {
  enum class Kind : uint8_t {
    kNeedMore,  // Not enough input yet; nothing was consumed.
    kContinue,  // Input consumed, more handshake to come.
    kSuccess,   // Authenticated; `auth` says how.
    kFailure,   // Refused; `reason` goes to the log and, in RFB 3.8, to the client.
    // Input consumed; everything written so far goes to the client in the clear, then the
    // transport is wrapped in `layer` and the handshake continues over it (VeNCrypt's TLS).
    kStartLayer,
  };
  Kind kind = Kind::kNeedMore;
  std::string reason;
  AuthInfo auth;
  std::unique_ptr<TransportLayer> layer;  // Set for kStartLayer only.

  static SecurityStep need_more() { return {}; }
  static SecurityStep proceed() { return {Kind::kContinue, {}, {}, {}}; }
  static SecurityStep success(AuthInfo a = {}) { return {Kind::kSuccess, {}, std::move(a), {}}; }
  static SecurityStep failure(std::string why) { return {Kind::kFailure, std::move(why), {}, {}}; }
  static SecurityStep start_layer(std::unique_ptr<TransportLayer> l) {
    return {Kind::kStartLayer, {}, {}, std::move(l)};
  }
};

// One security type's server side of the handshake, from the moment the type is chosen until
// the point where RFB's SecurityResult would be sent. The connection sends SecurityResult itself.
class SecurityHandler {
 public:
  virtual ~SecurityHandler() = default;
  virtual uint8_t type() const = 0;
  // Called once, right after the type is agreed; writes the server's first message, if any
  // (VNC authentication's challenge).
  virtual void start(ByteBuffer& out) = 0;
  // Consumes client bytes from `in`. On kNeedMore, `in` must be left where it was.
  virtual SecurityStep step(Reader& in, ByteBuffer& out) = 0;
};

// The configured security types, in the order offered.
class SecurityProvider {
 public:
  virtual ~SecurityProvider() = default;
  virtual std::vector<uint8_t> offered() const = 0;
  // A handler for one of offered(); never called for other types.
  virtual std::unique_ptr<SecurityHandler> create(uint8_t type) = 0;
};

}  // namespace vncd::rfb
