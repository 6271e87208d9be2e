// Change detection of X11FrameSource against a private Xvfb: XDamage (only the damaged area is
// grabbed, over-reported damage is filtered out, a quiet screen costs nothing) and the polling
// fallback (a change is found within a bounded number of captures; a quiet screen is sampled
// sparsely). Frames handed out earlier never change.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>

#include <cstring>
#include <random>
#include <vector>

#include "platform/common/tile_diff.h"
#include "platform/x11/x11_frame_source.h"
#include "x11_fixture.h"
#include "x11_test_support.h"
// Xlib headers after ours (Xlib #defines Status).
#include <X11/Xutil.h>

namespace vncd::platform {
namespace {

using rfb::Rect;
using rfb::Region;
using test_support::Xvfb;

constexpr rfb::Size kScreen{640, 480};

class ChangeDetectionTest : public test_support::WithXvfb<> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(xvfb_);
    auto d = X11Display::open(xvfb_->display());
    ASSERT_TRUE(d.ok()) << d.error().message();
    painter_.emplace(std::move(d.value()));
  }

  std::unique_ptr<X11FrameSource> open_source(bool damage, int row_step = 16,
                                              bool get_image = false) {
    X11FrameSourceOptions options;
    options.disable_damage = !damage;
    options.poll_row_step = row_step;
    options.force_get_image = get_image;
    auto s = X11FrameSource::create(xvfb_->display(), options);
    EXPECT_TRUE(s.ok()) << s.error().message();
    if (!s.ok()) return nullptr;
    EXPECT_EQ(s.value()->using_damage(), damage);
    return std::move(s.value());
  }

  void fill(const Rect& r, unsigned long pixel, Window w = 0) {
    Display* dpy = painter_->get();
    if (w == 0) w = painter_->root();
    GC gc = XCreateGC(dpy, w, 0, nullptr);
    XSetForeground(dpy, gc, pixel);
    XFillRectangle(dpy, w, gc, r.x, r.y, static_cast<unsigned>(r.w), static_cast<unsigned>(r.h));
    XFreeGC(dpy, gc);
    XSync(dpy, False);
  }

  static unsigned long fresh_colour() {
    static unsigned long next = 0x405060;
    next += 0x030507;
    return next & 0xffffff;
  }

  static rfb::Capture capture_ok(X11FrameSource& source) {
    auto c = source.capture();
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message());
    return c.ok() ? std::move(c.value()) : rfb::Capture{};
  }

  // Rows of `frame` that differ from what XGetImage on the painter's connection reads.
  int mismatched_rows(const rfb::Frame& frame) {
    Display* dpy = painter_->get();
    XImage* image =
        XGetImage(dpy, painter_->root(), 0, 0, static_cast<unsigned>(frame.size().width),
                  static_cast<unsigned>(frame.size().height), AllPlanes, ZPixmap);
    EXPECT_NE(image, nullptr);
    if (image == nullptr) return -1;
    int mismatched = 0;
    for (int y = 0; y < frame.size().height; ++y) {
      if (std::memcmp(frame.view().row(y), image->data + y * image->bytes_per_line,
                      frame.stride()) != 0) {
        ++mismatched;
      }
    }
    XDestroyImage(image);
    return mismatched;
  }

  static Region tiles_of(const Region& r) { return snap_to_tiles(r, kScreen); }
  // What the capture reports for drawing that changed exactly the pixels of `drawn`: per 32x32
  // tile, the bounding box of the drawn pixels in it.
  static Region boxes_of(const Region& drawn) {
    Region out;
    for (const Rect& tile : tiles_of(drawn).rects()) {
      for (int y = tile.y; y < tile.bottom(); y += kDefaultTileSize) {
        for (int x = tile.x; x < tile.right(); x += kDefaultTileSize) {
          const Region in = drawn.intersected(Rect{x, y, kDefaultTileSize, kDefaultTileSize});
          if (!in.empty()) out.add(in.bounds());
        }
      }
    }
    return out;
  }

  std::optional<X11Display> painter_;
};

// --- XDamage ---

class DamageTest : public ChangeDetectionTest, public ::testing::WithParamInterface<bool> {
 protected:
  std::unique_ptr<X11FrameSource> open() { return open_source(true, 16, GetParam()); }
};

TEST_P(DamageTest, RectangleIsReportedExactlyAndGrabsOnlyItsArea) {
  auto source = open();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  const X11CaptureStats before = source->stats();

  const Rect drawn{100, 100, 50, 30};
  fill(drawn, fresh_colour());
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(drawn));
  EXPECT_FALSE(c.size_changed);
  ASSERT_TRUE(c.frame);
  EXPECT_EQ(mismatched_rows(*c.frame), 0);

  const X11CaptureStats after = source->stats();
  EXPECT_EQ(after.pixels_grabbed - before.pixels_grabbed, drawn.area());
  EXPECT_EQ(after.grab_requests - before.grab_requests, 1);
  EXPECT_EQ(after.pixels_compared - before.pixels_compared, tiles_of(Region(drawn)).area());
}

TEST_P(DamageTest, DrawingInsideAChildWindowIsSeen) {
  auto source = open();
  ASSERT_TRUE(source);
  Display* dpy = painter_->get();
  const Window child =
      XCreateSimpleWindow(dpy, painter_->root(), 200, 150, 120, 90, 0, 0, fresh_colour());
  XMapWindow(dpy, child);
  XSync(dpy, False);
  (void)capture_ok(*source);

  fill(Rect{10, 10, 20, 20}, fresh_colour(), child);  // At (210, 160) on the screen.
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(Rect{210, 160, 20, 20}));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);

  // Two areas far enough apart to be grabbed separately (in one batch, with MIT-SHM): the
  // window's contents must come along (the copy includes inferiors).
  fill(Rect{5, 5, 10, 10}, fresh_colour(), child);
  fill(Rect{100, 70, 15, 15}, fresh_colour(), child);
  const X11CaptureStats before = source->stats();
  c = capture_ok(*source);
  Region expected(Rect{205, 155, 10, 10});
  expected.add(Rect{300, 220, 15, 15});
  EXPECT_EQ(c.changed, expected);  // In separate tiles.
  EXPECT_EQ(source->stats().grab_requests - before.grab_requests, GetParam() ? 1 : 2);
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  XDestroyWindow(dpy, child);
  XSync(dpy, False);
}

TEST_P(DamageTest, RedrawingTheSamePixelsReportsNothing) {
  auto source = open();
  ASSERT_TRUE(source);
  const Rect r{300, 200, 80, 40};
  const unsigned long colour = fresh_colour();
  fill(r, colour);
  rfb::Capture first = capture_ok(*source);
  const X11CaptureStats before = source->stats();

  fill(r, colour);  // Damage, but no pixel changes.
  rfb::Capture again = capture_ok(*source);
  EXPECT_TRUE(again.changed.empty()) << again.changed.bounds().str();
  EXPECT_EQ(again.frame, first.frame);  // Nothing new to publish.
  // The damage was seen and checked: the area was grabbed and compared.
  EXPECT_EQ(source->stats().pixels_grabbed - before.pixels_grabbed, r.area());
  EXPECT_GT(source->stats().pixels_compared - before.pixels_compared, 0);
}

TEST_P(DamageTest, QuietScreenGrabsAndComparesNothing) {
  auto source = open();
  ASSERT_TRUE(source);
  rfb::Capture first = capture_ok(*source);
  const X11CaptureStats before = source->stats();
  for (int i = 0; i < 20; ++i) {
    rfb::Capture c = capture_ok(*source);
    EXPECT_TRUE(c.changed.empty());
    EXPECT_EQ(c.frame, first.frame);
  }
  const X11CaptureStats after = source->stats();
  EXPECT_EQ(after.captures - before.captures, 20);
  EXPECT_EQ(after.grab_requests, before.grab_requests);
  EXPECT_EQ(after.pixels_grabbed, before.pixels_grabbed);
  EXPECT_EQ(after.pixels_compared, before.pixels_compared);
  EXPECT_EQ(after.pixels_copied, before.pixels_copied);
}

TEST_P(DamageTest, ChangesArePendingOnlyAfterDamageArrives) {
  auto source = open();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  source->process_events();
  EXPECT_FALSE(source->changes_pending());  // A quiet screen: the server need not capture.
  fill(Rect{10, 10, 20, 20}, fresh_colour());
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!source->changes_pending() && std::chrono::steady_clock::now() < end) {
    pollfd p{source->event_fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    source->process_events();
  }
  EXPECT_TRUE(source->changes_pending());
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(Rect{10, 10, 20, 20}));
  source->process_events();
  EXPECT_FALSE(source->changes_pending());
}

// XDamage reports bounding boxes: the source knows when what it was told covers the screen (the
// server then stops waiting for more drawing).
TEST_P(DamageTest, KnowsWhenTheReportedChangesCoverTheScreen) {
  auto source = open();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  auto wait_for = [&](auto done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < end) {
      pollfd p{source->event_fd(), POLLIN, 0};
      ::poll(&p, 1, 50);
      source->process_events();
    }
  };
  const rfb::Size size = source->size();
  // The top half, then the bottom half: only the second completes the screen.
  fill(Rect{0, 0, size.width, size.height / 2}, fresh_colour());
  wait_for([&] { return source->changes_pending(); });
  ASSERT_TRUE(source->changes_pending());
  EXPECT_FALSE(source->changes_cover_screen());
  fill(Rect{0, size.height / 2, size.width, size.height - size.height / 2}, fresh_colour());
  wait_for([&] { return source->changes_cover_screen(); });
  EXPECT_TRUE(source->changes_cover_screen());
  // A capture takes the damage: a small change after it covers nothing like the screen.
  (void)capture_ok(*source);
  EXPECT_FALSE(source->changes_cover_screen());
  fill(Rect{5, 5, 10, 10}, fresh_colour());
  wait_for([&] { return source->changes_pending(); });
  ASSERT_TRUE(source->changes_pending());
  EXPECT_FALSE(source->changes_cover_screen());
}

TEST_F(ChangeDetectionTest, PollingSourceAlwaysHasChangesPending) {
  auto source = open_source(false);
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  EXPECT_TRUE(source->changes_pending());
}

// A large damaged area (here the whole 640x480 screen, repainted) is compared for changed rows
// only: each changed tile reports its differing rows across the tile's width. Small damage
// keeps exact boxes (ManySmallScatteredChangesAreAllFound).
TEST_P(DamageTest, LargeDamageReportsChangedRowsOfEachTile) {
  auto source = open();
  ASSERT_TRUE(source);
  const unsigned long background = fresh_colour();
  fill(Rect{0, 0, kScreen.width, kScreen.height}, background);
  (void)capture_ok(*source);
  fill(Rect{0, 0, kScreen.width, kScreen.height}, background);  // Damage, no change.
  const Rect dots[] = {{5, 7, 1, 1}, {100, 200, 3, 2}, {639, 479, 1, 1}};
  Region expected;
  for (const Rect& d : dots) {
    fill(d, fresh_colour());
    expected.add(Rect{d.x / 32 * 32, d.y, 32, d.h});
  }
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, expected);
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
}

TEST_P(DamageTest, ManySmallScatteredChangesAreAllFound) {
  auto source = open();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  std::mt19937 rng(7);
  Region drawn;
  for (int i = 0; i < 60; ++i) {
    const Rect r{static_cast<int>(rng() % 636), static_cast<int>(rng() % 476), 1 + (i % 4),
                 1 + (i % 3)};
    fill(r, fresh_colour());
    drawn.add(r);
  }
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, boxes_of(drawn));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
}

TEST_P(DamageTest, ChangesSpreadOverManyCapturesKeepTheFrameExact) {
  auto source = open();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  std::mt19937 rng(11);
  for (int round = 0; round < 12; ++round) {
    Region drawn;
    for (int i = 0; i < 1 + round % 4; ++i) {
      const Rect r{static_cast<int>(rng() % 600), static_cast<int>(rng() % 440),
                   1 + static_cast<int>(rng() % 40), 1 + static_cast<int>(rng() % 40)};
      fill(r, fresh_colour());
      drawn.add(r);
    }
    rfb::Capture c = capture_ok(*source);
    EXPECT_EQ(c.changed, boxes_of(drawn)) << "round " << round;
    ASSERT_TRUE(c.frame);
    EXPECT_EQ(mismatched_rows(*c.frame), 0) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, DamageTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? std::string("XGetImage") : std::string("Shm");
                         });

// --- Polling ---

TEST_F(ChangeDetectionTest, PollingFindsAOnePixelChangeWithinTheRowStep) {
  constexpr int kStep = 16;
  auto source = open_source(false, kStep);
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  // One pixel on each row offset modulo the step, so every phase of the scan is needed.
  for (int i = 0; i < kStep; ++i) {
    const Rect px{37 * i + 5, 29 * i + i % kStep, 1, 1};
    fill(px, fresh_colour());
    int captures = 0;
    Region found;
    while (captures < kStep && found.empty()) {
      found = capture_ok(*source).changed;
      ++captures;
    }
    EXPECT_EQ(found, Region(px)) << "pixel " << px.str();
    EXPECT_LE(captures, kStep);
  }
  EXPECT_EQ(mismatched_rows(*capture_ok(*source).frame), 0);
}

TEST_F(ChangeDetectionTest, PollingSeesChildWindows) {
  auto source = open_source(false, 16);
  ASSERT_TRUE(source);
  Display* dpy = painter_->get();
  const Window child =
      XCreateSimpleWindow(dpy, painter_->root(), 400, 300, 100, 100, 0, 0, fresh_colour());
  XMapWindow(dpy, child);
  XSync(dpy, False);
  (void)capture_ok(*source);
  fill(Rect{0, 0, 100, 100}, fresh_colour(), child);
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(Rect{400, 300, 100, 100}));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  XDestroyWindow(dpy, child);
  XSync(dpy, False);
}

TEST_F(ChangeDetectionTest, PollingFindsALargeChangeInOneCapture) {
  auto source = open_source(false, 16);
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  const Rect r{100, 100, 200, 100};
  fill(r, fresh_colour());
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(r));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
}

TEST_F(ChangeDetectionTest, PollingAQuietScreenLooksAtASmallFraction) {
  constexpr int kStep = 16;
  auto source = open_source(false, kStep);
  ASSERT_TRUE(source);
  rfb::Capture first = capture_ok(*source);
  const X11CaptureStats before = source->stats();
  constexpr int kCaptures = 2 * kStep;
  for (int i = 0; i < kCaptures; ++i) {
    rfb::Capture c = capture_ok(*source);
    EXPECT_TRUE(c.changed.empty());
    EXPECT_EQ(c.frame, first.frame);
  }
  const X11CaptureStats after = source->stats();
  const int64_t screen = int64_t{kScreen.width} * kScreen.height;
  // Exactly one row in kStep per capture; a full sweep over kStep captures.
  EXPECT_EQ(after.pixels_compared - before.pixels_compared, kCaptures * screen / kStep);
  EXPECT_EQ(after.pixels_grabbed - before.pixels_grabbed, kCaptures * screen / kStep);
}

// --- Both ---

class ImmutabilityTest : public ChangeDetectionTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ImmutabilityTest, EarlierFramesNeverChange) {
  auto source = open_source(GetParam(), 1);
  ASSERT_TRUE(source);
  std::vector<rfb::FramePtr> kept;
  std::vector<std::vector<uint8_t>> copies;
  std::mt19937 rng(3);
  for (int round = 0; round < 10; ++round) {
    fill(Rect{static_cast<int>(rng() % 500), static_cast<int>(rng() % 400), 100, 60},
         fresh_colour());
    rfb::Capture c = capture_ok(*source);
    ASSERT_TRUE(c.frame);
    EXPECT_FALSE(c.changed.empty());
    // Keep every other frame; the dropped ones go back to the pool and get rewritten.
    if (round % 2 == 0) {
      kept.push_back(c.frame);
      const uint8_t* d = c.frame->data();
      copies.emplace_back(d, d + c.frame->stride() * static_cast<size_t>(c.frame->size().height));
    }
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    const uint8_t* d = kept[i]->data();
    EXPECT_TRUE(std::equal(copies[i].begin(), copies[i].end(), d)) << "frame " << i;
    for (size_t j = i + 1; j < kept.size(); ++j) EXPECT_NE(kept[i], kept[j]);
  }
  // Dropped frames were recycled: after the first few, a capture copies only what changed.
  EXPECT_LT(source->stats().pixels_copied, 6 * int64_t{kScreen.width} * kScreen.height);
}

INSTANTIATE_TEST_SUITE_P(Modes, ImmutabilityTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? std::string("Damage") : std::string("Polling");
                         });

}  // namespace
}  // namespace vncd::platform
