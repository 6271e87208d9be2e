// X11FrameSource: captures an X display's root window into immutable frames (MIT-SHM when the
// display is local, XGetImage otherwise), grabbing only what XDamage (or, without it, a
// row-sampling poller) says may have changed and reporting the pixels that really did (per tile,
// the bounding box of its differences). Owns its own X connection; every call on the loop thread.
// With MIT-SHM its frames live in segments the X server writes into directly; they may be
// released on any thread (the next capture takes the segment back to reuse or detach it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "platform/common/frame_pool.h"
#include "platform/common/tile_diff.h"
#include "rfb/platform.h"
// After the rfb headers: Xlib #defines Status.
#include "platform/x11/x11_display.h"

#include <X11/extensions/XShm.h>

namespace vncd::platform {

// The strip serves areas narrower than the screen (and every area when frames cannot live in
// shared memory); full-width areas go straight into the frame. It is made on first use.
// 1 MiB: 136 rows of a 1920-pixel 32-bpp screen, so a full 1080p grab takes 8 strips. A strip
// costs one more round trip (50-80 us on Xvfb, about what grabbing and copying 64k pixels costs),
// so a full-screen grab (~8 ms) gets ~5% slower, while the segment no longer costs a whole screen
// (8 MB at 1080p) of shared memory. Smaller strips would add round trips faster than they save
// memory (256 KiB: 32 round trips, ~25%).
inline constexpr size_t kDefaultShmStripBytes = size_t{1} << 20;

struct X11FrameSourceOptions {
  // Skip MIT-SHM and always use XGetImage (tests; displays where SHM misbehaves).
  bool force_get_image = false;
  // Ignore the DAMAGE extension and poll (tests, benchmarks, servers whose damage misbehaves).
  bool disable_damage = false;
  // The comparison's unit of work (see diff_tiles): each changed tile reports the bounding box of
  // its differing pixels.
  int tile_size = kDefaultTileSize;
  // Polling compares every poll_row_step-th row per capture (a power of two), a different set each
  // time, so a change is found within poll_row_step captures at 1/poll_row_step of a full compare.
  int poll_row_step = 16;
  // The MIT-SHM segment (and, without MIT-SHM, each XGetImage's buffer) holds at most this many
  // bytes (but at least one screen row): a larger area is grabbed strip by strip, each copied
  // into the frame before the next is fetched. See kDefaultShmStripBytes.
  size_t shm_strip_bytes = kDefaultShmStripBytes;
  // With MIT-SHM, frames live in shared segments the X server has attached, so a full-width area
  // is one XShmGetImage written straight into the frame (no strip, no copy). Off: heap frames,
  // every area through the strip. Falls back to that by itself when the segments cannot be made
  // or attached, or when the X server pads a screen row (16 bpp at an odd width).
  bool shm_frames = true;
};

// Work counters since creation, for tests and benchmarks.
struct X11CaptureStats {
  int64_t captures = 0;
  // (Shm)GetImage, or CopyArea into the shared pixmap (batched): one per strip of a large area.
  int64_t grab_requests = 0;
  int64_t grab_round_trips = 0;   // Waits for the X server: one per (Shm)GetImage or batch.
  int64_t pixels_grabbed = 0;     // Pixels fetched from the X server.
  int64_t pixels_compared = 0;    // Pixels compared against the previous frame.
  int64_t pixels_copied = 0;      // Pixels copied between our own frames (frame recycling).
  int64_t grabs_into_frame = 0;   // XShmGetImage requests that wrote straight into the frame.
  int64_t shm_frames_made = 0;    // Frames made in a new shared segment.
  int64_t shm_frames_reused = 0;  // Frames made in the segment of a released one.
  // Frames in shared segments released (on any thread) and taken back by a capture.
  int64_t shm_frames_released = 0;
  int64_t shm_frames_detached = 0;  // Segments detached and unmapped (not reused).
};

class ShmImage;   // MIT-SHM segment + XImage, RAII; defined in the .cpp.
class ShmFrames;  // Frames in MIT-SHM segments: made, taken back, reused; defined in the .cpp.
class X11Damage;

class X11FrameSource final : public rfb::FrameSource {
 public:
  // Opens its own connection to `display_name` (empty: $DISPLAY). Fails when the display cannot
  // be opened or its default visual is not a true-colour 8/16/32-bpp one with 8-bit-or-less
  // channels.
  static Result<std::unique_ptr<X11FrameSource>> create(const std::string& display_name,
                                                        const X11FrameSourceOptions& options = {});
  ~X11FrameSource() override;
  X11FrameSource(const X11FrameSource&) = delete;
  X11FrameSource& operator=(const X11FrameSource&) = delete;

  rfb::Size size() const override { return size_; }
  rfb::PixelFormat format() const override { return format_; }
  // Returns the current screen and where it differs from the previous capture's frame (per tile,
  // the bounding box of its differing pixels); the whole screen on the first call and after the
  // root window changed size (then size_changed is set). With XDamage only the damaged area is
  // grabbed and compared; without damage (a static screen) no pixels are fetched and the previous
  // frame comes back with an empty region. Polling samples a few rows and looks closer around
  // differences. Frames returned earlier are never modified.
  Result<rfb::Capture> capture() override;
  // The X connection: readable on DAMAGE and RandR events. Capture re-reads the root geometry
  // and drains events itself, so these only serve as a prompt to capture soon.
  int event_fd() const override { return display_.fd(); }
  void process_events() override;
  // With XDamage: only when damage, a change hint or a screen change is waiting. Polling: always.
  bool changes_pending() const override;
  // XDamage reports at most the bounding box of the damage: once that is the screen, no more
  // reports come until the next capture.
  bool changes_cover_screen() const override;

  // Makes the next capture also grab and compare `region` (hints accumulate until then), beyond
  // what XDamage or the poller would look at: for changes the caller knows of by other means.
  void add_change_hint(const rfb::Region& region);

  // Whether captures currently go through MIT-SHM (false: XGetImage).
  bool using_shm() const { return shm_usable_; }
  // Whether new frames are made in shared segments the X server writes into.
  bool using_shm_frames() const { return shm_frames_ != nullptr; }
  // Whether the strip (see kDefaultShmStripBytes) exists: only once an area needed it.
  bool has_shm_strip() const { return shm_ != nullptr; }
  // Whether change detection uses XDamage (false: polling).
  bool using_damage() const { return damage_ != nullptr; }
  X11CaptureStats stats() const;

 private:
  X11FrameSource(X11Display display, const X11FrameSourceOptions& options, rfb::PixelFormat format,
                 Visual* visual, int depth);
  // A screen area to fetch and where in the destination frame it goes.
  struct Grab {
    rfb::Rect area;
    int dst_x = 0;
    int dst_y = 0;
  };
  // capture() between taking back released segments and dropping the ones nobody reused.
  Result<rfb::Capture> capture_frame();
  // Fetches one area, in pieces that fit the strip (or the XGetImage bound).
  Result<void> grab_rect(const Grab& g, rfb::Frame& frame);
  // Whether `g` can be fetched straight into `frame` (which lives in a shared segment).
  bool can_grab_direct(const Grab& g, const rfb::Frame& frame) const;
  // One XShmGetImage of a full-width area into `frame`, whose segment is `segment`; falls back
  // to the strip (for good) when the server refuses.
  Result<void> grab_direct(const Grab& g, rfb::Frame& frame, XShmSegmentInfo segment);
  // The strip, made on first use; null when MIT-SHM is unusable (then XGetImage).
  ShmImage* strip();
  // Stops using MIT-SHM (strip and frames) for this connection.
  void give_up_shm();
  // The pool's allocator: a frame in a shared segment (reused or new), or null (a heap frame).
  std::shared_ptr<rfb::Frame> make_shm_frame(rfb::Size size, const rfb::PixelFormat& format);
  // One (Shm)GetImage of an area that fits the strip.
  Result<void> grab_piece(const Grab& g, rfb::Frame& frame);
  // Rows per piece of a `width`-pixel area: the strip's height, or the XGetImage bound.
  int piece_rows(int width) const;
  // Fetches several areas: full-width ones straight into the frame when `segment` is its shared
  // segment; the others, with a shared pixmap, packed into the strip and fetched in one round
  // trip per strip-full; else one by one.
  Result<void> grab_rects(const std::vector<Grab>& grabs, rfb::Frame& frame,
                          const std::optional<XShmSegmentInfo>& segment = std::nullopt);
  Result<void> copy_image(const XImage& image, const Grab& g, rfb::Frame& frame) const;
  void setup_shm();
  void setup_damage();
  // The damaged (or, polling, suspicious) area to look at; empty when nothing may have changed.
  Result<rfb::Region> damage_candidates();
  Result<rfb::Region> poll_candidates();

  X11Display display_;
  X11FrameSourceOptions options_;
  rfb::PixelFormat format_;
  Visual* visual_;  // Owned by Xlib (lives as long as display_).
  int depth_;
  int randr_event_base_ = -1;
  bool shm_failed_ = false;         // Once SHM fails, stay on XGetImage for this connection.
  bool shm_usable_ = false;         // MIT-SHM works here (the strip is made when first needed).
  bool shm_frames_failed_ = false;  // Once frames in segments fail, stay on heap frames.
  rfb::Size size_;
  std::unique_ptr<ShmImage> shm_;  // The strip; null until needed.
  // Null: frames on the heap. Declared after display_: detaches its segments while it is open.
  std::unique_ptr<ShmFrames> shm_frames_;
  std::unique_ptr<X11Damage> damage_;  // Null: polling.
  rfb::Region damaged_;                // Damage fetched but not yet captured, plus hints.
  bool screen_changed_ = false;        // A RandR event since the last geometry check.
  FramePool pool_;                     // pool_.current() is the previous capture's frame.
  uint64_t poll_cycle_ = 0;
  std::unique_ptr<rfb::Frame> scan_rows_;  // Polling: this cycle's sample rows, packed.
  X11CaptureStats stats_;
};

}  // namespace vncd::platform
