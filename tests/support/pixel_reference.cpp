// Deliberately naive: byte-at-a-time loads and stores, bit-at-a-time fill, 64-bit maths, no
// tables, so that it shares no shortcut (and no bug) with the production kernels.
#include "support/pixel_reference.h"

namespace vncd::test {

uint32_t ref_load_pixel(const uint8_t* p, const rfb::PixelFormat& pf) {
  const int n = pf.bpp / 8;
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) {
    // Byte i in memory carries bits 8*i.. (little endian) or 8*(n-1-i).. (big endian).
    const int byte_pos = (pf.big_endian && n > 1) ? n - 1 - i : i;
    v |= uint32_t{p[i]} << (8 * byte_pos);
  }
  return v;
}

void ref_store_pixel(uint8_t* p, const rfb::PixelFormat& pf, uint32_t value) {
  const int n = pf.bpp / 8;
  for (int i = 0; i < n; ++i) {
    const int byte_pos = (pf.big_endian && n > 1) ? n - 1 - i : i;
    p[i] = static_cast<uint8_t>((value >> (8 * byte_pos)) & 0xFF);
  }
}

RefColour ref_decode(uint32_t pixel, const rfb::PixelFormat& pf) {
  const uint64_t v = pixel;
  return RefColour{static_cast<uint32_t>((v >> pf.red_shift) % (uint64_t{pf.red_max} + 1)),
                   static_cast<uint32_t>((v >> pf.green_shift) % (uint64_t{pf.green_max} + 1)),
                   static_cast<uint32_t>((v >> pf.blue_shift) % (uint64_t{pf.blue_max} + 1))};
}

uint32_t ref_scale(uint32_t v, uint32_t src_max, uint32_t dst_max) {
  const uint64_t num = uint64_t{v} * dst_max + src_max / 2;
  return static_cast<uint32_t>(num / src_max);
}

uint32_t ref_convert_pixel(uint32_t pixel, const rfb::PixelFormat& src,
                           const rfb::PixelFormat& dst) {
  const RefColour c = ref_decode(pixel, src);
  if (!dst.true_colour) {
    // The fixed colour map's layout, spelled out here rather than taken from
    // colour_map_equivalent().
    return ref_scale(c.r, src.red_max, 7) | ref_scale(c.g, src.green_max, 7) << 3 |
           ref_scale(c.b, src.blue_max, 3) << 6;
  }
  uint64_t out = uint64_t{ref_scale(c.r, src.red_max, dst.red_max)} << dst.red_shift |
                 uint64_t{ref_scale(c.g, src.green_max, dst.green_max)} << dst.green_shift |
                 uint64_t{ref_scale(c.b, src.blue_max, dst.blue_max)} << dst.blue_shift;
  if (dst.bpp == 32) {
    for (int bit = 0; bit < 32; ++bit) {
      const bool in_red =
          bit >= dst.red_shift && (uint64_t{dst.red_max} >> (bit - dst.red_shift)) & 1;
      const bool in_green =
          bit >= dst.green_shift && (uint64_t{dst.green_max} >> (bit - dst.green_shift)) & 1;
      const bool in_blue =
          bit >= dst.blue_shift && (uint64_t{dst.blue_max} >> (bit - dst.blue_shift)) & 1;
      if (!in_red && !in_green && !in_blue) out |= uint64_t{1} << bit;
    }
  }
  return static_cast<uint32_t>(out);
}

void ref_convert(const uint8_t* src, size_t src_stride, const rfb::PixelFormat& src_pf,
                 uint8_t* dst, size_t dst_stride, const rfb::PixelFormat& dst_pf, int w, int h) {
  const size_t sb = static_cast<size_t>(src_pf.bpp / 8);
  const size_t db = static_cast<size_t>(dst_pf.bpp / 8);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const uint8_t* s = src + static_cast<size_t>(y) * src_stride + static_cast<size_t>(x) * sb;
      uint8_t* d = dst + static_cast<size_t>(y) * dst_stride + static_cast<size_t>(x) * db;
      ref_store_pixel(d, dst_pf, ref_convert_pixel(ref_load_pixel(s, src_pf), src_pf, dst_pf));
    }
  }
}

}  // namespace vncd::test
