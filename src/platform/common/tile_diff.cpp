// Row-major streaming: each band of `tile` screen rows is walked once, top to bottom, each row
// left to right across the band's candidate tiles, so both frames are read as long sequential
// runs (the hardware prefetcher's best case) instead of one 128-byte memcmp per tile row hopping
// a screen row apart. Per tile the band keeps the box found so far; a tile stops being read once
// its box is known to span it.
#include "platform/common/tile_diff.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vncd::platform {
namespace {

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Byte offsets, within a word loaded by load64, of the first and last (in memory order) bytes
// where x (a XOR of two words, not zero) is not zero.
int first_byte(uint64_t x) {
  if constexpr (std::endian::native == std::endian::little) return std::countr_zero(x) / 8;
  return std::countl_zero(x) / 8;
}
int last_byte(uint64_t x) {
  if constexpr (std::endian::native == std::endian::little) return 7 - std::countl_zero(x) / 8;
  return 7 - std::countr_zero(x) / 8;
}

// The differing bytes of one row: [first, end), or first == n when the n bytes are equal.
struct Extent {
  size_t first;
  size_t end;
};

// One pass over the row gives both whether it differs and where: a tile row is short (128 bytes
// for 32 pixels of 4 bytes), so finding the extent while comparing costs about what the
// comparison alone does, and needs no second, branchy scan from the edges.
Extent row_extent(const uint8_t* a, const uint8_t* b, size_t n) {
  Extent e{n, 0};
  size_t i = 0;
#if defined(__SSE2__)
  // Bit k of a mask: byte k of the chunk differs.
  const auto differing = [&](size_t at) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + at));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + at));
    return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(va, vb))) ^
                                 0xFFFFu);
  };
  for (; i + 64 <= n; i += 64) {
    const uint64_t m =
        differing(i) | differing(i + 16) << 16 | differing(i + 32) << 32 | differing(i + 48) << 48;
    if (m != 0) {
      if (e.first == n) e.first = i + static_cast<size_t>(std::countr_zero(m));
      e.end = i + 64 - static_cast<size_t>(std::countl_zero(m));
    }
  }
  for (; i + 16 <= n; i += 16) {
    const uint64_t m = differing(i);
    if (m != 0) {
      if (e.first == n) e.first = i + static_cast<size_t>(std::countr_zero(m));
      e.end = i + 64 - static_cast<size_t>(std::countl_zero(m));
    }
  }
#endif
  for (; i + 8 <= n; i += 8) {
    const uint64_t x = load64(a + i) ^ load64(b + i);
    if (x != 0) {
      if (e.first == n) e.first = i + static_cast<size_t>(first_byte(x));
      e.end = i + static_cast<size_t>(last_byte(x)) + 1;
    }
  }
  for (; i < n; ++i) {
    if (a[i] != b[i]) {
      if (e.first == n) e.first = i;
      e.end = i + 1;
    }
  }
  return e;
}

// One tile of the band being walked. Rows are band-relative, columns tile-relative bytes.
struct TileState {
  int tx = 0;
  size_t offset = 0;  // Byte offset of the tile's first column in a row.
  size_t bytes = 0;   // Bytes per tile row.
  size_t bpp = 0;     // Bytes per pixel.
  int top = -1;       // First differing row, or -1 while none is known.
  int last = -1;      // Last differing row known so far.
  size_t left = 0;    // [left, right) in bytes: the columns' extent so far.
  size_t right = 0;
  bool last_known = false;  // `last` is final (the tile's bottom row differs).
  bool done = false;        // The box is final: nothing more to read.

  // In pixels, not bytes: a depth-24 frame's padding byte never differs, so the box of a fully
  // changed row ends a byte short of the row in bytes while it spans the row in pixels.
  bool full_width() const { return left < bpp && right > bytes - bpp; }
  void widen(const Extent& e) {
    left = std::min(left, e.first);
    right = std::max(right, e.end);
  }
};

class Band {
 public:
  Band(const rfb::Frame& before, const rfb::Frame& after, int y, int h, TileBox box)
      : before_(before), after_(after), y_(y), h_(h), rows_only_(box == TileBox::kRows) {}

  const uint8_t* row_a(int r, const TileState& t) const {
    return before_.data() + static_cast<size_t>(y_ + r) * before_.stride() + t.offset;
  }
  const uint8_t* row_b(int r, const TileState& t) const {
    return after_.data() + static_cast<size_t>(y_ + r) * after_.stride() + t.offset;
  }

  Extent extent(const TileState& t, int r) const {
    return row_extent(row_a(r, t), row_b(r, t), t.bytes);
  }

  // Row r of tile t (not done), in top-to-bottom order.
  void visit(TileState& t, int r) const {
    if (t.last_known && r == h_ - 1) return;  // Already read when the top was found.
    const Extent e = extent(t, r);
    if (e.first == t.bytes) return;
    if (t.top < 0) {
      t.top = t.last = r;
      t.left = rows_only_ ? 0 : e.first;
      t.right = rows_only_ ? t.bytes : e.end;
      // A large change usually reaches the tile's bottom row: then the box's height is known
      // now, and a fully changed tile is finished after two rows.
      if (r < h_ - 1) {
        const Extent bottom = extent(t, h_ - 1);
        if (bottom.first != t.bytes) {
          t.last = h_ - 1;
          t.last_known = true;
          t.widen(bottom);
        }
      }
    } else {
      if (!t.last_known) t.last = r;
      t.widen(e);
    }
    if (!t.full_width()) return;
    // Full width: only the bottom of the box is left to find, from the tile's bottom up (the
    // rows below the last differing one are read once either way).
    if (!t.last_known) {
      for (int s = h_ - 1; s > t.last; --s) {
        if (extent(t, s).first != t.bytes) {
          t.last = s;
          break;
        }
      }
      t.last_known = true;
    }
    t.done = true;
  }

 private:
  const rfb::Frame& before_;
  const rfb::Frame& after_;
  int y_;
  int h_;
  bool rows_only_;
};

}  // namespace

rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after,
                       const rfb::Region& candidates, int tile, int64_t* pixels_compared,
                       TileBox boxes) {
  assert(tile > 0);
  assert(before.size() == after.size());
  assert(before.format() == after.format());
  const rfb::Size size = after.size();
  if (size.empty()) return rfb::Region();
  const size_t bpp = static_cast<size_t>(after.format().bytes_per_pixel());
  assert(bpp == 1 || bpp == 2 || bpp == 4);
  // Boxes are found in bytes and divided by bpp; a format without whole bytes per pixel cannot
  // be compared, so every candidate tile is reported changed rather than none.
  if (bpp == 0) return snap_to_tiles(candidates, size, tile);
  std::vector<rfb::Rect> runs;

  const int tiles_x = (size.width + tile - 1) / tile;
  const int tiles_y = (size.height + tile - 1) / tile;
  // Mark candidate tiles first so a tile touched by many candidate rectangles is compared once.
  std::vector<uint8_t> marked(static_cast<size_t>(tiles_x) * static_cast<size_t>(tiles_y), 0);
  const rfb::Rect screen{0, 0, size.width, size.height};
  for (const rfb::Rect& cand : candidates.rects()) {
    const rfb::Rect r = cand.intersect(screen);
    if (r.empty()) continue;
    for (int ty = r.y / tile; ty <= (r.bottom() - 1) / tile; ++ty) {
      for (int tx = r.x / tile; tx <= (r.right() - 1) / tile; ++tx) {
        marked[static_cast<size_t>(ty) * static_cast<size_t>(tiles_x) + static_cast<size_t>(tx)] =
            1;
      }
    }
  }

  std::vector<TileState> tiles;  // The band's marked tiles, left to right.
  std::vector<TileState*> open;  // Those still being read.
  tiles.reserve(static_cast<size_t>(tiles_x));
  open.reserve(static_cast<size_t>(tiles_x));
  for (int ty = 0; ty < tiles_y; ++ty) {
    const int y = ty * tile;
    const int h = std::min(tile, size.height - y);
    tiles.clear();
    for (int tx = 0; tx < tiles_x; ++tx) {
      if (!marked[static_cast<size_t>(ty) * static_cast<size_t>(tiles_x) +
                  static_cast<size_t>(tx)]) {
        continue;
      }
      const int x = tx * tile;
      const int w = std::min(tile, size.width - x);
      if (pixels_compared != nullptr) *pixels_compared += int64_t{w} * h;
      TileState& t = tiles.emplace_back();
      t.tx = tx;
      t.offset = static_cast<size_t>(x) * bpp;
      t.bytes = static_cast<size_t>(w) * bpp;
      t.bpp = bpp;
    }
    if (tiles.empty()) continue;
    open.clear();
    for (TileState& t : tiles) open.push_back(&t);
    const Band band(before, after, y, h, boxes);
    for (int r = 0; r < h && !open.empty(); ++r) {
      size_t kept = 0;
      for (TileState* t : open) {
        band.visit(*t, r);
        if (!t->done) open[kept++] = t;
      }
      open.resize(kept);
    }

    // Boxes that continue each other across a tile edge at the same height (a large change) are
    // joined first, so the region sees one rectangle per run rather than one per tile.
    rfb::Rect run;
    for (const TileState& t : tiles) {
      if (t.top < 0) continue;
      assert(t.left < t.right);
      const int x = t.tx * tile;
      const rfb::Rect box{x + static_cast<int>(t.left / bpp), y + t.top,
                          static_cast<int>((t.right - 1) / bpp - t.left / bpp + 1),
                          t.last - t.top + 1};
      if (!run.empty() && run.right() == box.x && run.y == box.y && run.h == box.h) {
        run.w += box.w;
        continue;
      }
      if (!run.empty()) runs.push_back(run);
      run = box;
    }
    if (!run.empty()) runs.push_back(run);
  }
  return rfb::Region::from_rects(runs);
}

rfb::Region snap_to_tiles(const rfb::Region& region, rfb::Size size, int tile) {
  assert(tile > 0);
  rfb::Region out;
  const rfb::Rect screen{0, 0, size.width, size.height};
  for (const rfb::Rect& rect : region.rects()) {
    const rfb::Rect r = rect.intersect(screen);
    if (r.empty()) continue;
    const int x0 = r.x / tile * tile;
    const int y0 = r.y / tile * tile;
    const int x1 = (r.right() + tile - 1) / tile * tile;
    const int y1 = (r.bottom() + tile - 1) / tile * tile;
    out.add(rfb::Rect{x0, y0, x1 - x0, y1 - y0}.intersect(screen));
  }
  return out;
}

rfb::Region diff_tiles(const rfb::Frame& before, const rfb::Frame& after, int tile) {
  const rfb::Size size = after.size();
  return diff_tiles(before, after, rfb::Region(rfb::Rect{0, 0, size.width, size.height}), tile);
}

}  // namespace vncd::platform
