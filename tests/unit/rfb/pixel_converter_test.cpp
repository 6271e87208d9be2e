// PixelConverter: every kernel against the slow reference (tests/support/pixel_reference) over
// a table of source and destination formats, plus kernel choice, fill, rounding and colour map.
#include "rfb/pixel_converter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "support/pixel_reference.h"

namespace vncd::rfb {
namespace {

using test::ref_convert;
using test::ref_convert_pixel;
using test::ref_load_pixel;

PixelFormat make(uint8_t bpp, uint8_t depth, bool big_endian, uint16_t rmax, uint16_t gmax,
                 uint16_t bmax, uint8_t rs, uint8_t gs, uint8_t bs) {
  return PixelFormat{.bpp = bpp,
                     .depth = depth,
                     .big_endian = big_endian,
                     .true_colour = true,
                     .red_max = rmax,
                     .green_max = gmax,
                     .blue_max = bmax,
                     .red_shift = rs,
                     .green_shift = gs,
                     .blue_shift = bs};
}

PixelFormat big_endian(PixelFormat pf) {
  pf.big_endian = true;
  return pf;
}

struct NamedFormat {
  const char* name;
  PixelFormat pf;
};

// Capture formats: channel maxima <= 255.
const std::vector<NamedFormat>& sources() {
  static const std::vector<NamedFormat> v = {
      {"rgb888le", PixelFormat::rgb888()},
      {"rgb888be", big_endian(PixelFormat::rgb888())},
      {"bgr888be", make(32, 24, true, 255, 255, 255, 0, 8, 16)},
      {"bgr888le", make(32, 24, false, 255, 255, 255, 0, 8, 16)},
      {"rgbx8888be", make(32, 24, true, 255, 255, 255, 24, 16, 8)},
      {"rgb565le", PixelFormat::rgb565()},
      {"rgb565be", big_endian(PixelFormat::rgb565())},
      {"rgb555le", make(16, 15, false, 31, 31, 31, 10, 5, 0)},
      {"bgr233", PixelFormat::bgr233()},
  };
  return v;
}

const std::vector<NamedFormat>& destinations() {
  static const std::vector<NamedFormat> v = {
      {"rgb888le", PixelFormat::rgb888()},
      {"rgb888be", big_endian(PixelFormat::rgb888())},
      {"bgr888le", make(32, 24, false, 255, 255, 255, 0, 8, 16)},
      {"s0_8_16be", make(32, 24, true, 255, 255, 255, 0, 8, 16)},
      {"s8_16_24le", make(32, 24, false, 255, 255, 255, 8, 16, 24)},
      {"s8_16_24be", make(32, 24, true, 255, 255, 255, 8, 16, 24)},
      {"s24_16_8le", make(32, 24, false, 255, 255, 255, 24, 16, 8)},
      {"s24_16_4le", make(32, 24, false, 255, 255, 255, 24, 16, 4)},  // 888 off byte boundaries
      {"s24_16_4be", make(32, 24, true, 255, 255, 255, 24, 16, 4)},
      {"rgb565le", PixelFormat::rgb565()},
      {"rgb565be", big_endian(PixelFormat::rgb565())},
      {"rgb555le", make(16, 15, false, 31, 31, 31, 10, 5, 0)},
      {"rgb555be", make(16, 15, true, 31, 31, 31, 10, 5, 0)},
      {"rgb444le", make(16, 12, false, 15, 15, 15, 8, 4, 0)},
      {"gappy444be", make(16, 12, true, 15, 15, 15, 12, 6, 0)},
      {"bgr233", PixelFormat::bgr233()},
      {"rgb111", make(8, 3, false, 1, 1, 1, 2, 1, 0)},
      {"colourmap8", PixelFormat::colour_map8()},
      {"colourmap8be", big_endian(PixelFormat::colour_map8())},
      {"rgb10le", make(32, 30, false, 1023, 1023, 1023, 20, 10, 0)},
      {"rgb10be", make(32, 30, true, 1023, 1023, 1023, 20, 10, 0)},
      {"r16g8b8le", make(32, 32, false, 65535, 255, 255, 16, 8, 0)},
      {"scattered565be", make(32, 16, true, 31, 63, 31, 27, 13, 2)},
  };
  return v;
}

TEST(PixelConverterFormats, TableFormatsAreValid) {
  for (const auto& f : sources()) EXPECT_TRUE(f.pf.validate().ok()) << f.name;
  for (const auto& f : destinations()) EXPECT_TRUE(f.pf.validate().ok()) << f.name;
}

// Compares two destination buffers pixel by pixel and names the first difference.
::testing::AssertionResult same_bytes(const std::vector<uint8_t>& got,
                                      const std::vector<uint8_t>& want, size_t dst_stride,
                                      size_t bytes_pp) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size differs";
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      return ::testing::AssertionFailure()
             << "first difference at byte " << i << " (row " << i / dst_stride << ", pixel "
             << (i % dst_stride) / bytes_pp << "): got " << int{got[i]} << " want " << int{want[i]};
    }
  }
  return ::testing::AssertionSuccess();
}

class PixelConverterVsReference
    : public ::testing::TestWithParam<std::tuple<NamedFormat, NamedFormat>> {
 protected:
  const PixelFormat& src() const { return std::get<0>(GetParam()).pf; }
  const PixelFormat& dst() const { return std::get<1>(GetParam()).pf; }
};

// Random blocks at odd widths, strides longer than a row (so padding must stay untouched) and
// unaligned start addresses.
TEST_P(PixelConverterVsReference, ConvertMatchesReference) {
  const PixelConverter conv(src(), dst());
  const size_t sb = static_cast<size_t>(src().bytes_per_pixel());
  const size_t db = static_cast<size_t>(dst().bytes_per_pixel());
  std::mt19937 rng(20240611);
  for (int w : {1, 3, 17, 33, 64}) {
    for (int h : {1, 5}) {
      for (size_t misalign : {0, 1, 3}) {
        for (size_t pad : {0, 5, 13}) {
          SCOPED_TRACE("w=" + std::to_string(w) + " h=" + std::to_string(h) +
                       " misalign=" + std::to_string(misalign) + " pad=" + std::to_string(pad));
          const size_t src_stride = static_cast<size_t>(w) * sb + pad;
          const size_t dst_stride = static_cast<size_t>(w) * db + pad + 2;
          std::vector<uint8_t> in(misalign + static_cast<size_t>(h) * src_stride);
          for (auto& b : in) b = static_cast<uint8_t>(rng());
          std::vector<uint8_t> got(misalign + static_cast<size_t>(h) * dst_stride + 8, 0xA5);
          std::vector<uint8_t> want = got;
          conv.convert(in.data() + misalign, src_stride, got.data() + misalign, dst_stride, w, h);
          ref_convert(in.data() + misalign, src_stride, src(), want.data() + misalign, dst_stride,
                      dst(), w, h);
          ASSERT_TRUE(same_bytes(got, want, dst_stride, db)) << "kernel " << conv.kernel_name();
        }
      }
    }
  }
}

// 8- and 16-bit sources: every possible source pixel, as one long row.
TEST_P(PixelConverterVsReference, EverySmallSourcePixel) {
  if (src().bpp > 16) {
    // 2^32 pixels is too many; the random blocks above cover 32-bit sources. Still check that
    // the source really is one of those, so this branch cannot hide a small format.
    EXPECT_EQ(src().bpp, 32);
    return;
  }
  const PixelConverter conv(src(), dst());
  const int n = 1 << src().bpp;
  const size_t sb = static_cast<size_t>(src().bytes_per_pixel());
  const size_t db = static_cast<size_t>(dst().bytes_per_pixel());
  std::vector<uint8_t> in(static_cast<size_t>(n) * sb);
  for (int i = 0; i < n; ++i) test::ref_store_pixel(&in[static_cast<size_t>(i) * sb], src(), i);
  std::vector<uint8_t> got(static_cast<size_t>(n) * db, 0x5A), want = got;
  conv.convert(in.data(), in.size(), got.data(), got.size(), n, 1);
  ref_convert(in.data(), in.size(), src(), want.data(), want.size(), dst(), n, 1);
  EXPECT_TRUE(same_bytes(got, want, got.size(), db)) << "kernel " << conv.kernel_name();
}

TEST_P(PixelConverterVsReference, ConvertPixelMatchesReference) {
  const PixelConverter conv(src(), dst());
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    // Garbage above bpp and in unused bits must be ignored.
    const uint32_t v = static_cast<uint32_t>(rng());
    ASSERT_EQ(conv.convert_pixel(v), ref_convert_pixel(v, src(), dst()))
        << std::hex << "pixel 0x" << v;
  }
}

// convert_pixel() promises the logical value: storing it in the destination's byte order gives
// exactly what convert() writes.
TEST_P(PixelConverterVsReference, ConvertPixelAgreesWithConvert) {
  const PixelConverter conv(src(), dst());
  const size_t sb = static_cast<size_t>(src().bytes_per_pixel());
  const size_t db = static_cast<size_t>(dst().bytes_per_pixel());
  std::mt19937 rng(99);
  std::vector<uint8_t> in(sb), out(db), stored(db);
  for (int i = 0; i < 200; ++i) {
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    conv.convert(in.data(), sb, out.data(), db, 1, 1);
    test::ref_store_pixel(stored.data(), dst(),
                          conv.convert_pixel(ref_load_pixel(in.data(), src())));
    ASSERT_EQ(out, stored);
  }
}

TEST_P(PixelConverterVsReference, EmptyBlockWritesNothing) {
  const PixelConverter conv(src(), dst());
  std::vector<uint8_t> in(64, 0x11), out(64, 0x22);
  conv.convert(in.data(), 16, out.data(), 16, 0, 4);
  conv.convert(in.data(), 16, out.data(), 16, 4, 0);
  EXPECT_EQ(out, std::vector<uint8_t>(64, 0x22));
}

TEST_P(PixelConverterVsReference, RemembersFormats) {
  const PixelConverter conv(src(), dst());
  EXPECT_EQ(conv.source(), src());
  EXPECT_EQ(conv.destination(), dst());
}

INSTANTIATE_TEST_SUITE_P(
    Formats, PixelConverterVsReference,
    ::testing::Combine(::testing::ValuesIn(sources()), ::testing::ValuesIn(destinations())),
    [](const ::testing::TestParamInfo<std::tuple<NamedFormat, NamedFormat>>& p) {
      return std::string(std::get<0>(p.param).name) + "_to_" + std::get<1>(p.param).name;
    });

struct KernelCase {
  PixelFormat src, dst;
  const char* kernel;
};

TEST(PixelConverterKernel, ChoosesTheFastestExactKernel) {
  const PixelFormat rgb888 = PixelFormat::rgb888();
  const PixelFormat rgb555 = make(16, 15, false, 31, 31, 31, 10, 5, 0);
  const PixelFormat rgb888_depth32 = make(32, 32, false, 255, 255, 255, 16, 8, 0);
  const std::vector<KernelCase> cases = {
      {rgb888, rgb888, "copy+fill"},
      {rgb888, rgb888_depth32, "copy+fill"},  // depth is informative only
      {big_endian(rgb888), big_endian(rgb888), "copy+fill"},
      {PixelFormat::rgb565(), PixelFormat::rgb565(), "copy"},
      {PixelFormat::bgr233(), PixelFormat::bgr233(), "copy"},
      {PixelFormat::bgr233(), big_endian(PixelFormat::bgr233()), "copy"},  // 8 bpp: no order
      {PixelFormat::bgr233(), PixelFormat::colour_map8(), "copy"},
      {rgb555, rgb555, "table"},  // the unused top bit must be cleared, not copied
      {rgb888, big_endian(rgb888), "shuffle888"},
      {rgb888, make(32, 24, false, 255, 255, 255, 0, 8, 16), "shuffle888"},
      {rgb888, make(32, 24, true, 255, 255, 255, 8, 16, 24), "shuffle888"},
      {big_endian(rgb888), rgb888, "shuffle888"},
      {rgb888, PixelFormat::rgb565(), "table"},
      {rgb888, big_endian(PixelFormat::rgb565()), "table"},
      {rgb888, PixelFormat::bgr233(), "table"},
      {rgb888, PixelFormat::colour_map8(), "table"},
      {rgb888, make(32, 30, false, 1023, 1023, 1023, 20, 10, 0), "table"},
      {PixelFormat::rgb565(), rgb888, "table"},
      {PixelFormat::rgb565(), big_endian(PixelFormat::rgb565()), "table"},
  };
  for (const KernelCase& c : cases) {
    EXPECT_STREQ(PixelConverter(c.src, c.dst).kernel_name(), c.kernel)
        << c.src.str() << " -> " << c.dst.str();
  }
}

// Hand-computed bytes, so the reference itself is checked against arithmetic done by a person.
TEST(PixelConverterExact, KnownPixels) {
  // rgb888 LE pixel r=0xFF g=0x80 b=0x00, garbage in the unused byte.
  const uint8_t px[4] = {0x00, 0x80, 0xFF, 0x3C};
  struct Want {
    PixelFormat dst;
    std::vector<uint8_t> bytes;
  };
  const std::vector<Want> wants = {
      {PixelFormat::rgb888(), {0x00, 0x80, 0xFF, 0xFF}},              // fill = alpha 0xFF
      {big_endian(PixelFormat::rgb888()), {0xFF, 0xFF, 0x80, 0x00}},  // 0xFFFF8000 BE
      {make(32, 24, false, 255, 255, 255, 8, 16, 24), {0xFF, 0xFF, 0x80, 0x00}},
      // g = (128 * 63 + 127) / 255 = 32: 0xF800 | 32 << 5 = 0xFC00.
      {PixelFormat::rgb565(), {0x00, 0xFC}},
      {big_endian(PixelFormat::rgb565()), {0xFC, 0x00}},
      // g = (128 * 7 + 127) / 255 = 4: 7 | 4 << 3 = 0x27.
      {PixelFormat::bgr233(), {0x27}},
      {PixelFormat::colour_map8(), {0x27}},
      // r = 1023, g = (128 * 1023 + 127) / 255 = 514 = 0x202; 0x3FF << 20 | 0x202 << 10 | 3 << 30.
      {make(32, 30, false, 1023, 1023, 1023, 20, 10, 0), {0x00, 0x08, 0xF8, 0xFF}},
      // r = 65535, g = 0x80, b = 0: 0xFFFF8000, no unused bits.
      {make(32, 32, false, 65535, 255, 255, 16, 8, 0), {0x00, 0x80, 0xFF, 0xFF}},
  };
  for (const Want& w : wants) {
    std::vector<uint8_t> got(w.bytes.size()), ref(w.bytes.size());
    PixelConverter(PixelFormat::rgb888(), w.dst).convert(px, 4, got.data(), got.size(), 1, 1);
    ref_convert(px, 4, PixelFormat::rgb888(), ref.data(), ref.size(), w.dst, 1, 1);
    EXPECT_EQ(got, w.bytes) << w.dst.str();
    EXPECT_EQ(ref, w.bytes) << "reference, " << w.dst.str();
  }
}

// The rounding rule gives the nearest destination level, down-scaling and up-scaling.
TEST(PixelConverterExact, ScalingRoundsToNearest) {
  const PixelConverter down(PixelFormat::rgb888(), PixelFormat::rgb565());
  const PixelConverter up(PixelFormat::rgb565(), PixelFormat::rgb888());
  for (uint32_t v = 0; v < 256; ++v) {
    const uint32_t r5 = down.convert_pixel(v << 16) >> 11;
    const uint32_t g6 = (down.convert_pixel(v << 8) >> 5) & 63;
    // |k/31 - v/255| <= 1/(2*31), i.e. 2|255k - 31v| <= 255.
    EXPECT_LE(2 * std::abs(static_cast<int>(255 * r5) - static_cast<int>(31 * v)), 255) << v;
    EXPECT_LE(2 * std::abs(static_cast<int>(255 * g6) - static_cast<int>(63 * v)), 255) << v;
  }
  for (uint32_t k = 0; k < 32; ++k) {
    const uint32_t r8 = (up.convert_pixel(k << 11) >> 16) & 255;
    EXPECT_LE(2 * std::abs(static_cast<int>(31 * r8) - static_cast<int>(255 * k)), 31) << k;
  }
  EXPECT_EQ(up.convert_pixel(0xFFFF), 0xFFFFFFFFu);
  EXPECT_EQ(up.convert_pixel(0), 0xFF000000u);
}

// Colour-map clients: a converted pure colour is the index of the nearest fixed_colour_map()
// entry (squared distance in 16-bit channel space).
TEST(PixelConverterColourMap, PureColoursPickNearestMapEntry) {
  const auto& map = fixed_colour_map();
  const PixelConverter conv(PixelFormat::rgb888(), PixelFormat::colour_map8());
  auto distance = [&](uint32_t index, uint32_t r, uint32_t g, uint32_t b) {
    auto sq = [](int64_t d) { return d * d; };
    return sq(int64_t{map[index].r} - r * 257) + sq(int64_t{map[index].g} - g * 257) +
           sq(int64_t{map[index].b} - b * 257);
  };
  auto check = [&](uint32_t r, uint32_t g, uint32_t b) {
    const uint32_t index = conv.convert_pixel(r << 16 | g << 8 | b);
    ASSERT_LT(index, 256u);
    int64_t best = distance(0, r, g, b);
    for (uint32_t i = 1; i < 256; ++i) best = std::min(best, distance(i, r, g, b));
    EXPECT_EQ(distance(index, r, g, b), best) << "rgb " << r << "," << g << "," << b;
    uint8_t px[4] = {static_cast<uint8_t>(b), static_cast<uint8_t>(g), static_cast<uint8_t>(r), 0};
    uint8_t out = 0;
    conv.convert(px, 4, &out, 1, 1, 1);
    EXPECT_EQ(out, index);
  };
  for (uint32_t v = 0; v < 256; ++v) {
    check(v, 0, 0);
    check(0, v, 0);
    check(0, 0, v);
    check(v, v, v);
    check(v, v, 0);
    check(0, v, v);
    check(v, 0, v);
  }
  EXPECT_EQ(conv.convert_pixel(0x000000), 0u);
  EXPECT_EQ(conv.convert_pixel(0xFF0000), 7u);
  EXPECT_EQ(conv.convert_pixel(0x00FF00), 7u << 3);
  EXPECT_EQ(conv.convert_pixel(0x0000FF), 3u << 6);
  EXPECT_EQ(conv.convert_pixel(0xFFFFFF), 255u);
}

}  // namespace
}  // namespace vncd::rfb
