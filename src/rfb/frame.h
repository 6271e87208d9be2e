// Frame: one immutable captured picture of the desktop, shared between the capture, the encoders
// and the sessions through shared_ptr<const Frame>. Nothing writes to a Frame once published.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "rfb/geometry.h"
#include "rfb/pixel_format.h"

namespace vncd::rfb {

// A read-only view of pixels: what encoders and converters consume.
struct PixelView {
  const uint8_t* data = nullptr;  // First pixel of the view.
  size_t stride = 0;              // Bytes between rows.
  int width = 0;
  int height = 0;
  PixelFormat format;

  const uint8_t* row(int y) const { return data + static_cast<size_t>(y) * stride; }
  const uint8_t* at(int x, int y) const {
    return row(y) + static_cast<size_t>(x) * static_cast<size_t>(format.bytes_per_pixel());
  }
  // The sub-view of rectangle r (which must lie inside this view).
  PixelView sub(const Rect& r) const { return PixelView{at(r.x, r.y), stride, r.w, r.h, format}; }
};

class Frame {
 public:
  // Pixels start zeroed.
  Frame(Size size, PixelFormat format)
      : size_(size),
        format_(format),
        stride_(static_cast<size_t>(size.width) * static_cast<size_t>(format.bytes_per_pixel())),
        pixels_(std::make_unique<uint8_t[]>(bytes())) {}
  // Pixels left unset, for a producer that writes every one before anyone reads the frame (a
  // capture filling a new frame): zeroing a whole screen first would cost as much again.
  struct ForOverwrite {};
  static constexpr ForOverwrite kForOverwrite{};
  Frame(Size size, PixelFormat format, ForOverwrite)
      : size_(size),
        format_(format),
        stride_(static_cast<size_t>(size.width) * static_cast<size_t>(format.bytes_per_pixel())),
        pixels_(std::make_unique_for_overwrite<uint8_t[]>(bytes())) {}
  Frame(const Frame& o) : Frame(o.size_, o.format_, kForOverwrite) {
    if (bytes() != 0) std::memcpy(pixels_.get(), o.pixels_.get(), bytes());
  }
  Frame& operator=(const Frame& o) {
    if (this != &o) *this = Frame(o);
    return *this;
  }
  Frame(Frame&&) noexcept = default;
  Frame& operator=(Frame&&) noexcept = default;

  Size size() const { return size_; }
  const PixelFormat& format() const { return format_; }
  size_t stride() const { return stride_; }
  const uint8_t* data() const { return pixels_.get(); }
  // Only the producer uses this, before the frame is published as shared_ptr<const Frame>.
  uint8_t* mutable_data() { return pixels_.get(); }
  uint8_t* mutable_row(int y) { return pixels_.get() + static_cast<size_t>(y) * stride_; }
  PixelView view() const {
    return PixelView{pixels_.get(), stride_, size_.width, size_.height, format_};
  }
  PixelView view(const Rect& r) const { return view().sub(r); }

 private:
  size_t bytes() const { return stride_ * static_cast<size_t>(size_.height); }

  Size size_;
  PixelFormat format_;
  size_t stride_;
  std::unique_ptr<uint8_t[]> pixels_;
};

using FramePtr = std::shared_ptr<const Frame>;

}  // namespace vncd::rfb
