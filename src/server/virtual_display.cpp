#include "server/virtual_display.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace vncd::server {
namespace {

using Clock = std::chrono::steady_clock;

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Error(std::string("vncd: cannot create a pipe: ") + std::strerror(errno));
  }
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// Null-terminated char* arrays built before fork(), because the child may only call
// async-signal-safe functions.
class CStrings {
 public:
  explicit CStrings(std::vector<std::string> s) : strings_(std::move(s)) {
    for (auto& str : strings_) ptrs_.push_back(str.data());
    ptrs_.push_back(nullptr);
  }
  char* const* get() const { return ptrs_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> ptrs_;
};

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is the executable's path.
  std::vector<std::string> env;
  int keep_fd = -1;   // Inherited by the child (its close-on-exec flag is cleared).
  bool quiet = true;  // stdout and stderr to /dev/null; otherwise stdout only.
  bool die_with_parent = false;
};

// fork + exec in a new process group. The exec error, if any, comes back through a close-on-exec
// pipe, so a missing binary is reported here rather than as a mysterious exit later.
Result<ChildProcess> spawn(const SpawnSpec& spec) {
  CStrings argv(spec.argv);
  CStrings env(spec.env);
  auto status_pipe = make_pipe();
  if (!status_pipe) return status_pipe.error();
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull.get() < 0) {
    return Error(std::string("vncd: cannot open /dev/null: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return Error(std::string("vncd: fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setpgid(0, 0);
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
    }
    // The server blocks SIGINT/SIGTERM for its signalfd and ignores SIGPIPE; children must not
    // inherit either, or SIGTERM would not stop them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(devnull.get(), STDIN_FILENO);
    ::dup2(devnull.get(), STDOUT_FILENO);
    if (spec.quiet) ::dup2(devnull.get(), STDERR_FILENO);
    if (spec.keep_fd >= 0) ::fcntl(spec.keep_fd, F_SETFD, 0);
    ::execve(argv.get()[0], argv.get(), env.get());
    int err = errno;
    ssize_t n = ::write(status_pipe->write.get(), &err, sizeof err);
    (void)n;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // Also in the parent, so the group exists before we might signal it.
  ChildProcess child(pid);
  status_pipe->write.reset();
  int err = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe->read.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof err)) {
    return Error("vncd: cannot run " + spec.argv[0] + ": " + std::strerror(err));
  }
  return child;
}

std::vector<std::string> environment_with(const std::string& key, const std::string& value) {
  std::vector<std::string> env;
  const std::string prefix = key + "=";
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) env.emplace_back(*e);
  }
  env.push_back(prefix + value);
  return env;
}

}  // namespace

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

bool ChildProcess::exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    // The leader is gone; its group may still hold children of its own (a session's programs).
    ::kill(-pid_, SIGTERM);
    pid_ = -1;
    return true;
  }
  return false;
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);  // In case it has not reached its own setpgid yet.
  const auto deadline = Clock::now() + grace;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (Clock::now() >= deadline) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Whatever else is left in the group (grandchildren) gets no grace period.
  ::kill(-pid_, SIGKILL);
  pid_ = -1;
}

std::string find_executable(const std::string& name) {
  auto is_exec = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return is_exec(name) ? name : std::string();
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_exec(candidate)) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

std::string VirtualDisplay::default_session() {
  return find_executable("xterm").empty() ? std::string() : std::string("xterm");
}

Result<std::unique_ptr<VirtualDisplay>> VirtualDisplay::start(const VirtualDisplaySpec& spec) {
  const std::string xvfb = find_executable(spec.xvfb);
  if (xvfb.empty()) {
    return Error(
        "vncd: no $DISPLAY and Xvfb is not installed (apt-get install xvfb), or use --display");
  }
  auto display_pipe = make_pipe();
  if (!display_pipe) return display_pipe.error();

  const std::string screen = std::to_string(spec.size.width) + "x" +
                             std::to_string(spec.size.height) + "x" +
                             std::to_string(spec.size.depth);
  SpawnSpec xs;
  xs.argv = {xvfb,        "-displayfd", std::to_string(display_pipe->write.get()),
             "-screen",   "0",          screen,
             "-nolisten", "tcp",        "-noreset"};
  xs.env = environment_with("VNCD_VIRTUAL", "1");
  xs.keep_fd = display_pipe->write.get();
  xs.quiet = !spec.show_child_output;
  xs.die_with_parent = true;
  auto xvfb_child = spawn(xs);
  if (!xvfb_child) return xvfb_child.error();
  display_pipe->write.reset();

  auto vd = std::make_unique<VirtualDisplay>(Token{});
  vd->xvfb_ = std::move(xvfb_child.value());

  // Xvfb writes the display number once it accepts connections.
  std::string number;
  const auto deadline = Clock::now() + spec.startup_timeout;
  while (number.empty() || number.back() != '\n') {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Error("vncd: Xvfb did not start within " +
                   std::to_string(spec.startup_timeout.count() / 1000) + " seconds");
    }
    pollfd p{display_pipe->read.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[32];
    ssize_t n = ::read(display_pipe->read.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Error("vncd: Xvfb exited before it was ready (run with --log-level debug to see why)");
    }
    number.append(buf, static_cast<size_t>(n));
    if (number.size() > 16) return Error("vncd: Xvfb reported a malformed display number");
  }
  number.pop_back();
  if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) {
    return Error("vncd: Xvfb reported a malformed display number");
  }
  vd->display_ = ":" + number;

  if (!spec.session_command.empty()) {
    SpawnSpec ss;
    ss.argv = {"/bin/sh", "-c", spec.session_command};
    ss.env = environment_with("DISPLAY", vd->display_);
    ss.quiet = !spec.show_child_output;
    ss.die_with_parent = true;
    auto session = spawn(ss);
    if (!session) return session.error();
    vd->session_ = std::move(session.value());
  }
  return vd;
}

VirtualDisplay::~VirtualDisplay() {
  // The session first, so its programs do not complain about a vanished display.
  session_.stop(std::chrono::milliseconds(1000));
  xvfb_.stop(std::chrono::milliseconds(3000));
}

}  // namespace vncd::server
