#include "platform/fake/fake_desktop.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vncd::platform {
namespace {

using rfb::PixelFormat;
using rfb::Rect;
using rfb::Region;
using rfb::Size;

rfb::Capture capture_ok(FakeDesktop& d) {
  auto c = d.capture();
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message());
  return c.ok() ? std::move(c.value()) : rfb::Capture{};
}

TEST(FakeDesktop, FirstCaptureIsTheWholeScreen) {
  FakeDesktop d({100, 50});
  rfb::Capture c = capture_ok(d);
  ASSERT_TRUE(c.frame);
  EXPECT_EQ(c.frame->size(), (Size{100, 50}));
  EXPECT_EQ(c.changed, Region(Rect{0, 0, 100, 50}));
  EXPECT_FALSE(c.size_changed);
}

TEST(FakeDesktop, UnchangedScreenReportsNothing) {
  FakeDesktop d({100, 50});
  (void)capture_ok(d);
  rfb::Capture c = capture_ok(d);
  EXPECT_TRUE(c.changed.empty());
  EXPECT_EQ(d.capture_count(), 2);
}

TEST(FakeDesktop, DrawnRectangleIsReportedExactly) {
  FakeDesktop d({320, 240});
  (void)capture_ok(d);
  const Rect drawn{100, 70, 30, 20};
  d.fill_rect(drawn, 0x00ff00);
  rfb::Capture c = capture_ok(d);
  EXPECT_EQ(c.changed, Region(drawn));
  EXPECT_EQ(c.frame->view().at(100, 70)[1], 0xff);  // Green byte of little-endian 0x00ff00.
}

TEST(FakeDesktop, FramesAreImmutableSnapshots) {
  FakeDesktop d({64, 64});
  rfb::Capture first = capture_ok(d);
  d.set_pixel(1, 1, 0xffffff);
  rfb::Capture second = capture_ok(d);
  EXPECT_NE(first.frame, second.frame);
  EXPECT_EQ(first.frame->view().at(1, 1)[0], 0);
  EXPECT_EQ(second.frame->view().at(1, 1)[0], 0xff);
  EXPECT_EQ(second.changed, Region(Rect{1, 1, 1, 1}));
}

TEST(FakeDesktop, EachChangedTileReportsTheBoxOfItsChanges) {
  FakeDesktop d({64, 64}, PixelFormat::rgb888(), 16);
  (void)capture_ok(d);
  d.set_pixel(3, 4, 0xffffff);   // Tile (0,0) of 16.
  d.set_pixel(9, 12, 0xffffff);  // Tile (0,0) of 16.
  d.set_pixel(20, 4, 0xffffff);  // Tile (1,0) of 16: alone in its tile.
  rfb::Capture c = capture_ok(d);
  Region expected(Rect{3, 4, 7, 9});
  expected.add(Rect{20, 4, 1, 1});
  EXPECT_EQ(c.changed, expected);
}

TEST(FakeDesktop, ResizeReportsSizeChangeAndWholeScreen) {
  FakeDesktop d({64, 64});
  (void)capture_ok(d);
  d.resize({80, 40});
  rfb::Capture c = capture_ok(d);
  EXPECT_TRUE(c.size_changed);
  EXPECT_EQ(d.size(), (Size{80, 40}));
  EXPECT_EQ(c.frame->size(), (Size{80, 40}));
  EXPECT_EQ(c.changed, Region(Rect{0, 0, 80, 40}));
  rfb::Capture again = capture_ok(d);
  EXPECT_FALSE(again.size_changed);
  EXPECT_TRUE(again.changed.empty());
}

TEST(FakeDesktop, PixelsFollowTheFormat) {
  PixelFormat be565 = PixelFormat::rgb565();
  be565.big_endian = true;
  FakeDesktop d({8, 8}, be565);
  d.set_pixel(2, 3, 0xf800);
  EXPECT_EQ(d.pixel(2, 3), 0xf800u);
  rfb::Capture c = capture_ok(d);
  EXPECT_EQ(c.frame->format(), be565);
  EXPECT_EQ(c.frame->view().at(2, 3)[0], 0xf8);  // Big endian: high byte first.
  EXPECT_EQ(c.frame->view().at(2, 3)[1], 0x00);

  d.set_format(PixelFormat::rgb888());
  rfb::Capture after = capture_ok(d);
  EXPECT_TRUE(after.size_changed);
  EXPECT_EQ(after.frame->format(), PixelFormat::rgb888());
}

TEST(FakeDesktop, HintLimitsTheComparison) {
  FakeDesktop d({128, 128});
  (void)capture_ok(d);
  d.set_pixel(5, 5, 1);
  d.set_pixel(100, 100, 1);
  d.add_change_hint(Region(Rect{0, 0, 8, 8}));
  rfb::Capture c = capture_ok(d);
  // The hint picks tile (0,0), which is compared whole; tile (3,3) is not compared.
  EXPECT_EQ(c.changed, Region(Rect{5, 5, 1, 1}));
  // The frame itself is complete; only the report was limited.
  EXPECT_EQ(c.frame->view().at(100, 100)[0], 1);
}

TEST(FakeDesktop, OutOfScreenDrawingIsClipped) {
  FakeDesktop d({100, 100});
  (void)capture_ok(d);
  d.fill_rect({90, 90, 100, 100}, 0xffffff);
  d.set_pixel(-1, 5, 0xffffff);
  d.set_pixel(5, 100, 0xffffff);
  rfb::Capture c = capture_ok(d);
  EXPECT_EQ(c.changed, Region(Rect{90, 90, 10, 10}));
  EXPECT_EQ(d.pixel(99, 99), 0xffffffu);
  EXPECT_EQ(d.pixel(89, 99), 0u);
}

TEST(FakeDesktop, CaptureErrorIsReported) {
  FakeDesktop d({8, 8});
  d.set_capture_error("desktop gone");
  auto c = d.capture();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(), "desktop gone");
  d.set_capture_error(std::nullopt);
  EXPECT_TRUE(d.capture().ok());
}

TEST(FakeDesktop, RecordsInputInOrder) {
  FakeDesktop d;
  d.key(0x41, true);
  d.pointer(10, 20, 0x01);
  d.key(0x41, false);
  d.flush();
  ASSERT_EQ(d.input_events().size(), 3u);
  EXPECT_EQ(std::get<FakeKeyEvent>(d.input_events()[0]), (FakeKeyEvent{0x41, true}));
  EXPECT_EQ(std::get<FakePointerEvent>(d.input_events()[1]), (FakePointerEvent{10, 20, 0x01}));
  EXPECT_EQ(std::get<FakeKeyEvent>(d.input_events()[2]), (FakeKeyEvent{0x41, false}));
  EXPECT_EQ(d.flush_count(), 1);
  d.clear_input_events();
  EXPECT_TRUE(d.input_events().empty());
}

TEST(FakeDesktop, Clipboard) {
  FakeDesktop d;
  std::vector<std::string> seen;
  d.on_change([&](const std::string& t) { seen.push_back(t); });
  d.set_text("from client \xe9");
  EXPECT_EQ(d.clipboard_text(), "from client \xe9");
  EXPECT_EQ(d.set_text_count(), 1);
  EXPECT_TRUE(seen.empty());  // Our own set is not a change to report.
  d.external_copy("from desktop");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "from desktop");
  EXPECT_EQ(d.clipboard_text(), "from desktop");
  EXPECT_EQ(d.event_fd(), -1);
}

}  // namespace
}  // namespace vncd::platform
