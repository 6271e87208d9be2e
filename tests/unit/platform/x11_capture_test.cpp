// X11FrameSource against a private Xvfb: pixels, change detection, SHM and XGetImage paths,
// XDamage and polling, screen size changes.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "platform/x11/x11_frame_source.h"
#include "x11_fixture.h"
#include "x11_test_support.h"
// Xlib headers after ours (Xlib #defines Status).
#include <X11/Xutil.h>
#include <X11/extensions/Xrandr.h>

namespace vncd::platform {
namespace {

using rfb::Rect;
using rfb::Region;
using test_support::Xvfb;

struct CapturePath {
  bool get_image = false;  // XGetImage instead of MIT-SHM.
  bool damage = true;      // XDamage; false: polling every row (so one capture sees everything).
};

class X11CaptureTest : public test_support::WithXvfb<::testing::TestWithParam<CapturePath>> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(xvfb_);
    auto d = X11Display::open(xvfb_->display());
    ASSERT_TRUE(d.ok()) << d.error().message();
    painter_.emplace(std::move(d.value()));
    X11FrameSourceOptions options;
    options.force_get_image = GetParam().get_image;
    options.disable_damage = !GetParam().damage;
    options.poll_row_step = 1;
    auto s = X11FrameSource::create(xvfb_->display(), options);
    ASSERT_TRUE(s.ok()) << s.error().message();
    source_ = std::move(s.value());
  }

  // Draws on the root window from another client, as an application would.
  void fill(const Rect& r, unsigned long pixel) {
    Display* dpy = painter_->get();
    GC gc = XCreateGC(dpy, painter_->root(), 0, nullptr);
    XSetForeground(dpy, gc, pixel);
    XFillRectangle(dpy, painter_->root(), gc, r.x, r.y, static_cast<unsigned>(r.w),
                   static_cast<unsigned>(r.h));
    XFreeGC(dpy, gc);
    XSync(dpy, False);
  }

  // A colour no earlier drawing in this Xvfb used, so every fill really changes pixels.
  static unsigned long fresh_colour() {
    static unsigned long next = 0x102030;
    next += 0x010305;
    return next & 0xffffff;
  }

  rfb::Capture capture_ok() {
    auto c = source_->capture();
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message());
    return c.ok() ? std::move(c.value()) : rfb::Capture{};
  }

  // Every pixel of the frame equals what XGetImage on another connection reads.
  void expect_matches_screen(const rfb::Frame& frame) {
    Display* dpy = painter_->get();
    XImage* image =
        XGetImage(dpy, painter_->root(), 0, 0, static_cast<unsigned>(frame.size().width),
                  static_cast<unsigned>(frame.size().height), AllPlanes, ZPixmap);
    ASSERT_NE(image, nullptr);
    ASSERT_EQ(image->bits_per_pixel, frame.format().bpp);
    int mismatched_rows = 0;
    for (int y = 0; y < frame.size().height; ++y) {
      if (std::memcmp(frame.view().row(y), image->data + y * image->bytes_per_line,
                      frame.stride()) != 0) {
        ++mismatched_rows;
      }
    }
    XDestroyImage(image);
    EXPECT_EQ(mismatched_rows, 0);
  }

  std::optional<X11Display> painter_;
  std::unique_ptr<X11FrameSource> source_;
};

TEST_P(X11CaptureTest, FormatAndSizeComeFromTheScreen) {
  EXPECT_EQ(source_->size(), (rfb::Size{640, 480}));
  const rfb::PixelFormat f = source_->format();
  EXPECT_EQ(f.bpp, 32);
  EXPECT_EQ(f.depth, 24);
  EXPECT_FALSE(f.big_endian);
  EXPECT_TRUE(f.true_colour);
  EXPECT_EQ(f.red_max, 255);
  EXPECT_EQ(f.red_shift, 16);
  EXPECT_EQ(f.green_shift, 8);
  EXPECT_EQ(f.blue_shift, 0);
  EXPECT_GE(source_->event_fd(), 0);
}

TEST_P(X11CaptureTest, UsesShmUnlessForcedOff) {
  (void)capture_ok();
  EXPECT_EQ(source_->using_shm(), !GetParam().get_image);
  EXPECT_EQ(source_->using_shm_frames(), !GetParam().get_image);
  EXPECT_EQ(source_->using_damage(), GetParam().damage);
}

TEST_P(X11CaptureTest, CaptureMatchesXGetImageExactly) {
  fill({0, 0, 640, 480}, fresh_colour());
  fill({10, 20, 200, 100}, 0xff0000);
  fill({300, 50, 7, 300}, 0x00ff00);
  fill({630, 470, 10, 10}, 0x0000ff);
  fill({50, 400, 123, 45}, fresh_colour());
  rfb::Capture c = capture_ok();
  ASSERT_TRUE(c.frame);
  EXPECT_EQ(c.frame->size(), (rfb::Size{640, 480}));
  EXPECT_EQ(c.changed, Region(Rect{0, 0, 640, 480}));  // First capture: everything.
  EXPECT_FALSE(c.size_changed);
  expect_matches_screen(*c.frame);
  // Spot-check the channel layout the format claims: (15, 25) is pure red.
  const uint8_t* red = c.frame->view().at(15, 25);
  EXPECT_EQ(red[2], 0xff);
  EXPECT_EQ(red[1], 0x00);
  EXPECT_EQ(red[0], 0x00);
}

TEST_P(X11CaptureTest, ChangedRegionIsExactlyTheDrawing) {
  (void)capture_ok();
  rfb::Capture quiet = capture_ok();
  EXPECT_TRUE(quiet.changed.empty()) << quiet.changed.bounds().str();

  const Rect drawn{100, 100, 50, 30};
  fill(drawn, fresh_colour());
  rfb::Capture c = capture_ok();
  // Exact, although the rectangle straddles 32x32 tiles on every side.
  EXPECT_EQ(c.changed, Region(drawn));
  expect_matches_screen(*c.frame);

  // Frames are separate snapshots: the earlier one still shows the old pixels.
  EXPECT_NE(quiet.frame, c.frame);
  EXPECT_NE(std::memcmp(quiet.frame->view().at(110, 110), c.frame->view().at(110, 110), 4), 0);
}

TEST_P(X11CaptureTest, HintAddsToWhatIsGrabbedAndCompared) {
  (void)capture_ok();
  (void)capture_ok();
  const X11CaptureStats before = source_->stats();
  source_->add_change_hint(Region(Rect{0, 0, 20, 20}));
  rfb::Capture c = capture_ok();
  EXPECT_TRUE(c.changed.empty());
  const X11CaptureStats after = source_->stats();
  EXPECT_GE(after.pixels_grabbed - before.pixels_grabbed, 20 * 20);
  EXPECT_GE(after.pixels_compared - before.pixels_compared, 32 * 32);
}

// Resizes the screen the way `xrandr --fb` does: CRTCs that would not fit are switched off
// first (RandR refuses a screen smaller than an active CRTC) and switched back on when they fit.
void resize_screen(const X11Display& d, int width, int height) {
  Display* dpy = d.get();
  XRRScreenResources* res = XRRGetScreenResources(dpy, d.root());
  ASSERT_NE(res, nullptr);
  struct Saved {
    RRCrtc crtc;
    RRMode mode;
    int x, y;
    Rotation rotation;
    std::vector<RROutput> outputs;
    unsigned w, h;
  };
  std::vector<Saved> saved;
  for (int i = 0; i < res->ncrtc; ++i) {
    XRRCrtcInfo* ci = XRRGetCrtcInfo(dpy, res, res->crtcs[i]);
    if (ci != nullptr && ci->mode != None) {
      saved.push_back({res->crtcs[i], ci->mode, ci->x, ci->y, ci->rotation,
                       std::vector<RROutput>(ci->outputs, ci->outputs + ci->noutput), ci->width,
                       ci->height});
      XRRSetCrtcConfig(dpy, res, res->crtcs[i], CurrentTime, 0, 0, None, RR_Rotate_0, nullptr, 0);
    }
    if (ci != nullptr) XRRFreeCrtcInfo(ci);
  }
  const int mm_w = DisplayWidthMM(dpy, 0) * width / DisplayWidth(dpy, 0);
  const int mm_h = DisplayHeightMM(dpy, 0) * height / DisplayHeight(dpy, 0);
  XRRSetScreenSize(dpy, d.root(), width, height, mm_w, mm_h);
  for (Saved& s : saved) {
    if (s.w <= static_cast<unsigned>(width) && s.h <= static_cast<unsigned>(height)) {
      XRRSetCrtcConfig(dpy, res, s.crtc, CurrentTime, s.x, s.y, s.mode, s.rotation,
                       s.outputs.data(), static_cast<int>(s.outputs.size()));
    }
  }
  XRRFreeScreenResources(res);
  XSync(dpy, False);
}

TEST_P(X11CaptureTest, LargeAreasAreGrabbedStripByStrip) {
  // A 50-row strip (XGetImage: 50 rows per request too): a full-screen grab takes ten pieces.
  // Heap frames, so every area goes through the strip.
  X11FrameSourceOptions options;
  options.force_get_image = GetParam().get_image;
  options.disable_damage = !GetParam().damage;
  options.poll_row_step = 1;
  options.shm_strip_bytes = 640 * 4 * 50;
  options.shm_frames = false;
  auto s = X11FrameSource::create(xvfb_->display(), options);
  ASSERT_TRUE(s.ok()) << s.error().message();
  X11FrameSource& source = **s;

  fill({0, 0, 640, 480}, fresh_colour());
  fill({0, 49, 640, 2}, 0xff0000);  // Across the first strip boundary.
  const X11CaptureStats before = source.stats();
  auto first = source.capture();
  ASSERT_TRUE(first.ok()) << first.error().message();
  expect_matches_screen(*first->frame);
  const X11CaptureStats after = source.stats();
  EXPECT_EQ(after.pixels_grabbed - before.pixels_grabbed, 640 * 480);
  EXPECT_EQ(after.grab_requests - before.grab_requests, 10);
  EXPECT_EQ(after.grab_round_trips - before.grab_round_trips, 10);
  EXPECT_EQ(after.grabs_into_frame, 0);
  EXPECT_EQ(after.shm_frames_made, 0);
  EXPECT_FALSE(source.using_shm_frames());

  // Small areas far enough apart that none are merged into one grab (each gap wastes more than
  // a batched request costs). Batched (MIT-SHM with damage) they share the strip: one round trip.
  // Polling reads all 480 rows, so its batches fill the strip ten times over.
  Region drawn;
  for (int i = 0; i < 12; ++i) {
    const Rect r{(i % 4) * 170 + 3, (i / 4) * 170 + 5, 30, 30};
    fill(r, fresh_colour());
    drawn.add(r);
  }
  const X11CaptureStats before_small = source.stats();
  auto c = source.capture();
  ASSERT_TRUE(c.ok()) << c.error().message();
  expect_matches_screen(*c->frame);
  EXPECT_EQ(c->changed, drawn);
  const X11CaptureStats after_small = source.stats();
  const int64_t requests = after_small.grab_requests - before_small.grab_requests;
  const int64_t trips = after_small.grab_round_trips - before_small.grab_round_trips;
  if (GetParam().get_image) {
    EXPECT_EQ(trips, requests);  // No batching without a shared pixmap.
  } else if (GetParam().damage) {
    EXPECT_EQ(requests, 12);
    EXPECT_EQ(trips, 1);
  } else {
    EXPECT_GE(trips, 10);
    EXPECT_LT(trips, requests);
  }

  // A whole-screen hint on a warm source: strips again, into a recycled frame.
  fill({0, 0, 640, 480}, fresh_colour());
  fill({100, 99, 300, 3}, 0x00ff00);
  source.add_change_hint(Region(Rect{0, 0, 640, 480}));
  auto full = source.capture();
  ASSERT_TRUE(full.ok()) << full.error().message();
  expect_matches_screen(*full->frame);
  EXPECT_EQ(full->changed.bounds(), (Rect{0, 0, 640, 480}));
}

TEST_P(X11CaptureTest, ScreenSizeChangeIsReported) {
  (void)capture_ok();
  ASSERT_NO_FATAL_FAILURE(resize_screen(*painter_, 320, 240));
  source_->process_events();

  rfb::Capture c = capture_ok();
  EXPECT_TRUE(c.size_changed);
  EXPECT_EQ(source_->size(), (rfb::Size{320, 240}));
  ASSERT_TRUE(c.frame);
  EXPECT_EQ(c.frame->size(), (rfb::Size{320, 240}));
  EXPECT_EQ(c.changed, Region(Rect{0, 0, 320, 240}));
  expect_matches_screen(*c.frame);
  EXPECT_EQ(source_->using_shm(), !GetParam().get_image);

  rfb::Capture same = capture_ok();
  EXPECT_FALSE(same.size_changed);
  EXPECT_TRUE(same.changed.empty());

  ASSERT_NO_FATAL_FAILURE(resize_screen(*painter_, 640, 480));
  rfb::Capture back = capture_ok();
  EXPECT_TRUE(back.size_changed);
  ASSERT_TRUE(back.frame);
  EXPECT_EQ(back.frame->size(), (rfb::Size{640, 480}));
  EXPECT_EQ(back.changed, Region(Rect{0, 0, 640, 480}));
  expect_matches_screen(*back.frame);
}

INSTANTIATE_TEST_SUITE_P(Paths, X11CaptureTest,
                         ::testing::Values(CapturePath{false, true}, CapturePath{true, true},
                                           CapturePath{false, false}, CapturePath{true, false}),
                         [](const ::testing::TestParamInfo<CapturePath>& param) {
                           return std::string(param.param.get_image ? "XGetImage" : "Shm") +
                                  (param.param.damage ? "Damage" : "Polling");
                         });

// Frames in MIT-SHM segments the X server writes into directly.
class X11ShmFramesTest : public test_support::WithXvfb<> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(xvfb_);
    auto d = X11Display::open(xvfb_->display());
    ASSERT_TRUE(d.ok()) << d.error().message();
    painter_.emplace(std::move(d.value()));
  }

  std::unique_ptr<X11FrameSource> make_source(bool shm_frames = true) {
    X11FrameSourceOptions options;
    options.shm_frames = shm_frames;
    auto s = X11FrameSource::create(xvfb_->display(), options);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return s.ok() ? std::move(s.value()) : nullptr;
  }

  void fill(const Rect& r, unsigned long pixel) {
    Display* dpy = painter_->get();
    GC gc = XCreateGC(dpy, painter_->root(), 0, nullptr);
    XSetForeground(dpy, gc, pixel);
    XFillRectangle(dpy, painter_->root(), gc, r.x, r.y, static_cast<unsigned>(r.w),
                   static_cast<unsigned>(r.h));
    XFreeGC(dpy, gc);
    XSync(dpy, False);
  }
  static unsigned long fresh_colour() {
    static unsigned long next = 0x405060;
    next += 0x010305;
    return next & 0xffffff;
  }

  // Rows of the frame that differ from what XGetImage on the painter's connection reads.
  int mismatched_rows(const rfb::Frame& frame) {
    Display* dpy = painter_->get();
    XImage* image =
        XGetImage(dpy, painter_->root(), 0, 0, static_cast<unsigned>(frame.size().width),
                  static_cast<unsigned>(frame.size().height), AllPlanes, ZPixmap);
    if (image == nullptr) return -1;
    int bad = 0;
    const size_t row_bytes =
        static_cast<size_t>(frame.size().width) * frame.format().bytes_per_pixel();
    for (int y = 0; y < frame.size().height; ++y) {
      bad +=
          std::memcmp(frame.view().row(y), image->data + y * image->bytes_per_line, row_bytes) != 0;
    }
    XDestroyImage(image);
    return bad;
  }

  static rfb::Capture capture_ok(X11FrameSource& source) {
    auto c = source.capture();
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message());
    return c.ok() ? std::move(c.value()) : rfb::Capture{};
  }

  std::optional<X11Display> painter_;
};

TEST_F(X11ShmFramesTest, FullWidthAreasGoStraightIntoTheFrame) {
  auto source = make_source();
  ASSERT_TRUE(source);
  EXPECT_TRUE(source->using_shm_frames());
  fill({0, 0, 640, 480}, fresh_colour());
  fill({5, 7, 100, 50}, 0xff0000);

  // The whole screen: one request, no strip.
  rfb::Capture first = capture_ok(*source);
  ASSERT_TRUE(first.frame);
  EXPECT_EQ(mismatched_rows(*first.frame), 0);
  X11CaptureStats s = source->stats();
  EXPECT_EQ(s.grab_requests, 1);
  EXPECT_EQ(s.grabs_into_frame, 1);
  EXPECT_EQ(s.shm_frames_made, 1);
  EXPECT_FALSE(source->has_shm_strip());

  // A full-width band: one request into the frame, reported exactly.
  const Rect band{0, 100, 640, 37};
  fill(band, fresh_colour());
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(band));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  X11CaptureStats after = source->stats();
  EXPECT_EQ(after.grab_requests - s.grab_requests, 1);
  EXPECT_EQ(after.grabs_into_frame - s.grabs_into_frame, 1);
  EXPECT_EQ(after.pixels_grabbed - s.pixels_grabbed, band.area());
  EXPECT_FALSE(source->has_shm_strip());
  // The earlier frame is untouched.
  EXPECT_NE(std::memcmp(first.frame->view().row(110), c.frame->view().row(110), 640 * 4), 0);

  // Wider than 2/3 of the screen: widened to the full width, still reported exactly.
  s = after;
  const Rect wide{30, 300, 500, 20};
  fill(wide, fresh_colour());
  c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(wide));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  after = source->stats();
  EXPECT_EQ(after.grabs_into_frame - s.grabs_into_frame, 1);
  EXPECT_EQ(after.pixels_grabbed - s.pixels_grabbed, 640 * 20);
  EXPECT_FALSE(source->has_shm_strip());
}

TEST_F(X11ShmFramesTest, NearbyBandsAreOneRequestFarOnesTwo) {
  auto source = make_source();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  // 22 rows apart (in different 32-row tiles, so each is reported on its own): fetching the gap
  // costs less than a round trip.
  X11CaptureStats s = source->stats();
  const Rect a{0, 40, 640, 8};
  const Rect b{0, 70, 640, 8};
  fill(a, fresh_colour());
  fill(b, fresh_colour());
  rfb::Capture c = capture_ok(*source);
  Region both(a);
  both.add(b);
  EXPECT_EQ(c.changed, both);  // Only what changed, although the gap was grabbed too.
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  X11CaptureStats after = source->stats();
  EXPECT_EQ(after.grabs_into_frame - s.grabs_into_frame, 1);
  EXPECT_EQ(after.pixels_grabbed - s.pixels_grabbed, 640 * 38);

  // 300 rows apart: two requests.
  s = after;
  const Rect d{0, 400, 640, 8};
  fill(a, fresh_colour());
  fill(d, fresh_colour());
  c = capture_ok(*source);
  Region far(a);
  far.add(d);
  EXPECT_EQ(c.changed, far);
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  after = source->stats();
  EXPECT_EQ(after.grabs_into_frame - s.grabs_into_frame, 2);
  EXPECT_EQ(after.pixels_grabbed - s.pixels_grabbed, 640 * 16);
}

TEST_F(X11ShmFramesTest, NarrowAreasGoThroughTheStrip) {
  auto source = make_source();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  const X11CaptureStats s = source->stats();
  const Rect narrow{200, 150, 60, 40};
  fill(narrow, fresh_colour());
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(narrow));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  const X11CaptureStats after = source->stats();
  EXPECT_EQ(after.grabs_into_frame, s.grabs_into_frame);
  EXPECT_EQ(after.grab_requests - s.grab_requests, 1);
  EXPECT_TRUE(source->has_shm_strip());

  // Both kinds in one capture.
  const Rect band{0, 400, 640, 10};
  const Rect small{500, 20, 30, 30};
  fill(band, fresh_colour());
  fill(small, fresh_colour());
  c = capture_ok(*source);
  Region both(band);
  both.add(small);
  EXPECT_EQ(c.changed, both);
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  EXPECT_EQ(source->stats().grabs_into_frame - after.grabs_into_frame, 1);
}

TEST_F(X11ShmFramesTest, RecycledFramesStayCorrectAndFewAreMade) {
  auto source = make_source();
  ASSERT_TRUE(source);
  (void)capture_ok(*source);
  for (int i = 0; i < 12; ++i) {
    // Alternating full-width and narrow changes, so recycled spares must be brought up to date
    // both ways.
    const Rect r = i % 2 == 0 ? Rect{0, (i * 37) % 400, 640, 30} : Rect{(i * 53) % 600, 10, 20, 20};
    fill(r, fresh_colour());
    rfb::Capture c = capture_ok(*source);
    EXPECT_EQ(c.changed, Region(r)) << i;
    ASSERT_EQ(mismatched_rows(*c.frame), 0) << i;
  }
  const X11CaptureStats s = source->stats();
  // Nobody holds the frames: the pool cycles through two (the current one and a spare).
  EXPECT_LE(s.shm_frames_made, 2);
  EXPECT_GT(s.pixels_copied, 0);
  EXPECT_EQ(s.grabs_into_frame, 1 + 6);
}

TEST_F(X11ShmFramesTest, FramesReleasedOnAnotherThreadAreTakenBackByTheNextCapture) {
  auto source = make_source();
  ASSERT_TRUE(source);
  std::vector<rfb::FramePtr> held;
  for (int i = 0; i < 6; ++i) {
    fill({0, 0, 640, 480}, fresh_colour());
    held.push_back(capture_ok(*source).frame);
    ASSERT_TRUE(held.back());
    EXPECT_EQ(mismatched_rows(*held.back()), 0);
  }
  const X11CaptureStats s = source->stats();
  EXPECT_EQ(s.shm_frames_made, 6);  // Each one held: a new segment each time.
  EXPECT_EQ(s.shm_frames_released, 0);

  // The pool keeps the latest frame and three spares; the two oldest only we hold, so they die on
  // the other thread.
  std::thread([frames = std::move(held)]() mutable { frames.clear(); }).join();
  EXPECT_EQ(source->stats().shm_frames_released, 0);  // Nothing Xlib happened on that thread.
  fill({0, 0, 640, 480}, fresh_colour());
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  const X11CaptureStats after = source->stats();
  EXPECT_EQ(after.shm_frames_released, 2);
  // A free spare served this capture, so neither segment was reused: both were detached.
  EXPECT_EQ(after.shm_frames_detached, 2);
  EXPECT_EQ(after.shm_frames_made, 6);
}

TEST_F(X11ShmFramesTest, ReleasedSegmentsAreReusedInsteadOfMade) {
  auto source = make_source();
  ASSERT_TRUE(source);
  fill({0, 0, 640, 480}, fresh_colour());
  (void)capture_ok(*source);
  // A whole-screen grab of an unchanged screen: the frame is recycled and, after so large an
  // overwrite, freed; the next capture takes its segment back instead of making one.
  for (int i = 0; i < 5; ++i) {
    source->add_change_hint(Region(Rect{0, 0, 640, 480}));
    rfb::Capture c = capture_ok(*source);
    EXPECT_TRUE(c.changed.empty());
    EXPECT_EQ(mismatched_rows(*c.frame), 0);
  }
  const X11CaptureStats s = source->stats();
  EXPECT_EQ(s.shm_frames_made, 2);
  EXPECT_EQ(s.shm_frames_reused, 4);
  EXPECT_EQ(s.grabs_into_frame, 6);
  // A real change after that, into a reused segment.
  const Rect band{0, 50, 640, 5};
  fill(band, fresh_colour());
  source->add_change_hint(Region(Rect{0, 0, 640, 480}));
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(band));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
}

TEST_F(X11ShmFramesTest, FramesOutliveTheirSource) {
  rfb::FramePtr kept;
  {
    auto source = make_source();
    ASSERT_TRUE(source);
    fill({0, 0, 640, 480}, fresh_colour());
    kept = capture_ok(*source).frame;
    ASSERT_TRUE(kept);
  }
  // The X server let go of the segment; our mapping is the frame's until it is dropped.
  EXPECT_EQ(mismatched_rows(*kept), 0);
  kept.reset();
}

TEST_F(X11ShmFramesTest, DisabledFramesLiveOnTheHeap) {
  auto source = make_source(/*shm_frames=*/false);
  ASSERT_TRUE(source);
  EXPECT_FALSE(source->using_shm_frames());
  EXPECT_TRUE(source->using_shm());
  fill({0, 0, 640, 480}, fresh_colour());
  rfb::Capture c = capture_ok(*source);
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  const Rect band{0, 10, 640, 10};
  fill(band, fresh_colour());
  c = capture_ok(*source);
  EXPECT_EQ(c.changed, Region(band));
  EXPECT_EQ(mismatched_rows(*c.frame), 0);
  const X11CaptureStats s = source->stats();
  EXPECT_EQ(s.grabs_into_frame, 0);
  EXPECT_EQ(s.shm_frames_made, 0);
  EXPECT_TRUE(source->has_shm_strip());
}

TEST(X11ShmFramesPadded, PaddedRowsFallBackToTheStrip) {
  // 16 bpp at an odd width: the X server pads each row to 32 bits, so an image of the full width
  // is not laid out like the packed frame.
  std::string error;
  auto xvfb = Xvfb::start(&error, "321x200x16");
  ASSERT_TRUE(xvfb) << error;
  auto source = X11FrameSource::create(xvfb->display());
  ASSERT_TRUE(source.ok()) << source.error().message();
  EXPECT_TRUE((*source)->using_shm());
  EXPECT_FALSE((*source)->using_shm_frames());
  auto c = (*source)->capture();
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->frame->size(), (rfb::Size{321, 200}));
  EXPECT_EQ((*source)->stats().grabs_into_frame, 0);

  // An even width at 16 bpp has no padding: frames in shared memory again.
  auto even = Xvfb::start(&error, "320x200x16");
  ASSERT_TRUE(even) << error;
  auto direct = X11FrameSource::create(even->display());
  ASSERT_TRUE(direct.ok()) << direct.error().message();
  EXPECT_TRUE((*direct)->using_shm_frames());
  auto d = (*direct)->capture();
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ((*direct)->stats().grabs_into_frame, 1);
  auto reference =
      X11FrameSource::create(even->display(), X11FrameSourceOptions{.force_get_image = true});
  ASSERT_TRUE(reference.ok());
  auto r = (*reference)->capture();
  ASSERT_TRUE(r.ok());
  for (int y = 0; y < 200; ++y) {
    ASSERT_EQ(std::memcmp(d->frame->view().row(y), r->frame->view().row(y), d->frame->stride()), 0)
        << "row " << y;
  }
}

TEST(X11CaptureRemote, RemoteDisplayIsCapturedWithXGetImage) {
  std::string error;
  auto xvfb = Xvfb::start(&error, "320x200x24", /*listen_tcp=*/true);
  ASSERT_TRUE(xvfb) << error;
  const std::string tcp_name = "127.0.0.1" + xvfb->display();
  auto source = X11FrameSource::create(tcp_name);
  ASSERT_TRUE(source.ok()) << source.error().message();
  EXPECT_FALSE((*source)->using_shm());  // A TCP connection cannot share memory with the server.
  EXPECT_FALSE((*source)->using_shm_frames());
  auto c = (*source)->capture();
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->frame->size(), (rfb::Size{320, 200}));

  auto local = X11FrameSource::create(xvfb->display());
  ASSERT_TRUE(local.ok()) << local.error().message();
  auto reference = (*local)->capture();
  ASSERT_TRUE(reference.ok());
  EXPECT_TRUE((*local)->using_shm());
  for (int y = 0; y < 200; ++y) {
    ASSERT_EQ(
        std::memcmp(c->frame->view().row(y), reference->frame->view().row(y), c->frame->stride()),
        0)
        << "row " << y;
  }
}

}  // namespace
}  // namespace vncd::platform
