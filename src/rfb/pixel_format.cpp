#include "rfb/pixel_format.h"

#include <bit>

namespace vncd::rfb {
namespace {

int channel_bits(uint16_t max) {
  return std::popcount(max);
}
bool is_mask(uint16_t max) {
  return max != 0 && ((uint32_t{max} + 1) & max) == 0;
}

}  // namespace

Status PixelFormat::validate() const {
  if (bpp != 8 && bpp != 16 && bpp != 32)
    return Error("invalid pixel format: bits-per-pixel " + std::to_string(bpp) +
                 " (must be 8, 16 or 32)");
  if (depth == 0 || depth > bpp)
    return Error("invalid pixel format: depth " + std::to_string(depth) + " with bits-per-pixel " +
                 std::to_string(bpp));
  if (!true_colour) {
    if (bpp != 8)
      return Error("invalid pixel format: colour map is only supported at 8 bits-per-pixel");
    return {};
  }
  const uint16_t maxes[3] = {red_max, green_max, blue_max};
  const uint8_t shifts[3] = {red_shift, green_shift, blue_shift};
  const char* names[3] = {"red", "green", "blue"};
  uint64_t used = 0;
  int total = 0;
  for (int i = 0; i < 3; ++i) {
    if (!is_mask(maxes[i]))
      return Error(std::string("invalid pixel format: ") + names[i] + "-max " +
                   std::to_string(maxes[i]) + " is not 2^n-1");
    int bits = channel_bits(maxes[i]);
    if (shifts[i] + bits > bpp)
      return Error(std::string("invalid pixel format: ") + names[i] + " channel (shift " +
                   std::to_string(shifts[i]) + ") lies outside the pixel");
    uint64_t mask = uint64_t{maxes[i]} << shifts[i];
    if (used & mask) return Error("invalid pixel format: colour channels overlap");
    used |= mask;
    total += bits;
  }
  if (total > bpp) return Error("invalid pixel format: channels wider than the pixel");
  return {};
}

void PixelFormat::serialize(ByteBuffer& out) const {
  out.u8(bpp);
  out.u8(depth);
  out.u8(big_endian ? 1 : 0);
  out.u8(true_colour ? 1 : 0);
  out.u16(red_max);
  out.u16(green_max);
  out.u16(blue_max);
  out.u8(red_shift);
  out.u8(green_shift);
  out.u8(blue_shift);
  out.zeros(3);
}

PixelFormat PixelFormat::parse(Reader& r) {
  PixelFormat pf;
  pf.bpp = r.u8();
  pf.depth = r.u8();
  pf.big_endian = r.u8() != 0;
  pf.true_colour = r.u8() != 0;
  pf.red_max = r.u16();
  pf.green_max = r.u16();
  pf.blue_max = r.u16();
  pf.red_shift = r.u8();
  pf.green_shift = r.u8();
  pf.blue_shift = r.u8();
  r.skip(3);
  return pf;
}

std::string PixelFormat::str() const {
  std::string s = std::to_string(bpp) + "bpp depth " + std::to_string(depth) +
                  (big_endian ? " big-endian" : " little-endian");
  if (!true_colour) return s + " colour-map";
  return s + " rgb max " + std::to_string(red_max) + "," + std::to_string(green_max) + "," +
         std::to_string(blue_max) + " shift " + std::to_string(red_shift) + "," +
         std::to_string(green_shift) + "," + std::to_string(blue_shift);
}

PixelFormat PixelFormat::colour_map_equivalent() const {
  if (true_colour) return *this;
  PixelFormat pf = bgr233();
  pf.big_endian = big_endian;
  return pf;
}

PixelFormat PixelFormat::rgb888() {
  return PixelFormat{};
}

PixelFormat PixelFormat::bgr233() {
  return PixelFormat{.bpp = 8,
                     .depth = 8,
                     .big_endian = false,
                     .true_colour = true,
                     .red_max = 7,
                     .green_max = 7,
                     .blue_max = 3,
                     .red_shift = 0,
                     .green_shift = 3,
                     .blue_shift = 6};
}

PixelFormat PixelFormat::rgb565() {
  return PixelFormat{.bpp = 16,
                     .depth = 16,
                     .big_endian = false,
                     .true_colour = true,
                     .red_max = 31,
                     .green_max = 63,
                     .blue_max = 31,
                     .red_shift = 11,
                     .green_shift = 5,
                     .blue_shift = 0};
}

PixelFormat PixelFormat::colour_map8() {
  return PixelFormat{.bpp = 8,
                     .depth = 8,
                     .big_endian = false,
                     .true_colour = false,
                     .red_max = 0,
                     .green_max = 0,
                     .blue_max = 0,
                     .red_shift = 0,
                     .green_shift = 0,
                     .blue_shift = 0};
}

const std::array<Colour16, 256>& fixed_colour_map() {
  static const std::array<Colour16, 256> map = [] {
    std::array<Colour16, 256> m{};
    for (unsigned i = 0; i < 256; ++i) {
      m[i].r = static_cast<uint16_t>((i & 7) * 65535 / 7);
      m[i].g = static_cast<uint16_t>(((i >> 3) & 7) * 65535 / 7);
      m[i].b = static_cast<uint16_t>(((i >> 6) & 3) * 65535 / 3);
    }
    return m;
  }();
  return map;
}

}  // namespace vncd::rfb
