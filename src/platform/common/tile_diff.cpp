#include "platform/common/tile_diff.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

namespace vncd::platform {
namespace {

// One pixel of storage type P at column x of a row (memcpy: rows need not be aligned for P).
template <typename P>
P pixel_at(const uint8_t* row, int x) {
  P p;
  std::memcpy(&p, row + static_cast<size_t>(x) * sizeof(P), sizeof(P));
  return p;
}

// The bounding box of the pixels of tile `t` that differ between a and b (empty if none). Rows
// are compared with memcmp from the top and from the bottom; only the differing rows between the
// first and last are scanned pixel by pixel, and each of those only from the tile's edges inwards
// to the box found so far, so the column scans stop as soon as the box spans the tile.
template <typename P>
rfb::Rect diff_box(const rfb::Frame& a, const rfb::Frame& b, const rfb::Rect& t) {
  const size_t offset = static_cast<size_t>(t.x) * sizeof(P);
  const size_t bytes = static_cast<size_t>(t.w) * sizeof(P);
  const auto row_a = [&](int y) { return a.data() + static_cast<size_t>(y) * a.stride() + offset; };
  const auto row_b = [&](int y) { return b.data() + static_cast<size_t>(y) * b.stride() + offset; };
  const auto row_differs = [&](int y) { return std::memcmp(row_a(y), row_b(y), bytes) != 0; };

  int top = t.y;
  while (top < t.bottom() && !row_differs(top)) ++top;
  if (top == t.bottom()) return {};
  // Tile-relative columns: [left, right) is the box so far, empty to start with.
  int left = t.w;
  int right = 0;
  int last = t.bottom() - 1;
  // A large change usually reaches the tile's bottom-right pixel: then the last row and right
  // edge are known without a memcmp, and a fully changed tile costs one memcmp and two pixels.
  if (last > top && pixel_at<P>(row_a(last), t.w - 1) != pixel_at<P>(row_b(last), t.w - 1)) {
    right = t.w;
  } else {
    while (last > top && !row_differs(last)) --last;
  }
  for (int y = top; y <= last; ++y) {
    if (y != top && y != last && !row_differs(y)) continue;
    const uint8_t* ra = row_a(y);
    const uint8_t* rb = row_b(y);
    for (int x = 0; x < left; ++x) {
      if (pixel_at<P>(ra, x) != pixel_at<P>(rb, x)) {
        left = x;
        break;
      }
    }
    for (int x = t.w - 1; x >= right; --x) {
      if (pixel_at<P>(ra, x) != pixel_at<P>(rb, x)) {
        right = x + 1;
        break;
      }
    }
    if (left == 0 && right == t.w) break;
  }
  assert(left < right);
  return rfb::Rect{t.x + left, top, right - left, last - top + 1};
}

rfb::Rect tile_diff_box(const rfb::Frame& a, const rfb::Frame& b, const rfb::Rect& t) {
  switch (a.format().bytes_per_pixel()) {
    case 1:
      return diff_box<uint8_t>(a, b, t);
    case 2:
      return diff_box<uint16_t>(a, b, t);
    case 4:
      return diff_box<uint32_t>(a, b, t);
    default:
      assert(false && "validated pixel formats have 1, 2 or 4 bytes per pixel");
      return t;
  }
}

}  // namespace

rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after,
                       const rfb::Region& candidates, int tile, int64_t* pixels_compared) {
  assert(tile > 0);
  assert(before.size() == after.size());
  assert(before.format() == after.format());
  const rfb::Size size = after.size();
  if (size.empty()) return rfb::Region();
  std::vector<rfb::Rect> runs;

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
    // Boxes that continue each other across a tile edge at the same height (a large change) are
    // joined first, so the region sees one rectangle per run rather than one per tile.
    rfb::Rect run;
    for (int tx = 0; tx < tiles_x; ++tx) {
      if (!marked[static_cast<size_t>(ty) * static_cast<size_t>(tiles_x) +
                  static_cast<size_t>(tx)]) {
        continue;
      }
      const int x = tx * tile;
      const rfb::Rect t{x, y, std::min(tile, size.width - x), h};
      if (pixels_compared != nullptr) *pixels_compared += t.area();
      const rfb::Rect box = tile_diff_box(before, after, t);
      if (box.empty()) continue;
      if (!run.empty() && run.right() == box.x && run.y == box.y && run.h == box.h) {
        run.w += box.w;
        continue;
      }
      if (!run.empty()) runs.push_back(run);
      run = box;
    }
    if (!run.empty()) runs.push_back(run);
  }
  return rfb::Region::from_rects(runs);
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
