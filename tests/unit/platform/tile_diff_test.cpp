#include "platform/common/tile_diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

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

// Flips one byte of pixel (x, y): `byte` picks which, so a test can change only the high or low
// byte of a multi-byte pixel.
void touch(Frame& f, int x, int y, int byte = 0) {
  f.mutable_row(y)[x * f.format().bytes_per_pixel() + byte] ^= 0x01;
}

// What the contract says diff_tiles returns, computed the slow way: per tile, the bounding box
// of the pixels that differ (with TileBox::kRows, widened to the tile).
Region reference_diff(const Frame& a, const Frame& b, int tile, TileBox boxes = TileBox::kExact) {
  const size_t bpp = static_cast<size_t>(a.format().bytes_per_pixel());
  Region out;
  for (int ty = 0; ty < a.size().height; ty += tile) {
    for (int tx = 0; tx < a.size().width; tx += tile) {
      int x0 = INT32_MAX, y0 = INT32_MAX, x1 = -1, y1 = -1;
      for (int y = ty; y < std::min(ty + tile, a.size().height); ++y) {
        for (int x = tx; x < std::min(tx + tile, a.size().width); ++x) {
          if (std::memcmp(a.view().at(x, y), b.view().at(x, y), bpp) != 0) {
            x0 = std::min(x0, x);
            y0 = std::min(y0, y);
            x1 = std::max(x1, x);
            y1 = std::max(y1, y);
          }
        }
      }
      if (x1 >= 0 && boxes == TileBox::kRows) {
        x0 = tx;
        x1 = std::min(tx + tile, a.size().width) - 1;
      }
      if (x1 >= 0) out.add(Rect{x0, y0, x1 - x0 + 1, y1 - y0 + 1});
    }
  }
  return out;
}

class TileDiffTest : public ::testing::TestWithParam<PixelFormat> {
 protected:
  int bpp() const { return GetParam().bytes_per_pixel(); }
};

TEST_P(TileDiffTest, IdenticalFramesHaveNoChanges) {
  Frame a({100, 70}, GetParam());
  paint(a, {3, 4, 50, 20}, 0x5a);
  Frame b = a;
  EXPECT_TRUE(diff_tiles(a, b).empty());
}

TEST_P(TileDiffTest, OnePixelGivesExactlyThatPixel) {
  Frame a({100, 70}, GetParam());
  Frame b = a;
  paint(b, {40, 33, 1, 1}, 0xff);
  const Region changed = diff_tiles(a, b);
  EXPECT_EQ(changed, Region(Rect{40, 33, 1, 1}));
  EXPECT_EQ(changed.area(), 1);
}

TEST_P(TileDiffTest, EveryByteOfAPixelCounts) {
  // A change in any byte of a pixel (low or high byte of a 16/32-bit word) is seen, at every
  // column of a tile, including the first and last.
  for (int byte = 0; byte < bpp(); ++byte) {
    for (int x : {0, 1, 15, 30, 31}) {
      Frame a({64, 32}, GetParam());
      Frame b = a;
      touch(b, 32 + x, 7, byte);
      EXPECT_EQ(diff_tiles(a, b), Region(Rect{32 + x, 7, 1, 1})) << "byte " << byte << " x " << x;
    }
  }
}

TEST_P(TileDiffTest, BoxIsTheBoundingBoxOfTheDifferencesInATile) {
  Frame a({64, 64}, GetParam());
  Frame b = a;
  // Three pixels in tile (0,0): top-middle, left-bottom, right-middle.
  touch(b, 10, 3);
  touch(b, 2, 20);
  touch(b, 25, 11);
  EXPECT_EQ(diff_tiles(a, b), Region(Rect{2, 3, 24, 18}));
}

TEST_P(TileDiffTest, GlyphAcrossATileBoundaryGivesOneBoxPerTile) {
  // A 9x15 glyph at (28, 25) spans tiles (0,0), (1,0), (0,1) and (1,1); its pixels are a sparse
  // pattern, so each tile's box is the bounding box of the pixels it holds, not the glyph's.
  Frame a({96, 96}, GetParam());
  Frame b = a;
  touch(b, 28, 26);  // Tile (0,0).
  touch(b, 30, 31);  // Tile (0,0).
  touch(b, 33, 25);  // Tile (1,0).
  touch(b, 29, 39);  // Tile (0,1).
  touch(b, 36, 32);  // Tile (1,1).
  touch(b, 34, 38);  // Tile (1,1).
  Region expected(Rect{28, 26, 3, 6});
  expected.add(Rect{33, 25, 1, 1});
  expected.add(Rect{29, 39, 1, 1});
  expected.add(Rect{34, 32, 3, 7});
  EXPECT_EQ(diff_tiles(a, b), expected);
  EXPECT_EQ(diff_tiles(a, b), reference_diff(a, b, 32));
}

TEST_P(TileDiffTest, SolidGlyphAcrossATileBoundaryIsExact) {
  Frame a({96, 96}, GetParam());
  Frame b = a;
  const Rect glyph{28, 25, 9, 15};
  paint(b, glyph, 0x7f);
  EXPECT_EQ(diff_tiles(a, b), Region(glyph));
}

TEST_P(TileDiffTest, LastPartialTileOfAnOddSizedFrame) {
  // 101x71: the last column of tiles is 5 wide, the last row 7 high.
  Frame a({101, 71}, GetParam());
  Frame b = a;
  touch(b, 100, 70);
  EXPECT_EQ(diff_tiles(a, b), Region(Rect{100, 70, 1, 1}));
  touch(b, 97, 65);
  EXPECT_EQ(diff_tiles(a, b), Region(Rect{97, 65, 4, 6}));
  touch(b, 96, 64);
  EXPECT_EQ(diff_tiles(a, b), Region(Rect{96, 64, 5, 7}));
}

TEST_P(TileDiffTest, RectangleIsReportedExactly) {
  Frame a({200, 150}, GetParam());
  Frame b = a;
  const Rect drawn{45, 20, 70, 50};
  paint(b, drawn, 0x80);
  EXPECT_EQ(diff_tiles(a, b), Region(drawn));
}

TEST_P(TileDiffTest, CandidatesLimitComparison) {
  Frame a({128, 128}, GetParam());
  Frame b = a;
  paint(b, {5, 5, 2, 2}, 0x33);      // In tile (0,0).
  paint(b, {100, 100, 2, 2}, 0x44);  // In tile (3,3).
  paint(b, {20, 20, 3, 1}, 0x55);    // In tile (0,0) too, outside the candidate.
  // A candidate tile is compared whole: the candidate only picks tiles.
  const Region changed = diff_tiles(a, b, Region(Rect{0, 0, 10, 10}));
  EXPECT_EQ(changed, Region(Rect{5, 5, 18, 16}));
  EXPECT_TRUE(diff_tiles(a, b, Region()).empty());
}

TEST_P(TileDiffTest, OtherTileSizes) {
  Frame a({128, 128}, GetParam());
  Frame b = a;
  touch(b, 70, 10);
  touch(b, 90, 20);  // Same 64-tile, different 16-tile.
  Region both(Rect{70, 10, 1, 1});
  both.add(Rect{90, 20, 1, 1});
  EXPECT_EQ(diff_tiles(a, b, 64), Region(Rect{70, 10, 21, 11}));
  EXPECT_EQ(diff_tiles(a, b, 16), both);
  EXPECT_EQ(diff_tiles(a, b, 1), both);
}

TEST_P(TileDiffTest, AdjacentBoxesMerge) {
  Frame a({256, 64}, GetParam());
  Frame b = a;
  paint(b, {10, 10, 100, 1}, 0x77);  // Tiles 0..3 of row 0, the same single row in each.
  const Region changed = diff_tiles(a, b);
  EXPECT_EQ(changed, Region(Rect{10, 10, 100, 1}));
  EXPECT_EQ(changed.num_rects(), 1u);
}

TEST_P(TileDiffTest, FullChangeIsTheWholeFrameInOneRectangle) {
  Frame a({100, 70}, GetParam());
  Frame b = a;
  paint(b, {0, 0, 100, 70}, 0xa5);
  const Region changed = diff_tiles(a, b);
  EXPECT_EQ(changed, Region(Rect{0, 0, 100, 70}));
  EXPECT_EQ(changed.num_rects(), 1u);
}

TEST_P(TileDiffTest, RandomChangesMatchTheReference) {
  std::mt19937 rng(42);
  for (int round = 0; round < 40; ++round) {
    const Size size{1 + static_cast<int>(rng() % 150), 1 + static_cast<int>(rng() % 110)};
    Frame a(size, GetParam());
    for (size_t i = 0; i < a.stride() * static_cast<size_t>(size.height); ++i) {
      a.mutable_data()[i] = static_cast<uint8_t>(rng());
    }
    Frame b = a;
    const int changes = static_cast<int>(rng() % 12);
    for (int i = 0; i < changes; ++i) {
      if (rng() % 3 == 0) {
        const int x = static_cast<int>(rng() % static_cast<unsigned>(size.width));
        const int y = static_cast<int>(rng() % static_cast<unsigned>(size.height));
        const int w = 1 + static_cast<int>(rng() % static_cast<unsigned>(size.width - x));
        const int h = 1 + static_cast<int>(rng() % static_cast<unsigned>(size.height - y));
        paint(b, Rect{x, y, w, h}, static_cast<uint8_t>(rng()));  // May leave some equal.
      } else {
        touch(b, static_cast<int>(rng() % static_cast<unsigned>(size.width)),
              static_cast<int>(rng() % static_cast<unsigned>(size.height)),
              static_cast<int>(rng() % static_cast<unsigned>(bpp())));
      }
    }
    for (int tile : {7, 16, 32}) {
      EXPECT_EQ(diff_tiles(a, b, tile), reference_diff(a, b, tile))
          << "round " << round << " size " << size.width << "x" << size.height << " tile " << tile;
    }
  }
}

// A region's canonical rectangles as text. Compared instead of the regions themselves: two empty
// pixman regions with different (stale) extents compare unequal, and an intersection that ends
// up empty can keep its extents.
std::string describe(const Region& region) {
  std::string out;
  for (const Rect& r : region.rects()) out += r.str() + " ";
  return out;
}

// reference_diff restricted to the tiles that `candidates` touches.
Region reference_diff(const Frame& a, const Frame& b, const Region& candidates, int tile,
                      TileBox boxes = TileBox::kExact) {
  Region out = reference_diff(a, b, tile, boxes);
  out.intersect(snap_to_tiles(candidates, a.size(), tile));
  return out;
}

// Random structured changes over many seeds: single bytes (any byte of a pixel), short runs
// along a row, glyph-like clusters, solid boxes crossing tile edges, whole rows and columns of
// the frame and tile-edge pixels, on frames whose width makes tile rows any length (so the word
// and byte tails of the row comparison are all exercised), against the reference, both for the
// whole frame and for random candidate regions.
TEST_P(TileDiffTest, StreamingMatchesTheReferenceOnManySeeds) {
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    std::mt19937 rng(seed);
    const auto below = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const Size size{1 + below(seed % 3 == 0 ? 300 : 140), 1 + below(seed % 4 == 0 ? 200 : 90)};
    Frame a(size, GetParam());
    const bool noisy = seed % 2 == 0;
    for (size_t i = 0; i < a.stride() * static_cast<size_t>(size.height); ++i) {
      a.mutable_data()[i] = noisy ? static_cast<uint8_t>(rng()) : uint8_t{0x20};
    }
    Frame b = a;
    const int changes = below(seed % 5 == 0 ? 200 : 25);
    for (int i = 0; i < changes; ++i) {
      const int x = below(size.width);
      const int y = below(size.height);
      switch (below(6)) {
        case 0:
          touch(b, x, y, below(bpp()));
          break;
        case 1: {  // A short run along a row.
          const int w = 1 + below(std::min(40, size.width - x));
          for (int k = 0; k < w; ++k) touch(b, x + k, y, below(bpp()));
          break;
        }
        case 2: {  // A glyph: scattered pixels in an 8x16 cell.
          for (int k = 0; k < 20; ++k) {
            touch(b, std::min(size.width - 1, x + below(8)),
                  std::min(size.height - 1, y + below(16)), below(bpp()));
          }
          break;
        }
        case 3:
          paint(b, Rect{x, y, 1 + below(size.width - x), 1 + below(size.height - y)},
                static_cast<uint8_t>(rng()));
          break;
        case 4:  // A whole row or column of the frame.
          if (rng() % 2 == 0) {
            paint(b, Rect{0, y, size.width, 1}, static_cast<uint8_t>(rng()));
          } else {
            paint(b, Rect{x, 0, 1, size.height}, static_cast<uint8_t>(rng()));
          }
          break;
        default: {  // A pixel on a tile's edge or corner.
          const int t = 16 << below(3);
          const int ex = std::min(size.width - 1, x / t * t + (rng() % 2 == 0 ? 0 : t - 1));
          const int ey = std::min(size.height - 1, y / t * t + (rng() % 2 == 0 ? 0 : t - 1));
          touch(b, ex, ey, below(bpp()));
          break;
        }
      }
    }
    Region candidates;
    for (int i = below(6); i >= 0; --i) {
      const int x = below(size.width + 20) - 10;
      const int y = below(size.height + 20) - 10;
      candidates.add(Rect{x, y, 1 + below(size.width), 1 + below(size.height)});
    }
    for (int tile : {16, 32, 64}) {
      ASSERT_EQ(describe(diff_tiles(a, b, tile)), describe(reference_diff(a, b, tile)))
          << "seed " << seed << " size " << size.width << "x" << size.height << " tile " << tile;
      ASSERT_EQ(describe(diff_tiles(a, b, candidates, tile)),
                describe(reference_diff(a, b, candidates, tile)))
          << "seed " << seed << " size " << size.width << "x" << size.height << " tile " << tile
          << " candidates " << candidates.bounds().str();
      ASSERT_EQ(describe(diff_tiles(a, b, candidates, tile, nullptr, TileBox::kRows)),
                describe(reference_diff(a, b, candidates, tile, TileBox::kRows)))
          << "rows only: seed " << seed << " size " << size.width << "x" << size.height << " tile "
          << tile << " candidates " << candidates.bounds().str();
    }
  }
}

// A box found from the top and from the bottom of a tile, with the tile's bottom row differing
// or not, and widened to full width before the bottom is known: each order of discovery gives
// the exact box.
TEST_P(TileDiffTest, BoxesFoundInEveryOrderAreExact) {
  struct Change {
    Rect full_row;  // Painted: makes the box full width from this row.
    Rect pixel;     // Touched: a single pixel.
  };
  const Change cases[] = {
      {{0, 3, 32, 1}, {5, 31, 1, 1}},   // Full width first, bottom row differs.
      {{0, 3, 32, 1}, {5, 20, 1, 1}},   // Full width first, bottom found from below.
      {{0, 31, 32, 1}, {5, 2, 1, 1}},   // Full-width bottom row found with the top.
      {{0, 10, 32, 1}, {31, 0, 1, 1}},  // Top at the right edge, widened later.
      {{0, 0, 32, 1}, {0, 0, 1, 1}},    // Full first row only.
  };
  for (const Change& c : cases) {
    // Every byte of the row's pixels changed, or only their first or last byte: a depth-24
    // frame's padding byte never changes, and a row whose first or last byte is equal still
    // spans the tile in pixels.
    for (int changed_byte = -1; changed_byte < 2; ++changed_byte) {
      Frame a({64, 64}, GetParam());
      Frame b = a;
      if (changed_byte < 0) {
        paint(b, c.full_row, 0x3c);
      } else {
        for (int x = c.full_row.x; x < c.full_row.right(); ++x)
          touch(b, x, c.full_row.y, changed_byte == 0 ? 0 : bpp() - 1);
      }
      touch(b, c.pixel.x, c.pixel.y);
      ASSERT_EQ(diff_tiles(a, b), reference_diff(a, b, 32))
          << c.full_row.str() << " " << c.pixel.str() << " byte " << changed_byte;
    }
  }
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
  // A changed tile is counted whole too, however early its comparison stops, and a tile is
  // counted once however many candidate rectangles touch it.
  touch(b, 0, 0);
  touch(b, 40, 40);
  compared = 0;
  Region candidates(Rect{0, 0, 1, 1});
  candidates.add(Rect{5, 5, 1, 1});
  candidates.add(Rect{40, 40, 1, 1});
  EXPECT_EQ(diff_tiles(a, b, candidates, 32, &compared), reference_diff(a, b, 32));
  EXPECT_EQ(compared, 2 * 32 * 32);
}

TEST(SnapToTiles, GrowsToTheGridAndClips) {
  EXPECT_EQ(snap_to_tiles(Region(Rect{33, 1, 2, 2}), {100, 70}), Region(Rect{32, 0, 32, 32}));
  EXPECT_EQ(snap_to_tiles(Region(Rect{90, 60, 50, 50}), {100, 70}), Region(Rect{64, 32, 36, 38}));
  EXPECT_TRUE(snap_to_tiles(Region(Rect{200, 200, 5, 5}), {100, 70}).empty());
}

INSTANTIATE_TEST_SUITE_P(Formats, TileDiffTest,
                         ::testing::Values(PixelFormat::rgb888(), PixelFormat::rgb565(),
                                           PixelFormat::bgr233()),
                         [](const ::testing::TestParamInfo<PixelFormat>& param) {
                           return std::to_string(param.param.bpp) + "bpp";
                         });

}  // namespace
}  // namespace vncd::platform
