// VNC Authentication (rfbproto.rst, "VNC Authentication"): the challenge/response handler, the
// VNC flavour of DES keys, and the random challenge source. Handlers are per connection, loop
// thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "rfb/result.h"
#include "rfb/security.h"
#include "security/des.h"

namespace vncd::security {

inline constexpr size_t kVncAuthChallengeSize = 16;
inline constexpr size_t kVncAuthResponseSize = 16;
// VNC uses at most this many bytes of a password ("A password longer than the 64 bits required by
// DES is simply truncated").
inline constexpr size_t kVncPasswordMaxLength = 8;

using VncChallenge = std::array<uint8_t, kVncAuthChallengeSize>;
using VncResponse = std::array<uint8_t, kVncAuthResponseSize>;

// The passwords VNC Authentication accepts. An empty string means "none": an empty full-access
// password is never accepted, and an empty view-only password means view-only login is off.
// Only the first kVncPasswordMaxLength bytes of each take part.
struct VncPasswords {
  std::string full{};
  std::string view_only{};
};

// The DES key VNC derives from a password: its first 8 bytes, zero-padded, with the bits of each
// byte reversed, because VNC numbers key bits from the least significant bit (the quirk the spec
// notes) while FIPS DES numbers them from the most significant.
DesKey vnc_des_key(std::string_view password);

// Reverses the bit order of each key byte; turns a key as written for VNC's DES (d3des) into a
// FIPS 46-3 key and back.
DesKey reverse_key_bits(std::span<const uint8_t, kDesKeySize> key);

// What a client with `password` answers to `challenge`: each 8-byte half DES-encrypted (ECB).
VncResponse vnc_auth_response(std::string_view password,
                              std::span<const uint8_t, kVncAuthChallengeSize> challenge);

// Compares equal-length byte strings in time independent of where they differ. Returns false for
// different lengths (the length itself is not secret).
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Fills a challenge with unpredictable bytes, or says why it could not. Tests inject fixed ones.
using ChallengeSource = std::function<Status(std::span<uint8_t, kVncAuthChallengeSize>)>;

// Bytes from the kernel's CSPRNG (getrandom(2), blocking only until it is first seeded).
Status system_random(std::span<uint8_t> out);
ChallengeSource system_challenge_source();

// The server side of one VNC Authentication exchange.
class VncAuthHandler final : public rfb::SecurityHandler {
 public:
  // A null `source` means system_challenge_source().
  VncAuthHandler(const VncPasswords& passwords, ChallengeSource source);
  ~VncAuthHandler() override;
  VncAuthHandler(const VncAuthHandler&) = delete;
  VncAuthHandler& operator=(const VncAuthHandler&) = delete;

  uint8_t type() const override { return rfb::security::kVncAuth; }
  // Writes the 16-byte challenge. If no random challenge could be made, it still writes 16 bytes
  // (zeros) so the client answers and learns the reason in step(), instead of hanging; no
  // response is accepted then.
  void start(rfb::ByteBuffer& out) override;
  // Needs the 16-byte response; success (view_only set for the view-only password) or failure.
  rfb::SecurityStep step(rfb::Reader& in, rfb::ByteBuffer& out) override;

 private:
  enum class State : uint8_t { kNotStarted, kAwaitingResponse, kNoChallenge, kDone };

  ChallengeSource source_;
  DesKey full_key_{};
  DesKey view_only_key_{};
  bool has_full_ = false;
  bool has_view_only_ = false;
  VncChallenge challenge_{};
  std::string challenge_error_;
  State state_ = State::kNotStarted;
};

}  // namespace vncd::security
