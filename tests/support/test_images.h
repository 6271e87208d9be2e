// Test image generators and the table of client pixel formats every encoding is tested in.
// Test-only; pure functions returning new values (deterministic for a given seed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rfb/frame.h"
#include "rfb/pixel_format.h"

namespace vncd::test {

// All generators return a w x h frame in PixelFormat::rgb888() (the usual capture format).

// Desktop-like: flat panels, a title bar, bordered buttons and rows of 1-pixel "text" glyphs in a
// handful of colours, so sharp edges and few colours per tile.
rfb::Frame make_ui_image(int w, int h, uint32_t seed = 1);
// Photo-like: smooth low-frequency colour fields plus a little noise; many colours, small steps.
rfb::Frame make_photo_image(int w, int h, uint32_t seed = 1);
// Horizontal red ramp, vertical green ramp, diagonal blue ramp.
rfb::Frame make_gradient(int w, int h);
rfb::Frame make_solid(int w, int h, uint8_t r, uint8_t g, uint8_t b);
// Every byte random.
rfb::Frame make_noise(int w, int h, uint32_t seed = 1);

// `frame` converted to `pf` with rfb::PixelConverter (tightly packed rows).
rfb::Frame convert_frame(const rfb::Frame& frame, const rfb::PixelFormat& pf);

struct NamedFormat {
  std::string name;  // Usable in a GoogleTest parameter name (letters, digits, '_').
  rfb::PixelFormat format;
};

// The client formats every encoding is tested in: 32bpp LE and BE, 24-in-32 with shifts 0/8/16,
// 16bpp 565 LE and BE, 15bpp 555, 8bpp BGR233 and 8bpp colour-map.
std::vector<NamedFormat> test_pixel_formats();

}  // namespace vncd::test
