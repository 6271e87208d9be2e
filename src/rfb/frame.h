// Frame: one immutable captured picture of the desktop, shared between the capture, the encoders
// and the sessions through shared_ptr<const Frame>. Nothing writes to a Frame once published.
#pragma once

#include <cstddef>
#include <cstdint>
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
  Frame(Size size, PixelFormat format)
      : size_(size),
        format_(format),
        stride_(static_cast<size_t>(size.width) * static_cast<size_t>(format.bytes_per_pixel())),
        pixels_(stride_ * static_cast<size_t>(size.height)) {}

  Size size() const { return size_; }
  const PixelFormat& format() const { return format_; }
  size_t stride() const { return stride_; }
  const uint8_t* data() const { return pixels_.data(); }
  // Only the producer uses this, before the frame is published as shared_ptr<const Frame>.
  uint8_t* mutable_data() { return pixels_.data(); }
  uint8_t* mutable_row(int y) { return pixels_.data() + static_cast<size_t>(y) * stride_; }

  PixelView view() const {
    return PixelView{pixels_.data(), stride_, size_.width, size_.height, format_};
  }
  PixelView view(const Rect& r) const { return view().sub(r); }

 private:
  Size size_;
  PixelFormat format_;
  size_t stride_;
  std::vector<uint8_t> pixels_;
};

using FramePtr = std::shared_ptr<const Frame>;

}  // namespace vncd::rfb
