// Command line: turns vncd's argv (GNU-style long flags, --flag=value, and the single-dash aliases
// TigerVNC and x11vnc users type) into Options. Pure function of its input; no I/O, no globals.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rfb/log.h"
#include "rfb/result.h"
#include "server/config.h"

namespace vncd::server {

// Size of the private Xvfb desktop (--virtual WxH[xDEPTH]).
struct VirtualSize {
  int width = 1920;
  int height = 1080;
  int depth = 24;
  bool operator==(const VirtualSize&) const = default;
};

// Limits on --virtual: Xvfb refuses larger screens and RFB sizes are 16-bit.
inline constexpr int kMinVirtualSide = 16;
inline constexpr int kMaxVirtualSide = 16384;
inline constexpr int kMaxFps = 1000;
inline constexpr int kMaxThreads = 64;
// Upper bounds of the limit flags (each a typo guard, far above any sane setting).
inline constexpr int kMaxClientsLimit = 100000;
inline constexpr int kMaxTimeoutSeconds = 86400;
inline constexpr int kMaxIdleSeconds = 7 * 86400;
inline constexpr int kMaxCutTextLimit = 256 << 20;

struct Options {
  ServerConfig server;
  // --display D; empty means $DISPLAY, and with no $DISPLAY a private virtual desktop.
  std::string display;
  // --virtual given: always start a private Xvfb, even when $DISPLAY is set.
  bool virtual_requested = false;
  VirtualSize virtual_size;
  // --session CMD (run with /bin/sh -c inside the virtual desktop). session_given false means the
  // default (xterm when installed); "" or "none" means no session.
  std::string session_command;
  bool session_given = false;
  std::string password_file;  // --password-file / -rfbauth: a vncpasswd file.
  // --security LIST as typed ("none,vncauth"); empty means the default (see security_list()).
  std::string security;
  // VeNCrypt: --x509-cert / --x509-key (PEM files) for the x509* types; --plain-users (comma
  // list, "*" = anyone PAM accepts), --pam-service and --allow-plain-unencrypted for *plain.
  std::string x509_cert;
  std::string x509_key;
  std::vector<std::string> plain_users;
  std::string pam_service;  // Empty: the security module's default.
  bool allow_plain_unencrypted = false;
  // --store-password FILE: write a vncpasswd file from a password read on stdin, then exit.
  std::string store_password_file;
  log::Level log_level = log::Level::kInfo;
  bool help = false;
  bool version = false;

  // The security types to offer: --security if given, else the safe default: with --x509-cert
  // the x509 types the credentials allow (x509plain with --plain-users, x509vnc with a password
  // file) and nothing weaker; else "tlsvnc,vncauth" with a password file; else "none", but only
  // on a loopback address. Empty when there is no safe default (see check_authentication()).
  std::string security_list() const;
  // Fails, with the one line main prints, when vncd would serve without authentication on a
  // non-loopback address without being told to (--security none).
  Status check_authentication() const;
  // True when the server would accept unauthenticated clients (none, tlsnone, x509none) on an
  // address other than loopback: main warns loudly about this at start-up.
  bool insecure_exposure() const;
};

// Parses the arguments after argv[0]. The error message is one line, starting with "vncd: ".
Result<Options> parse_options(std::span<const char* const> args);

// The --help text (every flag and alias), ending in a newline.
std::string help_text();
// The --version line, ending in a newline.
std::string version_text();

// Whether the address is a loopback address (127.0.0.0/8, ::1, "localhost").
bool is_loopback_address(std::string_view address);

}  // namespace vncd::server
