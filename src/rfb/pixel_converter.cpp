// Pixel conversion kernels. The converter does all per-format work once, in the constructor
// (tables, shifts, fill, kernel choice), so the per-pixel loops are branch-free and read only
// loop-invariant state; each loop works on a whole row so the compiler can vectorise it.
#include "rfb/pixel_converter.h"

#include <bit>
#include <cassert>
#include <cstring>
#include <type_traits>

namespace vncd::rfb {
namespace {

constexpr bool kHostBigEndian = std::endian::native == std::endian::big;

template <class T>
T byte_swap(T v) {
  if constexpr (sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(v);
  } else {
    static_assert(sizeof(T) == 4);
    return __builtin_bswap32(v);
  }
}

// Reverses the low bytes_per_pixel bytes of a pixel value.
uint32_t swap_pixel(uint32_t v, int bpp) {
  if (bpp == 16) return byte_swap(static_cast<uint16_t>(v));
  if (bpp == 32) return byte_swap(v);
  return v;
}

// Bits of a pixel that carry a colour channel.
uint32_t channel_bits(const PixelFormat& pf) {
  return (uint32_t{pf.red_max} << pf.red_shift) | (uint32_t{pf.green_max} << pf.green_shift) |
         (uint32_t{pf.blue_max} << pf.blue_shift);
}

uint32_t pixel_bits(int bpp) {
  return bpp == 32 ? 0xFFFFFFFFu : (1u << bpp) - 1;
}

// Same memory representation of a colour (depth is informative only; byte order is moot at 8 bpp).
bool same_layout(const PixelFormat& a, const PixelFormat& b) {
  return a.bpp == b.bpp && (a.bpp == 8 || a.big_endian == b.big_endian) && a.red_max == b.red_max &&
         a.green_max == b.green_max && a.blue_max == b.blue_max && a.red_shift == b.red_shift &&
         a.green_shift == b.green_shift && a.blue_shift == b.blue_shift;
}

bool is_byte_aligned_888(const PixelFormat& pf) {
  return pf.bpp == 32 && pf.red_max == 255 && pf.green_max == 255 && pf.blue_max == 255 &&
         pf.red_shift % 8 == 0 && pf.green_shift % 8 == 0 && pf.blue_shift % 8 == 0;
}

// Where the byte holding logical bits [shift, shift+8) of a 32-bit pixel sits in the word a
// host-order load of the stored pixel yields.
uint8_t host_word_shift(uint8_t shift, bool swapped) {
  return static_cast<uint8_t>(swapped ? 24 - shift : shift);
}

// Converts one row of n pixels, out = op(in), loading and storing through memcpy so neither
// pointer needs alignment. GCC 12 at -O2 only vectorises loops with no possible aliasing whose
// trip count is a known multiple of the vector width, so the row goes through fixed-size blocks
// staged in local arrays (which alias nothing), and the last few pixels through a scalar tail.
template <class SrcT, class DstT, class Op>
inline void convert_row(const uint8_t* src, uint8_t* dst, size_t n, Op op) {
  constexpr size_t kBlock = 16;
  size_t x = 0;
  for (; x + kBlock <= n; x += kBlock) {
    SrcT in[kBlock];
    DstT out[kBlock];
    std::memcpy(in, src + x * sizeof(SrcT), sizeof(in));
#pragma GCC unroll 1
    for (size_t i = 0; i < kBlock; ++i) out[i] = op(in[i]);
    std::memcpy(dst + x * sizeof(DstT), out, sizeof(out));
  }
  for (; x < n; ++x) {
    SrcT v;
    std::memcpy(&v, src + x * sizeof(SrcT), sizeof(SrcT));
    const DstT o = op(v);
    std::memcpy(dst + x * sizeof(DstT), &o, sizeof(DstT));
  }
}

// The one rounding rule (see pixel_converter.h).
uint32_t scale_channel(uint32_t v, uint32_t src_max, uint32_t dst_max) {
  return (v * dst_max + src_max / 2) / src_max;
}

}  // namespace

PixelConverter::PixelConverter(const PixelFormat& src, const PixelFormat& dst)
    : src_(src), dst_(dst) {
  assert(src.validate().ok());
  assert(dst.validate().ok());
  assert(src.true_colour && src.red_max <= 255 && src.green_max <= 255 && src.blue_max <= 255);

  const PixelFormat d = dst.colour_map_equivalent();
  const bool src_swap = src.bpp > 8 && src.big_endian != kHostBigEndian;
  swap_ = d.bpp > 8 && d.big_endian != kHostBigEndian;
  if (d.bpp == 32) fill_ = ~channel_bits(d);
  fill_store_ = swap_ ? swap_pixel(fill_, d.bpp) : fill_;

  // Masks are stored as uint8_t so a table index can never leave the table, even if the
  // constructor's precondition was broken in a release build.
  src_red_shift_ = src.red_shift;
  src_green_shift_ = src.green_shift;
  src_blue_shift_ = src.blue_shift;
  src_red_mask_ = static_cast<uint8_t>(src.red_max);
  src_green_mask_ = static_cast<uint8_t>(src.green_max);
  src_blue_mask_ = static_cast<uint8_t>(src.blue_max);

  auto fill_table = [&](std::array<uint32_t, 256>& table, uint8_t smax, uint16_t dmax,
                        uint8_t dshift) {
    for (uint32_t v = 0; v <= smax; ++v) {
      uint32_t bits = scale_channel(v, smax, dmax) << dshift;
      table[v] = swap_ ? swap_pixel(bits, d.bpp) : bits;
    }
  };
  fill_table(red_, src_red_mask_, d.red_max, d.red_shift);
  fill_table(green_, src_green_mask_, d.green_max, d.green_shift);
  fill_table(blue_, src_blue_mask_, d.blue_max, d.blue_shift);

  auto pick = [&](auto src_storage, auto src_swap_tag) -> BlockFn {
    using S = decltype(src_storage);
    constexpr bool kSwap = decltype(src_swap_tag)::value;
    switch (d.bpp) {
      case 8:
        return &table_kernel<S, kSwap, uint8_t>;
      case 16:
        return &table_kernel<S, kSwap, uint16_t>;
      default:
        return &table_kernel<S, kSwap, uint32_t>;
    }
  };
  switch (src.bpp) {
    case 8:
      table_fn_ = pick(uint8_t{}, std::false_type{});
      break;
    case 16:
      table_fn_ =
          src_swap ? pick(uint16_t{}, std::true_type{}) : pick(uint16_t{}, std::false_type{});
      break;
    default:
      table_fn_ =
          src_swap ? pick(uint32_t{}, std::true_type{}) : pick(uint32_t{}, std::false_type{});
      break;
  }

  if (same_layout(src, d)) {
    // A plain copy is exact only if no source bit is left unused (unused destination bits must
    // be 0 at 8/16 bpp); at 32 bpp the fill overwrites every unused bit anyway.
    if (channel_bits(d) == pixel_bits(d.bpp)) {
      kernel_ = Kernel::kCopy;
    } else if (d.bpp == 32) {
      kernel_ = Kernel::kCopyFill;
    } else {
      kernel_ = Kernel::kTable;
    }
  } else if (is_byte_aligned_888(src) && is_byte_aligned_888(d)) {
    kernel_ = Kernel::kShuffle888;
    shuffle_from_ = {host_word_shift(src.red_shift, src_swap),
                     host_word_shift(src.green_shift, src_swap),
                     host_word_shift(src.blue_shift, src_swap)};
    shuffle_to_ = {host_word_shift(d.red_shift, swap_), host_word_shift(d.green_shift, swap_),
                   host_word_shift(d.blue_shift, swap_)};
  } else {
    kernel_ = Kernel::kTable;
  }
}

const char* PixelConverter::kernel_name() const {
  switch (kernel_) {
    case Kernel::kCopy:
      return "copy";
    case Kernel::kCopyFill:
      return "copy+fill";
    case Kernel::kShuffle888:
      return "shuffle888";
    case Kernel::kTable:
      break;
  }
  return "table";
}

uint32_t PixelConverter::convert_pixel(uint32_t src_pixel) const {
  uint32_t out = red_[(src_pixel >> src_red_shift_) & src_red_mask_] |
                 green_[(src_pixel >> src_green_shift_) & src_green_mask_] |
                 blue_[(src_pixel >> src_blue_shift_) & src_blue_mask_] | fill_store_;
  // The tables hold storage order; callers want the logical value.
  return swap_ ? swap_pixel(out, dst_.bpp) : out;
}

void PixelConverter::convert(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride,
                             int w, int h) const {
  assert(w >= 0 && h >= 0);
  if (w <= 0 || h <= 0) return;
  switch (kernel_) {
    case Kernel::kCopy: {
      const size_t row_bytes = static_cast<size_t>(w) * static_cast<size_t>(src_.bytes_per_pixel());
      for (int y = 0; y < h; ++y) {
        std::memcpy(dst + static_cast<size_t>(y) * dst_stride,
                    src + static_cast<size_t>(y) * src_stride, row_bytes);
      }
      return;
    }
    case Kernel::kCopyFill:
      copy_fill_kernel(src, src_stride, dst, dst_stride, w, h);
      return;
    case Kernel::kShuffle888:
      shuffle_kernel(src, src_stride, dst, dst_stride, w, h);
      return;
    case Kernel::kTable:
      table_fn_(*this, src, src_stride, dst, dst_stride, w, h);
      return;
  }
}

template <class SrcT, bool kSwapSrc, class DstT>
void PixelConverter::table_kernel(const PixelConverter& c, const uint8_t* src, size_t src_stride,
                                  uint8_t* dst, size_t dst_stride, int w, int h) {
  const uint32_t* const red = c.red_.data();
  const uint32_t* const green = c.green_.data();
  const uint32_t* const blue = c.blue_.data();
  const unsigned rs = c.src_red_shift_, gs = c.src_green_shift_, bs = c.src_blue_shift_;
  const uint32_t rm = c.src_red_mask_, gm = c.src_green_mask_, bm = c.src_blue_mask_;
  const uint32_t fill = c.fill_store_;
  auto op = [=](SrcT v) {
    if constexpr (kSwapSrc) v = byte_swap(v);
    const uint32_t p = v;
    return static_cast<DstT>(red[(p >> rs) & rm] | green[(p >> gs) & gm] | blue[(p >> bs) & bm] |
                             fill);
  };
  for (int y = 0; y < h; ++y) {
    convert_row<SrcT, DstT>(src + static_cast<size_t>(y) * src_stride,
                            dst + static_cast<size_t>(y) * dst_stride, static_cast<size_t>(w), op);
  }
}

// Byte order on either side is handled by where the shifts point, so one loop serves
// rgb<->bgr and little<->big endian alike; shifts by loop-invariant counts vectorise with SSE2.
void PixelConverter::shuffle_kernel(const uint8_t* src, size_t src_stride, uint8_t* dst,
                                    size_t dst_stride, int w, int h) const {
  const unsigned fr = shuffle_from_[0], fg = shuffle_from_[1], fb = shuffle_from_[2];
  const unsigned tr = shuffle_to_[0], tg = shuffle_to_[1], tb = shuffle_to_[2];
  const uint32_t fill = fill_store_;
  auto op = [=](uint32_t v) {
    return fill | (((v >> fr) & 0xFF) << tr) | (((v >> fg) & 0xFF) << tg) |
           (((v >> fb) & 0xFF) << tb);
  };
  for (int y = 0; y < h; ++y) {
    convert_row<uint32_t, uint32_t>(src + static_cast<size_t>(y) * src_stride,
                                    dst + static_cast<size_t>(y) * dst_stride,
                                    static_cast<size_t>(w), op);
  }
}

void PixelConverter::copy_fill_kernel(const uint8_t* src, size_t src_stride, uint8_t* dst,
                                      size_t dst_stride, int w, int h) const {
  const uint32_t fill = fill_store_;
  auto op = [=](uint32_t v) { return v | fill; };
  for (int y = 0; y < h; ++y) {
    convert_row<uint32_t, uint32_t>(src + static_cast<size_t>(y) * src_stride,
                                    dst + static_cast<size_t>(y) * dst_stride,
                                    static_cast<size_t>(w), op);
  }
}

}  // namespace vncd::rfb
