// Tile diff: which pixels of a frame differ from the previous one, found per fixed-size tile
// while streaming both frames row by row. Pure functions over two frames; shared by every polling
// FrameSource.
#pragma once

#include <cstdint>

#include "rfb/frame.h"
#include "rfb/geometry.h"

namespace vncd::platform {

// The tile is the unit of work, not of the result: the frames are read row by row across a band
// of tiles (long sequential reads), an unchanged tile costs one pass over its bytes, and a
// changed one contributes the bounding box of its differing pixels. 32x32 keeps that box tight
// around scattered small changes (a cursor blink, a typed character, a clock) while a 1080p
// screen is still only ~2000 tiles to keep track of.
inline constexpr int kDefaultTileSize = 32;

// What a changed tile reports. kExact: the bounding box of its differing pixels. kRows: its
// differing rows across the tile's whole width; a tile is then read only down to its first
// differing row and up from its bottom to its last, where the exact columns of sparse changes
// (scrolled or moved text) need every row of the tile read.
enum class TileBox { kExact, kRows };

// The differing pixels between `before` and `after` inside the grid-aligned tiles (clipped to the
// frame) that intersect `candidates`: the union, over those tiles, of the bounding box of the
// pixels that differ within the tile (nothing for a tile without differences). So a single
// changed pixel gives a 1x1 region and a change spanning tiles gives one exact box per tile.
// Tiles outside `candidates` are not compared at all: an event source (XDamage) passes what may
// have changed, a poller the whole screen. Both frames must have the same size and pixel format
// (1, 2 or 4 bytes per pixel); tile must be > 0.
// When `pixels_compared` is given, the area of the tiles examined is added to it (benchmarks and
// idle-cost tests count it; a tile is counted whole however early its comparison stops).
// With TileBox::kRows each changed tile's box spans the tile (clipped to the frame) in width.
rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after,
                       const rfb::Region& candidates, int tile = kDefaultTileSize,
                       int64_t* pixels_compared = nullptr, TileBox box = TileBox::kExact);

// The grid-aligned tiles (clipped to `size`) that `region` touches.
rfb::Region snap_to_tiles(const rfb::Region& region, rfb::Size size, int tile = kDefaultTileSize);

// Same, comparing the whole frame.
rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after,
                       int tile = kDefaultTileSize);

}  // namespace vncd::platform
