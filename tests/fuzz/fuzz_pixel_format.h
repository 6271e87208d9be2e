// Fuzz helper: a valid client pixel format from six input bytes, so fuzz targets reach every
// bpp, byte order, channel width, order and gap, and the colour map. Test-only, header-only.
#pragma once

#include <cstdint>
#include <span>

#include "rfb/pixel_format.h"

namespace vncd::fuzz {

// Fills `pf` from `h` and returns whether it passes PixelFormat::validate() (most inputs do).
// Channels are 0..8 bits wide (vncd captures 8-bit channels), placed in any order with gaps.
inline bool make_format(std::span<const uint8_t, 6> h, rfb::PixelFormat& pf) {
  static constexpr uint8_t kBpp[3] = {8, 16, 32};
  pf = rfb::PixelFormat{};
  pf.bpp = kBpp[h[0] % 3];
  pf.big_endian = (h[0] & 0x10) != 0;
  if (pf.bpp == 8 && (h[0] & 0x20) != 0) {
    pf = rfb::PixelFormat::colour_map8();
    return true;
  }
  pf.true_colour = true;
  pf.depth = static_cast<uint8_t>(1 + h[1] % pf.bpp);
  uint8_t bits[3], shift[3];
  for (int i = 0; i < 3; ++i) bits[i] = static_cast<uint8_t>(h[2 + i] % 9);
  static constexpr int kOrders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                        {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  const int* order = kOrders[h[5] % 6];
  int at = (h[5] >> 3) & 3;
  for (int k = 0; k < 3; ++k) {
    const int c = order[k];
    shift[c] = static_cast<uint8_t>(at);
    at += bits[c] + ((h[5] >> (5 + k)) & 1);
  }
  auto max_of = [](uint8_t b) { return static_cast<uint16_t>((1u << b) - 1u); };
  pf.red_max = max_of(bits[0]);
  pf.green_max = max_of(bits[1]);
  pf.blue_max = max_of(bits[2]);
  pf.red_shift = shift[0];
  pf.green_shift = shift[1];
  pf.blue_shift = shift[2];
  return static_cast<bool>(pf.validate());
}

}  // namespace vncd::fuzz
