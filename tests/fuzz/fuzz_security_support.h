// Test-only helpers the security fuzz targets share: a connection delegate that checks what the
// connection hands it and accepts transport layers without wrapping anything, fixed credentials,
// and a helper that asserts the incremental-parser contract. Single-threaded, per fuzz input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rfb/connection.h"
#include "rfb/log.h"
#include "rfb/result.h"
#include "rfb/security.h"
#include "rfb/transport.h"
#include "security/plain_auth.h"
#include "security/vnc_auth.h"

namespace vncd::fuzz {

inline constexpr char kFuzzUser[] = "alice";
inline constexpr char kFuzzPassword[] = "secret";
inline constexpr char kFuzzVncPassword[] = "pw";
inline constexpr char kFuzzVncViewOnly[] = "view";
inline constexpr int kFuzzWidth = 1920;
inline constexpr int kFuzzHeight = 1080;
// Pre-auth, the server only ever writes short messages (version, type lists, challenges, reasons);
// more than this queued means a hostile client found an amplifier.
inline constexpr size_t kMaxPreAuthOutput = 4096;

// Fuzzers log nothing: a failing handshake per input would flood the terminal and slow the run.
inline void quiet_logs() {
  static const bool done = [] {
    log::set_level(log::Level::kError);
    return true;
  }();
  (void)done;
}

// The challenge is fixed so a fuzzer (and a seed) can contain the right response.
inline Status fixed_challenge(std::span<uint8_t, security::kVncAuthChallengeSize> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 7 + 1);
  return {};
}

// Accepts kFuzzUser/kFuzzPassword only, and counts accepted logins.
struct CountingChecker {
  int accepted = 0;
  security::PasswordChecker fn() {
    return [this](const std::string& user, const std::string& password) -> Status {
      if (user.size() > security::kPlainMaxUsernameLength ||
          password.size() > security::kPlainMaxPasswordLength)
        __builtin_trap();  // The handler must bound both before calling us.
      if (user == kFuzzUser && password == kFuzzPassword) {
        ++accepted;
        return {};
      }
      return Error("wrong password");
    };
  }
};

// A layer that is never asked to wrap: the fuzz targets feed post-layer bytes straight to the
// connection, as if the TLS layer had decrypted them.
class NoWrapLayer final : public rfb::TransportLayer {
 public:
  std::unique_ptr<rfb::Transport> wrap(std::unique_ptr<rfb::Transport> inner) override {
    return inner;
  }
};

// Checks that everything the connection passes on is inside its documented bounds.
class CheckingDelegate final : public rfb::ConnectionDelegate {
 public:
  int layers = 0;
  int inits = 0;

  rfb::ServerInitInfo on_client_init(bool) override {
    ++inits;
    return {{kFuzzWidth, kFuzzHeight}, rfb::PixelFormat::rgb888(), "fuzz"};
  }
  void on_set_pixel_format(const rfb::PixelFormat& f) override {
    if (!f.validate()) __builtin_trap();
  }
  void on_set_encodings(const std::vector<int32_t>& e) override {
    if (e.size() > rfb::MessageLimits{}.max_encodings) __builtin_trap();
  }
  void on_update_request(const rfb::Rect& r, bool) override {
    if (!r.empty() && (r.x < 0 || r.y < 0 || r.right() > kFuzzWidth || r.bottom() > kFuzzHeight))
      __builtin_trap();
  }
  void on_key(uint32_t, bool) override {}
  void on_pointer(int x, int y, uint8_t) override {
    if (x < 0 || y < 0 || x >= kFuzzWidth || y >= kFuzzHeight) __builtin_trap();
  }
  void on_cut_text(const std::string& t) override {
    if (t.size() > rfb::MessageLimits{}.max_cut_text) __builtin_trap();
  }
  bool on_transport_layer(std::unique_ptr<rfb::TransportLayer> layer) override {
    if (!layer) __builtin_trap();
    // One layer per connection: VeNCrypt refuses nested layers itself.
    if (++layers > 1) __builtin_trap();
    return true;
  }
};

// Feeds `rest` to `c` in chunks of `chunk` bytes, releasing failures at once and draining
// output, checking the pre-auth output bound after every chunk.
inline void feed_in_chunks(rfb::Connection& c, std::span<const uint8_t> rest, size_t chunk) {
  while (!rest.empty() && !c.closed()) {
    const size_t n = std::min(chunk, rest.size());
    c.feed(rest.first(n));
    rest = rest.subspan(n);
    if (c.state() != rfb::Connection::State::kNormal && c.output().size() > kMaxPreAuthOutput)
      __builtin_trap();
    if (c.failure_pending()) c.release_failure();
    c.output().consume(c.output().size());
  }
}

}  // namespace vncd::fuzz
