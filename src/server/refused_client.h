// Refusing a client politely: the RFB handshake up to the point where the server can say why it
// will not serve (rfbproto.rst "Security Handshake": no security types and a reason), then close.
// Used for throttled addresses, so a viewer shows "too many authentication failures" rather than
// a bare disconnect. Owned by AccessControl; loop thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "rfb/wire.h"
#include "server/event_loop.h"
#include "server/tcp.h"

namespace vncd::server {

// Transport-free: the server's ProtocolVersion goes to output() at construction; once the client's
// ProtocolVersion has arrived, the refusal for that version follows and done() turns true.
class RefusalHandshake {
 public:
  // Longest reason sent (the rest is cut).
  static constexpr size_t kMaxReason = 256;

  explicit RefusalHandshake(std::string reason);
  // Bytes from the client, split anywhere; anything after its ProtocolVersion is ignored.
  void feed(std::span<const uint8_t> bytes);
  rfb::ByteBuffer& output() { return out_; }
  // Nothing more will be read: send output() and close.
  bool done() const { return done_; }

 private:
  std::string reason_;
  std::string version_;  // The client's ProtocolVersion so far.
  rfb::ByteBuffer out_;
  bool done_ = false;
};

// Drives a RefusalHandshake over a transport: watches its fd, closes when the refusal has been
// sent, on any error, or after `timeout`, and then calls `on_finished` (from a loop callback; the
// owner must not destroy this inside it, only later).
class RefusedClient {
 public:
  RefusedClient(EventLoop& loop, std::unique_ptr<Transport> transport, std::string reason,
                std::chrono::milliseconds timeout, std::function<void()> on_finished);
  ~RefusedClient();
  RefusedClient(const RefusedClient&) = delete;
  RefusedClient& operator=(const RefusedClient&) = delete;

  bool finished() const { return finished_; }

 private:
  void on_ready(uint32_t ready);
  void flush();
  void finish();

  EventLoop& loop_;
  std::unique_ptr<Transport> transport_;
  RefusalHandshake handshake_;
  std::function<void()> on_finished_;
  EventLoop::TimerId timer_ = 0;
  uint32_t interest_ = 0;
  bool watching_ = false;
  bool finished_ = false;
};

}  // namespace vncd::server
