#include "security/registry.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "security/none_security.h"
#include "security/tls_transport.h"

namespace vncd::security {
namespace {

// What protects a type's exchange, and what authenticates the client inside it.
enum class Layer : uint8_t { kNone, kAnonTls, kX509Tls };
enum class Auth : uint8_t { kNone, kVncAuth, kPlain };

// One row per security type or VeNCrypt subtype built in. Nothing else in vncd lists the types:
// a new one adds a row (and, for a new kind of authentication, a case in make_auth()).
struct SecurityTypeEntry {
  std::string_view name;
  uint8_t number;
  uint32_t subtype;  // VeNCrypt subtype, 0 for a type of its own.
  Layer layer;
  Auth auth;
};

constexpr SecurityTypeEntry kSecurityTypes[] = {
    {"none", rfb::security::kNone, 0, Layer::kNone, Auth::kNone},
    {"vncauth", rfb::security::kVncAuth, 0, Layer::kNone, Auth::kVncAuth},
    {"plain", rfb::security::kVeNCrypt, vencrypt::kPlain, Layer::kNone, Auth::kPlain},
    {"tlsnone", rfb::security::kVeNCrypt, vencrypt::kTlsNone, Layer::kAnonTls, Auth::kNone},
    {"tlsvnc", rfb::security::kVeNCrypt, vencrypt::kTlsVnc, Layer::kAnonTls, Auth::kVncAuth},
    {"tlsplain", rfb::security::kVeNCrypt, vencrypt::kTlsPlain, Layer::kAnonTls, Auth::kPlain},
    {"x509none", rfb::security::kVeNCrypt, vencrypt::kX509None, Layer::kX509Tls, Auth::kNone},
    {"x509vnc", rfb::security::kVeNCrypt, vencrypt::kX509Vnc, Layer::kX509Tls, Auth::kVncAuth},
    {"x509plain", rfb::security::kVeNCrypt, vencrypt::kX509Plain, Layer::kX509Tls, Auth::kPlain},
};

const SecurityTypeEntry* find_entry(SecurityChoice c) {
  for (const auto& entry : kSecurityTypes) {
    if (entry.number == c.type && entry.subtype == c.subtype) return &entry;
  }
  return nullptr;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

const SecurityTypeEntry* find_by_name(std::string_view name) {
  for (const auto& entry : kSecurityTypes) {
    if (equals_ignoring_case(entry.name, name)) return &entry;
  }
  return nullptr;
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Whether the configuration has what the entry needs, with a message for the user if not.
Status check_entry(const SecurityTypeEntry& e, const SecurityConfig& config) {
  const std::string name(e.name);
  if (e.auth == Auth::kVncAuth && config.vnc_passwords.full.empty()) {
    return Error("security type " + name +
                 " needs a password: give --password-file FILE (a file made with `vncpasswd -f` "
                 "or `vncd --store-password FILE`)");
  }
  if (e.auth == Auth::kPlain && config.plain_users.empty()) {
    return Error("security type " + name +
                 " needs --plain-users LIST (the users who may log in, or * for any)");
  }
  if (e.auth == Auth::kPlain && e.layer == Layer::kNone && !config.allow_plain_unencrypted) {
    return Error(
        "security type plain sends passwords unencrypted: use x509plain or tlsplain, or "
        "give --allow-plain-unencrypted if the network is trusted");
  }
  if (e.layer == Layer::kX509Tls && (config.x509_cert.empty() || config.x509_key.empty())) {
    return Error("security type " + name + " needs --x509-cert FILE and --x509-key FILE");
  }
  return {};
}

std::unique_ptr<rfb::SecurityHandler> make_auth(Auth auth, const SecurityConfig& config) {
  switch (auth) {
    case Auth::kNone:
      return std::make_unique<NoneSecurityHandler>();
    case Auth::kVncAuth:
      return std::make_unique<VncAuthHandler>(config.vnc_passwords, config.challenge_source);
    case Auth::kPlain:
      return std::make_unique<PlainAuthHandler>(config.plain_users, config.plain_checker);
  }
  return nullptr;
}

}  // namespace

// The registry's side of VeNCrypt: the layer and inner handler of each subtype.
class SecurityRegistry::VeNCryptSetup final : public VeNCryptServices {
 public:
  VeNCryptSetup(const SecurityConfig& config, const TlsCredentials* anon,
                const TlsCredentials* x509)
      : config_(config), anon_(anon), x509_(x509) {}

  std::unique_ptr<rfb::TransportLayer> layer(uint32_t subtype) override {
    const SecurityTypeEntry* e = find_entry({rfb::security::kVeNCrypt, subtype});
    if (e == nullptr) return nullptr;
    const TlsCredentials* creds = e->layer == Layer::kAnonTls   ? anon_
                                  : e->layer == Layer::kX509Tls ? x509_
                                                                : nullptr;
    if (creds == nullptr) return nullptr;
    return std::make_unique<TlsLayer>(*creds);
  }

  std::unique_ptr<rfb::SecurityHandler> inner(uint32_t subtype) override {
    const SecurityTypeEntry* e = find_entry({rfb::security::kVeNCrypt, subtype});
    return e ? make_auth(e->auth, config_) : nullptr;
  }

 private:
  const SecurityConfig& config_;
  const TlsCredentials* anon_;
  const TlsCredentials* x509_;
};

std::string known_security_types() {
  std::string out;
  for (const auto& entry : kSecurityTypes) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

std::string_view security_type_name(uint8_t type) {
  if (type == rfb::security::kVeNCrypt) return "vencrypt";
  for (const auto& entry : kSecurityTypes) {
    if (entry.number == type && entry.subtype == 0) return entry.name;
  }
  return "unknown";
}

Result<std::vector<SecurityChoice>> parse_security_choices(std::string_view list) {
  if (list.size() > kMaxSecurityListLength) {
    return Error("security type list is too long (" + std::to_string(list.size()) +
                 " characters, at most " + std::to_string(kMaxSecurityListLength) + ")");
  }
  if (trim(list).empty()) {
    return Error("no security types given; known types: " + known_security_types());
  }
  std::vector<SecurityChoice> choices;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = std::min(list.find(',', pos), list.size());
    std::string_view name = trim(list.substr(pos, comma - pos));
    pos = comma + 1;
    if (name.empty()) {
      return Error("empty name in security type list \"" + std::string(list) + "\"");
    }
    const SecurityTypeEntry* entry = find_by_name(name);
    if (entry == nullptr) {
      return Error("unknown security type \"" + std::string(name) +
                   "\"; known types: " + known_security_types());
    }
    SecurityChoice c{entry->number, entry->subtype};
    if (std::find(choices.begin(), choices.end(), c) != choices.end()) {
      return Error("security type " + std::string(entry->name) + " is listed twice");
    }
    choices.push_back(c);
  }
  return choices;
}

Result<std::vector<uint8_t>> parse_security_list(std::string_view list) {
  auto choices = parse_security_choices(list);
  if (!choices) return choices.error();
  std::vector<uint8_t> types;
  for (const SecurityChoice& c : *choices) {
    if (std::find(types.begin(), types.end(), c.type) == types.end()) types.push_back(c.type);
  }
  return types;
}

Result<SecurityNeeds> security_needs(std::string_view list) {
  auto choices = parse_security_choices(list);
  if (!choices) return choices.error();
  SecurityNeeds needs;
  for (const SecurityChoice& c : *choices) {
    const SecurityTypeEntry* e = find_entry(c);
    if (e == nullptr) continue;
    needs.vnc_password |= e->auth == Auth::kVncAuth;
    needs.certificate |= e->layer == Layer::kX509Tls;
    needs.plain_users |= e->auth == Auth::kPlain;
    needs.plain_in_clear |= e->auth == Auth::kPlain && e->layer == Layer::kNone;
    needs.unauthenticated |= e->auth == Auth::kNone;
  }
  return needs;
}

SecurityRegistry::SecurityRegistry() = default;
SecurityRegistry::SecurityRegistry(SecurityRegistry&&) noexcept = default;
SecurityRegistry& SecurityRegistry::operator=(SecurityRegistry&&) noexcept = default;
SecurityRegistry::~SecurityRegistry() = default;

Result<SecurityRegistry> SecurityRegistry::make(SecurityConfig config) {
  auto choices = parse_security_choices(config.types);
  if (!choices) return choices.error();
  SecurityRegistry reg;
  bool need_anon = false;
  bool need_x509 = false;
  for (const SecurityChoice& c : *choices) {
    const SecurityTypeEntry* entry = find_entry(c);
    if (entry == nullptr) return Error("internal error: security type " + std::to_string(c.type));
    if (Status s = check_entry(*entry, config); !s) return s.error();
    need_anon |= entry->layer == Layer::kAnonTls;
    need_x509 |= entry->layer == Layer::kX509Tls;
    if (c.subtype != 0) reg.subtypes_.push_back(c.subtype);
    if (std::find(reg.offered_.begin(), reg.offered_.end(), c.type) == reg.offered_.end())
      reg.offered_.push_back(c.type);
  }
  if (need_anon) {
    auto anon = TlsCredentials::anonymous();
    if (!anon) return anon.error();
    reg.anon_ = std::make_unique<TlsCredentials>(std::move(anon.value()));
  }
  if (need_x509) {
    auto x509 = TlsCredentials::x509(config.x509_cert, config.x509_key);
    if (!x509) return x509.error();
    reg.x509_ = std::make_unique<TlsCredentials>(std::move(x509.value()));
  }
  if (!config.challenge_source) config.challenge_source = system_challenge_source();
  if (!config.plain_checker) config.plain_checker = pam_checker(config.pam_service);
  reg.config_ = std::make_unique<SecurityConfig>(std::move(config));
  reg.vencrypt_ = std::make_unique<VeNCryptSetup>(*reg.config_, reg.anon_.get(), reg.x509_.get());
  return reg;
}

std::unique_ptr<rfb::SecurityHandler> SecurityRegistry::create(uint8_t type) {
  bool is_offered = std::find(offered_.begin(), offered_.end(), type) != offered_.end();
  assert(is_offered && "create() called for a type that was not offered");
  if (!is_offered) return nullptr;
  if (type == rfb::security::kVeNCrypt) {
    return std::make_unique<VeNCryptHandler>(subtypes_, *vencrypt_);
  }
  const SecurityTypeEntry* entry = find_entry({type, 0});
  return entry ? make_auth(entry->auth, *config_) : nullptr;
}

}  // namespace vncd::security
