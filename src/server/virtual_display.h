// VirtualDisplay: a private Xvfb (and optionally a session command inside it) that vncd starts
// when there is no desktop to share. Owns both child processes; destruction stops and reaps them.
// Start it from main before any thread exists (it forks); not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "rfb/result.h"
#include "server/cli_options.h"

namespace vncd::server {

// A child process in its own process group. Destruction sends SIGTERM to the group, waits up to
// `grace`, then SIGKILLs the group and reaps the child. Move-only.
class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // Whether it has exited (reaping it if so); false while it runs.
  bool exited();
  // SIGTERM to the group, SIGKILL after `grace`, reap. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  pid_t pid_ = -1;
};

struct VirtualDisplaySpec {
  VirtualSize size;
  // Run with /bin/sh -c inside the display; empty for none.
  std::string session_command;
  // Let Xvfb's and the session's stderr through (debug logging); otherwise they are silenced.
  bool show_child_output = false;
  // How long Xvfb may take to report its display number.
  std::chrono::milliseconds startup_timeout = std::chrono::milliseconds(15000);
  // The Xvfb binary; found in $PATH when it has no slash.
  std::string xvfb = "Xvfb";
};

class VirtualDisplay {
 public:
  // Starts Xvfb with -displayfd, waits until it reports its display (it does so once it accepts
  // connections), then starts the session command with DISPLAY set. Errors are one line starting
  // with "vncd: ".
  static Result<std::unique_ptr<VirtualDisplay>> start(const VirtualDisplaySpec& spec);

  // The session vncd starts when --session is not given: xterm, if installed.
  static std::string default_session();

  struct Token {  // Only start() can construct one.
   private:
    Token() = default;
    friend class VirtualDisplay;
  };
  explicit VirtualDisplay(Token) {}
  ~VirtualDisplay();
  VirtualDisplay(const VirtualDisplay&) = delete;
  VirtualDisplay& operator=(const VirtualDisplay&) = delete;

  // ":N".
  const std::string& display_name() const { return display_; }
  pid_t xvfb_pid() const { return xvfb_.pid(); }
  pid_t session_pid() const { return session_.pid(); }
  // Whether Xvfb is still running.
  bool alive() { return !xvfb_.exited(); }

 private:
  std::string display_;
  ChildProcess xvfb_;
  ChildProcess session_;  // Declared after xvfb_: destroyed (stopped) first.
};

// Finds an executable in $PATH (or checks a path containing '/'); empty when not found.
std::string find_executable(const std::string& name);

}  // namespace vncd::server
