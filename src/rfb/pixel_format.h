// PixelFormat: the RFB PIXEL_FORMAT value (bpp, depth, byte order, true colour, maxima, shifts),
// its validation, wire form, and the fixed colour map vncd uses for 8-bit colour-map clients.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "rfb/result.h"
#include "rfb/wire.h"

namespace vncd::rfb {

// RFB "Pixel Format Data Structure" (rfbproto.rst, ServerInit / SetPixelFormat).
struct PixelFormat {
  uint8_t bpp = 32;
  uint8_t depth = 24;
  bool big_endian = false;
  bool true_colour = true;
  uint16_t red_max = 255;
  uint16_t green_max = 255;
  uint16_t blue_max = 255;
  uint8_t red_shift = 16;
  uint8_t green_shift = 8;
  uint8_t blue_shift = 0;

  bool operator==(const PixelFormat&) const = default;

  static constexpr size_t kWireSize = 16;

  int bytes_per_pixel() const { return bpp / 8; }

  // Checks every field a client can send: bpp 8/16/32, 1 <= depth <= bpp, maxima of the form
  // 2^n-1, channels inside the pixel and not overlapping; colour maps only at 8 bpp.
  Status validate() const;

  // Wire form (16 bytes, padding zeroed). parse() requires r.has(kWireSize); it does not validate.
  void serialize(ByteBuffer& out) const;
  static PixelFormat parse(Reader& r);

  std::string str() const;

  // For colour-map formats: the true-colour layout whose pixel values are the indexes into
  // fixed_colour_map() (3 bits red at 0, 3 bits green at 3, 2 bits blue at 6). For true-colour
  // formats, returns *this.
  PixelFormat colour_map_equivalent() const;

  // Common formats.
  static PixelFormat rgb888();       // 32 bpp, depth 24, little endian, red at 16 (X11's usual).
  static PixelFormat bgr233();       // 8 bpp true colour, red at 0, green at 3, blue at 6.
  static PixelFormat rgb565();       // 16 bpp, little endian.
  static PixelFormat colour_map8();  // 8 bpp colour-map.
};

// One SetColourMapEntries colour (16-bit channels as on the wire).
struct Colour16 {
  uint16_t r = 0, g = 0, b = 0;
};

// The 256-entry map sent to colour-map clients; index i = r | g << 3 | b << 6 (see above).
const std::array<Colour16, 256>& fixed_colour_map();

}  // namespace vncd::rfb
