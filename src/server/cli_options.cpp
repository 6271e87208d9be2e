#include "server/cli_options.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <functional>
#include <string>

#include "security/registry.h"
#include "server/access_control.h"
#include "vncd_config.h"

namespace vncd::server {
namespace {

using Handler = std::function<Status(Options&, const std::string& value)>;

// One flag: its canonical long name, its single-dash aliases, whether it takes a value, what it
// does, and its --help lines. The help text and the parser come from this one table, so the two
// cannot drift apart.
struct Flag {
  std::string_view name;                  // "--port"
  std::vector<std::string_view> aliases;  // {"-rfbport"}
  std::string_view value_name;            // "N"; empty for switches
  std::string_view help;
  Handler apply;
};

Error fail(const std::string& message) {
  return Error("vncd: " + message);
}

// Decimal digits only (no sign, no spaces, no hex), within [lo, hi].
bool parse_int(std::string_view text, int lo, int hi, int& out) {
  if (text.empty() || text.size() > 9) return false;
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (text[0] == '-' || text[0] == '+') return false;
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

Status parse_virtual(std::string_view text, VirtualSize& out) {
  const Error bad = fail("--virtual needs WIDTHxHEIGHT or WIDTHxHEIGHTxDEPTH, e.g. 1920x1080x24 (" +
                         std::to_string(kMinVirtualSide) + ".." + std::to_string(kMaxVirtualSide) +
                         " pixels, depth 16 or 24)");
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t x = text.find('x', start);
    parts.push_back(text.substr(start, x == std::string_view::npos ? x : x - start));
    if (x == std::string_view::npos) break;
    start = x + 1;
  }
  if (parts.size() != 2 && parts.size() != 3) return bad;
  VirtualSize v;
  if (!parse_int(parts[0], kMinVirtualSide, kMaxVirtualSide, v.width)) return bad;
  if (!parse_int(parts[1], kMinVirtualSide, kMaxVirtualSide, v.height)) return bad;
  if (parts.size() == 3) {
    if (!parse_int(parts[2], 1, 32, v.depth)) return bad;
    if (v.depth != 16 && v.depth != 24) return bad;
  }
  out = v;
  return {};
}

Status check_security_list(const std::string& list) {
  auto types = security::parse_security_list(list);
  if (!types) return fail("--security: " + types.error().message());
  return {};
}

// Comma-separated items, trimmed; empty items are dropped.
std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool offers(const std::string& security_list, std::string_view name) {
  for (std::string item : split_list(security_list)) {
    for (char& ch : item) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (item == name) return true;
  }
  return false;
}

// --allow/--deny: each use adds its ranges, checked now so a typo is a command-line error.
Status add_address_ranges(std::string_view flag, const std::string& value,
                          std::vector<std::string>& out) {
  auto ranges = parse_cidr_list(value);
  if (!ranges) return fail(std::string(flag) + ": " + ranges.error().message());
  if (out.size() + ranges->size() > kMaxAddressRules)
    return fail(std::string(flag) + ": more than " + std::to_string(kMaxAddressRules) +
                " address ranges");
  for (const Cidr& c : *ranges) out.push_back(c.text());
  return {};
}

Handler set_string(std::string Options::*field, std::string what) {
  return [field, what](Options& o, const std::string& v) -> Status {
    if (v.empty()) return fail(what);
    o.*field = v;
    return {};
  };
}

Handler set_flag(bool Options::*field, bool value) {
  return [field, value](Options& o, const std::string&) -> Status {
    o.*field = value;
    return {};
  };
}

const std::vector<Flag>& flags() {
  static const std::vector<Flag> table = {
      {"--display",
       {"-display"},
       "D",
       "X display to share (default: $DISPLAY; with none, a virtual desktop)",
       [](Options& o, const std::string& v) -> Status {
         if (v.empty()) return fail("--display needs a display name such as :0");
         o.display = v;
         return {};
       }},
      {"--port",
       {"-rfbport"},
       "N",
       "TCP port to listen on (default 5900; 0 picks a free port and prints PORT=<n>)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 0, 65535, o.server.port))
           return fail("--port needs a number between 0 and 65535");
         return {};
       }},
      {"--listen",
       {},
       "ADDR",
       "address to listen on (default 0.0.0.0, all IPv4 addresses)",
       [](Options& o, const std::string& v) -> Status {
         if (v.empty()) return fail("--listen needs an address such as 127.0.0.1");
         o.server.listen_address = v;
         return {};
       }},
      {"--localhost",
       {"-localhost"},
       "",
       "listen on 127.0.0.1 only (use with an SSH tunnel)",
       [](Options& o, const std::string&) -> Status {
         o.server.listen_address = "127.0.0.1";
         return {};
       }},
      {"--password-file",
       {"-rfbauth"},
       "F",
       "VNC password file made with vncpasswd (enables vncauth)",
       [](Options& o, const std::string& v) -> Status {
         if (v.empty()) return fail("--password-file needs a file name");
         o.password_file = v;
         return {};
       }},
      {"--security",
       {},
       "LIST",
       "security types to offer, in order of preference, comma-separated (the list is below; "
       "default: x509plain/x509vnc with --x509-cert, else tlsvnc,vncauth with a password file, "
       "else none on a loopback address only)",
       [](Options& o, const std::string& v) -> Status {
         if (Status s = check_security_list(v); !s) return s;
         o.security = v;
         return {};
       }},
      {"--x509-cert",
       {},
       "FILE",
       "PEM certificate (chain) for the x509* security types",
       set_string(&Options::x509_cert, "--x509-cert needs a file name")},
      {"--x509-key",
       {},
       "FILE",
       "PEM private key for the x509* security types",
       set_string(&Options::x509_key, "--x509-key needs a file name")},
      {"--plain-users",
       {},
       "LIST",
       "users who may log in with the *plain security types (* = anyone PAM accepts)",
       [](Options& o, const std::string& v) -> Status {
         o.plain_users = split_list(v);
         if (o.plain_users.empty())
           return fail("--plain-users needs a comma-separated list of users (or *)");
         return {};
       }},
      {"--pam-service",
       {},
       "NAME",
       "PAM service that checks *plain passwords",
       set_string(&Options::pam_service, "--pam-service needs a service name")},
      {"--allow-plain-unencrypted",
       {},
       "",
       "allow the plain security type, which sends passwords unencrypted",
       [](Options& o, const std::string&) -> Status {
         o.allow_plain_unencrypted = true;
         return {};
       }},
      {"--view-only",
       {"-viewonly"},
       "",
       "ignore keyboard, mouse and clipboard input from clients",
       [](Options& o, const std::string&) -> Status {
         o.server.view_only = true;
         return {};
       }},
      {"--shared",
       {"-shared"},
       "",
       "treat every client as shared (never disconnect others)",
       [](Options& o, const std::string&) -> Status {
         o.server.share_policy = SharePolicy::kAlwaysShared;
         return {};
       }},
      {"--never-shared",
       {"-nevershared"},
       "",
       "treat every client as exclusive: refuse a second client",
       [](Options& o, const std::string&) -> Status {
         o.server.share_policy = SharePolicy::kNeverShared;
         return {};
       }},
      {"--dont-disconnect",
       {"-dontdisconnect"},
       "",
       "refuse a non-shared client instead of disconnecting the others",
       [](Options& o, const std::string&) -> Status {
         o.server.dont_disconnect = true;
         return {};
       }},
      {"--once",
       {"-once"},
       "",
       "exit when the first client disconnects",
       [](Options& o, const std::string&) -> Status {
         o.server.once = true;
         return {};
       }},
      {"--forever",
       {"-forever"},
       "",
       "keep serving after clients disconnect (default)",
       [](Options& o, const std::string&) -> Status {
         o.server.once = false;
         return {};
       }},
      {"--name",
       {"-desktop"},
       "NAME",
       "desktop name shown by viewers (default: vncd: user@host display)",
       [](Options& o, const std::string& v) -> Status {
         o.server.desktop_name = v;
         return {};
       }},
      {"--log-level",
       {},
       "LEVEL",
       "error, warn, info (default) or debug",
       [](Options& o, const std::string& v) -> Status {
         if (!log::parse_level(v, o.log_level))
           return fail("--log-level needs one of error, warn, info, debug");
         return {};
       }},
      {"--max-fps",
       {},
       "N",
       "at most N framebuffer updates per second per client (default 60)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 1, kMaxFps, o.server.max_fps))
           return fail("--max-fps needs a number between 1 and " + std::to_string(kMaxFps));
         return {};
       }},
      {"--threads",
       {},
       "N",
       "encode updates on N threads (default: one per core)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 1, kMaxThreads, o.server.threads))
           return fail("--threads needs a number between 1 and " + std::to_string(kMaxThreads));
         return {};
       }},
      {"--virtual",
       {},
       "WxH[xDEPTH]",
       "serve a private Xvfb desktop of this size (default 1920x1080x24)",
       [](Options& o, const std::string& v) -> Status {
         if (Status s = parse_virtual(v, o.virtual_size); !s) return s;
         o.virtual_requested = true;
         return {};
       }},
      {"--session",
       {},
       "CMD",
       "command started inside the virtual desktop (default: xterm; none: nothing)",
       [](Options& o, const std::string& v) -> Status {
         o.session_command = v == "none" ? std::string() : v;
         o.session_given = true;
         return {};
       }},
      {"--max-clients",
       {},
       "N",
       "at most N clients at once (default 100; 0: no limit)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 0, kMaxClientsLimit, o.server.max_clients))
           return fail("--max-clients needs a number between 0 and " +
                       std::to_string(kMaxClientsLimit));
         return {};
       }},
      {"--handshake-timeout",
       {},
       "S",
       "close a client that has not authenticated within S seconds (default 30)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 1, kMaxTimeoutSeconds, o.server.handshake_timeout_s))
           return fail("--handshake-timeout needs a number of seconds between 1 and " +
                       std::to_string(kMaxTimeoutSeconds));
         return {};
       }},
      {"--max-unauthenticated-per-address",
       {},
       "N",
       "at most N connections from one address still authenticating (default 5; 0: no limit)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 0, kMaxClientsLimit, o.server.max_unauthenticated_per_address))
           return fail("--max-unauthenticated-per-address needs a number between 0 and " +
                       std::to_string(kMaxClientsLimit));
         return {};
       }},
      {"--idle-timeout",
       {},
       "S",
       "disconnect a client that sends nothing for S seconds (default 0: never)",
       [](Options& o, const std::string& v) -> Status {
         int seconds = 0;
         if (!parse_int(v, 0, kMaxIdleSeconds, seconds))
           return fail("--idle-timeout needs a number of seconds between 0 and " +
                       std::to_string(kMaxIdleSeconds));
         o.server.idle_timeout_ms = seconds * 1000;
         return {};
       }},
      {"--max-cut-text",
       {},
       "BYTES",
       "longest clipboard text taken from or sent to a client (default 1048576)",
       [](Options& o, const std::string& v) -> Status {
         int bytes = 0;
         if (!parse_int(v, 0, kMaxCutTextLimit, bytes))
           return fail("--max-cut-text needs a number of bytes between 0 and " +
                       std::to_string(kMaxCutTextLimit));
         o.server.limits.max_cut_text = static_cast<uint32_t>(bytes);
         return {};
       }},
      {"--max-encodings",
       {},
       "N",
       "longest SetEncodings list a client may send (default 1024)",
       [](Options& o, const std::string& v) -> Status {
         int n = 0;
         if (!parse_int(v, 1, 65535, n))
           return fail("--max-encodings needs a number between 1 and 65535");
         o.server.limits.max_encodings = static_cast<uint16_t>(n);
         return {};
       }},
      {"--allow",
       {},
       "CIDR,...",
       "accept clients only from these addresses (IPv4/IPv6 CIDR, e.g. 192.168.0.0/16,::1; "
       "repeatable)",
       [](Options& o, const std::string& v) -> Status {
         return add_address_ranges("--allow", v, o.server.allow);
       }},
      {"--deny",
       {},
       "CIDR,...",
       "refuse clients from these addresses (wins over --allow; repeatable)",
       [](Options& o, const std::string& v) -> Status {
         return add_address_ranges("--deny", v, o.server.deny);
       }},
      {"--blacklist-threshold",
       {},
       "N",
       "block an address after N failed authentications (default 5; 0: never)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 0, kMaxClientsLimit, o.server.blacklist_threshold))
           return fail("--blacklist-threshold needs a number between 0 and " +
                       std::to_string(kMaxClientsLimit));
         return {};
       }},
      {"--blacklist-timeout",
       {},
       "S",
       "first block lasts S seconds, doubling on each further failure (default 10)",
       [](Options& o, const std::string& v) -> Status {
         if (!parse_int(v, 1, kMaxTimeoutSeconds, o.server.blacklist_timeout_s))
           return fail("--blacklist-timeout needs a number of seconds between 1 and " +
                       std::to_string(kMaxTimeoutSeconds));
         return {};
       }},
      {"--store-password",
       {},
       "FILE",
       "read a password from stdin, write it to FILE as vncpasswd does, and exit",
       set_string(&Options::store_password_file, "--store-password needs a file name")},
      {"--help", {}, "", "print this help and exit", set_flag(&Options::help, true)},
      {"--version", {}, "", "print the version and exit", set_flag(&Options::version, true)},
  };
  return table;
}

}  // namespace

std::string Options::security_list() const {
  if (!security.empty()) return security;
  if (!x509_cert.empty()) {
    // An authenticated server: nothing weaker is offered unless listed explicitly.
    std::string list;
    if (!plain_users.empty()) list = "x509plain";
    if (!password_file.empty()) list += list.empty() ? "x509vnc" : ",x509vnc";
    if (!list.empty()) return list;
  } else if (!password_file.empty()) {
    // TLS first for viewers that speak VeNCrypt; plain VNC authentication for the rest.
    return "tlsvnc,vncauth";
  }
  return is_loopback_address(server.listen_address) ? "none" : "";
}

Status Options::check_authentication() const {
  if (!security_list().empty()) return {};
  return fail("refusing to serve without authentication on " + server.listen_address +
              ": give --password-file, --x509-cert with --plain-users, --localhost, or "
              "--security none");
}

bool Options::insecure_exposure() const {
  const std::string list = security_list();
  const bool unauthenticated =
      offers(list, "none") || offers(list, "tlsnone") || offers(list, "x509none");
  return unauthenticated && !is_loopback_address(server.listen_address);
}

bool is_loopback_address(std::string_view a) {
  if (a == "localhost" || a == "::1" || a == "[::1]") return true;
  return a.size() >= 4 && a.substr(0, 4) == "127.";
}

Result<Options> parse_options(std::span<const char* const> args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string arg = args[i] ? args[i] : "";
    const Flag* match = nullptr;
    std::string value;
    bool inline_value = false;

    if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') {
      size_t eq = arg.find('=');
      std::string name = arg.substr(0, eq);
      for (const Flag& f : flags()) {
        if (f.name == name) match = &f;
      }
      if (match && eq != std::string::npos) {
        value = arg.substr(eq + 1);
        inline_value = true;
      }
      if (!match) return fail("unknown option " + name + " (see vncd --help)");
    } else if (arg.size() > 1 && arg[0] == '-') {
      for (const Flag& f : flags()) {
        for (auto alias : f.aliases) {
          if (alias == arg) match = &f;
        }
      }
      if (!match) return fail("unknown option " + arg + " (see vncd --help)");
    } else {
      return fail("unexpected argument '" + arg + "' (see vncd --help)");
    }

    if (match->value_name.empty()) {
      if (inline_value) return fail(std::string(match->name) + " takes no value");
    } else if (!inline_value) {
      if (i + 1 >= args.size() || args[i + 1] == nullptr) {
        return fail(std::string(match->name) + " needs a value (" + std::string(match->value_name) +
                    ")");
      }
      value = args[++i];
    }
    if (Status s = match->apply(o, value); !s) return s.error();
  }

  for (std::string_view vnc_type : {"vncauth", "tlsvnc", "x509vnc"}) {
    if (offers(o.security_list(), vnc_type) && o.password_file.empty()) {
      return fail("--security " + std::string(vnc_type) +
                  " needs --password-file (make one with vncpasswd or vncd --store-password)");
    }
  }
  if (o.virtual_requested && !o.display.empty()) {
    return fail("--virtual and --display cannot be used together");
  }
  if (o.session_given && !o.session_command.empty() && !o.display.empty()) {
    return fail("--session only applies to the virtual desktop, not to --display");
  }
  return o;
}

// Appends `text` word-wrapped to kHelpWidth columns, continuation lines indented by `indent`.
static void append_wrapped(std::string& out, std::string_view text, size_t indent, size_t column) {
  constexpr size_t kHelpWidth = 100;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t space = text.find(' ', pos);
    std::string_view word = text.substr(pos, space == std::string_view::npos ? space : space - pos);
    if (column > indent && column + 1 + word.size() > kHelpWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  out += '\n';
}

std::string help_text() {
  constexpr size_t kIndent = 28;
  std::string out =
      "Usage: vncd [OPTION]...\n"
      "Share an X11 desktop over VNC (RFB 3.3/3.7/3.8). With no $DISPLAY and no --display,\n"
      "vncd starts a private virtual desktop (Xvfb) and shares that.\n"
      "\nOptions:\n";
  for (const Flag& f : flags()) {
    std::string left = "  " + std::string(f.name);
    if (!f.value_name.empty()) left += " " + std::string(f.value_name);
    if (left.size() < kIndent) {
      left.resize(kIndent, ' ');
    } else {
      left += "\n" + std::string(kIndent, ' ');
    }
    out += left;
    append_wrapped(out, f.help, kIndent, kIndent);
  }
  out += "\nSecurity types: " + security::known_security_types() + ".\n";
  out +=
      "\nOptions that take a value also accept OPTION=VALUE, as in --port=5901.\n"
      "Traditional aliases (TigerVNC / x11vnc):\n";
  for (const Flag& f : flags()) {
    for (auto alias : f.aliases) {
      std::string left = "  " + std::string(alias);
      if (!f.value_name.empty()) left += " " + std::string(f.value_name);
      left.resize(28, ' ');
      out += left + "= " + std::string(f.name) + "\n";
    }
  }
  out += "\nSee vncd(1) for security advice and examples.\n";
  return out;
}

std::string version_text() {
  return std::string("vncd ") + VNCD_VERSION + "\n";
}

}  // namespace vncd::server
