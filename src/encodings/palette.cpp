#include "encodings/palette.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <utility>

#include "encodings/pixels.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vncd::enc {
namespace {

// How many 32-bit pixels from row[x] on, in whole groups of four, are all `a` or `b`; adds
// their numbers to *na and *nb (`a` may equal `b`: one colour, counted in both). Text and UI rows
// are mostly spans of two colours: two compares per four pixels instead of a load, compare and
// branch per pixel.
int span_of_two(const uint8_t* row, int x, int width, uint32_t a, uint32_t b, uint32_t* na,
                uint32_t* nb) {
  const int start = x;
#if defined(__SSE2__)
  // Set bits of a 4-bit mask (x86-64's baseline has no popcnt instruction).
  static constexpr uint8_t kOnes[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
  const __m128i va = _mm_set1_epi32(static_cast<int>(a)), vb = _mm_set1_epi32(static_cast<int>(b));
  for (; x + 4 <= width; x += 4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + x * 4));
    const int ma = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, va)));
    const int mb = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, vb)));
    if ((ma | mb) != 0xf) break;
    *na += kOnes[ma];
    *nb += kOnes[mb];
  }
#else
  for (; x + 4 <= width; x += 4) {
    unsigned ma = 0, mb = 0, either = 0;
    for (int k = 0; k < 4; ++k) {
      const uint32_t c = load_pixel<uint32_t>(row + (x + k) * 4);
      ma += c == a;
      mb += c == b;
      either += c == a || c == b;
    }
    if (either != 4) break;
    *na += ma;
    *nb += mb;
  }
#endif
  return x - start;
}

#if defined(__SSE2__)
// Indexes of 32-bit pixels from row[x] on, in whole groups of four that are all `a` or `b`,
// written as bytes `ia` / `ib` to out[x...]; returns how many pixels it did.
int index_span_of_two(const uint8_t* row, int x, int width, uint32_t a, uint32_t b, uint8_t ia,
                      uint8_t ib, uint8_t* out) {
  const int start = x;
  const __m128i va = _mm_set1_epi32(static_cast<int>(a)), vb = _mm_set1_epi32(static_cast<int>(b));
  const __m128i via = _mm_set1_epi32(ia), vib = _mm_set1_epi32(ib);
  for (; x + 4 <= width; x += 4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + x * 4));
    const __m128i ea = _mm_cmpeq_epi32(v, va), eb = _mm_cmpeq_epi32(v, vb);
    if (_mm_movemask_epi8(_mm_or_si128(ea, eb)) != 0xffff) break;
    const __m128i idx = _mm_or_si128(_mm_and_si128(ea, via), _mm_and_si128(eb, vib));
    const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(idx, idx), idx);
    const int32_t four = _mm_cvtsi128_si32(bytes);
    std::memcpy(out + x, &four, 4);
  }
  return x - start;
}
#endif

}  // namespace

void Palette::clear() {
  // Walking the probe chains beats refilling the table only while the palette is small.
  if (size_ > kClearByWalkMax) {
    slots_.fill(-1);
    size_ = 0;
    return;
  }
  for (int i = 0; i < size_; ++i) {
    size_t h = hash(colours_[static_cast<size_t>(i)]);
    while (slots_[h] != -1) {
      slots_[h] = -1;
      h = (h + 1) & (kHashSize - 1);
    }
  }
  size_ = 0;
}

int Palette::lookup(uint32_t colour) const {
  for (size_t h = hash(colour);; h = (h + 1) & (kHashSize - 1)) {
    int16_t s = slots_[h];
    if (s < 0) return -1;
    if (colours_[static_cast<size_t>(s)] == colour) return s;
  }
}

bool Palette::add(uint32_t colour, uint32_t count, int limit) {
  return insert(colour, count, limit) >= 0;
}

int Palette::insert(uint32_t colour, uint32_t count, int limit) {
  size_t h = hash(colour);
  for (;; h = (h + 1) & (kHashSize - 1)) {
    int16_t s = slots_[h];
    if (s < 0) break;
    if (colours_[static_cast<size_t>(s)] == colour) {
      counts_[static_cast<size_t>(s)] += count;
      return s;
    }
  }
  if (size_ >= std::min(limit, kMaxColours)) return -1;
  colours_[static_cast<size_t>(size_)] = colour;
  counts_[static_cast<size_t>(size_)] = count;
  slots_[h] = static_cast<int16_t>(size_);
  return size_++;
}

int Palette::most_frequent() const {
  int best = 0;
  for (int i = 1; i < size_; ++i)
    if (counts_[static_cast<size_t>(i)] > counts_[static_cast<size_t>(best)]) best = i;
  return best;
}

void Palette::sort_by_count() {
  std::array<int, kMaxColours> order{};
  std::iota(order.begin(), order.begin() + size_, 0);
  std::stable_sort(order.begin(), order.begin() + size_, [&](int a, int b) {
    return counts_[static_cast<size_t>(a)] > counts_[static_cast<size_t>(b)];
  });
  std::array<uint32_t, kMaxColours> c{}, n{};
  for (int i = 0; i < size_; ++i) {
    c[static_cast<size_t>(i)] = colours_[static_cast<size_t>(order[static_cast<size_t>(i)])];
    n[static_cast<size_t>(i)] = counts_[static_cast<size_t>(order[static_cast<size_t>(i)])];
  }
  colours_ = c;
  counts_ = n;
  rebuild_hash();
}

void Palette::rebuild_hash() {
  slots_.fill(-1);
  for (int i = 0; i < size_; ++i) {
    size_t h = hash(colours_[static_cast<size_t>(i)]);
    while (slots_[h] != -1) h = (h + 1) & (kHashSize - 1);
    slots_[h] = static_cast<int16_t>(i);
  }
}

bool build_palette(const rfb::PixelView& pixels, int limit, Palette& out) {
  out.clear();
  return dispatch_bpp(pixels.format.bpp, [&]<class T>() {
    // Text alternates between two colours: the last two seen skip the hash table.
    T recent[2] = {};
    int recent_index[2] = {-1, -1};
    for (int y = 0; y < pixels.height; ++y) {
      const uint8_t* row = pixels.row(y);
      int x = 0;
      while (x < pixels.width) {
        if constexpr (sizeof(T) == 4) {
          if (recent_index[1] >= 0) {
            uint32_t n0 = 0, n1 = 0;
            x += span_of_two(row, x, pixels.width, recent[0], recent[1], &n0, &n1);
            out.add_count(recent_index[0], n0);
            out.add_count(recent_index[1], n1);
            if (x >= pixels.width) break;
          }
        }
        const T c = load_pixel<T>(row + x * sizeof(T));
        int run = 1;
        if constexpr (sizeof(T) == 4) {
          // Until a second colour is seen (blank rows above the text) the run can be long.
          uint32_t unused[2] = {};
          run += span_of_two(row, x + 1, pixels.width, c, c, &unused[0], &unused[1]);
        }
        while (x + run < pixels.width && load_pixel<T>(row + (x + run) * sizeof(T)) == c) ++run;
        const auto n = static_cast<uint32_t>(run);
        if (recent_index[0] >= 0 && c == recent[0]) {
          out.add_count(recent_index[0], n);
        } else if (recent_index[1] >= 0 && c == recent[1]) {
          out.add_count(recent_index[1], n);
          std::swap(recent[0], recent[1]);
          std::swap(recent_index[0], recent_index[1]);
        } else {
          const int index = out.insert(c, n, limit);
          if (index < 0) return false;
          recent[1] = recent[0];
          recent_index[1] = recent_index[0];
          recent[0] = c;
          recent_index[0] = index;
        }
        x += run;
      }
    }
    return true;
  });
}

bool build_palette_indexes(const rfb::PixelView& pixels, int limit, Palette& out,
                           uint8_t* indexes) {
  out.clear();
  return dispatch_bpp(pixels.format.bpp, [&]<class T>() {
    // build_palette()'s scan, writing each pixel's index as it goes (the palette's order is the
    // order colours are met in, so an index is known the moment its colour is).
    T recent[2] = {};
    int recent_index[2] = {-1, -1};
    for (int y = 0; y < pixels.height; ++y) {
      const uint8_t* row = pixels.row(y);
      uint8_t* dst = indexes + static_cast<size_t>(y) * static_cast<size_t>(pixels.width);
      int x = 0;
      while (x < pixels.width) {
#if defined(__SSE2__)
        if constexpr (sizeof(T) == 4) {
          if (recent_index[0] >= 0) {
            // One colour known so far: a span of it (blank rows above the text).
            const int second = recent_index[1] >= 0 ? 1 : 0;
            x += index_span_of_two(row, x, pixels.width, recent[0], recent[second],
                                   static_cast<uint8_t>(recent_index[0]),
                                   static_cast<uint8_t>(recent_index[second]), dst);
            if (x >= pixels.width) break;
          }
        }
#endif
        const T c = load_pixel<T>(row + static_cast<size_t>(x) * sizeof(T));
        int index;
        if (recent_index[0] >= 0 && c == recent[0]) {
          index = recent_index[0];
        } else if (recent_index[1] >= 0 && c == recent[1]) {
          std::swap(recent[0], recent[1]);
          std::swap(recent_index[0], recent_index[1]);
          index = recent_index[0];
        } else {
          index = out.insert(c, 1, limit);
          if (index < 0) return false;
          recent[1] = recent[0];
          recent_index[1] = recent_index[0];
          recent[0] = c;
          recent_index[0] = index;
        }
        const auto value = static_cast<uint8_t>(index);
        do {
          dst[x++] = value;
        } while (x < pixels.width && load_pixel<T>(row + static_cast<size_t>(x) * sizeof(T)) == c);
      }
    }
    return true;
  });
}

void pack_bits(const uint8_t* indexes, int width, int height, uint8_t* out) {
  const size_t row_bytes = (static_cast<size_t>(width) + 7) / 8;
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = indexes + static_cast<size_t>(y) * static_cast<size_t>(width);
    uint8_t* dst = out + static_cast<size_t>(y) * row_bytes;
    int x = 0;
#if defined(__SSE2__)
    // Index bit 0 to each byte's top bit, which movemask gathers, pixel k in bit k; the table
    // turns each byte around, since the first pixel goes in the top bit.
    static constexpr auto kReversed = [] {
      std::array<uint8_t, 256> r{};
      for (int v = 0; v < 256; ++v)
        for (int b = 0; b < 8; ++b)
          if (v & (1 << b)) r[static_cast<size_t>(v)] |= static_cast<uint8_t>(0x80 >> b);
      return r;
    }();
    for (; x + 16 <= width; x += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + x));
      const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_slli_epi64(v, 7)));
      dst[x / 8] = kReversed[m & 0xff];
      dst[x / 8 + 1] = kReversed[m >> 8];
    }
#endif
    for (; x < width; x += 8) {
      const int count = std::min(8, width - x);
      unsigned bits = 0;
      for (int i = 0; i < count; ++i) bits |= static_cast<unsigned>(src[x + i] & 1) << (7 - i);
      dst[x / 8] = static_cast<uint8_t>(bits);
    }
  }
}

int count_runs(const rfb::PixelView& pixels, int limit) {
  return dispatch_bpp(pixels.format.bpp, [&]<class T>() {
    int runs = 0;
    for (int y = 0; y < pixels.height; ++y) {
      const uint8_t* row = pixels.row(y);
      int changes = 1;
      T prev = load_pixel<T>(row);
      for (int x = 1; x < pixels.width; ++x) {
        const T c = load_pixel<T>(row + static_cast<size_t>(x) * sizeof(T));
        changes += c != prev;
        prev = c;
      }
      runs += changes;
      if (runs > limit) return limit + 1;
    }
    return runs;
  });
}

bool is_solid(const rfb::PixelView& pixels, uint32_t* colour) {
  if (pixels.width <= 0 || pixels.height <= 0) return false;
  return dispatch_bpp(pixels.format.bpp, [&]<class T>() {
    const T c = load_pixel<T>(pixels.data);
    // The middle row first: in a block of text it is where the glyphs are.
    const int middle = pixels.height / 2;
    for (int k = 0; k < pixels.height; ++k) {
      const int y = k == 0 ? middle : k <= middle ? k - 1 : k;
      const uint8_t* row = pixels.row(y);
      int x = 0;
      if constexpr (sizeof(T) == 4) {
        uint32_t n = 0, unused = 0;
        x = span_of_two(row, 0, pixels.width, c, c, &n, &unused);
        if (x + 4 <= pixels.width) return false;  // A group of four broke the span.
      }
      for (; x < pixels.width; ++x)
        if (load_pixel<T>(row + x * sizeof(T)) != c) return false;
    }
    if (colour) *colour = c;
    return true;
  });
}

}  // namespace vncd::enc
