// Fuzz target: the pre-auth handshake through the real SecurityRegistry, with each security
// configuration vncd can offer without certificate files: None, VNC Authentication, VeNCrypt
// Plain, and VeNCrypt's anonymous-TLS subtypes. TLS itself is GnuTLS's: when VeNCrypt starts its
// layer, the delegate accepts it without wrapping and the rest of the input is fed as if TLS had
// decrypted it, so the inner exchange (None, VNC Authentication, Plain) is fuzzed too.
// Input: byte 0 picks the configuration, byte 1 the chunk size; the rest is the client's bytes.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "fuzz_security_support.h"
#include "rfb/connection.h"
#include "security/registry.h"
#include "security/vnc_auth.h"

namespace {

using vncd::fuzz::CountingChecker;

struct Setup {
  std::string_view types;
  bool unauthenticated;  // Lists a type that lets anyone in.
};

constexpr std::array<Setup, 8> kSetups = {{
    {"none", true},
    {"vncauth", false},
    {"vncauth,none", true},
    {"plain", false},
    {"tlsnone", true},
    {"tlsvnc", false},
    {"tlsplain", false},
    {"tlsplain,tlsvnc,plain,vncauth", false},
}};

CountingChecker& checker() {
  static CountingChecker c;
  return c;
}

// Registries are built once (anonymous TLS credentials take a while); the handlers they make
// hold all per-connection state.
vncd::security::SecurityRegistry& registry(size_t i) {
  static std::array<std::unique_ptr<vncd::security::SecurityRegistry>, kSetups.size()> all = [] {
    vncd::fuzz::quiet_logs();
    std::array<std::unique_ptr<vncd::security::SecurityRegistry>, kSetups.size()> r;
    for (size_t k = 0; k < kSetups.size(); ++k) {
      vncd::security::SecurityConfig config;
      config.types = std::string(kSetups[k].types);
      config.vnc_passwords = {vncd::fuzz::kFuzzVncPassword, vncd::fuzz::kFuzzVncViewOnly};
      config.challenge_source = vncd::fuzz::fixed_challenge;
      config.plain_users = {vncd::fuzz::kFuzzUser};
      config.allow_plain_unencrypted = true;
      config.plain_checker = checker().fn();
      auto made = vncd::security::SecurityRegistry::make(std::move(config));
      if (!made) __builtin_trap();
      r[k] = std::make_unique<vncd::security::SecurityRegistry>(std::move(made.value()));
    }
    return r;
  }();
  return *all[i];
}

bool contains(std::span<const uint8_t> hay, std::span<const uint8_t> needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t which = data[0] % kSetups.size();
  auto& reg = registry(which);
  checker().accepted = 0;
  vncd::fuzz::CheckingDelegate delegate;
  vncd::rfb::Connection c(reg, delegate);
  const size_t chunk = 1 + data[1] % 32;
  std::span<const uint8_t> client(data + 2, size - 2);
  vncd::fuzz::feed_in_chunks(c, client, chunk);

  using State = vncd::rfb::Connection::State;
  const bool authenticated =
      delegate.inits > 0 || c.state() == State::kClientInit || c.state() == State::kNormal;
  if (!authenticated) return 0;
  // Whoever got in must have had a right to.
  const auto& auth = c.auth();
  if (!auth.user.empty()) {
    if (auth.user != vncd::fuzz::kFuzzUser || checker().accepted != 1) __builtin_trap();
    return 0;
  }
  if (kSetups[which].unauthenticated) return 0;
  vncd::security::VncChallenge challenge{};
  (void)vncd::fuzz::fixed_challenge(challenge);
  const auto full = vncd::security::vnc_auth_response(vncd::fuzz::kFuzzVncPassword, challenge);
  const auto view = vncd::security::vnc_auth_response(vncd::fuzz::kFuzzVncViewOnly, challenge);
  if (auth.view_only ? !contains(client, view) : !contains(client, full)) __builtin_trap();
  return 0;
}
