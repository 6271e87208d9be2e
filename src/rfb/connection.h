// Connection: one client's RFB state machine, transport-free: bytes in through feed(), decoded
// messages out to a delegate, bytes to send in output(). Owned and used by the loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rfb/geometry.h"
#include "rfb/messages.h"
#include "rfb/pixel_format.h"
#include "rfb/security.h"
#include "rfb/wire.h"

namespace vncd::rfb {

// The protocol versions vncd speaks (rfbproto.rst, "ProtocolVersion").
enum class ProtocolVersion : uint8_t { k3_3, k3_7, k3_8 };
const char* to_string(ProtocolVersion v);

// What ServerInit carries (rfbproto.rst, "ServerInit").
struct ServerInitInfo {
  Size size;
  PixelFormat format;
  std::string name;
};

// Receives what the client asks for once the handshake is done. Callbacks run inside feed(); they
// may call Connection::close() (the connection is never destroyed from inside them) and may write
// server messages to Connection::output().
class ConnectionDelegate {
 public:
  virtual ~ConnectionDelegate() = default;
  // ClientInit arrived with the client's shared flag; returns what ServerInit should say.
  virtual ServerInitInfo on_client_init(bool shared) = 0;
  // An already validated pixel format.
  virtual void on_set_pixel_format(const PixelFormat& format) = 0;
  virtual void on_set_encodings(const std::vector<int32_t>& encodings) = 0;
  // `area` is the request clipped to the framebuffer (it may be empty).
  virtual void on_update_request(const Rect& area, bool incremental) = 0;
  virtual void on_key(uint32_t keysym, bool down) = 0;
  // Position clamped to the framebuffer.
  virtual void on_pointer(int x, int y, uint8_t button_mask) = 0;
  // Latin-1 text, at most MessageLimits::max_cut_text bytes (longer texts are dropped and
  // reported through on_cut_text_dropped).
  virtual void on_cut_text(const std::string& latin1) = 0;
  virtual void on_cut_text_dropped(uint32_t length) { (void)length; }
  // rfbproto.rst "EnableContinuousUpdates". `area` is clipped to the framebuffer exactly like
  // on_update_request's (it may be empty). The spec obliges the server to answer every request
  // with `enable` false with an EndOfContinuousUpdates (write_end_of_continuous_updates), even
  // when continuous updates were already off. The default ignores the message, which is right
  // only for a server that never announced the extension.
  virtual void on_enable_continuous_updates(bool enable, const Rect& area) {
    (void)enable;
    (void)area;
  }
  // rfbproto.rst "ClientFence": a request (flags has fence::kRequest) or the client's answer to
  // one of ours. The payload is at most fence::kMaxPayload bytes and valid only during the call.
  // A request is answered with write_fence(fence::response_flags(flags), payload). The default
  // ignores it, which is right only for a server that never announced the extension.
  virtual void on_fence(uint32_t flags, std::span<const uint8_t> payload) {
    (void)flags;
    (void)payload;
  }
  // The security type puts a layer (VeNCrypt's TLS) under the connection: every byte already in
  // Connection::output() must reach the client as it is, every later one through the layer, and
  // feed() then gets what the layer decodes. Called inside feed(). Returns false if this owner
  // cannot add layers; the connection then closes.
  virtual bool on_transport_layer(std::unique_ptr<TransportLayer> layer) {
    (void)layer;
    return false;
  }
};

struct ConnectionConfig {
  MessageLimits limits;
};

class Connection {
 public:
  // States of the handshake and session, in order (rfbproto.rst, "Protocol Messages").
  enum class State : uint8_t {
    kProtocolVersion,         // Sent our version, waiting for the client's.
    kSecurityType,            // 3.7/3.8: sent the list, waiting for the client's choice.
    kSecurity,                // The chosen type's own exchange.
    kSecurityFailurePending,  // Authentication failed; the report waits for release_failure().
    kClientInit,              // Waiting for ClientInit.
    kNormal,                  // Serving client messages.
    kClosed,                  // Nothing more is read; flush output() and close.
  };

  // Writes the server's ProtocolVersion to output() at once. Both references must outlive this.
  Connection(SecurityProvider& security, ConnectionDelegate& delegate,
             ConnectionConfig config = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Bytes from the client, split anywhere. Decodes every complete message in them.
  void feed(std::span<const uint8_t> bytes);

  // Bytes for the client. The owner sends them and consume()s what the transport took.
  ByteBuffer& output() { return out_; }
  const ByteBuffer& output() const { return out_; }

  State state() const { return state_; }
  bool closed() const { return state_ == State::kClosed; }
  // Set once closed: why (for the log).
  const std::string& close_reason() const { return close_reason_; }
  ProtocolVersion version() const { return version_; }
  // Valid from kClientInit on.
  const AuthInfo& auth() const { return auth_; }
  uint8_t security_type() const { return security_type_; }

  // Authentication failed: the owner waits (a deterrent to guessing), then calls this, which
  // writes the SecurityResult failure (with the reason, in 3.8) and closes.
  bool failure_pending() const { return state_ == State::kSecurityFailurePending; }
  void release_failure();

  // The framebuffer size update requests and pointer events are clipped to. Set by ServerInit.
  void set_framebuffer_size(Size size) { fb_size_ = size; }
  Size framebuffer_size() const { return fb_size_; }

  // Closes from the server side (shutdown, another client took exclusive access, a timeout).
  // Output already queued is still sent.
  void close(std::string reason);

 private:
  enum class Progress : uint8_t { kStop, kContinue };
  Progress step(Reader& r);
  Progress on_version(Reader& r);
  Progress on_security_type(Reader& r);
  Progress on_security(Reader& r);
  Progress on_client_init(Reader& r);
  Progress on_message(Reader& r);
  void begin_security(uint8_t type);
  void security_failed(const std::string& reason);
  void fail(const std::string& reason);
  // An area a client sent, clipped to the framebuffer: requests are never trusted to lie inside.
  Rect clip_to_framebuffer(uint16_t x, uint16_t y, uint16_t w, uint16_t h) const;

  SecurityProvider& security_;
  ConnectionDelegate& delegate_;
  ConnectionConfig config_;

  State state_ = State::kProtocolVersion;
  ProtocolVersion version_ = ProtocolVersion::k3_8;
  uint8_t security_type_ = security::kInvalid;
  std::unique_ptr<SecurityHandler> handler_;
  AuthInfo auth_;
  std::string failure_reason_;
  std::string close_reason_;
  Size fb_size_;
  bool invalid_choice_ = false;
  uint32_t discard_ = 0;  // Bytes of an over-long ClientCutText still to skip.

  std::vector<uint8_t> in_;  // Received bytes not yet decoded (at most one partial message).
  ByteBuffer out_;
};

}  // namespace vncd::rfb
