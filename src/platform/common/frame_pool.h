// FramePool: recycles whole-screen frames so a capture writes only the areas that changed instead
// of allocating and copying a full screen each time. Single-threaded (the capturing thread); the
// frames it hands out may be read on any thread once published.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "rfb/frame.h"
#include "rfb/geometry.h"

namespace vncd::platform {

// Publishing rule: a frame published through publish() is never written again while anyone else
// holds it. A spare is reused only when the pool holds its last reference (use_count 1); the
// acquire fence after that check orders the last reader's accesses before our writes.
// Memory: a capture takes at most one spare, so the pool keeps at most one spare nobody else
// holds (a free one); the others it keeps are frames its consumers still hold, which cost nothing
// extra and come back when they let go. With a consumer that holds the latest frame and the one
// before it (a session's frame and shown frame), that is three frames in all.
// Large overwrites: a free spare only saves copying the pixels a capture does not overwrite. When
// the latest writable() call promised to overwrite at least half the frame (full-screen video, a
// new wallpaper; see is_large_overwrite()), the next capture will likely overwrite most of it
// again, so the spare would save little copying but cost a whole frame of memory between
// captures: the pool then keeps no free spare at all (publish() and recycle() free them; a spare a
// consumer lets go of is freed by the next call into the pool, or reused by the next writable()).
// The first capture below that threshold restores the one free spare, so a typing desktop copies
// only its small changes and never allocates.
// Allocation: new frames come from the allocator (set_allocator) when one is set and it delivers,
// else from the heap; a capture backend uses it to put frames where the display server can write
// them directly (MIT-SHM). Recycling and the memory rule above are the same for both kinds.
class FramePool {
 public:
  // Spares beyond this are forgotten (their holders keep them alive until they drop them).
  explicit FramePool(size_t max_spares = 3) : max_spares_(max_spares) {}

  // At most this many spares nobody else holds are kept (the oldest free ones are freed first).
  static constexpr size_t kMaxFreeSpares = 1;

  // Whether overwriting `overwrite_area` pixels of a `frame_area`-pixel frame counts as a large
  // overwrite (at least half the frame), after which no free spare is kept.
  static constexpr bool is_large_overwrite(int64_t overwrite_area, int64_t frame_area) {
    return frame_area > 0 && 2 * overwrite_area >= frame_area;
  }

  // Makes a new frame of this size and format with its pixels left unset, or returns null to fall
  // back to a heap frame. Called on the pool's thread, from writable() only.
  using Allocator =
      std::function<std::shared_ptr<rfb::Frame>(rfb::Size size, const rfb::PixelFormat& format)>;
  // Frames made from now on come from `allocator` (empty: the heap). Spares already made stay.
  void set_allocator(Allocator allocator) { allocator_ = std::move(allocator); }

  // The latest published frame (null before the first publish() or after reset()).
  rfb::FramePtr current() const { return current_; }

  // A frame nobody else holds whose pixels equal current() (zero-filled when there is no current
  // frame of this size and format), except inside `overwrite`, which the caller promises to
  // write in full (a grab) and which is therefore left as it is. Only the areas where a recycled
  // spare differs from current() are copied; a new frame copies current() outside `overwrite`.
  // `overwrite` also sets how many free spares are kept from now on (see the memory rule above).
  // Hand it back through publish() or recycle(); if the promise could not be kept, drop it instead.
  std::shared_ptr<rfb::Frame> writable(rfb::Size size, const rfb::PixelFormat& format,
                                       const rfb::Region& overwrite = rfb::Region());

  // Makes `frame` (from writable()) the current frame. `changed` must cover every pixel where it
  // differs from the previous current frame.
  rfb::FramePtr publish(std::shared_ptr<rfb::Frame> frame, const rfb::Region& changed);

  // Returns an unpublished frame from writable(); `differs` covers every pixel where it differs
  // from current() (empty when the caller only wrote pixels that turned out equal).
  void recycle(std::shared_ptr<rfb::Frame> frame, const rfb::Region& differs);

  // Forgets the current frame and every spare (the screen changed size or format).
  void reset();

  // Pixels copied to bring spares up to date (for benchmarks and tests).
  int64_t pixels_copied() const { return pixels_copied_; }
  size_t spare_count() const { return spares_.size(); }
  // Spares only the pool holds: memory kept for the next capture.
  size_t free_spare_count() const;
  // Free spares kept after the latest writable(): kMaxFreeSpares, or 0 after a large overwrite.
  size_t free_spares_kept() const { return large_overwrite_ ? 0 : kMaxFreeSpares; }

 private:
  struct Spare {
    std::shared_ptr<rfb::Frame> frame;
    rfb::Region stale;  // Where it differs from current_.
  };
  void add_spare(std::shared_ptr<rfb::Frame> frame, rfb::Region stale);
  // A new frame, pixels unset unless `zeroed` (then zero everywhere outside `overwrite`).
  std::shared_ptr<rfb::Frame> make_frame(rfb::Size size, const rfb::PixelFormat& format,
                                         bool zeroed, const rfb::Region& overwrite);
  // Frees the oldest free spares beyond `keep`.
  void trim_free_spares(size_t keep);

  size_t max_spares_;
  Allocator allocator_;
  std::shared_ptr<rfb::Frame> current_;
  std::vector<Spare> spares_;  // Oldest first.
  int64_t pixels_copied_ = 0;
  bool large_overwrite_ = false;  // The latest writable() overwrites at least half the frame.
};

}  // namespace vncd::platform
