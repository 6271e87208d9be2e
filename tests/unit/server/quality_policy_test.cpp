// QualityPolicy over simulated time: video-like areas are found, quality follows the bandwidth
// they need with hysteresis; lossy areas are refreshed once they stay still.
#include "server/quality_policy.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace vncd::server {
namespace {

using namespace std::chrono_literals;
using Clock = QualityPolicy::Clock;
using rfb::Rect;
using rfb::Region;

Clock::time_point t0() {
  return Clock::time_point{} + 1h;
}

constexpr rfb::Size kScreen{640, 480};
const Rect kVideo{128, 128, 256, 192};  // Cell-aligned: 4 x 3 cells, 49,152 pixels.
const Rect kText{0, 0, 640, 64};        // A line of text across the top.

Region reg(const Rect& r) {
  return Region(r);
}

// Plays a video in kVideo at 30 frames/s for `d`, the text line changing every 15th frame (the
// schedule follows the clock, so many short calls behave as one long one).
void play(QualityPolicy& q, Clock::time_point& now, Clock::duration d) {
  const Clock::time_point end = now + d;
  for (; now < end; now += 33ms) {
    Region changed(kVideo);
    if ((now - t0()) / 33ms % 15 == 0) changed.add(kText);
    q.changed(changed, now);
  }
}

TEST(QualityPolicy, VideoAreaIsFoundAndStaticTextIsNot) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  play(q, now, 5s);
  EXPECT_NEAR(q.change_rate(200, 200, now), 30, 3);
  EXPECT_LT(q.change_rate(10, 10, now), QualityPolicy::kVideoRateOff);

  Region to_send(kVideo);
  to_send.add(kText);
  QualityPolicy::Plan p = q.plan(now, 0);
  EXPECT_TRUE(q.video_like(kVideo.x, kVideo.y));
  EXPECT_TRUE(q.video_like(kVideo.right() - 1, kVideo.bottom() - 1));
  EXPECT_FALSE(q.video_like(kVideo.right(), kVideo.y));
  EXPECT_FALSE(q.video_like(0, 0));
  // Unknown bandwidth: no cap; video goes 4:2:0.
  EXPECT_EQ(p.quality_cap, -1);
  EXPECT_EQ(p.subsampling, QualityPolicy::kVideoSubsampling);
}

TEST(QualityPolicy, UnalignedVideoIsVideoOnlyInsideItsCells) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  const Rect video{100, 100, 200, 150};  // Cells 1..4 x 1..3.
  for (Clock::time_point end = now + 2s; now < end; now += 33ms) q.changed(reg(video), now);
  (void)q.plan(now, 0);
  EXPECT_TRUE(q.video_like(64, 64));
  EXPECT_TRUE(q.video_like(319, 255));
  EXPECT_FALSE(q.video_like(63, 63));
  EXPECT_FALSE(q.video_like(320, 100));
  EXPECT_FALSE(q.video_like(100, 256));
}

TEST(QualityPolicy, NewContentIsNotVideo) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  q.changed(reg(kVideo), now);
  (void)q.plan(now, 1e6);
  EXPECT_FALSE(q.video_like(kVideo.x, kVideo.y));
}

TEST(QualityPolicy, TypingNeverBecomesVideo) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  // Five keystrokes a second into one cell, for ten seconds.
  for (Clock::time_point end = now + 10s; now < end; now += 200ms) {
    q.changed(reg({8, 8, 8, 16}), now);
    (void)q.plan(now, 1e6);
    ASSERT_FALSE(q.video_like(8, 8));
  }
  EXPECT_FALSE(q.video_like(8, 8));
}

TEST(QualityPolicy, VideoHysteresisBetweenOnAndOffRates) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  for (Clock::time_point end = now + 2s; now < end; now += 33ms) q.changed(reg(kVideo), now);
  (void)q.plan(now, 0);
  ASSERT_TRUE(q.video_like(200, 200));
  // Slows to 8/s: between the thresholds, so it stays video.
  for (Clock::time_point end = now + 5s; now < end; now += 125ms) {
    q.changed(reg(kVideo), now);
    (void)q.plan(now, 0);
    ASSERT_TRUE(q.video_like(200, 200));
  }
  // Stops: the rate decays below the off threshold.
  now += 2s;
  (void)q.plan(now, 0);
  EXPECT_FALSE(q.video_like(200, 200));
}

TEST(QualityPolicy, QualityDropsWithBandwidthAndRecoversWithHysteresis) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  play(q, now, 5s);
  // The video asks ~30/s x 49,152 px = ~1.5 Mpx/s.
  QualityPolicy::Plan p = q.plan(now, 10e6);
  EXPECT_EQ(p.quality_cap, -1);
  EXPECT_EQ(p.subsampling, QualityPolicy::kVideoSubsampling);

  // Bandwidth falls to 220 KB/s: ~0.12 B/px affordable, quality 40, at once.
  play(q, now, 100ms);
  p = q.plan(now, 220e3);
  EXPECT_EQ(p.quality_cap, 40);
  EXPECT_EQ(p.subsampling, QualityPolicy::kVideoSubsampling);
  const Clock::time_point dropped = now;

  // The estimate jitters between 220 and 380 KB/s for 10 s (380 KB/s alone would allow quality
  // 60, but not with the margin a rise needs): it stays at 40 instead of oscillating.
  for (int i = 0; i < 300; ++i) {
    play(q, now, 33ms);
    p = q.plan(now, i % 2 ? 380e3 : 220e3);
    ASSERT_EQ(p.quality_cap, 40) << "step " << i;
  }

  // Falls further: 100 KB/s -> the lowest level.
  p = q.plan(now, 100e3);
  EXPECT_EQ(p.quality_cap, 20);
  const Clock::time_point lowest = now;

  // Plenty again: no rise before the hold time...
  while (now < lowest + QualityPolicy::kRaiseHold - 50ms) {
    play(q, now, 33ms);
    ASSERT_EQ(q.plan(now, 10e6).quality_cap, 20);
  }
  // ...then straight back to no cap.
  play(q, now, 100ms);
  p = q.plan(now, 10e6);
  EXPECT_EQ(p.quality_cap, -1);
  EXPECT_EQ(p.subsampling, QualityPolicy::kVideoSubsampling);
  EXPECT_GT(now, dropped);
}

TEST(QualityPolicy, ModerateRiseGoesOneStepAtATime) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  play(q, now, 2s);
  EXPECT_EQ(q.plan(now, 100e3).quality_cap, 20);
  // 600 KB/s: ~0.31 B/px, above level 60's need with margin (0.27) but not level 80's (0.525).
  play(q, now, 3s);
  EXPECT_EQ(q.plan(now, 600e3).quality_cap, 60);
  play(q, now, 3s);
  EXPECT_EQ(q.plan(now, 600e3).quality_cap, 60);
}

TEST(QualityPolicy, NoVideoMeansNoCap) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  q.changed(reg(kText), now);
  QualityPolicy::Plan p = q.plan(now, 1000);  // Very slow, but nothing lossy.
  EXPECT_EQ(p.quality_cap, -1);
  EXPECT_EQ(p.subsampling, -1);
}

TEST(QualityPolicy, RefreshDueExactlyTheLossyAreaAfterTheDelay) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  EXPECT_EQ(q.next_refresh_time(), Clock::time_point::max());
  const Rect lossy{100, 100, 150, 90};
  Region update(lossy);
  update.add(kText);
  q.changed(update, now);
  q.sent(reg(lossy), reg(kText), now);
  EXPECT_EQ(q.lossy_area(), reg(lossy));
  EXPECT_EQ(q.next_refresh_time(), now + QualityPolicy::kRefreshDelay);
  EXPECT_TRUE(q.refresh_due(now).empty());
  EXPECT_TRUE(q.refresh_due(now + QualityPolicy::kRefreshDelay - 1ms).empty());
  const Clock::time_point due_at = now + QualityPolicy::kRefreshDelay;
  EXPECT_EQ(q.refresh_due(due_at), reg(lossy));
  // Still due until it is reported sent.
  EXPECT_EQ(q.refresh_due(due_at + 10ms), reg(lossy));
  q.sent(Region(), reg(lossy), due_at + 10ms);
  EXPECT_TRUE(q.lossy_area().empty());
  EXPECT_TRUE(q.refresh_due(due_at + 1s).empty());
  EXPECT_EQ(q.next_refresh_time(), Clock::time_point::max());
}

TEST(QualityPolicy, KeepsChangingNeverRefreshed) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  for (Clock::time_point end = now + 5s; now < end; now += 33ms) {
    q.changed(reg(kVideo), now);
    (void)q.plan(now, 1e6);
    q.sent(reg(kVideo), Region(), now + 5ms);
    ASSERT_TRUE(q.refresh_due(now + 6ms).empty());
    // Each lossy send restarts the wait.
    ASSERT_EQ(q.next_refresh_time(), now + 5ms + QualityPolicy::kRefreshDelay);
  }
  EXPECT_EQ(q.lossy_area(), reg(kVideo));
  // The video pauses: the whole lossy picture is refreshed once, after the delay.
  const Clock::time_point last_sent = now - 33ms + 5ms;
  EXPECT_EQ(q.next_refresh_time(), last_sent + QualityPolicy::kRefreshDelay);
  EXPECT_TRUE(q.refresh_due(last_sent + QualityPolicy::kRefreshDelay - 1ms).empty());
  EXPECT_EQ(q.refresh_due(last_sent + QualityPolicy::kRefreshDelay), reg(kVideo));
}

TEST(QualityPolicy, ChangeRestartsTheCellsWait) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  const Rect two_cells{0, 0, 128, 64};
  q.changed(reg(two_cells), now);
  q.sent(reg(two_cells), Region(), now);
  // 100 ms later a few pixels of the first cell change (not yet sent again).
  q.changed(reg({10, 10, 4, 4}), now + 100ms);
  Region rest(two_cells);
  rest.subtract(Rect{10, 10, 4, 4});
  EXPECT_EQ(q.lossy_area(), rest);
  // The second cell is due on time; the first waits from its change.
  EXPECT_EQ(q.refresh_due(now + 150ms), reg({64, 0, 64, 64}));
  EXPECT_EQ(q.next_refresh_time(), now + 150ms);  // The second cell is still unsent.
  q.sent(Region(), reg({64, 0, 64, 64}), now + 150ms);
  EXPECT_EQ(q.next_refresh_time(), now + 250ms);
  EXPECT_TRUE(q.refresh_due(now + 249ms).empty());
  Region first(Rect{0, 0, 64, 64});
  first.subtract(Rect{10, 10, 4, 4});
  EXPECT_EQ(q.refresh_due(now + 250ms), first);
}

TEST(QualityPolicy, RefreshLimitedByBandwidth) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  const Rect four_cells{0, 0, 256, 64};
  q.changed(reg(four_cells), now);
  q.sent(reg(four_cells), Region(), now);
  now += 200ms;
  // Unknown bandwidth: all of it.
  EXPECT_EQ(q.refresh_due(now), reg(four_cells));
  // 100 KB/s: 100 ms carry 5,000 pixels at 2 B/px: one 64x64 cell per call, each in turn.
  Region refreshed;
  for (int i = 0; i < 4; ++i) {
    Region part = q.refresh_due(now, 100e3);
    ASSERT_EQ(part.area(), 64 * 64) << i;
    EXPECT_TRUE(part.intersected(refreshed).empty());
    refreshed.add(part);
    q.sent(Region(), part, now);
    now += 100ms;
  }
  EXPECT_EQ(refreshed, reg(four_cells));
  EXPECT_TRUE(q.lossy_area().empty());
  EXPECT_TRUE(q.refresh_due(now, 100e3).empty());
  // 1 MB/s: 50,000 pixels, all four cells (16,384 px).
  q.changed(reg(four_cells), now);
  q.sent(reg(four_cells), Region(), now);
  EXPECT_EQ(q.refresh_due(now + 200ms, 1e6), reg(four_cells));
}

TEST(QualityPolicy, ResizeResets) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  play(q, now, 2s);
  (void)q.plan(now, 100e3);
  q.sent(reg(kVideo), Region(), now);
  ASSERT_NE(q.level(), 0);
  ASSERT_FALSE(q.lossy_area().empty());
  const size_t before = q.cell_count();
  EXPECT_EQ(before, 10u * 8u);

  q.resize({1920, 1080});
  EXPECT_EQ(q.size(), (rfb::Size{1920, 1080}));
  EXPECT_EQ(q.cell_count(), 30u * 17u);
  EXPECT_TRUE(q.lossy_area().empty());
  EXPECT_EQ(q.level(), 0);
  EXPECT_EQ(q.change_rate(200, 200, now), 0);
  EXPECT_FALSE(q.video_like(200, 200));
  EXPECT_EQ(q.next_refresh_time(), Clock::time_point::max());
  EXPECT_TRUE(q.refresh_due(now + 1s).empty());
  QualityPolicy::Plan p = q.plan(now, 100e3);
  EXPECT_EQ(p.quality_cap, -1);

  q.resize({0, 0});
  EXPECT_EQ(q.cell_count(), 0u);
  q.changed(reg(kVideo), now);
  EXPECT_EQ(q.plan(now, 100e3).quality_cap, -1);  // No grid: nothing is video.
  EXPECT_TRUE(q.lossy_area().empty());
  EXPECT_TRUE(q.refresh_due(now + 1s).empty());
}

TEST(QualityPolicy, StateStaysBoundedAndInsideTheScreen) {
  QualityPolicy q(kScreen);
  Clock::time_point now = t0();
  uint64_t s = 99;
  auto rnd = [&](int mod) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((s >> 33) % static_cast<uint64_t>(mod));
  };
  for (int i = 0; i < 5000; ++i) {
    // Rectangles partly or wholly off screen, some huge.
    Rect r{rnd(1400) - 400, rnd(1200) - 400, rnd(900) + 1, rnd(900) + 1};
    Rect r2{rnd(1400) - 400, rnd(1200) - 400, rnd(64) + 1, rnd(64) + 1};
    q.changed(reg(r), now);
    QualityPolicy::Plan p = q.plan(now, rnd(2) ? 0 : 1e5 * (1 + rnd(100)));
    ASSERT_GE(p.quality_cap, -1);
    ASSERT_LE(p.quality_cap, 100);
    q.sent(reg(r2), reg(r), now);
    if (i % 7 == 0) q.sent(Region(), q.refresh_due(now, 1e5), now);
    now += std::chrono::milliseconds(rnd(40));
  }
  EXPECT_EQ(q.cell_count(), 10u * 8u);
  ASSERT_FALSE(q.lossy_area().empty());
  EXPECT_TRUE((Rect{0, 0, 640, 480}.contains(q.lossy_area().bounds())));
  // Everything lossy is eventually refreshed when the screen is still.
  now += 1s;
  for (int i = 0; i < 200 && !q.lossy_area().empty(); ++i)
    q.sent(Region(), q.refresh_due(now, 1e5), now);
  EXPECT_TRUE(q.lossy_area().empty());
  EXPECT_EQ(q.next_refresh_time(), Clock::time_point::max());
}

}  // namespace
}  // namespace vncd::server
