#include "encodings/hextile_encoder.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "encodings/pixels.h"

namespace vncd::enc {
namespace {

void put_pixel(rfb::ByteBuffer& out, uint32_t colour, int bpp) {
  dispatch_bpp(bpp,
               [&]<class T>() { store_pixel<T>(out.grow(sizeof(T)), static_cast<T>(colour)); });
}

void put_raw_tile(rfb::ByteBuffer& out, const rfb::PixelView& tile) {
  out.u8(hextile::kRaw);
  const size_t row =
      static_cast<size_t>(tile.width) * static_cast<size_t>(tile.format.bytes_per_pixel());
  uint8_t* dst = out.grow(row * static_cast<size_t>(tile.height));
  for (int y = 0; y < tile.height; ++y, dst += row) std::memcpy(dst, tile.row(y), row);
}

}  // namespace

bool find_two_colour_subrects(const rfb::PixelView& tile, uint32_t foreground, size_t max_count,
                              std::vector<Subrect>& out) {
  assert(tile.width > 0 && tile.width <= hextile::kTileSize && tile.height > 0 &&
         tile.height <= hextile::kTileSize);
  const int w = tile.width, h = tile.height;
  // free_[y] bit x: pixel (x, y) is foreground and not yet covered by a subrectangle.
  uint32_t free[hextile::kTileSize] = {};
  dispatch_bpp(tile.format.bpp, [&]<class T>() {
    const T fg = static_cast<T>(foreground);
    for (int y = 0; y < h; ++y) {
      const uint8_t* row = tile.row(y);
      uint32_t m = 0;
      for (int x = 0; x < w; ++x)
        m |= static_cast<uint32_t>(load_pixel<T>(row + static_cast<size_t>(x) * sizeof(T)) == fg)
             << x;
      free[y] = m;
    }
  });
  auto run_from = [](uint32_t bits, int x) {  // Length of the run of set bits from bit x.
    return std::countr_one(bits >> x);
  };
  const size_t first = out.size();
  for (int y = 0; y < h; ++y) {
    // Row y's own bits are never cleared: the scan moves right of each subrectangle instead.
    uint32_t todo = free[y];
    while (todo) {
      const int x = std::countr_zero(todo);
      // Horizontal run first, then grown down while whole rows match (find_subrects' order).
      const int hw = run_from(free[y], x);
      const uint32_t hmask = ((1u << hw) - 1) << x;
      int hh = 1;
      while (y + hh < h && (free[y + hh] & hmask) == hmask) ++hh;
      // Vertical run first, then grown right while whole columns match.
      int vh = 1;
      uint32_t cols = free[y];
      while (y + vh < h && (free[y + vh] >> x & 1u)) cols &= free[y + vh++];
      const int vw = run_from(cols, x);
      const bool horizontal = int64_t{hw} * hh >= int64_t{vw} * vh;
      const int rw = horizontal ? hw : vw, rh = horizontal ? hh : vh;
      if (out.size() - first >= max_count) return false;
      out.push_back(Subrect{foreground, x, y, rw, rh});
      const uint32_t mask = ((1u << rw) - 1) << x;
      for (int j = 1; j < rh; ++j) free[y + j] &= ~mask;
      todo &= ~((1u << (x + rw)) - 1);
    }
  }
  return true;
}

void HextileEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& /*ctx*/,
                            rfb::ByteBuffer& out) {
  // "Hextile Encoding": tiles left to right, top to bottom; the last column and row may be
  // narrower. Colours carry over between tiles of this rectangle only.
  HextileTileState state;
  for (int ty = 0; ty < pixels.height; ty += hextile::kTileSize) {
    const int th = std::min(hextile::kTileSize, pixels.height - ty);
    for (int tx = 0; tx < pixels.width; tx += hextile::kTileSize) {
      const int tw = std::min(hextile::kTileSize, pixels.width - tx);
      encode_tile(pixels.sub(rfb::Rect{tx, ty, tw, th}), state, out);
    }
  }
}

void HextileEncoder::encode_tile(const rfb::PixelView& tile, HextileTileState& state,
                                 rfb::ByteBuffer& out) {
  const int bpp = tile.format.bpp;
  const size_t pixel_bytes = static_cast<size_t>(tile.format.bytes_per_pixel());
  const size_t raw_size =
      1 + static_cast<size_t>(tile.width) * static_cast<size_t>(tile.height) * pixel_bytes;

  // Every colour but the background needs a subrectangle of 2 + pixel_bytes bytes at least
  // (plus a mask and a count byte): past this many colours the tile can only go Raw, so the
  // count stops there (photos: most tiles).
  const int max_colours = static_cast<int>(
      std::min<size_t>(Palette::kMaxColours, 1 + (raw_size - 2) / (2 + pixel_bytes)));
  // Solid and two-colour tiles (most of a desktop) are known after a few runs. A tile with more
  // colours and a new run at most pixels (photos: nearly every pixel) would need about a
  // subrectangle per run: it goes Raw without counting its colours or searching subrectangles.
  const int busy = tile.width * tile.height * kBusyRunsPercent / 100;
  const bool few = build_palette(tile, 2, palette_);
  if (!few &&
      (count_runs(tile, busy) > busy || !build_palette(tile, std::max(2, max_colours), palette_))) {
    put_raw_tile(out, tile);
    state = HextileTileState{};  // Neither colour may be carried over a Raw tile.
    return;
  }
  if (palette_.size() == 1) {
    const uint32_t c = palette_.colour(0);
    if (state.background_valid && state.background == c) {
      out.u8(0);
      return;
    }
    out.u8(hextile::kBackgroundSpecified);
    put_pixel(out, c, bpp);
    state.background_valid = true;
    state.background = c;
    return;  // No subrectangles: a defined foreground stays defined.
  }

  // The most frequent colour is the background (fewest subrectangles); among equals keep the
  // current one, which costs no bytes.
  int bg_index = palette_.most_frequent();
  if (state.background_valid) {
    const int cur = palette_.lookup(state.background);
    if (cur >= 0 && palette_.count(cur) == palette_.count(bg_index)) bg_index = cur;
  }
  const uint32_t bg = palette_.colour(bg_index);
  const bool two_colours = palette_.size() == 2;
  const uint32_t fg = two_colours ? palette_.colour(1 - bg_index) : 0;
  const bool send_bg = !(state.background_valid && state.background == bg);
  const bool send_fg = two_colours && !(state.foreground_valid && state.foreground == fg);

  // Subrectangles only while the tile stays no larger than Raw; the count is a U8.
  const size_t head = 1 + (send_bg ? pixel_bytes : 0) + (send_fg ? pixel_bytes : 0) + 1;
  const size_t per_subrect = two_colours ? 2 : 2 + pixel_bytes;
  subrects_.clear();
  const size_t max_subrects =
      head > raw_size ? 0 : std::min<size_t>(255, (raw_size - head) / per_subrect);
  if (head > raw_size ||
      !(two_colours ? find_two_colour_subrects(tile, fg, max_subrects, subrects_)
                    : find_subrects(tile, bg, max_subrects, subrects_, covered_))) {
    put_raw_tile(out, tile);
    state = HextileTileState{};  // Neither colour may be carried over a Raw tile.
    return;
  }

  uint8_t mask = hextile::kAnySubrects;
  if (send_bg) mask |= hextile::kBackgroundSpecified;
  if (send_fg) mask |= hextile::kForegroundSpecified;
  if (!two_colours) mask |= hextile::kSubrectsColoured;
  out.u8(mask);
  if (send_bg) put_pixel(out, bg, bpp);
  if (send_fg) put_pixel(out, fg, bpp);
  out.u8(static_cast<uint8_t>(subrects_.size()));
  for (const Subrect& s : subrects_) {
    if (!two_colours) put_pixel(out, s.colour, bpp);
    out.u8(static_cast<uint8_t>(s.x << 4 | s.y));
    out.u8(static_cast<uint8_t>((s.w - 1) << 4 | (s.h - 1)));
  }
  state.background_valid = true;
  state.background = bg;
  if (two_colours) {
    state.foreground_valid = true;
    state.foreground = fg;
  } else {
    state.foreground_valid = false;  // Not carried over a SubrectsColoured tile.
  }
}

}  // namespace vncd::enc
