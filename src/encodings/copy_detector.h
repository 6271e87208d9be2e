// CopyDetector: finds content that moved between two frames (scrolls, window moves) from the
// pixels alone, so it can be sent as CopyRect. Pure functions on immutable frames; any thread.
#pragma once

#include <vector>

#include "encodings/update_planner.h"
#include "rfb/frame.h"
#include "rfb/geometry.h"

namespace vncd::enc {

// A copy smaller than this is not worth a CopyRect: the encoder sends it cheaply and extra
// rectangles fragment what is left to encode.
inline constexpr int kMinCopyRows = 8;
inline constexpr int kMinCopyWidth = 64;
inline constexpr int kMinCopyArea = 4096;
// Moves (not scrolls) are searched only while what is left to explain covers at most this much
// of the screen.
inline constexpr int kMaxMoveSearchPercent = 50;

struct DetectedCopies {
  // In the order the client must apply them. No op's source intersects an earlier op's
  // destination, and every destination pixel was verified: after[dst] == before[src].
  std::vector<CopyOp> copies;
  // `changed` minus the destinations: what must still be sent from `after`.
  rfb::Region remaining;
};

// `before` is the picture the client has, `after` the new one, `changed` (at least) where they
// differ. Applying `copies` to `before`, then the pixels of `remaining` from `after`, gives
// `after` everywhere in `changed` (and copies only write pixels equal to `after`). Frames of
// different sizes or formats yield no copies. Finds vertical scrolls (row hashes, voted offset)
// and, as best effort, 2-D moves and horizontal scrolls (rolling hashes of row segments).
DetectedCopies detect_copies(const rfb::Frame& before, const rfb::Frame& after,
                             const rfb::Region& changed);

}  // namespace vncd::enc
