// vncd's entry point: flags -> options -> the desktop (shared or a private Xvfb) -> platform,
// security and encoders -> the server -> run until SIGINT/SIGTERM. Environment errors end here as
// one line on stderr and a non-zero exit.
#include <pwd.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "encodings/registry.h"
#include "rfb/log.h"
#include "rfb/result.h"
#include "security/password_file.h"
#include "security/registry.h"
#include "server/cli_options.h"
#include "server/config.h"
#include "server/event_loop.h"
#include "server/server.h"
#include "server/virtual_display.h"
// Last: Xlib (through the platform headers) #defines Status, None and Bool.
#include "platform/x11/x11_platform.h"

namespace vncd {
namespace {

constexpr int kExitFailure = 1;  // The environment did not let vncd run (display, port, files).
constexpr int kExitUsage = 2;    // Bad command line.

// Prints one line, prefixed "vncd: " unless the message already is.
void print_error(const std::string& message) {
  std::string line = message.rfind("vncd: ", 0) == 0 ? message : "vncd: " + message;
  line += '\n';
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

std::string user_and_host() {
  std::string user = "unknown";
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) {
    user = pw->pw_name;
  } else if (const char* u = std::getenv("USER"); u != nullptr && *u) {
    user = u;
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return user + "@" + (host[0] ? host : "localhost");
}

// --store-password: one line from stdin (without echo on a terminal) into a vncpasswd file.
int store_password(const std::string& path) {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::fputs("Password: ", stderr);
    std::fflush(stderr);
    if (::tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  }
  std::string password;
  int c;
  while ((c = std::getchar()) != EOF && c != '\n') password.push_back(static_cast<char>(c));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputs("\n", stderr);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    print_error("no password given; nothing written");
    return kExitFailure;
  }
  if (password.size() > security::kVncPasswordMaxLength) {
    std::fprintf(stderr, "vncd: note: VNC uses only the first %zu characters of a password\n",
                 security::kVncPasswordMaxLength);
  }
  security::VncPasswords passwords;
  passwords.full = password;
  auto written = security::write_password_file(path, passwords);
  std::fill(password.begin(), password.end(), '\0');
  if (!written.ok()) {
    print_error(written.error().message());
    return kExitFailure;
  }
  return EXIT_SUCCESS;
}

int run(const server::Options& opts) {
  // Start-up progress stays quiet at the default level, so that a failure to start is exactly
  // one line on stderr; what was set up is logged once the server listens. Warnings still show.
  log::set_level(opts.log_level == log::Level::kInfo ? log::Level::kWarn : opts.log_level);

  // SIGINT/SIGTERM are handled on the loop thread through a signalfd. Block them now, before
  // any thread exists, so none is delivered to a thread that would take the default action;
  // one that arrives during start-up waits until the loop runs and ends it cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Security first: a bad password file should fail before a virtual desktop is started.
  security::SecurityConfig security_config;
  security_config.types = opts.security_list();
  security_config.x509_cert = opts.x509_cert;
  security_config.x509_key = opts.x509_key;
  security_config.plain_users = opts.plain_users;
  security_config.allow_plain_unencrypted = opts.allow_plain_unencrypted;
  if (!opts.pam_service.empty()) security_config.pam_service = opts.pam_service;
  if (!opts.password_file.empty()) {
    auto passwords = security::read_password_file(opts.password_file);
    if (!passwords) {
      print_error(passwords.error().message());
      return kExitFailure;
    }
    security_config.vnc_passwords = std::move(passwords.value());
  }
  auto security = security::SecurityRegistry::make(std::move(security_config));
  if (!security) {
    print_error(security.error().message());
    return kExitFailure;
  }

  // The desktop: --display, else $DISPLAY, else (or with --virtual) a private Xvfb. The virtual
  // display is declared first so it outlives everything that talks to it.
  std::unique_ptr<server::VirtualDisplay> virtual_display;
  std::string display = opts.display;
  std::string virtual_session;
  const char* env_display = std::getenv("DISPLAY");
  if (display.empty() && !opts.virtual_requested && env_display != nullptr && *env_display) {
    display = env_display;
  }
  if (display.empty()) {
    server::VirtualDisplaySpec spec;
    spec.size = opts.virtual_size;
    spec.session_command =
        opts.session_given ? opts.session_command : server::VirtualDisplay::default_session();
    spec.show_child_output = opts.log_level >= log::Level::kDebug;
    virtual_session = spec.session_command;
    auto started = server::VirtualDisplay::start(spec);
    if (!started) {
      print_error(started.error().message());
      return kExitFailure;
    }
    virtual_display = std::move(started.value());
    display = virtual_display->display_name();
  }

  auto platform = platform::open_x11_platform(display);
  if (!platform) {
    print_error(platform.error().message());
    return kExitFailure;
  }

  const enc::EncoderRegistry encoders = enc::EncoderRegistry::builtin();

  auto loop = server::EventLoop::create();
  if (!loop) {
    print_error(loop.error().message());
    return kExitFailure;
  }

  server::ServerConfig config = opts.server;
  if (config.desktop_name.empty()) config.desktop_name = "vncd: " + user_and_host() + " " + display;

  server::Server srv(config, *loop.value(), *platform->frames, *platform->input,
                     *platform->clipboard, security.value(), encoders, platform->bell.get());
  auto port = srv.start();
  if (!port) {
    print_error(port.error().message());
    return kExitFailure;
  }
  log::set_level(opts.log_level);
  if (opts.server.port == 0) {
    // Scripts (and the integration tests) read the chosen port from here.
    std::printf("PORT=%d\n", port.value());
    std::fflush(stdout);
  }
  if (virtual_display) {
    log::info("started a virtual desktop on ", display, " (", opts.virtual_size.width, "x",
              opts.virtual_size.height, "x", opts.virtual_size.depth, ")",
              virtual_session.empty() ? std::string() : ", session: " + virtual_session);
  }
  log::info("serving ", display, " on ", config.listen_address, ":", port.value(),
            " (security: ", opts.security_list(), ")");
  if (opts.insecure_exposure()) {
    log::warn("*** WARNING: serving without a password on ", config.listen_address,
              ": anyone who can reach port ", port.value(),
              " can see and control this desktop. Use --password-file, or --localhost with an SSH "
              "tunnel. ***");
  }

  auto status = srv.run(true);  // Not "Status": Xlib #defines it.
  if (!status.ok()) {
    print_error(status.error().message());
    return kExitFailure;
  }
  log::info("stopped");
  return EXIT_SUCCESS;
}

}  // namespace
}  // namespace vncd

int main(int argc, char** argv) {
  std::span<const char* const> args(const_cast<const char* const*>(argv) + (argc > 0 ? 1 : 0),
                                    argc > 0 ? static_cast<size_t>(argc - 1) : 0);
  auto opts = vncd::server::parse_options(args);
  if (!opts) {
    vncd::print_error(opts.error().message());
    return vncd::kExitUsage;
  }
  if (opts->help) {
    std::fputs(vncd::server::help_text().c_str(), stdout);
    return EXIT_SUCCESS;
  }
  if (opts->version) {
    std::fputs(vncd::server::version_text().c_str(), stdout);
    return EXIT_SUCCESS;
  }
  if (!opts->store_password_file.empty()) {
    return vncd::store_password(opts->store_password_file);
  }
  if (auto auth = opts->check_authentication(); !auth.ok()) {  // Not "Status": Xlib #defines it.
    vncd::print_error(auth.error().message());
    return vncd::kExitUsage;
  }
  return vncd::run(opts.value());
}
