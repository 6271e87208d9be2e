// Tile diff: which parts of a frame differ from the previous one, found by comparing fixed-size
// tiles row by row. Pure functions over two frames; shared by every polling FrameSource.
#pragma once

#include <cstdint>

#include "rfb/frame.h"
#include "rfb/geometry.h"

namespace vncd::platform {

// 32x32 keeps the reported region tight for small changes (a cursor blink, a typed character)
// while a 1080p screen is still only ~2000 tiles to walk.
inline constexpr int kDefaultTileSize = 32;

// The union of the grid-aligned tiles (clipped to the frame) that intersect `candidates` and hold
// at least one differing pixel between `before` and `after`. Tiles outside `candidates` are not
// compared at all: an event source (XDamage) passes what may have changed, a poller the whole
// screen. Both frames must have the same size and pixel format; tile must be > 0.
// When `pixels_compared` is given, the area of the tiles examined is added to it (benchmarks and
// idle-cost tests count it; a tile that differs early is still counted whole).
rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after,
                       const rfb::Region& candidates, int tile = kDefaultTileSize,
                       int64_t* pixels_compared = nullptr);

// The grid-aligned tiles (clipped to `size`) that `region` touches.
rfb::Region snap_to_tiles(const rfb::Region& region, rfb::Size size, int tile = kDefaultTileSize);

// Same, comparing the whole frame.
rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after,
                       int tile = kDefaultTileSize);

}  // namespace vncd::platform
