// FakeDesktop: an in-memory desktop (FrameSource + InputSink + Clipboard) for tests. Draw into it,
// capture with the same tile-diff semantics as the X11 source, inspect recorded input/clipboard.
// Single-threaded like the real ones; owns only plain memory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "platform/common/tile_diff.h"
#include "rfb/platform.h"

namespace vncd::platform {

struct FakeKeyEvent {
  uint32_t keysym = 0;
  bool down = false;
  bool operator==(const FakeKeyEvent&) const = default;
};
struct FakePointerEvent {
  int x = 0;
  int y = 0;
  uint8_t buttons = 0;
  bool operator==(const FakePointerEvent&) const = default;
};
using FakeInputEvent = std::variant<FakeKeyEvent, FakePointerEvent>;

class FakeDesktop final : public rfb::FrameSource, public rfb::InputSink, public rfb::Clipboard {
 public:
  // Starts black (all-zero pixels). tile is the diff's unit of work, as for X11FrameSource: each
  // changed tile reports the bounding box of its differing pixels.
  explicit FakeDesktop(rfb::Size size = {640, 480},
                       rfb::PixelFormat format = rfb::PixelFormat::rgb888(),
                       int tile = kDefaultTileSize);

  // --- Drawing (takes effect at the next capture) ---
  // Fills r clipped to the screen with `pixel` (a value in the desktop's format).
  void fill_rect(const rfb::Rect& r, uint32_t pixel);
  void set_pixel(int x, int y, uint32_t pixel);  // Ignored outside the screen.
  uint32_t pixel(int x, int y) const;
  // New size (content black); the next capture reports size_changed and the whole screen.
  void resize(rfb::Size size);
  // New pixel format (content black); reported like a resize, since every pixel changed.
  void set_format(const rfb::PixelFormat& format);
  // Makes capture() fail with `reason` (the desktop is gone) until cleared with nullopt.
  void set_capture_error(std::optional<std::string> reason);

  // --- FrameSource ---
  rfb::Size size() const override { return current_.size(); }
  rfb::PixelFormat format() const override { return current_.format(); }
  Result<rfb::Capture> capture() override;
  // Limits the next capture's comparison to `region` (hints accumulate until then), the way an
  // XDamage region does for X11FrameSource; without hints the whole screen is compared.
  void add_change_hint(const rfb::Region& region);
  int capture_count() const { return captures_; }

  // --- InputSink: recorded in order ---
  void key(uint32_t keysym, bool down) override;
  void pointer(int x, int y, uint8_t button_mask) override;
  void flush() override { ++flushes_; }
  const std::vector<FakeInputEvent>& input_events() const { return input_; }
  void clear_input_events() { input_.clear(); }
  int flush_count() const { return flushes_; }

  // --- Clipboard ---
  void set_text(const std::string& latin1) override;
  void on_change(std::function<void(const std::string& latin1)> callback) override;
  // What the desktop's clipboard holds (last set_text or external_copy).
  const std::string& clipboard_text() const { return clipboard_; }
  int set_text_count() const { return set_text_count_; }
  // Another desktop application copies `latin1`: the callback fires, as with a new X owner.
  void external_copy(const std::string& latin1);

  // Both FrameSource and Clipboard: purely polled.
  int event_fd() const override { return -1; }
  void process_events() override {}

 private:
  uint8_t* pixel_ptr(int x, int y);
  const uint8_t* pixel_ptr(int x, int y) const;

  int tile_;
  rfb::Frame current_;  // Work in progress; each capture publishes a copy.
  rfb::FramePtr previous_;
  bool size_changed_ = false;
  std::optional<rfb::Region> hint_;
  std::optional<std::string> capture_error_;
  int captures_ = 0;
  std::vector<FakeInputEvent> input_;
  int flushes_ = 0;
  std::string clipboard_;
  int set_text_count_ = 0;
  std::function<void(const std::string&)> callback_;
};

}  // namespace vncd::platform
