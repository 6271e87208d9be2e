#include "x11_test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace vncd::platform::test_support {
namespace {

using Clock = std::chrono::steady_clock;

// -displayfd writes one line and keeps the pipe open: read up to the newline.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && out.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                                  bool pipe_stdin, bool pipe_stdout,
                                                  const std::vector<int>& keep_fds) {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if (pipe_stdin && pipe2(in, O_CLOEXEC) != 0) return nullptr;
  if (pipe_stdout && pipe2(out, O_CLOEXEC) != 0) return nullptr;
  // Built before fork: the child may only call async-signal-safe functions.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return nullptr;
  if (pid == 0) {
    if (pipe_stdin) dup2(in[0], 0);
    if (pipe_stdout) {
      dup2(out[1], 1);
    } else {
      const int null_fd = ::open("/dev/null", O_WRONLY);  // Chatty tools (xclip -quiet).
      if (null_fd >= 0) dup2(null_fd, 1);
    }
    for (int fd : keep_fds) fcntl(fd, F_SETFD, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess);
  child->pid_ = pid;
  if (pipe_stdin) {
    ::close(in[0]);
    child->in_ = in[1];
  }
  if (pipe_stdout) {
    ::close(out[1]);
    child->out_ = out[0];
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!wait_exit(std::chrono::milliseconds(3000))) kill_now();
  }
  close_fd(in_);
  close_fd(out_);
}

bool ChildProcess::write_stdin_and_close(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(in_, data.data() + done, data.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close_fd(in_);
  return done == data.size();
}

bool ChildProcess::wait_exit(std::chrono::milliseconds timeout, int* status) {
  if (pid_ <= 0) return true;
  const auto deadline = Clock::now() + timeout;
  do {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      if (status != nullptr) *status = st;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (Clock::now() < deadline);
  return false;
}

void ChildProcess::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::unique_ptr<Xvfb> Xvfb::start(std::string* error, const std::string& screen, bool listen_tcp) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = "pipe failed";
    return nullptr;
  }
  // -noreset: the server must not reset when the test's last client disconnects.
  auto process =
      ChildProcess::spawn({"/usr/bin/Xvfb", "-displayfd", std::to_string(fds[1]), "-screen", "0",
                           screen, listen_tcp ? "-listen" : "-nolisten", "tcp", "-noreset"},
                          false, false, {fds[1]});
  ::close(fds[1]);
  if (!process) {
    ::close(fds[0]);
    *error = "cannot start /usr/bin/Xvfb";
    return nullptr;
  }
  std::string number = read_line(fds[0], std::chrono::milliseconds(15000));
  ::close(fds[0]);
  while (!number.empty() && (number.back() == '\n' || number.back() == ' ')) number.pop_back();
  if (number.empty()) {
    *error = "Xvfb did not report a display number";
    return nullptr;
  }
  std::unique_ptr<Xvfb> x(new Xvfb);
  x->process_ = std::move(process);
  x->display_ = ":" + number;
  return x;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                const std::function<void()>& step) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (step) step();
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string read_all(int fd, std::chrono::milliseconds timeout, const std::function<void()>& step) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (step) step();
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, 5);
    if (r < 0) break;
    if (r == 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace vncd::platform::test_support
