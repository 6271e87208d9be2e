#include "platform/common/grab_plan.h"

#include <algorithm>
#include <bit>
#include <cassert>

#include "platform/common/tile_diff.h"

namespace vncd::platform {
namespace {

rfb::Rect bounding(const rfb::Rect& a, const rfb::Rect& b) {
  const int x = std::min(a.x, b.x);
  const int y = std::min(a.y, b.y);
  return rfb::Rect{x, y, std::max(a.right(), b.right()) - x, std::max(a.bottom(), b.bottom()) - y};
}

}  // namespace

std::vector<rfb::Rect> plan_grabs(const rfb::Region& region, int64_t request_cost, size_t max_rects,
                                  int tile) {
  if (region.empty()) return {};
  const rfb::Rect box = region.bounds();
  std::vector<rfb::Rect> rects = region.rects();
  if (rects.size() > max_rects) {
    rfb::Region snapped = snap_to_tiles(region, rfb::Size{box.right(), box.bottom()}, tile);
    snapped.intersect(box);
    rects = snapped.rects();
    if (rects.size() > max_rects) return {box};
  }
  // Greedy: merge the pair whose bounding box wastes least, while that waste is below the cost
  // of the request the merge saves. n <= max_rects keeps the cubic walk cheap.
  while (rects.size() > 1) {
    int64_t best = request_cost;
    size_t bi = 0, bj = 0;
    for (size_t i = 0; i < rects.size(); ++i) {
      for (size_t j = i + 1; j < rects.size(); ++j) {
        const int64_t waste =
            bounding(rects[i], rects[j]).area() - rects[i].area() - rects[j].area();
        if (waste < best) {
          best = waste;
          bi = i;
          bj = j;
        }
      }
    }
    if (bi == bj) break;
    rects[bi] = bounding(rects[bi], rects[bj]);
    rects.erase(rects.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  return rects;
}

int scan_row_offset(uint64_t cycle, int step) {
  assert(step > 0 && std::has_single_bit(static_cast<unsigned>(step)));
  const int bits = std::countr_zero(static_cast<unsigned>(step));
  const unsigned i = static_cast<unsigned>(cycle % static_cast<uint64_t>(step));
  unsigned reversed = 0;
  for (int b = 0; b < bits; ++b) {
    if ((i >> b) & 1U) reversed |= 1U << (bits - 1 - b);
  }
  return static_cast<int>(reversed);
}

rfb::Region tiles_around(const std::vector<std::pair<int, int>>& hits, rfb::Size size, int tile) {
  rfb::Region out;
  const rfb::Rect screen{0, 0, size.width, size.height};
  for (const auto& [tx, ty] : hits) {
    out.add(rfb::Rect{(tx - 1) * tile, (ty - 1) * tile, 3 * tile, 3 * tile}.intersect(screen));
  }
  return out;
}

}  // namespace vncd::platform
