// X11FrameSource: captures an X display's root window into immutable frames (MIT-SHM when the
// display is local, XGetImage otherwise) and reports what changed by tile comparison.
// Owns its own X connection; every call on the loop thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "platform/common/tile_diff.h"
#include "rfb/platform.h"
// After the rfb headers: Xlib #defines Status.
#include "platform/x11/x11_display.h"

namespace vncd::platform {

struct X11FrameSourceOptions {
  // Skip MIT-SHM and always use XGetImage (tests; displays where SHM misbehaves).
  bool force_get_image = false;
  int tile_size = kDefaultTileSize;
};

class ShmImage;  // MIT-SHM segment + XImage, RAII; defined in the .cpp.

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
  // Grabs the whole root window into a new Frame. The changed region is the differing tiles
  // (limited to the hints given since the last capture, if any); the whole screen on the first
  // call and after the root window changed size (then size_changed is set).
  Result<rfb::Capture> capture() override;
  // The X connection: readable on RandR screen-change events. Capture re-reads the root geometry
  // anyway, so these only serve as a prompt to capture soon.
  int event_fd() const override { return display_.fd(); }
  void process_events() override;

  // Limits the next capture's comparison to `region` (hints accumulate until that capture).
  // Without hints the whole screen is compared. This is where XDamage plugs in: it knows what
  // may have changed, polling does not.
  void add_change_hint(const rfb::Region& region);

  // Whether captures currently go through MIT-SHM (false: XGetImage).
  bool using_shm() const { return shm_ != nullptr; }

 private:
  X11FrameSource(X11Display display, const X11FrameSourceOptions& options, rfb::PixelFormat format,
                 Visual* visual, int depth);
  Result<void> grab_into(rfb::Frame& frame);
  Result<void> copy_image(const XImage& image, rfb::Frame& frame) const;
  void setup_shm();

  X11Display display_;
  X11FrameSourceOptions options_;
  rfb::PixelFormat format_;
  Visual* visual_;  // Owned by Xlib (lives as long as display_).
  int depth_;
  int randr_event_base_ = -1;
  bool shm_failed_ = false;  // Once SHM fails, stay on XGetImage for this connection.
  rfb::Size size_;
  std::unique_ptr<ShmImage> shm_;
  rfb::FramePtr previous_;
  std::optional<rfb::Region> hint_;
};

}  // namespace vncd::platform
