// Test support for the X11 platform tests: a private Xvfb per test suite (free display number
// through -displayfd), child processes such as xclip, and bounded waits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vncd::platform::test_support {

// A child process; killed (TERM, then KILL) and reaped on destruction.
class ChildProcess {
 public:
  // Runs argv[0] (a full path) with pipes for stdin/stdout when asked; stderr is inherited.
  static std::unique_ptr<ChildProcess> spawn(const std::vector<std::string>& argv, bool pipe_stdin,
                                             bool pipe_stdout,
                                             const std::vector<int>& keep_fds = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_; }
  bool write_stdin_and_close(const std::string& data);
  // Waits up to `timeout` for the process to exit; true (and its wait status) if it did.
  bool wait_exit(std::chrono::milliseconds timeout, int* status = nullptr);
  void kill_now();

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
};

class Xvfb {
 public:
  // Starts /usr/bin/Xvfb on a free display; nullptr and *error on failure. With listen_tcp the
  // server also accepts TCP connections ("127.0.0.1:N"), which look remote to clients.
  static std::unique_ptr<Xvfb> start(std::string* error, const std::string& screen = "640x480x24",
                                     bool listen_tcp = false);
  const std::string& display() const { return display_; }
  // Kills the server at once (to test a lost connection).
  void kill_now() { process_->kill_now(); }

 private:
  Xvfb() = default;
  std::unique_ptr<ChildProcess> process_;
  std::string display_;
};

// Calls `step` (e.g. process X events) and checks `done` every few milliseconds, until `done`
// or the timeout. Returns done().
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                const std::function<void()>& step = {});

// Reads everything from fd until EOF or timeout, calling `step` while waiting.
std::string read_all(int fd, std::chrono::milliseconds timeout, const std::function<void()>& step);

}  // namespace vncd::platform::test_support
