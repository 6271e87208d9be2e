// Tests for the private Xvfb: it starts on a free display, runs the session with DISPLAY set, and
// leaves no process behind when destroyed. Needs the Xvfb binary (CI installs xvfb).
#include "server/virtual_display.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace vncd::server {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

bool process_exists(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

template <class F>
bool wait_until(F condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(VirtualDisplay, MissingXvfbIsOneClearLine) {
  VirtualDisplaySpec spec;
  spec.xvfb = "/nonexistent/Xvfb";
  auto r = VirtualDisplay::start(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "vncd: no $DISPLAY and Xvfb is not installed (apt-get install xvfb), or use --display");
}

TEST(VirtualDisplay, FailingXvfbIsReported) {
  VirtualDisplaySpec spec;
  spec.xvfb = "/bin/false";  // Exits at once without writing a display number.
  auto r = VirtualDisplay::start(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("Xvfb exited before it was ready"));
}

TEST(VirtualDisplay, StartsRunsSessionAndCleansUp) {
  char dir_template[] = "/tmp/vncd-vd-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string out = std::string(dir_template) + "/session.txt";

  VirtualDisplaySpec spec;
  spec.size = {320, 200, 24};
  // Records DISPLAY, then keeps running like a real session would.
  spec.session_command = "echo \"$DISPLAY\" > " + out + "; exec sleep 600";
  pid_t xvfb = -1, session = -1;
  {
    auto r = VirtualDisplay::start(spec);
    ASSERT_TRUE(r.ok()) << r.error().message();
    auto& vd = *r.value();
    EXPECT_THAT(vd.display_name(), MatchesRegex(":[0-9]+"));
    xvfb = vd.xvfb_pid();
    session = vd.session_pid();
    EXPECT_TRUE(process_exists(xvfb));
    EXPECT_TRUE(process_exists(session));
    EXPECT_TRUE(vd.alive());
    // The display socket exists once -displayfd has reported the number.
    const std::string socket = "/tmp/.X11-unix/X" + vd.display_name().substr(1);
    EXPECT_EQ(::access(socket.c_str(), F_OK), 0) << socket;
    ASSERT_TRUE(wait_until([&] { return read_file(out) == vd.display_name() + "\n"; }))
        << "session wrote '" << read_file(out) << "'";
  }
  // Destruction reaped both: kill(pid, 0) fails for a reaped (or never existing) pid.
  EXPECT_FALSE(process_exists(xvfb));
  EXPECT_FALSE(process_exists(session));
  std::remove(out.c_str());
  ::rmdir(dir_template);
}

TEST(VirtualDisplay, TwoAtOnceGetDifferentDisplays) {
  VirtualDisplaySpec spec;
  spec.size = {64, 64, 16};
  auto a = VirtualDisplay::start(spec);
  auto b = VirtualDisplay::start(spec);
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_NE(a.value()->display_name(), b.value()->display_name());
}

TEST(ChildProcess, StopKillsAProcessThatIgnoresSigterm) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGTERM, SIG_IGN);
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    while (true) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);  // SIGTERM is ignored from here on.
  ::close(ready[0]);
  ChildProcess child(pid);
  EXPECT_FALSE(child.exited());
  auto start = std::chrono::steady_clock::now();
  child.stop(std::chrono::milliseconds(200));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(child.running());
  EXPECT_FALSE(process_exists(pid));
}

TEST(FindExecutable, FindsShAndRejectsMissing) {
  EXPECT_FALSE(find_executable("sh").empty());
  EXPECT_EQ(find_executable("/bin/sh"), "/bin/sh");
  EXPECT_TRUE(find_executable("vncd-no-such-program").empty());
  EXPECT_TRUE(find_executable("/nonexistent/sh").empty());
}

}  // namespace
}  // namespace vncd::server
