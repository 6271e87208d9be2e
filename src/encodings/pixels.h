// Pixel storage helpers for encoders: load/store one pixel of 1, 2 or 4 bytes as an opaque value
// in the buffer's own byte order (equality and copying need no byte swapping). Header-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "rfb/frame.h"

namespace vncd::enc {

// The storage type of a pixel of `bpp` bits.
template <int Bpp>
using PixelT =
    std::conditional_t<Bpp == 8, uint8_t, std::conditional_t<Bpp == 16, uint16_t, uint32_t>>;

template <class T>
inline T load_pixel(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
inline void store_pixel(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// Calls f.template operator()<T>() with T the storage type for `bpp` (8, 16 or 32): the one place
// that turns a run-time bpp into a template argument.
template <class F>
decltype(auto) dispatch_bpp(int bpp, F&& f) {
  switch (bpp) {
    case 8:
      return f.template operator()<uint8_t>();
    case 16:
      return f.template operator()<uint16_t>();
    default:
      return f.template operator()<uint32_t>();
  }
}

}  // namespace vncd::enc
