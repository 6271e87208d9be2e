#include "platform/common/tile_diff.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vncd::platform {
namespace {

using rfb::Frame;
using rfb::PixelFormat;
using rfb::Rect;
using rfb::Region;
using rfb::Size;

void paint(Frame& f, const Rect& r, uint8_t value) {
  const int bpp = f.format().bytes_per_pixel();
  for (int y = r.y; y < r.bottom(); ++y) {
    std::memset(f.mutable_row(y) + r.x * bpp, value, static_cast<size_t>(r.w * bpp));
  }
}

class TileDiffTest : public ::testing::TestWithParam<PixelFormat> {};

TEST_P(TileDiffTest, IdenticalFramesHaveNoChanges) {
  Frame a({100, 70}, GetParam());
  paint(a, {3, 4, 50, 20}, 0x5a);
  Frame b = a;
  EXPECT_TRUE(diff_tiles(a, b).empty());
}

TEST_P(TileDiffTest, OnePixelMarksExactlyItsTile) {
  Frame a({100, 70}, GetParam());
  Frame b = a;
  paint(b, {40, 33, 1, 1}, 0xff);
  EXPECT_EQ(diff_tiles(a, b), Region(Rect{32, 32, 32, 32}));
}

TEST_P(TileDiffTest, EdgeTilesAreClippedToTheFrame) {
  Frame a({100, 70}, GetParam());
  Frame b = a;
  paint(b, {99, 69, 1, 1}, 0x11);
  EXPECT_EQ(diff_tiles(a, b), Region(Rect{96, 64, 4, 6}));
}

TEST_P(TileDiffTest, RectangleIsCoveredByTileAlignedRegion) {
  Frame a({200, 150}, GetParam());
  Frame b = a;
  const Rect drawn{45, 20, 70, 50};
  paint(b, drawn, 0x80);
  const Region changed = diff_tiles(a, b);
  EXPECT_EQ(changed, Region(Rect{32, 0, 96, 96}));
  EXPECT_EQ(changed.intersected(drawn), Region(drawn));
}

TEST_P(TileDiffTest, CandidatesLimitComparison) {
  Frame a({128, 128}, GetParam());
  Frame b = a;
  paint(b, {5, 5, 2, 2}, 0x33);      // In tile (0,0).
  paint(b, {100, 100, 2, 2}, 0x44);  // In tile (3,3).
  const Region changed = diff_tiles(a, b, Region(Rect{0, 0, 10, 10}));
  EXPECT_EQ(changed, Region(Rect{0, 0, 32, 32}));
  EXPECT_TRUE(diff_tiles(a, b, Region()).empty());
}

TEST_P(TileDiffTest, OtherTileSizes) {
  Frame a({128, 128}, GetParam());
  Frame b = a;
  paint(b, {70, 10, 1, 1}, 0x01);
  EXPECT_EQ(diff_tiles(a, b, 64), Region(Rect{64, 0, 64, 64}));
  EXPECT_EQ(diff_tiles(a, b, 16), Region(Rect{64, 0, 16, 16}));
}

TEST_P(TileDiffTest, AdjacentChangedTilesMerge) {
  Frame a({256, 64}, GetParam());
  Frame b = a;
  paint(b, {10, 10, 100, 1}, 0x77);  // Tiles 0..3 of row 0.
  const Region changed = diff_tiles(a, b);
  EXPECT_EQ(changed, Region(Rect{0, 0, 128, 32}));
  EXPECT_EQ(changed.num_rects(), 1u);
}

TEST_P(TileDiffTest, CountsTheTilesItCompares) {
  Frame a({100, 70}, GetParam());
  Frame b = a;
  int64_t compared = 0;
  // The candidate touches tiles (0,0) and (1,0); the second is clipped to 32x32 of a 100x70 frame.
  (void)diff_tiles(a, b, Region(Rect{20, 5, 30, 10}), 32, &compared);
  EXPECT_EQ(compared, 2 * 32 * 32);
  (void)diff_tiles(a, b, Region(Rect{97, 65, 2, 2}), 32, &compared);
  EXPECT_EQ(compared, 2 * 32 * 32 + 4 * 6);  // Corner tile: 4 x 6.
}

TEST(SnapToTiles, GrowsToTheGridAndClips) {
  EXPECT_EQ(snap_to_tiles(Region(Rect{33, 1, 2, 2}), {100, 70}), Region(Rect{32, 0, 32, 32}));
  EXPECT_EQ(snap_to_tiles(Region(Rect{90, 60, 50, 50}), {100, 70}), Region(Rect{64, 32, 36, 38}));
  EXPECT_TRUE(snap_to_tiles(Region(Rect{200, 200, 5, 5}), {100, 70}).empty());
}

INSTANTIATE_TEST_SUITE_P(Formats, TileDiffTest,
                         ::testing::Values(PixelFormat::rgb888(), PixelFormat::rgb565(),
                                           PixelFormat::bgr233()));

}  // namespace
}  // namespace vncd::platform
