// SecurityRegistry: the one table of security types vncd knows, parsing of --security lists, and
// the rfb::SecurityProvider the connections ask for handlers. Built once at start-up; used on the
// loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rfb/result.h"
#include "rfb/security.h"
#include "security/vnc_auth.h"

namespace vncd::security {

// Longest --security list accepted (far more than there are types; bounds a typo'd flag).
inline constexpr size_t kMaxSecurityListLength = 1024;

struct SecurityConfig {
  // Comma-separated type names in the order offered, as given to --security ("none,vncauth").
  // Names are case-insensitive; spaces around commas are ignored.
  std::string types{};
  // For vncauth: what a --password-file held. Empty full password = no password configured.
  VncPasswords vnc_passwords{};
  // For vncauth: where challenges come from; null = the kernel's random source. Tests inject one.
  ChallengeSource challenge_source{};
};

// Turns "none,vncauth" into type numbers, in order. Fails on an empty list, an empty or unknown
// name (the message lists the known names) or a name given twice.
Result<std::vector<uint8_t>> parse_security_list(std::string_view list);

// The --security name of a type number ("none", "vncauth"), or "unknown" for types not built in.
std::string_view security_type_name(uint8_t type);

// The known names, comma-separated, for help and error text.
std::string known_security_types();

class SecurityRegistry final : public rfb::SecurityProvider {
 public:
  // Checks that every listed type can be offered with this config (e.g. vncauth has a password).
  static Result<SecurityRegistry> make(SecurityConfig config);

  std::vector<uint8_t> offered() const override { return offered_; }
  // A fresh handler for one of offered(); nullptr (and an assertion in debug builds) for others.
  std::unique_ptr<rfb::SecurityHandler> create(uint8_t type) override;

 private:
  SecurityRegistry(SecurityConfig config, std::vector<uint8_t> offered);

  SecurityConfig config_;
  std::vector<uint8_t> offered_;
};

}  // namespace vncd::security
