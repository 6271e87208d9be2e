// Protocol test harness: a recording ConnectionDelegate, a fixed-challenge security provider and
// ways of feeding bytes (all at once, byte by byte, random chunks). Test-only.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "rfb/connection.h"
#include "security/none_security.h"
#include "security/vnc_auth.h"

namespace vncd::test {

struct RecordingDelegate : rfb::ConnectionDelegate {
  rfb::ServerInitInfo init{{64, 48}, rfb::PixelFormat::rgb888(), "test desktop"};
  std::vector<std::string> events;
  bool refuse_init = false;
  rfb::Connection* connection = nullptr;

  rfb::ServerInitInfo on_client_init(bool shared) override {
    events.push_back(std::string("init shared=") + (shared ? "1" : "0"));
    if (refuse_init && connection) connection->close("refused");
    return init;
  }
  void on_set_pixel_format(const rfb::PixelFormat& f) override {
    events.push_back("pixel-format " + f.str());
  }
  void on_set_encodings(const std::vector<int32_t>& e) override {
    std::string s = "encodings";
    for (int32_t v : e) s += " " + std::to_string(v);
    events.push_back(s);
  }
  void on_update_request(const rfb::Rect& r, bool incremental) override {
    events.push_back("update " + r.str() + (incremental ? " inc" : " full"));
  }
  void on_key(uint32_t keysym, bool down) override {
    events.push_back("key " + std::to_string(keysym) + (down ? " down" : " up"));
  }
  void on_pointer(int x, int y, uint8_t mask) override {
    events.push_back("pointer " + std::to_string(x) + "," + std::to_string(y) + " " +
                     std::to_string(mask));
  }
  void on_cut_text(const std::string& t) override { events.push_back("cut " + t); }
  void on_cut_text_dropped(uint32_t len) override {
    events.push_back("cut-dropped " + std::to_string(len));
  }
  void on_enable_continuous_updates(bool enable, const rfb::Rect& area) override {
    events.push_back(std::string("continuous ") + (enable ? "on " : "off ") + area.str());
  }
  // "fence <flags in hex> <payload size>: <payload in hex>".
  void on_fence(uint32_t flags, std::span<const uint8_t> payload) override {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s = "fence ";
    for (int shift = 28; shift >= 0; shift -= 4) s += kHex[(flags >> shift) & 0xF];
    s += " " + std::to_string(payload.size()) + ":";
    for (uint8_t b : payload) {
      s += kHex[b >> 4];
      s += kHex[b & 0xF];
    }
    events.push_back(s);
  }
};

inline security::VncChallenge fixed_challenge() {
  security::VncChallenge c{};
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(0x10 + i * 7);
  return c;
}

// Offers a fixed list; VNC authentication uses fixed_challenge() so scripts are reproducible.
class TestSecurity : public rfb::SecurityProvider {
 public:
  TestSecurity(std::vector<uint8_t> types, security::VncPasswords passwords = {})
      : types_(std::move(types)), passwords_(std::move(passwords)) {}
  std::vector<uint8_t> offered() const override { return types_; }
  std::unique_ptr<rfb::SecurityHandler> create(uint8_t type) override {
    if (type == rfb::security::kNone) return std::make_unique<security::NoneSecurityHandler>();
    return std::make_unique<security::VncAuthHandler>(
        passwords_, [](std::span<uint8_t, security::kVncAuthChallengeSize> out) -> Status {
          auto c = fixed_challenge();
          std::copy(c.begin(), c.end(), out.begin());
          return {};
        });
  }

 private:
  std::vector<uint8_t> types_;
  security::VncPasswords passwords_;
};

enum class Feeding { kAllAtOnce, kByteByByte, kRandomChunks };

inline const char* feeding_name(Feeding f) {
  switch (f) {
    case Feeding::kAllAtOnce:
      return "AllAtOnce";
    case Feeding::kByteByByte:
      return "ByteByByte";
    case Feeding::kRandomChunks:
      return "RandomChunks";
  }
  return "?";
}

// Feeds `bytes` in the given pattern. Between chunks it releases a pending authentication failure,
// as the server does after its delay.
inline void feed(rfb::Connection& c, std::span<const uint8_t> bytes, Feeding how,
                 uint32_t seed = 1) {
  std::mt19937 rng(seed);
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t n = bytes.size() - pos;
    if (how == Feeding::kByteByByte) n = 1;
    if (how == Feeding::kRandomChunks) n = std::min(n, size_t{1} + rng() % 13);
    c.feed(bytes.subspan(pos, n));
    pos += n;
  }
}

inline std::vector<uint8_t> bytes_of(const rfb::ByteBuffer& b) {
  return std::vector<uint8_t>(b.data(), b.data() + b.size());
}

}  // namespace vncd::test
