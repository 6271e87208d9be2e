#include "security/registry.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "security/none_security.h"

namespace vncd::security {
namespace {

// One row per security type built in. A new type (VeNCrypt and its TLS subtypes) adds a row:
// nothing else in vncd lists the types.
struct SecurityTypeEntry {
  std::string_view name;
  uint8_t number;
  // Whether the configuration has what the type needs, with a message for the user if not.
  Status (*check)(const SecurityConfig&);
  std::unique_ptr<rfb::SecurityHandler> (*make)(const SecurityConfig&);
};

Status always_available(const SecurityConfig& /*config*/) {
  return {};
}

Status vnc_auth_available(const SecurityConfig& config) {
  if (config.vnc_passwords.full.empty()) {
    return Error(
        "security type vncauth needs a password: give --password-file FILE (a file made with "
        "`vncpasswd -f`)");
  }
  return {};
}

constexpr SecurityTypeEntry kSecurityTypes[] = {
    {"none", rfb::security::kNone, always_available,
     [](const SecurityConfig&) -> std::unique_ptr<rfb::SecurityHandler> {
       return std::make_unique<NoneSecurityHandler>();
     }},
    {"vncauth", rfb::security::kVncAuth, vnc_auth_available,
     [](const SecurityConfig& config) -> std::unique_ptr<rfb::SecurityHandler> {
       return std::make_unique<VncAuthHandler>(config.vnc_passwords, config.challenge_source);
     }},
};

const SecurityTypeEntry* find_by_number(uint8_t number) {
  for (const auto& entry : kSecurityTypes) {
    if (entry.number == number) return &entry;
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

}  // namespace

std::string known_security_types() {
  std::string out;
  for (const auto& entry : kSecurityTypes) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

std::string_view security_type_name(uint8_t type) {
  const SecurityTypeEntry* entry = find_by_number(type);
  return entry ? entry->name : std::string_view("unknown");
}

Result<std::vector<uint8_t>> parse_security_list(std::string_view list) {
  if (list.size() > kMaxSecurityListLength) {
    return Error("security type list is too long (" + std::to_string(list.size()) +
                 " characters, at most " + std::to_string(kMaxSecurityListLength) + ")");
  }
  if (trim(list).empty()) {
    return Error("no security types given; known types: " + known_security_types());
  }
  std::vector<uint8_t> types;
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
    if (std::find(types.begin(), types.end(), entry->number) != types.end()) {
      return Error("security type " + std::string(entry->name) + " is listed twice");
    }
    types.push_back(entry->number);
  }
  return types;
}

Result<SecurityRegistry> SecurityRegistry::make(SecurityConfig config) {
  Result<std::vector<uint8_t>> types = parse_security_list(config.types);
  if (!types.ok()) return types.error();
  for (uint8_t type : *types) {
    // parse_security_list() only returns numbers from the table.
    const SecurityTypeEntry* entry = find_by_number(type);
    if (entry == nullptr) return Error("internal error: security type " + std::to_string(type));
    if (Status s = entry->check(config); !s.ok()) return s.error();
  }
  if (!config.challenge_source) config.challenge_source = system_challenge_source();
  return SecurityRegistry(std::move(config), std::move(types.value()));
}

SecurityRegistry::SecurityRegistry(SecurityConfig config, std::vector<uint8_t> offered)
    : config_(std::move(config)), offered_(std::move(offered)) {}

std::unique_ptr<rfb::SecurityHandler> SecurityRegistry::create(uint8_t type) {
  bool is_offered = std::find(offered_.begin(), offered_.end(), type) != offered_.end();
  assert(is_offered && "create() called for a type that was not offered");
  const SecurityTypeEntry* entry = is_offered ? find_by_number(type) : nullptr;
  return entry ? entry->make(config_) : nullptr;
}

}  // namespace vncd::security
