// EventLoop: timers (one-shot, repeating, cancelled), posts from other threads, fd watches
// (including removal from inside a callback) and signals through signalfd.
#include "server/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace vncd::server {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  EXPECT_TRUE(loop.ok());
  return std::move(*loop);
}

// Runs the loop until `done` or a deadline; returns whether `done` became true.
template <class Pred>
bool run_until(EventLoop& loop, Pred done, milliseconds limit = milliseconds(3000)) {
  auto end = EventLoop::Clock::now() + limit;
  while (!done()) {
    if (EventLoop::Clock::now() > end) return false;
    loop.run_once(milliseconds(10));
  }
  return true;
}

TEST(UniqueFd, ClosesOnDestructionAndMoves) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[1]);
  {
    UniqueFd a(fds[0]);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), fds[0]);
  }
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);  // Closed.
}

TEST(EventLoop, OneShotTimerFiresOnceAfterItsDelay) {
  auto loop = make_loop();
  int fired = 0;
  auto start = EventLoop::Clock::now();
  EventLoop::Clock::time_point when;
  auto id = loop->add_timer(milliseconds(30), [&] {
    ++fired;
    when = EventLoop::Clock::now();
  });
  EXPECT_TRUE(loop->timer_active(id));
  ASSERT_TRUE(run_until(*loop, [&] { return fired == 1; }));
  EXPECT_GE(when - start, milliseconds(30));
  EXPECT_FALSE(loop->timer_active(id));
  loop->run_once(milliseconds(50));
  EXPECT_EQ(fired, 1);
}

TEST(EventLoop, RepeatingTimerRepeatsUntilCancelledFromItsOwnTask) {
  auto loop = make_loop();
  int fired = 0;
  EventLoop::TimerId id = 0;
  id = loop->add_timer(
      milliseconds(0),
      [&] {
        if (++fired == 3) loop->cancel_timer(id);
      },
      milliseconds(5));
  ASSERT_TRUE(run_until(*loop, [&] { return fired == 3; }));
  EXPECT_FALSE(loop->timer_active(id));
  loop->run_once(milliseconds(30));
  EXPECT_EQ(fired, 3);
}

TEST(EventLoop, CancelledTimerNeverFires) {
  auto loop = make_loop();
  bool fired = false;
  bool other = false;
  auto id = loop->add_timer(milliseconds(10), [&] { fired = true; });
  loop->add_timer(milliseconds(40), [&] { other = true; });
  loop->cancel_timer(id);
  ASSERT_TRUE(run_until(*loop, [&] { return other; }));
  EXPECT_FALSE(fired);
}

TEST(EventLoop, TimersFireInDeadlineOrder) {
  auto loop = make_loop();
  std::vector<int> order;
  loop->add_timer(milliseconds(20), [&] { order.push_back(2); });
  loop->add_timer(milliseconds(5), [&] { order.push_back(1); });
  loop->add_timer(milliseconds(35), [&] { order.push_back(3); });
  ASSERT_TRUE(run_until(*loop, [&] { return order.size() == 3; }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoop, PostFromAnotherThreadRunsOnTheLoopThread) {
  auto loop = make_loop();
  std::atomic<int> ran{0};
  std::thread::id ran_on;
  std::thread t([&] {
    for (int i = 0; i < 100; ++i)
      loop->post([&] {
        ran_on = std::this_thread::get_id();
        ++ran;
      });
  });
  ASSERT_TRUE(run_until(*loop, [&] { return ran == 100; }));
  t.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(EventLoop, StopFromAnotherThreadEndsRun) {
  auto loop = make_loop();
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(20));
    loop->stop();
  });
  loop->run();  // Would block for a minute without the wake-up.
  t.join();
  EXPECT_TRUE(loop->stopped());
  EXPECT_FALSE(loop->run_once(milliseconds(0)));
}

TEST(EventLoop, FdWatchReportsReadableAndWritable) {
  auto loop = make_loop();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd r(fds[0]), w(fds[1]);
  int readable = 0, writable = 0;
  ASSERT_TRUE(loop->watch(r.get(), EventLoop::kReadable,
                          [&](uint32_t ready) {
                            if (ready & EventLoop::kReadable) {
                              char c;
                              ASSERT_EQ(::read(r.get(), &c, 1), 1);
                              ++readable;
                            }
                          })
                  .ok());
  ASSERT_TRUE(loop->watch(w.get(), EventLoop::kWritable,
                          [&](uint32_t ready) {
                            if (ready & EventLoop::kWritable) {
                              ++writable;
                              // Writability is only wanted once: drop the interest.
                              ASSERT_TRUE(loop->modify(w.get(), 0).ok());
                              ASSERT_EQ(::write(w.get(), "x", 1), 1);
                            }
                          })
                  .ok());
  EXPECT_FALSE(loop->watch(r.get(), EventLoop::kReadable, [](uint32_t) {}).ok());
  ASSERT_TRUE(run_until(*loop, [&] { return readable == 1; }));
  loop->run_once(milliseconds(20));
  EXPECT_EQ(writable, 1);
  EXPECT_EQ(readable, 1);
}

TEST(EventLoop, CallbackMayUnwatchAnotherFdReadyInTheSameWait) {
  auto loop = make_loop();
  int a[2], b[2];
  ASSERT_EQ(::pipe(a), 0);
  ASSERT_EQ(::pipe(b), 0);
  UniqueFd ar(a[0]), aw(a[1]), br(b[0]), bw(b[1]);
  ASSERT_EQ(::write(aw.get(), "x", 1), 1);
  ASSERT_EQ(::write(bw.get(), "x", 1), 1);
  int calls = 0;
  // Whichever runs first removes both: the other must not be called although it was ready.
  auto cb = [&](uint32_t) {
    ++calls;
    loop->unwatch(ar.get());
    loop->unwatch(br.get());
  };
  ASSERT_TRUE(loop->watch(ar.get(), EventLoop::kReadable, cb).ok());
  ASSERT_TRUE(loop->watch(br.get(), EventLoop::kReadable, cb).ok());
  loop->run_once(milliseconds(100));
  loop->run_once(milliseconds(20));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(loop->watching(ar.get()));
}

TEST(EventLoop, HangupIsReported) {
  auto loop = make_loop();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd r(fds[0]);
  ::close(fds[1]);
  uint32_t seen = 0;
  ASSERT_TRUE(loop->watch(r.get(), EventLoop::kReadable,
                          [&](uint32_t ready) {
                            seen = ready;
                            loop->unwatch(r.get());
                          })
                  .ok());
  ASSERT_TRUE(run_until(*loop, [&] { return seen != 0; }));
  EXPECT_TRUE(seen & EventLoop::kHangup);
}

TEST(EventLoop, SignalsArriveThroughTheLoop) {
  int got = 0;
  {
    auto loop = make_loop();
    ASSERT_TRUE(loop->handle_signals({SIGTERM, SIGINT},
                                     [&](int sig) {
                                       got = sig;
                                       loop->stop();
                                     })
                    .ok());
    ASSERT_EQ(::raise(SIGTERM), 0);  // Blocked: pending until the signalfd reads it.
    ASSERT_TRUE(run_until(*loop, [&] { return got != 0; }));
  }
  EXPECT_EQ(got, SIGTERM);
  // The loop restored the mask: SIGTERM is no longer blocked.
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
}

}  // namespace
}  // namespace vncd::server
