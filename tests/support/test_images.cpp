#include "support/test_images.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "rfb/pixel_converter.h"

namespace vncd::test {
namespace {

// Writes one rgb888 pixel (little endian, red at 16).
void put(rfb::Frame& f, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
  uint8_t* p = f.mutable_row(y) + static_cast<size_t>(x) * 4;
  p[0] = b;
  p[1] = g;
  p[2] = r;
  p[3] = 0;
}

void fill(rfb::Frame& f, int x0, int y0, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  const int x1 = std::min(f.size().width, x0 + w), y1 = std::min(f.size().height, y0 + h);
  for (int y = std::max(0, y0); y < y1; ++y)
    for (int x = std::max(0, x0); x < x1; ++x) put(f, x, y, r, g, b);
}

}  // namespace

rfb::Frame make_ui_image(int w, int h, uint32_t seed) {
  rfb::Frame f({w, h}, rfb::PixelFormat::rgb888());
  std::mt19937 rng(seed);
  fill(f, 0, 0, w, h, 0xee, 0xee, 0xec);        // Window background.
  fill(f, 0, 0, w, 22, 0x35, 0x84, 0xe4);       // Title bar.
  fill(f, 0, h - 24, w, 24, 0x30, 0x30, 0x30);  // Panel.
  // Buttons with a one-pixel border.
  for (int bx = 8; bx + 60 < w; bx += 80) {
    fill(f, bx, 30, 60, 20, 0x90, 0x90, 0x90);
    fill(f, bx + 1, 31, 58, 18, 0xfa, 0xfa, 0xfa);
  }
  // Lines of "text": glyph cells 6x9 with random 1-pixel strokes, dark on light.
  for (int ty = 60; ty + 9 < h - 24; ty += 14) {
    for (int tx = 10; tx + 6 < w - 10; tx += 7) {
      if (rng() % 8 == 0) continue;  // Space.
      const uint32_t bits = static_cast<uint32_t>(rng());
      for (int gy = 0; gy < 9; ++gy)
        for (int gx = 0; gx < 5; ++gx)
          if ((bits >> ((gy * 5 + gx) % 31)) & 1u && (gy + gx) % 3 != 0)
            put(f, tx + gx, ty + gy, 0x20, 0x20, 0x28);
    }
  }
  return f;
}

rfb::Frame make_photo_image(int w, int h, uint32_t seed) {
  rfb::Frame f({w, h}, rfb::PixelFormat::rgb888());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> phase(0.0, 6.28);
  const double p1 = phase(rng), p2 = phase(rng), p3 = phase(rng);
  auto clamp8 = [](double v) { return static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)); };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double n = static_cast<double>(rng() % 9) - 4.0;
      put(f, x, y, clamp8(128 + 100 * std::sin(x * 0.031 + p1) * std::cos(y * 0.017) + n),
          clamp8(120 + 90 * std::sin((x + y) * 0.023 + p2) + n),
          clamp8(110 + 80 * std::cos(y * 0.041 + p3) * std::sin(x * 0.011) + n));
    }
  }
  return f;
}

rfb::Frame make_gradient(int w, int h) {
  rfb::Frame f({w, h}, rfb::PixelFormat::rgb888());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      put(f, x, y, static_cast<uint8_t>(x * 255 / std::max(1, w - 1)),
          static_cast<uint8_t>(y * 255 / std::max(1, h - 1)),
          static_cast<uint8_t>((x + y) * 255 / std::max(1, w + h - 2)));
  return f;
}

rfb::Frame make_solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  rfb::Frame f({w, h}, rfb::PixelFormat::rgb888());
  fill(f, 0, 0, w, h, r, g, b);
  return f;
}

rfb::Frame make_noise(int w, int h, uint32_t seed) {
  rfb::Frame f({w, h}, rfb::PixelFormat::rgb888());
  std::mt19937 rng(seed);
  uint8_t* p = f.mutable_data();
  for (size_t i = 0; i < f.stride() * static_cast<size_t>(h); ++i)
    p[i] = static_cast<uint8_t>(rng());
  return f;
}

rfb::Frame convert_frame(const rfb::Frame& frame, const rfb::PixelFormat& pf) {
  rfb::Frame out(frame.size(), pf);
  rfb::PixelConverter conv(frame.format(), pf);
  conv.convert(frame.data(), frame.stride(), out.mutable_data(), out.stride(), frame.size().width,
               frame.size().height);
  return out;
}

std::vector<NamedFormat> test_pixel_formats() {
  using rfb::PixelFormat;
  PixelFormat be32 = PixelFormat::rgb888();
  be32.big_endian = true;
  PixelFormat rgb_lo = PixelFormat::rgb888();  // 24-in-32, red in the low byte.
  rgb_lo.red_shift = 0;
  rgb_lo.green_shift = 8;
  rgb_lo.blue_shift = 16;
  PixelFormat be565 = PixelFormat::rgb565();
  be565.big_endian = true;
  PixelFormat x555 = PixelFormat::rgb565();
  x555.depth = 15;
  x555.green_max = 31;
  x555.red_shift = 10;
  return {
      {"rgb888_le", PixelFormat::rgb888()},
      {"rgb888_be", be32},
      {"bgr888_shift0", rgb_lo},
      {"rgb565_le", PixelFormat::rgb565()},
      {"rgb565_be", be565},
      {"rgb555", x555},
      {"bgr233", PixelFormat::bgr233()},
      {"colour_map8", PixelFormat::colour_map8()},
  };
}

}  // namespace vncd::test
