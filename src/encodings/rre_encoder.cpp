#include "encodings/rre_encoder.h"

#include <algorithm>
#include <cassert>
#include <unordered_map>

#include "encodings/palette.h"
#include "encodings/pixels.h"

namespace vncd::enc {
namespace {

template <class T>
T pixel_at(const rfb::PixelView& px, int x, int y) {
  return load_pixel<T>(px.row(y) + static_cast<size_t>(x) * sizeof(T));
}

template <class T>
bool find_subrects_t(const rfb::PixelView& px, T bg, size_t max_count, std::vector<Subrect>& out,
                     std::vector<uint8_t>& covered) {
  const int w = px.width, h = px.height;
  const size_t first = out.size();
  covered.assign(static_cast<size_t>(w) * static_cast<size_t>(h), 0);
  auto is_covered = [&](int x, int y) {
    return covered[static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)] != 0;
  };
  // Pixel (x, y) can join a subrectangle of colour c.
  auto free_and = [&](int x, int y, T c) {
    return !is_covered(x, y) && pixel_at<T>(px, x, y) == c;
  };

  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w;) {
      const T c = pixel_at<T>(px, x, y);
      if (c == bg || is_covered(x, y)) {
        ++x;
        continue;
      }
      // Horizontal run first, then grown down while whole rows match.
      int hw = 1;
      while (x + hw < w && free_and(x + hw, y, c)) ++hw;
      int hh = 1;
      for (bool ok = true; ok && y + hh < h;) {
        for (int i = 0; i < hw && ok; ++i) ok = free_and(x + i, y + hh, c);
        if (ok) ++hh;
      }
      // Vertical run first, then grown right while whole columns match: better for tall shapes
      // such as vertical lines and glyph stems.
      int vh = 1;
      while (y + vh < h && free_and(x, y + vh, c)) ++vh;
      int vw = 1;
      for (bool ok = true; ok && x + vw < w;) {
        for (int j = 0; j < vh && ok; ++j) ok = free_and(x + vw, y + j, c);
        if (ok) ++vw;
      }
      const bool horizontal = int64_t{hw} * hh >= int64_t{vw} * vh;
      const int rw = horizontal ? hw : vw, rh = horizontal ? hh : vh;

      if (out.size() - first >= max_count) return false;
      out.push_back(Subrect{c, x, y, rw, rh});
      // Row y needs no marks: the scan continues right of the subrectangle.
      for (int j = 1; j < rh; ++j) {
        uint8_t* m =
            &covered[static_cast<size_t>(y + j) * static_cast<size_t>(w) + static_cast<size_t>(x)];
        std::fill(m, m + rw, uint8_t{1});
      }
      x += rw;
    }
  }
  return true;
}

template <class Coord>
void put_coord(rfb::ByteBuffer& out, int v) {
  if constexpr (sizeof(Coord) == 1) {
    out.u8(static_cast<uint8_t>(v));
  } else {
    out.u16(static_cast<uint16_t>(v));
  }
}

}  // namespace

uint32_t most_frequent_colour(const rfb::PixelView& pixels) {
  assert(pixels.width > 0 && pixels.height > 0);
  Palette palette;
  if (build_palette(pixels, Palette::kMaxColours, palette))
    return palette.colour(palette.most_frequent());
  // Many colours: exact counts would cost a hash map entry per colour (seconds for a noisy
  // 1080p rectangle), so count whole rows spread evenly over the rectangle, at most
  // kBackgroundSample pixels. Any background gives a correct encoding; a dominant colour, the
  // only case where the choice matters much, shows up in the sample.
  const int64_t area = int64_t{pixels.width} * pixels.height;
  const int row_step = static_cast<int>((area + kBackgroundSample - 1) / kBackgroundSample);
  return dispatch_bpp(pixels.format.bpp, [&]<class T>() -> uint32_t {
    std::unordered_map<uint32_t, uint32_t> counts;
    uint32_t best = pixel_at<T>(pixels, 0, 0), best_count = 0;
    for (int y = 0; y < pixels.height; y += row_step) {
      for (int x = 0; x < pixels.width;) {
        const T c = pixel_at<T>(pixels, x, y);
        int run = 1;
        while (x + run < pixels.width && pixel_at<T>(pixels, x + run, y) == c) ++run;
        const uint32_t n = counts[c] += static_cast<uint32_t>(run);
        if (n > best_count) {
          best_count = n;
          best = c;
        }
        x += run;
      }
    }
    return best;
  });
}

bool find_subrects(const rfb::PixelView& pixels, uint32_t background, size_t max_count,
                   std::vector<Subrect>& out, std::vector<uint8_t>& covered) {
  return dispatch_bpp(pixels.format.bpp, [&]<class T>() {
    return find_subrects_t<T>(pixels, static_cast<T>(background), max_count, out, covered);
  });
}

template <class Coord>
int32_t RreEncoderT<Coord>::encoding() const {
  return sizeof(Coord) == 1 ? rfb::encoding::kCoRRE : rfb::encoding::kRRE;
}

template <class Coord>
rfb::EncoderTraits RreEncoderT<Coord>::traits() const {
  rfb::EncoderTraits t;
  // Beyond a few colours the subrectangles usually outweigh Raw (12 bytes each at 32 bpp).
  t.max_palette = 16;
  if constexpr (sizeof(Coord) == 1) {
    // "CoRRE Encoding": positions and sizes are U8, so rectangles are at most 255x255.
    t.max_width = 255;
    t.max_height = 255;
  }
  return t;
}

template <class Coord>
bool RreEncoderT<Coord>::analyse(const rfb::PixelView& pixels, size_t max_count,
                                 uint32_t* background) {
  subrects_.clear();
  if (pixels.width <= 0 || pixels.height <= 0) {
    *background = 0;
    return true;
  }
  *background = most_frequent_colour(pixels);
  return find_subrects(pixels, *background, max_count, subrects_, covered_);
}

template <class Coord>
std::optional<size_t> RreEncoderT<Coord>::encoded_size(const rfb::PixelView& pixels, size_t limit) {
  const int bpp = pixels.format.bytes_per_pixel();
  const size_t base = rre_payload_size(0, bpp, kCoordBytes);
  if (base > limit) return std::nullopt;
  const size_t per_subrect = rre_payload_size(1, bpp, kCoordBytes) - base;
  uint32_t background;
  if (!analyse(pixels, (limit - base) / per_subrect, &background)) return std::nullopt;
  return rre_payload_size(subrects_.size(), bpp, kCoordBytes);
}

template <class Coord>
void RreEncoderT<Coord>::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& /*ctx*/,
                                rfb::ByteBuffer& out) {
  if constexpr (sizeof(Coord) == 1) assert(pixels.width <= 255 && pixels.height <= 255);
  uint32_t background;
  analyse(pixels, SIZE_MAX, &background);
  // At most 65535 * 65535 subrectangles (one per pixel), so the count fits its U32.
  out.reserve(out.size() +
              rre_payload_size(subrects_.size(), pixels.format.bytes_per_pixel(), kCoordBytes));
  out.u32(static_cast<uint32_t>(subrects_.size()));
  dispatch_bpp(pixels.format.bpp, [&]<class T>() {
    store_pixel<T>(out.grow(sizeof(T)), static_cast<T>(background));
    for (const Subrect& s : subrects_) {
      store_pixel<T>(out.grow(sizeof(T)), static_cast<T>(s.colour));
      put_coord<Coord>(out, s.x);
      put_coord<Coord>(out, s.y);
      put_coord<Coord>(out, s.w);
      put_coord<Coord>(out, s.h);
    }
  });
}

template class RreEncoderT<uint16_t>;
template class RreEncoderT<uint8_t>;

}  // namespace vncd::enc
