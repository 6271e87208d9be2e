// VeNCrypt's Plain authentication (rfbproto.rst, "VeNCrypt" > "Plain subtype"): the user name and
// password exchange, the --plain-users allow-list (TigerVNC's PlainUsers) and the PAM check.
// Handlers are per connection, loop thread only; PAM runs on the loop thread (see pam_checker()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rfb/result.h"
#include "rfb/security.h"

namespace vncd::security {

// Longest user name and password accepted; both are checked before anything is allocated.
inline constexpr size_t kPlainMaxUsernameLength = 255;
inline constexpr size_t kPlainMaxPasswordLength = 1024;
// Longest --plain-users list.
inline constexpr size_t kMaxPlainUsersLength = 4096;
// The PAM service vncd authenticates against unless --pam-service says otherwise: every Linux
// system has it, and it checks the desktop's own accounts.
inline constexpr char kDefaultPamService[] = "login";

// Checks a user name and password; the error says why for the log (never sent to the client).
using PasswordChecker = std::function<Status(const std::string& user, const std::string& password)>;

// Splits "alice, bob" into names. "*" allows every user (as in TigerVNC). Fails on an empty
// name, a name with a space or control character, or an over-long list.
Result<std::vector<std::string>> parse_plain_users(std::string_view list);

// TigerVNC's PlainUsers rule: the user is listed, or the list holds "*". An empty list allows
// nobody.
bool plain_user_allowed(const std::vector<std::string>& allowed, std::string_view user);

// Authenticates with PAM (pam_authenticate, then pam_acct_mgmt for expired or locked accounts)
// against `service`. Blocks the calling thread for as long as the PAM modules take; PAM's own
// failure delay (pam_faildelay) is disabled because vncd delays failure reports without blocking.
// As for any PAM client, checking other users' passwords needs the rights to do so (root, or
// pam_unix's helper for the user vncd runs as).
PasswordChecker pam_checker(std::string service);

// The server side of the Plain exchange: U32 username-length, U32 password-length, username,
// password. Success names the user in AuthInfo::user.
class PlainAuthHandler final : public rfb::SecurityHandler {
 public:
  // Both must outlive the handler.
  PlainAuthHandler(const std::vector<std::string>& allowed_users, const PasswordChecker& checker)
      : allowed_(allowed_users), checker_(checker) {}

  // Plain only ever runs inside VeNCrypt.
  uint8_t type() const override { return rfb::security::kVeNCrypt; }
  // The client speaks first.
  void start(rfb::ByteBuffer& out) override;
  rfb::SecurityStep step(rfb::Reader& in, rfb::ByteBuffer& out) override;

 private:
  const std::vector<std::string>& allowed_;
  const PasswordChecker& checker_;
  bool done_ = false;
};

}  // namespace vncd::security
