#include "encodings/trle.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "encodings/pixels.h"

namespace vncd::enc {
namespace {

// Calls f(colour, length) for each run of equal pixels in raster order; runs continue from the
// end of one row to the start of the next, as TRLE/ZRLE runs do. Stops early (returning false)
// when f returns false.
template <class T, class F>
bool for_each_run(const rfb::PixelView& v, F&& f) {
  if (v.width <= 0 || v.height <= 0) return true;
  T cur = load_pixel<T>(v.data);
  uint32_t len = 0;
  for (int y = 0; y < v.height; ++y) {
    const uint8_t* row = v.row(y);
    for (int x = 0; x < v.width; ++x) {
      const T p = load_pixel<T>(row + static_cast<size_t>(x) * sizeof(T));
      if (p == cur) {
        ++len;
        continue;
      }
      if (!f(cur, len)) return false;
      cur = p;
      len = 1;
    }
  }
  return f(cur, len);
}

template <class T>
TilePlan plan_tile_t(const rfb::PixelView& tile, CPixelLayout cp, Palette& palette) {
  palette.clear();
  const size_t bppc = cp.size;
  const size_t raw = 1 + static_cast<size_t>(tile.width) * static_cast<size_t>(tile.height) * bppc;
  size_t plain = 1;       // Plain RLE size so far.
  size_t index_runs = 0;  // Palette RLE size so far, without its header and palette.
  bool palette_ok = true;
  const bool complete = for_each_run<T>(tile, [&](T c, uint32_t len) {
    const size_t rl = run_length_size(len);
    plain += bppc + rl;
    index_runs += len == 1 ? 1 : 1 + rl;
    if (palette_ok && !palette.add(c, len, trle::kMaxRlePalette)) palette_ok = false;
    // Once neither palette form is possible and plain RLE is no better than raw, only raw is
    // left: stop scanning (the common case for photos and noise).
    return palette_ok || plain < raw;
  });

  if (palette_ok && palette.size() == 1) return {TileType::kSolid, 1 + bppc};
  TilePlan best{TileType::kRaw, raw};
  if (complete && plain < best.size) best = {TileType::kPlainRle, plain};
  if (palette_ok && palette.size() >= 2) {
    const size_t n = static_cast<size_t>(palette.size());
    const size_t palette_rle = 1 + n * bppc + index_runs;
    if (palette_rle < best.size) best = {TileType::kPaletteRle, palette_rle};
    if (palette.size() <= trle::kMaxPackedPalette) {
      const size_t packed =
          1 + n * bppc +
          packed_indexes_size(tile.width, tile.height, packed_index_bits(palette.size()));
      if (packed < best.size) best = {TileType::kPackedPalette, packed};
    }
  }
  return best;
}

template <class T>
void write_tile_t(const rfb::PixelView& tile, CPixelLayout cp, const TilePlan& plan,
                  const Palette& palette, rfb::ByteBuffer& out) {
  assert(cp.offset + cp.size <= sizeof(T));
  // plan.size is exact, so the tile is written in place with no per-byte growth checks.
  uint8_t* const start = out.grow(plan.size);
  uint8_t* d = start;
  auto put_colour = [&](uint32_t c) {
    uint8_t b[sizeof(T)];
    store_pixel<T>(b, static_cast<T>(c));
    std::memcpy(d, b + cp.offset, cp.size);
    d += cp.size;
  };
  auto put_run_length = [&](uint32_t len) {
    for (--len; len >= 255; len -= 255) *d++ = 255;
    *d++ = static_cast<uint8_t>(len);
  };
  auto put_palette = [&] {
    for (int i = 0; i < palette.size(); ++i) put_colour(palette.colour(i));
  };
  const int n = palette.size();

  switch (plan.type) {
    case TileType::kSolid:
      *d++ = trle::kSolid;
      put_colour(palette.colour(0));
      break;

    case TileType::kRaw: {
      *d++ = trle::kRaw;
      const size_t row_bytes = static_cast<size_t>(tile.width) * sizeof(T);
      for (int y = 0; y < tile.height; ++y) {
        const uint8_t* p = tile.row(y);
        if (cp.size == sizeof(T)) {
          std::memcpy(d, p, row_bytes);
          d += row_bytes;
          continue;
        }
        for (int x = 0; x < tile.width; ++x, p += sizeof(T), d += cp.size)
          std::memcpy(d, p + cp.offset, cp.size);
      }
      break;
    }

    case TileType::kPackedPalette: {
      *d++ = static_cast<uint8_t>(n);
      put_palette();
      const int bits = packed_index_bits(n);
      for (int y = 0; y < tile.height; ++y) {
        const uint8_t* row = tile.row(y);
        unsigned acc = 0;
        int filled = 0;
        T last = load_pixel<T>(row);
        int last_index = palette.lookup(last);
        for (int x = 0; x < tile.width; ++x) {
          const T p = load_pixel<T>(row + static_cast<size_t>(x) * sizeof(T));
          if (p != last) {
            last = p;
            last_index = palette.lookup(p);
          }
          assert(last_index >= 0);
          // The leftmost pixel goes in the most significant bits.
          acc = (acc << bits) | static_cast<unsigned>(last_index);
          filled += bits;
          if (filled == 8) {
            *d++ = static_cast<uint8_t>(acc);
            acc = 0;
            filled = 0;
          }
        }
        if (filled > 0) *d++ = static_cast<uint8_t>(acc << (8 - filled));  // Row padding.
      }
      break;
    }

    case TileType::kPlainRle:
      *d++ = trle::kPlainRle;
      for_each_run<T>(tile, [&](T c, uint32_t len) {
        put_colour(c);
        put_run_length(len);
        return true;
      });
      break;

    case TileType::kPaletteRle:
      *d++ = static_cast<uint8_t>(trle::kRleBit + n);
      put_palette();
      for_each_run<T>(tile, [&](T c, uint32_t len) {
        const int index = palette.lookup(c);
        assert(index >= 0);
        if (len == 1) {
          *d++ = static_cast<uint8_t>(index);
        } else {
          *d++ = static_cast<uint8_t>(index | trle::kRleBit);
          put_run_length(len);
        }
        return true;
      });
      break;
  }
  assert(d == start + plan.size);
  (void)start;
}

}  // namespace

CPixelLayout cpixel_layout(const rfb::PixelFormat& pf) {
  const auto whole = CPixelLayout{static_cast<uint8_t>(pf.bytes_per_pixel()), 0};
  if (!pf.true_colour || pf.bpp != 32 || pf.depth > 24) return whole;
  const uint64_t used = (uint64_t{pf.red_max} << pf.red_shift) |
                        (uint64_t{pf.green_max} << pf.green_shift) |
                        (uint64_t{pf.blue_max} << pf.blue_shift);
  // Least significant 3 bytes: the last three bytes of a big-endian pixel, the first three of a
  // little-endian one. The spec's convention picks them when both halves would do.
  if ((used & ~uint64_t{0xFFFFFF}) == 0) return {3, static_cast<uint8_t>(pf.big_endian ? 1 : 0)};
  if ((used & 0xFF) == 0 && used <= 0xFFFFFFFFu)
    return {3, static_cast<uint8_t>(pf.big_endian ? 0 : 1)};
  return whole;
}

size_t run_length_size(uint32_t length) {
  assert(length >= 1);
  return (length - 1) / 255 + 1;
}

void write_run_length(uint32_t length, rfb::ByteBuffer& out) {
  assert(length >= 1);
  for (--length; length >= 255; length -= 255) out.u8(255);
  out.u8(static_cast<uint8_t>(length));
}

int packed_index_bits(int palette_size) {
  assert(palette_size >= 2 && palette_size <= trle::kMaxPackedPalette);
  return palette_size <= 2 ? 1 : palette_size <= 4 ? 2 : 4;
}

size_t packed_indexes_size(int width, int height, int bits) {
  const size_t per_byte = static_cast<size_t>(8 / bits);
  return (static_cast<size_t>(width) + per_byte - 1) / per_byte * static_cast<size_t>(height);
}

TilePlan plan_tile(const rfb::PixelView& tile, CPixelLayout cpixel, Palette& palette) {
  return dispatch_bpp(tile.format.bpp,
                      [&]<class T>() { return plan_tile_t<T>(tile, cpixel, palette); });
}

void write_tile(const rfb::PixelView& tile, CPixelLayout cpixel, const TilePlan& plan,
                const Palette& palette, rfb::ByteBuffer& out) {
  dispatch_bpp(tile.format.bpp,
               [&]<class T>() { write_tile_t<T>(tile, cpixel, plan, palette, out); });
}

void encode_tiles(const rfb::PixelView& rect, int tile_size, rfb::ByteBuffer& out) {
  assert(tile_size > 0);
  const CPixelLayout cp = cpixel_layout(rect.format);
  Palette palette;
  for (int y = 0; y < rect.height; y += tile_size) {
    const int th = std::min(tile_size, rect.height - y);
    for (int x = 0; x < rect.width; x += tile_size) {
      const rfb::PixelView tile =
          rect.sub(rfb::Rect{x, y, std::min(tile_size, rect.width - x), th});
      const TilePlan plan = plan_tile(tile, cp, palette);
      write_tile(tile, cp, plan, palette, out);
    }
  }
}

}  // namespace vncd::enc
