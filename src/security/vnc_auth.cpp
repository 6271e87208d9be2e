#include "security/vnc_auth.h"

#include <sys/random.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "security/secure_wipe.h"

namespace vncd::security {
namespace {

uint8_t reverse_bits(uint8_t b) {
  b = static_cast<uint8_t>(((b & 0xf0) >> 4) | ((b & 0x0f) << 4));
  b = static_cast<uint8_t>(((b & 0xcc) >> 2) | ((b & 0x33) << 2));
  return static_cast<uint8_t>(((b & 0xaa) >> 1) | ((b & 0x55) << 1));
}

// Encrypts both halves of the challenge with one key schedule (ECB, as the spec says).
VncResponse respond(const DesKey& key, std::span<const uint8_t, kVncAuthChallengeSize> challenge) {
  Des des(key);
  VncResponse out{};
  for (size_t half = 0; half < kVncAuthChallengeSize; half += kDesBlockSize) {
    DesBlock block = des.encrypt(challenge.subspan(half).first<kDesBlockSize>());
    std::memcpy(out.data() + half, block.data(), block.size());
  }
  return out;
}

}  // namespace

DesKey reverse_key_bits(std::span<const uint8_t, kDesKeySize> key) {
  DesKey out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = reverse_bits(key[i]);
  return out;
}

DesKey vnc_des_key(std::string_view password) {
  DesKey key{};
  for (size_t i = 0; i < key.size() && i < password.size(); ++i) {
    key[i] = reverse_bits(static_cast<uint8_t>(password[i]));
  }
  return key;
}

VncResponse vnc_auth_response(std::string_view password,
                              std::span<const uint8_t, kVncAuthChallengeSize> challenge) {
  DesKey key = vnc_des_key(password);
  VncResponse out = respond(key, challenge);
  secure_wipe(key.data(), key.size());
  return out;
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  // volatile keeps the compiler from turning the loop into an early-exit memcmp.
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

Status system_random(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(std::string("getrandom failed: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

ChallengeSource system_challenge_source() {
  return [](std::span<uint8_t, kVncAuthChallengeSize> out) { return system_random(out); };
}

VncAuthHandler::VncAuthHandler(const VncPasswords& passwords, ChallengeSource source)
    : source_(source ? std::move(source) : system_challenge_source()),
      full_key_(vnc_des_key(passwords.full)),
      view_only_key_(vnc_des_key(passwords.view_only)),
      has_full_(!passwords.full.empty()),
      has_view_only_(!passwords.view_only.empty()) {}

VncAuthHandler::~VncAuthHandler() {
  secure_wipe(full_key_.data(), full_key_.size());
  secure_wipe(view_only_key_.data(), view_only_key_.size());
}

void VncAuthHandler::start(rfb::ByteBuffer& out) {
  assert(state_ == State::kNotStarted);
  Status got = source_(challenge_);
  if (got.ok()) {
    state_ = State::kAwaitingResponse;
  } else {
    challenge_.fill(0);
    challenge_error_ = "Server could not make a random challenge (" + got.error().message() + ")";
    state_ = State::kNoChallenge;
  }
  out.append(challenge_);
}

rfb::SecurityStep VncAuthHandler::step(rfb::Reader& in, rfb::ByteBuffer& /*out*/) {
  assert(state_ != State::kNotStarted && state_ != State::kDone);
  if (state_ == State::kNotStarted || state_ == State::kDone) {
    return rfb::SecurityStep::failure("VNC authentication step out of order");
  }
  if (!in.has(kVncAuthResponseSize)) return rfb::SecurityStep::need_more();
  std::span<const uint8_t> response = in.bytes(kVncAuthResponseSize);
  bool no_challenge = state_ == State::kNoChallenge;
  state_ = State::kDone;
  if (no_challenge) return rfb::SecurityStep::failure(challenge_error_);

  // Both candidates are always computed and compared, so timing does not tell which password
  // (if any) was close, nor whether a view-only password is configured.
  VncResponse want_full = respond(full_key_, challenge_);
  VncResponse want_view = respond(view_only_key_, challenge_);
  bool full_ok = constant_time_equal(response, want_full) && has_full_;
  bool view_ok = constant_time_equal(response, want_view) && has_view_only_;
  secure_wipe(want_full.data(), want_full.size());
  secure_wipe(want_view.data(), want_view.size());

  // Full access wins when both passwords share their first 8 bytes, as in TigerVNC.
  if (full_ok) return rfb::SecurityStep::success(rfb::AuthInfo{.view_only = false, .user = {}});
  if (view_ok) return rfb::SecurityStep::success(rfb::AuthInfo{.view_only = true, .user = {}});
  return rfb::SecurityStep::failure("Authentication failed");
}

}  // namespace vncd::security
