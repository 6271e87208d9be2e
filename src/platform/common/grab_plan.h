// Grab planning for capture backends: which rectangles to fetch for a damaged region, and which
// rows a poller compares on each cycle. Pure functions, no X11; shared by every capture backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rfb/geometry.h"

namespace vncd::platform {

// Splits `region` into the rectangles to fetch, one request each. A request costs about as much
// as copying `request_cost` pixels (a round trip to the display server), so rectangles are merged
// while their bounding box wastes fewer pixels than the request it saves. Regions of more than
// `max_rects` rectangles are first snapped to `tile`-aligned blocks (still too many: their
// bounding box). The result covers `region` and lies inside its bounding box.
std::vector<rfb::Rect> plan_grabs(const rfb::Region& region, int64_t request_cost,
                                  size_t max_rects = 64, int tile = 32);

// Polling without change events compares rows y with y % step == scan_row_offset(cycle, step):
// the offset walks a bit-reversed permutation of 0..step-1 (0, 8, 4, 12, ... for 16), so the
// screen is sampled evenly early on and every row is compared once every `step` cycles.
// step must be a power of two.
int scan_row_offset(uint64_t cycle, int step);

// The tiles at tile coordinates `hits` (tx, ty pairs) grown by one tile on every side, in pixels,
// clipped to `size`: where to look closer after a scanned row differed.
rfb::Region tiles_around(const std::vector<std::pair<int, int>>& hits, rfb::Size size, int tile);

}  // namespace vncd::platform
