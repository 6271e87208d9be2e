// Palette: the distinct colours of a block of pixels (up to a limit), with their counts and an
// index lookup, shared by the palette-based encodings (Hextile, RRE, ZRLE, TRLE, Tight).
// A plain value used by one thread; free functions over PixelView.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rfb/frame.h"

namespace vncd::enc {

// Holds at most kMaxColours distinct opaque pixel values (already in the client's storage, as
// loaded by load_pixel<T>, widened to uint32_t).
class Palette {
 public:
  static constexpr int kMaxColours = 256;

  void clear();
  int size() const { return size_; }
  // Adds `count` occurrences of `colour`. Returns false (and leaves the palette unchanged) when
  // the colour is new and the palette already holds `limit` colours.
  bool add(uint32_t colour, uint32_t count = 1, int limit = kMaxColours);
  // add() that returns the colour's index (-1 when it is new and the palette is full), so a
  // caller that meets the same colours again can count them with add_count() without hashing.
  int insert(uint32_t colour, uint32_t count = 1, int limit = kMaxColours);
  void add_count(int index, uint32_t count) { counts_[static_cast<size_t>(index)] += count; }
  // Index of `colour`, or -1 when absent.
  int lookup(uint32_t colour) const;
  uint32_t colour(int index) const { return colours_[static_cast<size_t>(index)]; }
  uint32_t count(int index) const { return counts_[static_cast<size_t>(index)]; }
  // Index of the most frequent colour (the first one among equals); the palette must not be empty.
  int most_frequent() const;
  // Reorders entries by decreasing count (stable), keeping lookup() consistent.
  void sort_by_count();

 private:
  static constexpr size_t kHashSize = 1024;   // Power of two, > 2 * kMaxColours.
  static constexpr int kClearByWalkMax = 16;  // Larger palettes clear with one 2 KiB fill.
  static size_t hash(uint32_t c) { return (c * 2654435761u) >> 22; }
  void rebuild_hash();

  int size_ = 0;
  std::array<uint32_t, kMaxColours> colours_{};
  std::array<uint32_t, kMaxColours> counts_{};
  std::array<int16_t, kHashSize> slots_ = filled_slots();  // -1 = empty, else index.

  static std::array<int16_t, kHashSize> filled_slots() {
    std::array<int16_t, kHashSize> s{};
    s.fill(-1);
    return s;
  }
};

// Builds the palette of `pixels` (bytes_per_pixel from its format), stopping as soon as more than
// `limit` colours are seen. Returns false in that case (the palette then holds `limit` colours
// and is incomplete). Consecutive equal pixels are counted as one run, so solid areas are cheap.
bool build_palette(const rfb::PixelView& pixels, int limit, Palette& out);

// build_palette() that also writes the index of each pixel to `indexes` (width bytes per row,
// rows back to back) in the same pass; colours are numbered in the order they are met. When it
// returns false (more than `limit` colours) the indexes are partial. The palette's counts are
// not meaningful.
bool build_palette_indexes(const rfb::PixelView& pixels, int limit, Palette& out, uint8_t* indexes);

// Packs indexes that are all 0 or 1 (width bytes per row) into bits, first pixel in the most
// significant bit, each row padded to whole bytes: (width + 7) / 8 bytes per row, rows back to
// back (Tight's 2-colour palette data).
void pack_bits(const uint8_t* indexes, int width, int height, uint8_t* out);

// The number of horizontal runs of equal pixels in `pixels` (each row counted on its own): w * h
// for content whose every pixel differs from its left neighbour (photos, noise), h when solid.
// Stops counting once past `limit` (returns limit + 1 then), so a caller deciding "too busy" pays
// for no more than it needs.
int count_runs(const rfb::PixelView& pixels, int limit);

// True when every pixel of `pixels` equals the first; then *colour is that pixel's value. Looks
// at the middle row first, where a block of text differs soonest.
bool is_solid(const rfb::PixelView& pixels, uint32_t* colour);

}  // namespace vncd::enc
