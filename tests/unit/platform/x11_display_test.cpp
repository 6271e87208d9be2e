// X11Display and the X11 factory: error messages, error traps, a lost X server.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>

#include "platform/x11/x11_platform.h"
#include "x11_test_support.h"

namespace vncd::platform {
namespace {

using test_support::Xvfb;

TEST(X11Display, OpenFailureIsOneClearLine) {
  auto d = X11Display::open(":4711");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message(), "cannot open display :4711");
  auto p = open_x11_platform(":4711");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message(), "cannot open display :4711");
}

TEST(X11Display, TrapCatchesErrorsInsteadOfExiting) {
  std::string error;
  auto xvfb = Xvfb::start(&error);
  ASSERT_TRUE(xvfb) << error;
  auto d = X11Display::open(xvfb->display());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_TRUE(d->is_local());
  {
    X11ErrorTrap trap(*d);
    XMapWindow(d->get(), 0x7fffff);  // No such window.
    auto err = trap.sync();
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->error_code, BadWindow);
  }
  {
    X11ErrorTrap trap(*d);
    XSync(d->get(), False);
    EXPECT_FALSE(trap.sync().has_value());
  }
  // Outside any trap an error is logged and ignored rather than ending the process.
  XMapWindow(d->get(), 0x7ffffe);
  XSync(d->get(), False);
  EXPECT_FALSE(d->lost());
}

TEST(X11Display, FactoryOpensAllThree) {
  std::string error;
  auto xvfb = Xvfb::start(&error);
  ASSERT_TRUE(xvfb) << error;
  auto p = open_x11_platform(xvfb->display());
  ASSERT_TRUE(p.ok()) << p.error().message();
  ASSERT_TRUE(p->frames && p->input && p->clipboard && p->bell);
  EXPECT_NE(p->bell->event_fd(), p->clipboard->event_fd());
  // Each has its own connection.
  EXPECT_NE(p->frames->event_fd(), p->clipboard->event_fd());
  EXPECT_TRUE(p->frames->capture().ok());
}

TEST(X11Bell, ABellRungByAnotherClientIsReported) {
  std::string error;
  auto xvfb = Xvfb::start(&error);
  ASSERT_TRUE(xvfb) << error;
  auto bell = X11Bell::create(xvfb->display());
  ASSERT_TRUE(bell.ok()) << bell.error().message();
  int rung = 0;
  (*bell)->on_bell([&] { ++rung; });
  auto other = X11Display::open(xvfb->display());
  ASSERT_TRUE(other.ok());
  XBell(other->get(), 0);
  XBell(other->get(), 50);
  XSync(other->get(), False);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rung < 2 && std::chrono::steady_clock::now() < end) {
    pollfd p{(*bell)->event_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    (*bell)->process_events();
  }
  EXPECT_EQ(rung, 2);
  // Nothing else (no other XKB event) is reported as a bell.
  XSync(other->get(), False);
  (*bell)->process_events();
  EXPECT_EQ(rung, 2);
}

TEST(X11Display, LostServerIsAnErrorNotAnExit) {
  std::string error;
  auto xvfb = Xvfb::start(&error);
  ASSERT_TRUE(xvfb) << error;
  auto p = open_x11_platform(xvfb->display());
  ASSERT_TRUE(p.ok()) << p.error().message();
  ASSERT_TRUE(p->frames->capture().ok());
  xvfb->kill_now();
  auto c = p->frames->capture();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("lost the connection"), std::string::npos)
      << c.error().message();
  // The others stay harmless on a dead connection.
  p->input->key(0x61, true);
  p->input->pointer(1, 1, 0);
  p->input->flush();
  p->clipboard->set_text("x");
  p->clipboard->process_events();
  // The bell's connection is first touched when it closes: that must not end the process either.
  EXPECT_FALSE(p->frames->capture().ok());
}

}  // namespace
}  // namespace vncd::platform
