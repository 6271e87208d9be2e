// Frame: one immutable captured picture of the desktop, shared between the capture, the encoders
// and the sessions through shared_ptr<const Frame>. Nothing writes to a Frame once published.
// Its pixels live on the heap, or in storage a producer hands over (e.g. a shared-memory segment
// the display server writes into); either way they go when the last reference does, on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <utility>
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
        stride_(packed_stride(size, format)),
        heap_(std::make_unique<uint8_t[]>(bytes())),
        data_(heap_.get()) {}
  // Pixels left unset, for a producer that writes every one before anyone reads the frame (a
  // capture filling a new frame): zeroing a whole screen first would cost as much again.
  struct ForOverwrite {};
  static constexpr ForOverwrite kForOverwrite{};
  Frame(Size size, PixelFormat format, ForOverwrite)
      : size_(size),
        format_(format),
        stride_(packed_stride(size, format)),
        heap_(std::make_unique_for_overwrite<uint8_t[]>(bytes())),
        data_(heap_.get()) {}
  // Adopts storage the frame did not allocate: `pixels` holds size.height packed rows of
  // size.width pixels (the same layout as a heap frame), left unset. `release` runs exactly once,
  // with `pixels`, when the frame is destroyed: on whichever thread drops the last reference, so
  // it must be thread-safe and must not call into anything single-threaded (an Xlib connection).
  using Release = std::function<void(uint8_t* pixels)>;
  Frame(Size size, PixelFormat format, uint8_t* pixels, Release release)
      : size_(size),
        format_(format),
        stride_(packed_stride(size, format)),
        external_(pixels, ExternalRelease{std::move(release)}),
        data_(pixels) {}
  // A copy always lives on the heap, whatever the original's storage.
  Frame(const Frame& o) : Frame(o.size_, o.format_, kForOverwrite) {
    if (bytes() != 0) std::memcpy(data_, o.data_, bytes());
  }
  Frame& operator=(const Frame& o) {
    if (this != &o) *this = Frame(o);
    return *this;
  }
  Frame(Frame&& o) noexcept
      : size_(o.size_),
        format_(o.format_),
        stride_(o.stride_),
        heap_(std::move(o.heap_)),
        external_(std::move(o.external_)),
        data_(std::exchange(o.data_, nullptr)) {}
  Frame& operator=(Frame&& o) noexcept {
    if (this != &o) {
      size_ = o.size_;
      format_ = o.format_;
      stride_ = o.stride_;
      heap_ = std::move(o.heap_);
      external_ = std::move(o.external_);
      data_ = std::exchange(o.data_, nullptr);
    }
    return *this;
  }
  ~Frame() = default;

  Size size() const { return size_; }
  const PixelFormat& format() const { return format_; }
  size_t stride() const { return stride_; }
  const uint8_t* data() const { return data_; }
  // Only the producer uses this, before the frame is published as shared_ptr<const Frame>.
  uint8_t* mutable_data() { return data_; }
  uint8_t* mutable_row(int y) { return data_ + static_cast<size_t>(y) * stride_; }
  PixelView view() const { return PixelView{data_, stride_, size_.width, size_.height, format_}; }
  PixelView view(const Rect& r) const { return view().sub(r); }

 private:
  struct ExternalRelease {
    Release release;
    void operator()(uint8_t* pixels) const {
      if (release) release(pixels);
    }
  };
  static size_t packed_stride(Size size, const PixelFormat& format) {
    return static_cast<size_t>(size.width) * static_cast<size_t>(format.bytes_per_pixel());
  }
  size_t bytes() const { return stride_ * static_cast<size_t>(size_.height); }

  Size size_;
  PixelFormat format_;
  size_t stride_;
  // At most one of these owns the pixels; data_ points at them.
  std::unique_ptr<uint8_t[]> heap_;
  std::unique_ptr<uint8_t, ExternalRelease> external_;
  uint8_t* data_ = nullptr;
};

using FramePtr = std::shared_ptr<const Frame>;

}  // namespace vncd::rfb
