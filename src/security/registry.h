// SecurityRegistry: the one table of security types (and VeNCrypt subtypes) vncd knows, parsing
// of --security lists, and the rfb::SecurityProvider the connections ask for handlers. Built once
// at start-up (TLS credentials are loaded then); must outlive every connection; loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rfb/result.h"
#include "rfb/security.h"
#include "security/plain_auth.h"
#include "security/vencrypt.h"
#include "security/vnc_auth.h"

namespace vncd::security {

class TlsCredentials;

// Longest --security list accepted (far more than there are types; bounds a typo'd flag).
inline constexpr size_t kMaxSecurityListLength = 1024;

struct SecurityConfig {
  // Comma-separated names in the order offered, as given to --security ("x509plain,vncauth").
  // Names are case-insensitive; spaces around commas are ignored.
  std::string types{};
  // For vncauth and the *vnc subtypes: what a --password-file held. Empty full password = none.
  VncPasswords vnc_passwords{};
  // For vncauth: where challenges come from; null = the kernel's random source. Tests inject one.
  ChallengeSource challenge_source{};
  // For the x509* subtypes: PEM certificate (chain) and private key files.
  std::string x509_cert{};
  std::string x509_key{};
  // For the *plain subtypes: who may log in (--plain-users; "*" = anyone PAM accepts).
  std::vector<std::string> plain_users{};
  // The plain subtype sends the password in the clear: only offered when this is set.
  bool allow_plain_unencrypted = false;
  // For the *plain subtypes: the PAM service checked against.
  std::string pam_service = kDefaultPamService;
  // For the *plain subtypes: null = PAM with pam_service. Tests inject one.
  PasswordChecker plain_checker{};
};

// One entry of a --security list: a security type and, for VeNCrypt, the subtype (else 0).
struct SecurityChoice {
  uint8_t type = rfb::security::kInvalid;
  uint32_t subtype = 0;
  bool operator==(const SecurityChoice&) const = default;
};

// Turns "tlsvnc,vncauth" into choices, in order. Fails on an empty list, an empty or unknown name
// (the message lists the known names) or a name given twice.
Result<std::vector<SecurityChoice>> parse_security_choices(std::string_view list);

// The security type numbers a list offers, in order; VeNCrypt (19) once, where its first subtype
// is listed.
Result<std::vector<uint8_t>> parse_security_list(std::string_view list);

// What a list asks of the configuration (for command-line checks and the start-up warning).
struct SecurityNeeds {
  bool vnc_password = false;     // vncauth, tlsvnc, x509vnc
  bool certificate = false;      // x509*
  bool plain_users = false;      // plain, tlsplain, x509plain
  bool plain_in_clear = false;   // plain
  bool unauthenticated = false;  // none, tlsnone, x509none: anyone who connects gets in
};
Result<SecurityNeeds> security_needs(std::string_view list);

// The --security name of a type number ("none", "vncauth", "vencrypt"), or "unknown".
std::string_view security_type_name(uint8_t type);

// The known names, comma-separated, for help and error text.
std::string known_security_types();

class SecurityRegistry final : public rfb::SecurityProvider {
 public:
  // Checks that every listed type can be offered with this config (vncauth has a password, x509
  // types a certificate, ...) and loads the TLS credentials the list needs.
  static Result<SecurityRegistry> make(SecurityConfig config);
  SecurityRegistry(SecurityRegistry&&) noexcept;
  SecurityRegistry& operator=(SecurityRegistry&&) noexcept;
  ~SecurityRegistry() override;

  std::vector<uint8_t> offered() const override { return offered_; }
  // A fresh handler for one of offered(); nullptr (and an assertion in debug builds) for others.
  std::unique_ptr<rfb::SecurityHandler> create(uint8_t type) override;

  // The VeNCrypt subtypes offered, in order (empty when VeNCrypt is not).
  const std::vector<uint32_t>& vencrypt_subtypes() const { return subtypes_; }

 private:
  class VeNCryptSetup;

  SecurityRegistry();

  // Heap-held so their addresses stay put when the registry moves: handlers keep references.
  std::unique_ptr<SecurityConfig> config_;
  std::vector<uint8_t> offered_;
  std::vector<uint32_t> subtypes_;
  std::unique_ptr<TlsCredentials> anon_;
  std::unique_ptr<TlsCredentials> x509_;
  std::unique_ptr<VeNCryptSetup> vencrypt_;
};

}  // namespace vncd::security
