// Fuzz target: arbitrary client bytes into the connection state machine, pre-auth and post-auth.
// The first input byte picks the security types and how the rest is split into reads.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rfb/connection.h"
#include "security/none_security.h"
#include "security/vnc_auth.h"

namespace {

class FuzzSecurity : public vncd::rfb::SecurityProvider {
 public:
  explicit FuzzSecurity(uint8_t mode) : mode_(mode) {}
  std::vector<uint8_t> offered() const override {
    switch (mode_ % 3) {
      case 0:
        return {vncd::rfb::security::kNone};
      case 1:
        return {vncd::rfb::security::kVncAuth};
      default:
        return {vncd::rfb::security::kVncAuth, vncd::rfb::security::kNone};
    }
  }
  std::unique_ptr<vncd::rfb::SecurityHandler> create(uint8_t type) override {
    if (type == vncd::rfb::security::kNone)
      return std::make_unique<vncd::security::NoneSecurityHandler>();
    // A fixed challenge so the fuzzer can learn the right response for "pw".
    return std::make_unique<vncd::security::VncAuthHandler>(
        vncd::security::VncPasswords{"pw", "view"},
        [](std::span<uint8_t, vncd::security::kVncAuthChallengeSize> out) -> vncd::Status {
          for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
          return {};
        });
  }

 private:
  uint8_t mode_;
};

struct NullDelegate : vncd::rfb::ConnectionDelegate {
  vncd::rfb::ServerInitInfo on_client_init(bool) override {
    return {{1920, 1080}, vncd::rfb::PixelFormat::rgb888(), "fuzz"};
  }
  void on_set_pixel_format(const vncd::rfb::PixelFormat& f) override {
    // Must only ever see valid formats.
    if (!f.validate()) __builtin_trap();
  }
  void on_set_encodings(const std::vector<int32_t>& e) override {
    if (e.size() > vncd::rfb::MessageLimits{}.max_encodings) __builtin_trap();
  }
  void on_update_request(const vncd::rfb::Rect& r, bool) override {
    if (!r.empty() && (r.x < 0 || r.y < 0 || r.right() > 1920 || r.bottom() > 1080))
      __builtin_trap();
  }
  void on_key(uint32_t, bool) override {}
  void on_pointer(int x, int y, uint8_t) override {
    if (x < 0 || y < 0 || x >= 1920 || y >= 1080) __builtin_trap();
  }
  void on_cut_text(const std::string& t) override {
    if (t.size() > vncd::rfb::MessageLimits{}.max_cut_text) __builtin_trap();
  }
  void on_enable_continuous_updates(bool, const vncd::rfb::Rect& r) override {
    // Clipped exactly like an update request.
    on_update_request(r, true);
  }
  void on_fence(uint32_t, std::span<const uint8_t> payload) override {
    if (payload.size() > vncd::rfb::fence::kMaxPayload) __builtin_trap();
    // Copying reads every byte, so ASan reports a payload span that outlived its buffer.
    last_fence.assign(payload.begin(), payload.end());
  }
  std::vector<uint8_t> last_fence;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FuzzSecurity security(data[0]);
  NullDelegate delegate;
  vncd::rfb::Connection c(security, delegate);
  const size_t chunk = 1 + (data[0] >> 2);
  std::span<const uint8_t> rest(data + 1, size - 1);
  while (!rest.empty()) {
    size_t n = std::min(chunk, rest.size());
    c.feed(rest.first(n));
    rest = rest.subspan(n);
    if (c.failure_pending()) c.release_failure();
    c.output().consume(c.output().size());
  }
  return 0;
}
