#include "security/plain_auth.h"

#include <security/pam_appl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "rfb/log.h"
#include "security/secure_wipe.h"

namespace vncd::security {
namespace {

// What the conversation function answers PAM's prompts with.
struct Credentials {
  const std::string* user;
  const std::string* password;
};

// PAM frees the responses with free(): they must come from malloc (calloc/strdup here), the one
// place vncd allocates that way.
int converse(int count, const struct pam_message** messages, struct pam_response** responses,
             void* data) {
  if (count <= 0 || count > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  const auto* creds = static_cast<const Credentials*>(data);
  auto* replies =
      static_cast<pam_response*>(std::calloc(static_cast<size_t>(count), sizeof(pam_response)));
  if (replies == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < count; ++i) {
    const char* answer = nullptr;
    switch (messages[i]->msg_style) {
      case PAM_PROMPT_ECHO_OFF:
        answer = creds->password->c_str();
        break;
      case PAM_PROMPT_ECHO_ON:
        answer = creds->user->c_str();
        break;
      default:  // PAM_ERROR_MSG, PAM_TEXT_INFO: nothing to answer.
        break;
    }
    if (answer != nullptr) {
      replies[i].resp = ::strdup(answer);
      if (replies[i].resp == nullptr) {
        for (int j = 0; j < i; ++j) {
          if (replies[j].resp) {
            secure_wipe(replies[j].resp, std::strlen(replies[j].resp));
            std::free(replies[j].resp);
          }
        }
        std::free(replies);
        return PAM_BUF_ERR;
      }
    }
  }
  *responses = replies;
  return PAM_SUCCESS;
}

// Replaces PAM's failure delay (pam_faildelay sleeps for seconds): the loop must not block.
void no_fail_delay(int /*status*/, unsigned int /*delay_us*/, void* /*appdata*/) {}

struct PamEnd {
  int* status;
  void operator()(pam_handle_t* h) const { pam_end(h, *status); }
};

Status pam_authenticate_user(const std::string& service, const std::string& user,
                             const std::string& password) {
  Credentials creds{&user, &password};
  const pam_conv conv{&converse, &creds};
  pam_handle_t* raw = nullptr;
  int status = pam_start(service.c_str(), user.c_str(), &conv, &raw);
  if (status != PAM_SUCCESS) {
    return Error("PAM service \"" + service + "\" could not start: " + pam_strerror(raw, status));
  }
  std::unique_ptr<pam_handle_t, PamEnd> handle(raw, PamEnd{&status});
  using DelayFn = void (*)(int, unsigned int, void*);
  DelayFn delay = &no_fail_delay;
  // PAM_FAIL_DELAY takes the function pointer itself as its item.
  (void)pam_set_item(raw, PAM_FAIL_DELAY, reinterpret_cast<const void*>(delay));
  (void)pam_set_item(raw, PAM_RUSER, user.c_str());
  status = pam_authenticate(raw, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (status != PAM_SUCCESS) return Error(std::string("PAM: ") + pam_strerror(raw, status));
  status = pam_acct_mgmt(raw, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (status != PAM_SUCCESS) return Error(std::string("PAM account: ") + pam_strerror(raw, status));
  return {};
}

// A user name as it may appear in the log: control characters cannot forge log lines.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) c = '?';
  }
  return out;
}

bool valid_user_char(char c) {
  return static_cast<unsigned char>(c) > ' ' && c != ',' && c != 0x7f;
}

}  // namespace

Result<std::vector<std::string>> parse_plain_users(std::string_view list) {
  if (list.size() > kMaxPlainUsersLength) {
    return Error("--plain-users is too long (at most " + std::to_string(kMaxPlainUsersLength) +
                 " characters)");
  }
  std::vector<std::string> users;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = std::min(list.find(',', pos), list.size());
    std::string_view name = list.substr(pos, comma - pos);
    pos = comma + 1;
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.empty()) return Error("--plain-users has an empty user name");
    if (!std::all_of(name.begin(), name.end(), valid_user_char)) {
      return Error("--plain-users: \"" + std::string(name) + "\" is not a user name");
    }
    users.emplace_back(name);
  }
  return users;
}

bool plain_user_allowed(const std::vector<std::string>& allowed, std::string_view user) {
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return a == "*" || a == user; });
}

PasswordChecker pam_checker(std::string service) {
  return [service = std::move(service)](const std::string& user, const std::string& password) {
    return pam_authenticate_user(service, user, password);
  };
}

void PlainAuthHandler::start(rfb::ByteBuffer& /*out*/) {}

rfb::SecurityStep PlainAuthHandler::step(rfb::Reader& in, rfb::ByteBuffer& /*out*/) {
  if (done_) return rfb::SecurityStep::failure("Plain authentication step out of order");
  // "Plain subtype": U32 username-length, U32 password-length, then both strings.
  rfb::Reader peek = in;
  if (!peek.has(8)) return rfb::SecurityStep::need_more();
  const uint32_t user_length = peek.u32();
  const uint32_t password_length = peek.u32();
  if (user_length > kPlainMaxUsernameLength || password_length > kPlainMaxPasswordLength) {
    done_ = true;
    return rfb::SecurityStep::failure("Plain authentication: user name or password too long");
  }
  if (!peek.has(size_t{user_length} + password_length)) return rfb::SecurityStep::need_more();
  in = peek;
  done_ = true;
  auto user_bytes = in.bytes(user_length);
  auto password_bytes = in.bytes(password_length);
  std::string user(user_bytes.begin(), user_bytes.end());
  std::string password(password_bytes.begin(), password_bytes.end());

  // The client learns only that it failed; the log says why. The allow-list is checked first, so
  // PAM never sees users that may not log in here.
  Status verdict;
  if (user.empty() || user.find('\0') != std::string::npos ||
      password.find('\0') != std::string::npos) {
    verdict = Error("malformed user name or password");
  } else if (!plain_user_allowed(allowed_, user)) {
    verdict = Error("user is not in --plain-users");
  } else if (!checker_) {
    verdict = Error("no password checker configured");
  } else {
    verdict = checker_(user, password);
  }
  secure_wipe(password);
  if (!verdict) {
    log::info("Plain authentication of user \"", printable(user),
              "\" failed: ", verdict.error().message());
    return rfb::SecurityStep::failure("Authentication failed");
  }
  return rfb::SecurityStep::success(rfb::AuthInfo{.view_only = false, .user = std::move(user)});
}

}  // namespace vncd::security
