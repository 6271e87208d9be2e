// X11FrameSource against a private Xvfb: pixels, change detection, SHM and XGetImage paths,
// XDamage and polling, screen size changes.
#include <gtest/gtest.h>

#include <cstring>

#include "platform/x11/x11_frame_source.h"
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

class X11CaptureTest : public ::testing::TestWithParam<CapturePath> {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    xvfb_ = Xvfb::start(&error);
    ASSERT_TRUE(xvfb_) << error;
  }
  static void TearDownTestSuite() { xvfb_.reset(); }

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

  static std::unique_ptr<Xvfb> xvfb_;
  std::optional<X11Display> painter_;
  std::unique_ptr<X11FrameSource> source_;
};

std::unique_ptr<Xvfb> X11CaptureTest::xvfb_;

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
  X11FrameSourceOptions options;
  options.force_get_image = GetParam().get_image;
  options.disable_damage = !GetParam().damage;
  options.poll_row_step = 1;
  options.shm_strip_bytes = 640 * 4 * 50;
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

TEST(X11CaptureRemote, RemoteDisplayIsCapturedWithXGetImage) {
  std::string error;
  auto xvfb = Xvfb::start(&error, "320x200x24", /*listen_tcp=*/true);
  ASSERT_TRUE(xvfb) << error;
  const std::string tcp_name = "127.0.0.1" + xvfb->display();
  auto source = X11FrameSource::create(tcp_name);
  ASSERT_TRUE(source.ok()) << source.error().message();
  EXPECT_FALSE((*source)->using_shm());  // A TCP connection cannot share memory with the server.
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
