// CongestionControl over simulated time: a modelled link (bandwidth, one-way latency, a client
// that answers fences once it has received everything before them) drives the estimates.
#include "server/congestion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace vncd::server {
namespace {

using namespace std::chrono_literals;
using Clock = CongestionControl::Clock;

Clock::time_point t0() {
  return Clock::time_point{} + 1h;
}

// A bottleneck link of `bandwidth` bytes/s and `latency` one way; the kernel takes every byte at
// once (queued() stays 0), so the link's queue is where data waits.
class SimulatedLink {
 public:
  SimulatedLink(double bandwidth, Clock::duration latency)
      : bandwidth_(bandwidth), latency_(latency) {}

  // Sends an update and its fence at `now`; returns when the answer arrives back.
  Clock::time_point send(size_t bytes, Clock::time_point now) {
    Clock::time_point start = std::max(now, busy_until_);
    busy_until_ = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(bytes / bandwidth_));
    return busy_until_ + 2 * latency_;
  }

 private:
  double bandwidth_;
  Clock::duration latency_;
  Clock::time_point busy_until_{};
};

// Deterministic update sizes: a fifth are small (cursor, a few glyphs), the rest 5..60 KB.
class Sizes {
 public:
  size_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t r = static_cast<uint32_t>(state_ >> 33);
    if (r % 5 == 0) return 100 + r % 400;
    return 5000 + r % 55000;
  }

 private:
  uint64_t state_ = 12345;
};

struct SimResult {
  size_t max_in_flight = 0;
  size_t max_window_seen = 0;
  bool in_flight_within_window = true;  // Never more than the window plus one update.
  int updates = 0;
};

// Runs the session's loop for `duration` in 1 ms steps: an update is sent whenever the desktop
// is `active` and can_send() allows, followed by a fence; answers come back from the link.
SimResult simulate(CongestionControl& cc, SimulatedLink& link, Clock::time_point& now,
                   Clock::duration duration, Clock::duration active_for = Clock::duration::max(),
                   Clock::duration idle_for = {}) {
  struct Answer {
    Clock::time_point at;
    uint32_t id;
  };
  std::deque<Answer> answers;
  Sizes sizes;
  SimResult res;
  uint32_t next_id = 1;
  const Clock::time_point end = now + duration;
  const Clock::time_point begin = now;
  while (now < end) {
    while (!answers.empty() && answers.front().at <= now) {
      EXPECT_TRUE(cc.fence_answered(answers.front().id, answers.front().at));
      answers.pop_front();
    }
    bool active = true;
    if (idle_for > Clock::duration::zero()) {
      active = (now - begin) % (active_for + idle_for) < active_for;
    }
    if (active && cc.can_send(now)) {
      size_t bytes = sizes.next();
      size_t before = cc.in_flight_bytes();
      if (before > 0 && before >= cc.window()) res.in_flight_within_window = false;
      cc.update_sent(bytes, now);
      cc.fence_sent(next_id, now);
      answers.push_back({link.send(bytes, now), next_id});
      ++next_id;
      ++res.updates;
      res.max_in_flight = std::max(res.max_in_flight, cc.in_flight_bytes());
      res.max_window_seen = std::max(res.max_window_seen, cc.window());
    }
    now += 1ms;
  }
  return res;
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

TEST(CongestionControl, WithoutFencesOnlyTheSocketQueueCounts) {
  CongestionControl cc;
  EXPECT_FALSE(cc.fences_supported());
  Clock::time_point now = t0();
  EXPECT_TRUE(cc.can_send(now));
  cc.update_sent(1'000'000, now);
  cc.queued(500'000);
  EXPECT_FALSE(cc.can_send(now));
  EXPECT_EQ(cc.in_flight_bytes(), 500'000u);
  // Fences are ignored in this mode: nothing is pending, nothing is answered.
  cc.fence_sent(1, now);
  EXPECT_EQ(cc.pending_fences(), 0u);
  EXPECT_FALSE(cc.fence_answered(1, now + 10ms));
  EXPECT_FALSE(cc.wake_time().has_value());
  // Time alone does not help: the queue must drain.
  EXPECT_FALSE(cc.can_send(now + 10s));
  cc.queued(0);
  EXPECT_TRUE(cc.can_send(now));
  EXPECT_EQ(cc.in_flight_bytes(), 0u);
  // A huge update sent and written at once: no window applies without fences.
  cc.update_sent(100'000'000, now);
  EXPECT_TRUE(cc.can_send(now));
}

TEST(CongestionControl, FirstUpdateAlwaysAllowedAndInitialWindowApplies) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  EXPECT_TRUE(cc.can_send(now));
  EXPECT_EQ(cc.window(), CongestionControl::kInitialWindow);
  cc.update_sent(CongestionControl::kInitialWindow - 1, now);
  cc.fence_sent(1, now);
  EXPECT_TRUE(cc.can_send(now));  // Still below the initial window.
  cc.update_sent(2, now);
  cc.fence_sent(2, now);
  EXPECT_FALSE(cc.can_send(now));
  EXPECT_EQ(cc.in_flight_bytes(), CongestionControl::kInitialWindow + 1);
  EXPECT_TRUE(cc.fence_answered(2, now + 50ms));  // Covers fence 1 too.
  EXPECT_EQ(cc.in_flight_bytes(), 0u);
  EXPECT_EQ(cc.pending_fences(), 0u);
  EXPECT_TRUE(cc.can_send(now + 50ms));
}

TEST(CongestionControl, UpdateBiggerThanWindowGoesWhenNothingInFlight) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  cc.update_sent(10 * CongestionControl::kInitialWindow, now);
  cc.fence_sent(1, now);
  EXPECT_FALSE(cc.can_send(now + 1ms));
  EXPECT_TRUE(cc.fence_answered(1, now + 300ms));
  EXPECT_TRUE(cc.can_send(now + 300ms));
}

TEST(CongestionControl, OwnQueueBlocksInBothModes) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  cc.queued(10);
  EXPECT_FALSE(cc.can_send(now));
  cc.queued(0);
  EXPECT_TRUE(cc.can_send(now));
}

TEST(CongestionControl, CanSendTogglesWithInFlightAgainstWindow) {
  CongestionControl cc(true);
  SimulatedLink link(1e6, 20ms);
  Clock::time_point t = t0();
  simulate(cc, link, t, 3s);
  ASSERT_GT(cc.bandwidth(), 0);
  // The simulation leaves answers undelivered: the client answering a newer fence covers them.
  const uint32_t probe = 1'000'000;
  cc.fence_sent(probe, t);
  t += 2s;
  ASSERT_TRUE(cc.fence_answered(probe, t));
  ASSERT_EQ(cc.in_flight_bytes(), 0u);

  // Window = bandwidth x (base RTT + allowance).
  const size_t w = cc.window();
  const double expected =
      cc.bandwidth() * seconds(cc.base_rtt() + CongestionControl::kWindowAllowance);
  EXPECT_NEAR(static_cast<double>(w), expected, 1.0);
  ASSERT_GT(w, CongestionControl::kMinWindow);

  EXPECT_TRUE(cc.can_send(t));
  cc.update_sent(w / 2, t);
  cc.fence_sent(probe + 1, t);
  EXPECT_TRUE(cc.can_send(t));  // Half a window in flight.
  cc.update_sent(w / 2 + 1, t);
  cc.fence_sent(probe + 2, t);
  EXPECT_FALSE(cc.can_send(t));  // A window's worth: wait.
  EXPECT_FALSE(cc.can_send(t + 50ms));
  // The link (1 MB/s, 40 ms RTT) delivers the first half: acknowledged, in flight falls below the
  // window again.
  const Clock::time_point half = t + 40ms + std::chrono::milliseconds(w / 2 / 1000);
  EXPECT_TRUE(cc.fence_answered(probe + 1, half));
  EXPECT_EQ(cc.in_flight_bytes(), w / 2 + 1);
  EXPECT_LT(cc.in_flight_bytes(), cc.window());
  EXPECT_TRUE(cc.can_send(half));
  cc.update_sent(cc.window(), half);
  cc.fence_sent(probe + 3, half);
  EXPECT_FALSE(cc.can_send(half + 1ms));
  EXPECT_TRUE(cc.fence_answered(probe + 3, half + 200ms));
  EXPECT_EQ(cc.in_flight_bytes(), 0u);
  EXPECT_TRUE(cc.can_send(half + 200ms));
}

struct LinkCase {
  double bandwidth;
  Clock::duration latency;
};

class CongestionEstimates : public ::testing::TestWithParam<LinkCase> {};

TEST_P(CongestionEstimates, ConvergeWithinTenPercentOfTheLink) {
  const LinkCase lc = GetParam();
  CongestionControl cc(true);
  SimulatedLink link(lc.bandwidth, lc.latency);
  Clock::time_point now = t0();
  SimResult r = simulate(cc, link, now, 20s);
  ASSERT_GT(r.updates, 100);
  const double true_rtt = seconds(2 * lc.latency);
  EXPECT_NEAR(seconds(cc.base_rtt()), true_rtt, 0.1 * true_rtt);
  EXPECT_NEAR(cc.bandwidth(), lc.bandwidth, 0.1 * lc.bandwidth);
  // The smoothed RTT includes the transfer of the update before each fence.
  EXPECT_GE(cc.rtt(), cc.base_rtt());
  EXPECT_TRUE(r.in_flight_within_window);
  // No more than a window plus one update (the largest is 60 KB) ever in flight.
  EXPECT_LE(r.max_in_flight, r.max_window_seen + 60'000);
}

TEST_P(CongestionEstimates, IdlePeriodsDoNotLowerTheBandwidth) {
  const LinkCase lc = GetParam();
  CongestionControl cc(true);
  SimulatedLink link(lc.bandwidth, lc.latency);
  Clock::time_point now = t0();
  // Bursts of 300 ms separated by 2 s of a still desktop.
  SimResult r = simulate(cc, link, now, 30s, 300ms, 2s);
  ASSERT_GT(r.updates, 50);
  EXPECT_NEAR(cc.bandwidth(), lc.bandwidth, 0.1 * lc.bandwidth);
  const double true_rtt = seconds(2 * lc.latency);
  EXPECT_NEAR(seconds(cc.base_rtt()), true_rtt, 0.1 * true_rtt);
}

INSTANTIATE_TEST_SUITE_P(Links, CongestionEstimates,
                         ::testing::Values(LinkCase{1e6, 20ms}, LinkCase{250e3, 50ms},
                                           LinkCase{10e6, 5ms}));

TEST(CongestionControl, SlowLinkSendsFewerUpdatesThanFastLink) {
  CongestionControl slow_cc(true), fast_cc(true);
  SimulatedLink slow(200e3, 40ms), fast(20e6, 2ms);
  Clock::time_point a = t0(), b = t0();
  SimResult rs = simulate(slow_cc, slow, a, 5s);
  SimResult rf = simulate(fast_cc, fast, b, 5s);
  EXPECT_LT(rs.updates * 5, rf.updates);
  // The slow link never holds much more than one window plus an update.
  EXPECT_LE(rs.max_in_flight, rs.max_window_seen + 60'000);
}

TEST(CongestionControl, UnknownAndOutOfOrderIdsAreIgnored) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  for (uint32_t id = 1; id <= 3; ++id) {
    cc.update_sent(1000, now);
    cc.fence_sent(id, now);
  }
  EXPECT_EQ(cc.pending_fences(), 3u);
  EXPECT_FALSE(cc.fence_answered(99, now + 5ms));
  EXPECT_EQ(cc.in_flight_bytes(), 3000u);
  EXPECT_EQ(cc.rtt(), Clock::duration::zero());   // No sample taken from an unknown id.
  EXPECT_TRUE(cc.fence_answered(2, now + 40ms));  // Answers 1 and 2.
  EXPECT_EQ(cc.in_flight_bytes(), 1000u);
  EXPECT_EQ(cc.pending_fences(), 1u);
  EXPECT_EQ(cc.rtt(), 40ms);
  EXPECT_FALSE(cc.fence_answered(1, now + 41ms));  // Overtaken.
  EXPECT_FALSE(cc.fence_answered(2, now + 41ms));  // Already answered.
  EXPECT_EQ(cc.in_flight_bytes(), 1000u);
  EXPECT_EQ(cc.rtt(), 40ms);
  EXPECT_TRUE(cc.fence_answered(3, now + 45ms));
  EXPECT_EQ(cc.in_flight_bytes(), 0u);
}

TEST(CongestionControl, HostileEchoesNeverGrowState) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  cc.update_sent(1000, now);
  cc.fence_sent(7, now);
  for (uint32_t id = 0; id < 100'000; ++id) {
    if (id == 7) continue;
    EXPECT_FALSE(cc.fence_answered(id, now + 1ms));
  }
  EXPECT_EQ(cc.pending_fences(), 1u);
  EXPECT_EQ(cc.in_flight_bytes(), 1000u);
  EXPECT_EQ(sizeof(CongestionControl) < 4096, true);  // Fixed-size state.
}

TEST(CongestionControl, PendingFencesAreBounded) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  for (uint32_t id = 1; id <= 1000; ++id) {
    cc.update_sent(10, now);
    cc.fence_sent(id, now);
    now += 1ms;
  }
  EXPECT_EQ(cc.pending_fences(), CongestionControl::kMaxPendingFences);
  // Dropped ones are gone, the kept ones are the newest.
  EXPECT_FALSE(cc.fence_answered(1, now));
  EXPECT_TRUE(cc.fence_answered(1000 - CongestionControl::kMaxPendingFences + 1, now));
  EXPECT_EQ(cc.pending_fences(), CongestionControl::kMaxPendingFences - 1);
  EXPECT_TRUE(cc.fence_answered(1000, now));
  EXPECT_EQ(cc.pending_fences(), 0u);
  EXPECT_EQ(cc.in_flight_bytes(), 0u);  // The last answer covers everything.
}

TEST(CongestionControl, FallsBackWhenFencesAreNeverAnswered) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  cc.update_sent(10 * CongestionControl::kInitialWindow, now);
  cc.fence_sent(1, now);
  // No RTT known yet: the full second.
  ASSERT_TRUE(cc.wake_time().has_value());
  EXPECT_EQ(*cc.wake_time(), now + CongestionControl::kMaxFenceTimeout);
  EXPECT_FALSE(cc.can_send(now + 999ms));
  EXPECT_TRUE(cc.can_send(now + 1s));
  // ...but only with our own queue empty.
  cc.queued(1);
  EXPECT_FALSE(cc.can_send(now + 1s));
  cc.queued(0);

  // One update goes; the next waits another timeout (late answers must not build a queue)...
  now += 1s;
  cc.update_sent(CongestionControl::kInitialWindow, now);
  cc.fence_sent(2, now);
  EXPECT_EQ(*cc.wake_time(), now + CongestionControl::kMaxFenceTimeout);
  EXPECT_FALSE(cc.can_send(now + 999ms));
  EXPECT_TRUE(cc.can_send(now + 1s));
  now += 1s;
  cc.update_sent(CongestionControl::kInitialWindow, now);
  cc.fence_sent(3, now);
  // ...until no answer at all for kFenceGiveUp: this client does not answer fences, and each
  // update waits for the socket only, as without fences.
  const Clock::time_point give_up = t0() + CongestionControl::kFenceGiveUp;
  EXPECT_EQ(*cc.wake_time(), give_up);
  EXPECT_FALSE(cc.can_send(give_up - 1ms));
  now = give_up;
  for (uint32_t id = 4; id < 200; ++id) {
    ASSERT_TRUE(cc.can_send(now));
    cc.update_sent(CongestionControl::kInitialWindow, now);
    cc.fence_sent(id, now);
    cc.queued(1000);
    ASSERT_FALSE(cc.can_send(now));
    cc.queued(0);
    now += 20ms;
  }
  EXPECT_EQ(cc.pending_fences(), CongestionControl::kMaxPendingFences);
  // An answer at last: the window rules again.
  EXPECT_TRUE(cc.fence_answered(199, now));
  EXPECT_EQ(cc.in_flight_bytes(), 0u);
  cc.update_sent(10 * CongestionControl::kInitialWindow, now);
  cc.fence_sent(200, now);
  EXPECT_FALSE(cc.can_send(now + 1ms));
}

TEST(CongestionControl, FenceTimeoutFollowsTheRtt) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  // Learn an RTT of 80 ms with empty fences (pings).
  for (uint32_t id = 1; id <= 50; ++id) {
    cc.fence_sent(id, now);
    ASSERT_TRUE(cc.fence_answered(id, now + 80ms));
    now += 100ms;
  }
  EXPECT_EQ(cc.rtt(), 80ms);
  EXPECT_EQ(cc.base_rtt(), 80ms);
  cc.update_sent(10 * CongestionControl::kInitialWindow, now);
  cc.fence_sent(100, now);
  EXPECT_EQ(*cc.wake_time(), now + 160ms);
  EXPECT_FALSE(cc.can_send(now + 159ms));
  EXPECT_TRUE(cc.can_send(now + 160ms));
}

TEST(CongestionControl, ShortRttTimeoutHasAFloor) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  cc.fence_sent(1, now);
  ASSERT_TRUE(cc.fence_answered(1, now + 1ms));
  now += 1ms;
  cc.update_sent(10 * CongestionControl::kInitialWindow, now);
  cc.fence_sent(2, now);
  EXPECT_EQ(*cc.wake_time(), now + CongestionControl::kMinFenceTimeout);
}

TEST(CongestionControl, BaseRttFollowsASlowerRoute) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  uint32_t id = 1;
  for (int i = 0; i < 100; ++i, ++id) {
    cc.fence_sent(id, now);
    ASSERT_TRUE(cc.fence_answered(id, now + 10ms));
    now += 100ms;
  }
  EXPECT_EQ(cc.base_rtt(), 10ms);
  // The route becomes 60 ms: after two periods the old minimum is forgotten.
  for (int i = 0; i < 250; ++i, ++id) {
    cc.fence_sent(id, now);
    ASSERT_TRUE(cc.fence_answered(id, now + 60ms));
    now += 100ms;
  }
  EXPECT_EQ(cc.base_rtt(), 60ms);
}

TEST(CongestionControl, BusyClientDrainsOncePerPeriodForACleanRtt) {
  CongestionControl cc(true);
  const Clock::time_point start = t0();
  cc.fence_sent(1, start);  // A ping with nothing in flight: a clean sample.
  ASSERT_TRUE(cc.fence_answered(1, start + 40ms));
  EXPECT_EQ(cc.base_rtt(), 40ms);

  // Small updates every 10 ms, each answered 50 ms later: data is always in flight, so no fence
  // is clean, and far less than a window is in flight.
  uint32_t id = 2;
  std::deque<std::pair<Clock::time_point, uint32_t>> answers;
  Clock::time_point now = start + 100ms;
  // The first of them found nothing in flight: the last clean sample is its answer.
  const Clock::time_point last_clean = now + 50ms;
  for (; now < last_clean + CongestionControl::kBaseRttPeriod; now += 10ms) {
    while (!answers.empty() && answers.front().first <= now) {
      ASSERT_TRUE(cc.fence_answered(answers.front().second, answers.front().first));
      answers.pop_front();
    }
    ASSERT_TRUE(cc.can_send(now));
    cc.update_sent(100, now);
    cc.fence_sent(id, now);
    answers.emplace_back(now + 50ms, id++);
  }
  EXPECT_GT(cc.in_flight_bytes(), 0u);
  EXPECT_LT(cc.in_flight_bytes(), cc.window());
  // A period without a clean sample: nothing more until everything in flight is answered.
  EXPECT_FALSE(cc.can_send(now));
  while (!answers.empty()) {
    ASSERT_TRUE(cc.fence_answered(answers.front().second, answers.front().first));
    now = answers.front().first;
    answers.pop_front();
    if (!answers.empty()) {
      EXPECT_FALSE(cc.can_send(now));
    }
  }
  EXPECT_EQ(cc.in_flight_bytes(), 0u);
  EXPECT_TRUE(cc.can_send(now));
  // The update after the drain is clean; once it is answered, pipelining resumes.
  cc.update_sent(100, now);
  cc.fence_sent(id, now);
  EXPECT_FALSE(cc.can_send(now + 10ms));
  ASSERT_TRUE(cc.fence_answered(id++, now + 40ms));
  now += 40ms;
  cc.update_sent(100, now);
  cc.fence_sent(id, now);
  EXPECT_TRUE(cc.can_send(now + 10ms));
  // The queueing-free delay, not the 50 ms the busy ones saw.
  EXPECT_LE(cc.base_rtt(), 40ms) << cc.bandwidth();
}

TEST(CongestionControl, TurningFencesOffForgetsThem) {
  CongestionControl cc(true);
  Clock::time_point now = t0();
  cc.update_sent(5000, now);
  cc.fence_sent(1, now);
  // A repeated SetEncodings that still lists the Fence pseudo-encoding changes nothing.
  cc.set_fences_supported(true);
  EXPECT_EQ(cc.pending_fences(), 1u);
  EXPECT_EQ(cc.in_flight_bytes(), 5000u);
  cc.set_fences_supported(false);
  EXPECT_EQ(cc.pending_fences(), 0u);
  EXPECT_EQ(cc.in_flight_bytes(), 0u);
  EXPECT_FALSE(cc.fence_answered(1, now));
  EXPECT_TRUE(cc.can_send(now));
  cc.set_fences_supported(true);
  EXPECT_EQ(cc.in_flight_bytes(), 0u);  // Bytes from before are not waited for.
  EXPECT_TRUE(cc.can_send(now));
}

}  // namespace
}  // namespace vncd::server
