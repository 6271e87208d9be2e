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
  // Both formats must be valid (PixelFormat::validate()). The source must be true colour with
  // channel maxima <= 255 (a capture format). A colour-map destination is converted as its
  // colour_map_equivalent() (indexes into fixed_colour_map()).
  //
  // Channel scaling, the one rounding rule used everywhere (and by the tests' reference):
  //   dst_value = (src_value * dst_max + src_max / 2) / src_max      (integer division)
  // Bits of a destination pixel that belong to no channel are 1 for 32-bit pixels (noVNC reads
  // the fourth byte as alpha, INTEROP-NOTES) and 0 for 8- and 16-bit pixels. Bits of a source
  // pixel that belong to no channel are ignored.
  PixelConverter(const PixelFormat& src, const PixelFormat& dst);

  const PixelFormat& source() const { return src_; }
  const PixelFormat& destination() const { return dst_; }

  // Converts a w x h block; strides are in bytes. src and dst must not overlap. Neither pointer
  // needs any alignment; bytes between the end of a row and the next stride are not touched.
  void convert(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride, int w,
               int h) const;

  // Converts one logical pixel value. `src_pixel` is the source pixel as a number, i.e. the
  // bytes of one source pixel already read in the source's byte order (red is
  // (src_pixel >> red_shift) & red_max); bits above the source's bpp are ignored. The result is
  // the destination pixel as a number, in the same sense: channels at the destination's shifts,
  // unused bits filled as above, NOT byte-swapped; a caller writing it to the wire stores its
  // bytes_per_pixel() low bytes in the destination's byte order. For a colour-map destination it
  // is the index into fixed_colour_map(). For encoders that work on single colours.
  uint32_t convert_pixel(uint32_t src_pixel) const;

  // Name of the kernel convert() uses: "copy", "copy+fill", "shuffle888" or "table". For tests
  // and benchmarks.
  const char* kernel_name() const;

 private:
  enum class Kernel : uint8_t {
    kCopy,        // Identical formats, every bit a channel bit: memcpy rows.
    kCopyFill,    // Identical 32-bit formats: copy, OR the unused-bit fill.
    kShuffle888,  // 32 bpp, three 8-bit channels on byte boundaries on both sides.
    kTable,       // Anything else: three channel tables.
  };
  using BlockFn = void (*)(const PixelConverter&, const uint8_t*, size_t, uint8_t*, size_t, int,
                           int);

  // The table kernel, one instantiation per (source storage, source needs swap, destination
  // storage); destination byte order is folded into the tables.
  template <class SrcT, bool kSwapSrc, class DstT>
  static void table_kernel(const PixelConverter& c, const uint8_t* src, size_t src_stride,
                           uint8_t* dst, size_t dst_stride, int w, int h);
  void shuffle_kernel(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride, int w,
                      int h) const;
  void copy_fill_kernel(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride,
                        int w, int h) const;

  PixelFormat src_;
  PixelFormat dst_;  // As given (may be colour-map).
  Kernel kernel_ = Kernel::kTable;
  BlockFn table_fn_ = nullptr;
  bool swap_ = false;        // Destination byte order differs from the host's.
  uint32_t fill_ = 0;        // Unused-bit fill, logical value.
  uint32_t fill_store_ = 0;  // The same in destination storage order (byte-swapped if swap_).
  // Source channel value -> destination channel bits at the destination shift, in destination
  // storage order. Indexed by (pixel >> shift) & mask; mask <= 255 by construction.
  std::array<uint32_t, 256> red_{}, green_{}, blue_{};
  uint8_t src_red_shift_ = 0, src_green_shift_ = 0, src_blue_shift_ = 0;
  uint8_t src_red_mask_ = 0, src_green_mask_ = 0, src_blue_mask_ = 0;
  // kShuffle888: bit position of each channel's byte in the host-order 32-bit word, source and
  // destination (r, g, b).
  std::array<uint8_t, 3> shuffle_from_{}, shuffle_to_{};
};

}  // namespace vncd::rfb
