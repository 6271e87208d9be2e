// CopyDetector: finds content that moved between two frames (scrolls, window moves) from the
// pixels alone, so it can be sent as CopyRect. detect_copies is pure (any thread); a CopyDetector
// object keeps state between calls and is used by one thread at a time (one per session).
#pragma once

#include <cstdint>
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

namespace detail {
// CopyDetector's memory: row hashes of one frame over column ranges, filled as detection needs
// them.
struct RowHashes {
  struct Span {
    int x = 0;
    int w = 0;
    std::vector<uint64_t> hash;  // Per row of the frame; valid where `known` is 1.
    std::vector<uint8_t> known;
    int64_t used = 0;  // The last CopyDetector call that searched this column range.
  };
  std::vector<Span> spans;
};
}  // namespace detail

// detect_copies for a sequence of updates, where each update's `after` is usually the next one's
// `before` (a scrolling terminal): the row hashes of `after` are kept and reused instead of
// hashing `before` again, which halves the hashing (two thirds of the detector's time on a
// full-screen scroll). Results are identical to detect_copies.
// Identity: the kept hashes belong to the frame this object holds a reference to. Frames are
// immutable once published and a FramePool recycles a frame only when nobody else holds it, so
// while the reference is held the pixels cannot change, and pointer equality with the held frame
// proves the hashes are still right (an address alone would not: the pool reuses frames).
// The last scroll's offset is also kept, to compare rows at it while they are being hashed.
// Cost: the last `after` frame stays alive until the next detect() or forget().
class CopyDetector {
 public:
  // `before` and `after` must be published (never written again).
  DetectedCopies detect(const rfb::FramePtr& before, const rfb::FramePtr& after,
                        const rfb::Region& changed);
  // Drops the held frame and its hashes (e.g. when the session's picture stops being `after`).
  void forget();

  // Rows hashed so far (each row range of one frame counts once per row); for tests and benchmarks.
  int64_t rows_hashed() const { return rows_hashed_; }

 private:
  rfb::FramePtr frame_;  // The last `after`, whose hashes `hashes_` are.
  detail::RowHashes hashes_;
  int64_t rows_hashed_ = 0;
  int64_t calls_ = 0;
  // The last scroll's offset: a terminal scrolls by the same amount again, and comparing rows at
  // that offset while hashing them reads each row from memory once instead of twice.
  int scroll_dy_ = 0;
};

}  // namespace vncd::enc
