#include "encodings/palette.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "encodings/pixels.h"

namespace vncd::enc {

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
        const T c = load_pixel<T>(row + x * sizeof(T));
        int run = 1;
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
    for (int y = 0; y < pixels.height; ++y) {
      const uint8_t* row = pixels.row(y);
      for (int x = 0; x < pixels.width; ++x)
        if (load_pixel<T>(row + x * sizeof(T)) != c) return false;
    }
    if (colour) *colour = c;
    return true;
  });
}

}  // namespace vncd::enc
