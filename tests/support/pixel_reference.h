// Slow per-pixel reference pixel conversion, written from the RFB pixel format definition and
// independent of PixelConverter, for checking every converter kernel. Test-only; pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rfb/pixel_format.h"

namespace vncd::test {

// Channel values of one pixel, each in the scale of its format's max (0..red_max etc.).
struct RefColour {
  uint32_t r = 0, g = 0, b = 0;
};

// Reads the bytes_per_pixel() bytes at p as a number in pf's byte order, one byte at a time.
uint32_t ref_load_pixel(const uint8_t* p, const rfb::PixelFormat& pf);
// Writes the low bytes_per_pixel() bytes of value at p in pf's byte order, one byte at a time.
void ref_store_pixel(uint8_t* p, const rfb::PixelFormat& pf, uint32_t value);

// Splits a true-colour pixel value into its channels.
RefColour ref_decode(uint32_t pixel, const rfb::PixelFormat& pf);

// Rescales one channel value from 0..src_max to 0..dst_max: (v * dst_max + src_max / 2) / src_max.
uint32_t ref_scale(uint32_t v, uint32_t src_max, uint32_t dst_max);

// Converts one logical source pixel value to the logical destination value: channels rescaled
// and placed at the destination shifts; bits outside every channel 1 at 32 bpp, 0 otherwise. A
// colour-map destination gets the fixed map's index: 3 bits red at 0, 3 green at 3, 2 blue at 6.
uint32_t ref_convert_pixel(uint32_t pixel, const rfb::PixelFormat& src,
                           const rfb::PixelFormat& dst);

// Converts a w x h block pixel by pixel; writes nothing outside each row's w pixels.
void ref_convert(const uint8_t* src, size_t src_stride, const rfb::PixelFormat& src_pf,
                 uint8_t* dst, size_t dst_stride, const rfb::PixelFormat& dst_pf, int w, int h);

}  // namespace vncd::test
