// PixelConverter: converts blocks of pixels from one PixelFormat to another (capture format to a
// client's format). Built once per (source, destination) pair; immutable afterwards, so one
// converter may be used from several threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rfb/pixel_format.h"

namespace vncd::rfb {

class PixelConverter {
 public:
  // Both formats must be valid (PixelFormat::validate()). The source must be true colour. A
  // colour-map destination is converted as its colour_map_equivalent() (indexes into
  // fixed_colour_map()). Unused bits of 32-bit destination pixels are set to 1 (noVNC reads the
  // fourth byte as alpha).
  PixelConverter(const PixelFormat& src, const PixelFormat& dst);

  const PixelFormat& source() const { return src_; }
  const PixelFormat& destination() const { return dst_; }

  // Converts a w x h block; strides are in bytes. src and dst must not overlap.
  void convert(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride, int w,
               int h) const;

  // Converts one pixel value (source storage, host order) to destination storage (host order,
  // before any byte swap). For encoders that work on single colours (solid fills, palettes).
  uint32_t convert_pixel(uint32_t src_pixel) const;

 private:
  PixelFormat src_;
  PixelFormat dst_;
  // Implementation state (channel tables with shifts folded in, kernel choice) is defined by
  // pixel_converter.cpp.
  enum class Kernel : uint8_t { kCopy, kShuffle888, kTable };
  Kernel kernel_ = Kernel::kTable;
  bool swap_ = false;
  uint32_t fill_ = 0;  // Constant bits OR'ed into every destination pixel.
  std::array<uint32_t, 256> red_{}, green_{}, blue_{};
  std::array<uint8_t, 4> shuffle_{};
};

}  // namespace vncd::rfb
