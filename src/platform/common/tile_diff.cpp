#include "platform/common/tile_diff.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

namespace vncd::platform {
namespace {

bool tile_differs(const rfb::Frame& a, const rfb::Frame& b, const rfb::Rect& t) {
  const size_t bpp = static_cast<size_t>(a.format().bytes_per_pixel());
  const size_t offset = static_cast<size_t>(t.x) * bpp;
  const size_t bytes = static_cast<size_t>(t.w) * bpp;
  for (int y = t.y; y < t.bottom(); ++y) {
    const uint8_t* ra = a.data() + static_cast<size_t>(y) * a.stride() + offset;
    const uint8_t* rb = b.data() + static_cast<size_t>(y) * b.stride() + offset;
    if (std::memcmp(ra, rb, bytes) != 0) return true;
  }
  return false;
}

}  // namespace

rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after,
                       const rfb::Region& candidates, int tile, int64_t* pixels_compared) {
  assert(tile > 0);
  assert(before.size() == after.size());
  assert(before.format() == after.format());
  const rfb::Size size = after.size();
  rfb::Region changed;
  if (size.empty()) return changed;

  const int tiles_x = (size.width + tile - 1) / tile;
  const int tiles_y = (size.height + tile - 1) / tile;
  // Mark candidate tiles first so a tile touched by many candidate rectangles is compared once.
  std::vector<uint8_t> marked(static_cast<size_t>(tiles_x) * static_cast<size_t>(tiles_y), 0);
  const rfb::Rect screen{0, 0, size.width, size.height};
  for (const rfb::Rect& cand : candidates.rects()) {
    const rfb::Rect r = cand.intersect(screen);
    if (r.empty()) continue;
    for (int ty = r.y / tile; ty <= (r.bottom() - 1) / tile; ++ty) {
      for (int tx = r.x / tile; tx <= (r.right() - 1) / tile; ++tx) {
        marked[static_cast<size_t>(ty) * static_cast<size_t>(tiles_x) + static_cast<size_t>(tx)] =
            1;
      }
    }
  }

  for (int ty = 0; ty < tiles_y; ++ty) {
    const int y = ty * tile;
    const int h = std::min(tile, size.height - y);
    // Merge horizontal runs of changed tiles so the region gets one rectangle per run.
    int run_start = -1;
    for (int tx = 0; tx <= tiles_x; ++tx) {
      bool differs = false;
      if (tx < tiles_x && marked[static_cast<size_t>(ty) * static_cast<size_t>(tiles_x) +
                                 static_cast<size_t>(tx)]) {
        const int x = tx * tile;
        const rfb::Rect t{x, y, std::min(tile, size.width - x), h};
        if (pixels_compared != nullptr) *pixels_compared += t.area();
        differs = tile_differs(before, after, t);
      }
      if (differs && run_start < 0) run_start = tx;
      if (!differs && run_start >= 0) {
        const int x = run_start * tile;
        const int right = std::min(tx * tile, size.width);
        changed.add(rfb::Rect{x, y, right - x, h});
        run_start = -1;
      }
    }
  }
  return changed;
}

rfb::Region snap_to_tiles(const rfb::Region& region, rfb::Size size, int tile) {
  assert(tile > 0);
  rfb::Region out;
  const rfb::Rect screen{0, 0, size.width, size.height};
  for (const rfb::Rect& rect : region.rects()) {
    const rfb::Rect r = rect.intersect(screen);
    if (r.empty()) continue;
    const int x0 = r.x / tile * tile;
    const int y0 = r.y / tile * tile;
    const int x1 = (r.right() + tile - 1) / tile * tile;
    const int y1 = (r.bottom() + tile - 1) / tile * tile;
    out.add(rfb::Rect{x0, y0, x1 - x0, y1 - y0}.intersect(screen));
  }
  return out;
}

rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after, int tile) {
  const rfb::Size size = after.size();
  return diff_tiles(before, after, rfb::Region(rfb::Rect{0, 0, size.width, size.height}), tile);
}

}  // namespace vncd::platform
