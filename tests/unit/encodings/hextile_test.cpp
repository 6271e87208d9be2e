// Hextile: exact bytes for solid, two-colour, multi-colour, raw and partial tiles and for the
// carrying of background and foreground between tiles; malformed input to the reference
// decoder; round trips through it in every test pixel format on every test image.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "encodings/hextile_encoder.h"
#include "rfb/pixel_converter.h"
#include "support/reference_decoders.h"
#include "support/test_images.h"

namespace vncd::enc {
namespace {

using rfb::ByteBuffer;
using rfb::Frame;
using rfb::PixelFormat;
using rfb::Rect;
using Bytes = std::vector<uint8_t>;

// A w x h frame of 8-bit (BGR233) pixels all `bg`.
Frame frame8(int w, int h, uint8_t bg) {
  Frame f({w, h}, PixelFormat::bgr233());
  std::fill(f.mutable_data(), f.mutable_data() + f.stride() * static_cast<size_t>(h), bg);
  return f;
}

void set8(Frame& f, int x, int y, uint8_t v) {
  f.mutable_row(y)[x] = v;
}

// A w x h frame of 32-bit little-endian pixels all `bg`.
Frame frame32(int w, int h, uint32_t bg) {
  Frame f({w, h}, PixelFormat::rgb888());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int i = 0; i < 4; ++i) f.mutable_row(y)[x * 4 + i] = static_cast<uint8_t>(bg >> (8 * i));
  return f;
}

void set32(Frame& f, int x, int y, uint32_t v) {
  for (int i = 0; i < 4; ++i) f.mutable_row(y)[x * 4 + i] = static_cast<uint8_t>(v >> (8 * i));
}

Bytes encode(const Frame& f) {
  const rfb::PixelConverter conv(PixelFormat::rgb888(), f.format());
  HextileEncoder enc;
  ByteBuffer out;
  enc.encode(f.view(), rfb::EncodeContext{f.format(), conv, {}}, out);
  return Bytes(out.data(), out.data() + out.size());
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes all;
  for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

TEST(Hextile, Traits) {
  HextileEncoder enc;
  EXPECT_EQ(enc.encoding(), rfb::encoding::kHextile);
  EXPECT_FALSE(enc.traits().lossy);
  EXPECT_EQ(enc.traits().max_width, 0);
  EXPECT_EQ(enc.traits().input, rfb::EncoderTraits::Input::kClientFormat);
}

TEST(Hextile, SolidTileSendsBackgroundOnly) {
  EXPECT_EQ(encode(frame32(16, 16, 0x00123456)), (Bytes{0x02, 0x56, 0x34, 0x12, 0x00}));
}

TEST(Hextile, SecondSolidTileOfTheSameColourIsOneZeroByte) {
  EXPECT_EQ(encode(frame32(32, 16, 0x00123456)), (Bytes{0x02, 0x56, 0x34, 0x12, 0x00, 0x00}));
}

TEST(Hextile, TwoColourTileUsesForegroundAndPlainSubrects) {
  Frame f = frame32(16, 16, 0x00000010);
  for (int y = 5; y < 8; ++y)
    for (int x = 4; x < 6; ++x) set32(f, x, y, 0x00ff00ff);
  // 2|4|8, background, foreground, one subrectangle at (4,5) of 2x3: 0x45, (1<<4)|2.
  EXPECT_EQ(encode(f), (Bytes{0x0e, 0x10, 0, 0, 0, 0xff, 0, 0xff, 0, 0x01, 0x45, 0x12}));
}

TEST(Hextile, MultiColourTileUsesColouredSubrects) {
  Frame f = frame8(16, 16, 1);
  set8(f, 0, 0, 2);
  set8(f, 15, 15, 3);
  // 2|8|16, background, two <pixel, xy, wh>.
  EXPECT_EQ(encode(f), (Bytes{0x1a, 1, 2, 2, 0x00, 0x00, 3, 0xff, 0x00}));
}

TEST(Hextile, BusyTileIsRaw) {
  Frame f({4, 4}, PixelFormat::bgr233());
  for (int i = 0; i < 16; ++i) set8(f, i % 4, i / 4, static_cast<uint8_t>(i));
  Bytes expected{0x01};
  for (int i = 0; i < 16; ++i) expected.push_back(static_cast<uint8_t>(i));
  EXPECT_EQ(encode(f), expected);
}

TEST(Hextile, BusyTileOfThreeColoursIsRawWithoutASubrectSearch) {
  // 32-bit pixels: raw is 1025 bytes. Two colours alternate in every row, a third fills the
  // last row: 241 runs of 256 (over 75%), so Raw, although 128 coloured subrectangles (6 bytes
  // each, 768 in all) would have been smaller.
  Frame f = frame32(16, 16, 1);
  for (int y = 0; y < 15; ++y)
    for (int x = 0; x < 16; ++x) set32(f, x, y, (x + y) % 2 ? 0x00aa00 : 1);
  for (int x = 0; x < 16; ++x) set32(f, x, 15, 0x0000ff);
  const Bytes got = encode(f);
  ASSERT_EQ(got.size(), 1025u);
  EXPECT_EQ(got[0], hextile::kRaw);
}

TEST(Hextile, BusyTwoColourTileStillUsesSubrects) {
  // 32-bit checkerboard: 128 two-byte subrectangles beat 1024 raw bytes whatever the runs.
  Frame f = frame32(16, 16, 1);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      if ((x + y) % 2) set32(f, x, y, 0x00aa00);
  const Bytes got = encode(f);
  EXPECT_EQ(got[0],
            hextile::kBackgroundSpecified | hextile::kForegroundSpecified | hextile::kAnySubrects);
  EXPECT_EQ(got.size(), 1u + 4 + 4 + 1 + 128 * 2);
}

TEST(Hextile, TwoColourSubrectsMatchTheGeneralSearch) {
  // Random two-colour tiles of every size 1..16 and several densities, in 8, 16 and 32 bpp: the
  // bit-mask search must give find_subrects' subrectangles exactly, and give up at the same
  // counts.
  std::mt19937 rng(42);
  for (const PixelFormat& pf :
       {PixelFormat::bgr233(), PixelFormat::rgb565(), PixelFormat::rgb888()}) {
    for (int trial = 0; trial < 400; ++trial) {
      const int w = 1 + trial % 16, h = 1 + (trial / 16) % 16;
      const unsigned density = 1 + static_cast<unsigned>(trial % 7);  // In eighths.
      Frame f({w, h}, pf);
      const size_t bytes = static_cast<size_t>(pf.bytes_per_pixel());
      const uint32_t bg = 0x11, fg = 0x2a;
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const uint32_t v = rng() % 8 < density ? fg : bg;
          std::memcpy(f.mutable_row(y) + static_cast<size_t>(x) * bytes, &v, bytes);
        }
      std::vector<Subrect> want, got;
      std::vector<uint8_t> covered;
      const bool want_ok = find_subrects(f.view(), bg, 255, want, covered);
      ASSERT_EQ(find_two_colour_subrects(f.view(), fg, 255, got), want_ok);
      ASSERT_EQ(got.size(), want.size()) << w << "x" << h << " trial " << trial;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].colour, want[i].colour);
        EXPECT_EQ(got[i].x, want[i].x);
        EXPECT_EQ(got[i].y, want[i].y);
        EXPECT_EQ(got[i].w, want[i].w);
        EXPECT_EQ(got[i].h, want[i].h);
      }
      // A limit below the count fails both ways.
      if (!want.empty()) {
        std::vector<Subrect> a, b;
        EXPECT_FALSE(find_two_colour_subrects(f.view(), fg, want.size() - 1, a));
        EXPECT_FALSE(find_subrects(f.view(), bg, want.size() - 1, b, covered));
      }
    }
  }
}

TEST(Hextile, TileAfterRawRespecifiesBackground) {
  Frame f = frame8(20, 4, 7);
  Bytes raw{0x01};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 16; ++x) {
      const uint8_t v = static_cast<uint8_t>(x + 16 * y);
      set8(f, x, y, v);
      raw.push_back(v);
    }
  EXPECT_EQ(encode(f), concat({raw, {0x02, 7}}));
}

TEST(Hextile, TwoColourCheckerboardIsRawWhenSmaller) {
  Frame f = frame8(32, 16, 1);
  Bytes raw{0x01};
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      const uint8_t v = (x + y) % 2 ? 2 : 1;
      set8(f, x, y, v);
      raw.push_back(v);
    }
  // 128 subrectangles (256 bytes) plus colours would exceed the 256 raw bytes.
  EXPECT_EQ(encode(f), concat({raw, {0x02, 1}}));
}

TEST(Hextile, ForegroundCarriesOverASolidTile) {
  Frame f = frame8(48, 16, 0);
  set8(f, 3, 3, 9);
  set8(f, 32 + 5, 6, 9);
  EXPECT_EQ(encode(f), (Bytes{0x0e, 0, 9, 1, 0x33, 0x00,  // Background, foreground, 1 subrect.
                              0x00,                       // Solid, same background.
                              0x08, 1, 0x56, 0x00}));     // Both colours carried over.
}

TEST(Hextile, ForegroundDoesNotCarryOverColouredSubrects) {
  Frame f = frame8(32, 16, 0);
  set8(f, 1, 1, 9);
  set8(f, 2, 2, 8);
  set8(f, 16 + 4, 4, 9);
  EXPECT_EQ(encode(f), (Bytes{0x1a, 0, 2, 9, 0x11, 0x00, 8, 0x22, 0x00,  //
                              0x0c, 9, 1, 0x44, 0x00}));
}

TEST(Hextile, PartialTilesAt17x17) {
  Frame f = frame8(17, 17, 0);
  set8(f, 16, 0, 9);
  // 16x16 solid; 1x16 with one foreground pixel; 16x1 and 1x1 solid in the same background.
  EXPECT_EQ(encode(f), (Bytes{0x02, 0, 0x0c, 9, 1, 0x00, 0x00, 0x00, 0x00}));
  // The same in 32 bpp, solid: every tile after the first is one zero byte.
  EXPECT_EQ(encode(frame32(17, 17, 0x00abcdef)), (Bytes{0x02, 0xef, 0xcd, 0xab, 0, 0, 0, 0}));
}

TEST(Hextile, EqualCountsKeepTheCurrentBackground) {
  Frame f = frame8(32, 16, 4);
  for (int y = 0; y < 16; ++y)
    for (int x = 16; x < 24; ++x) set8(f, x, y, 6);
  // Tile 2 is half 6 (seen first) and half 4: 4 stays the background, 6 is one 8x16 subrect.
  EXPECT_EQ(encode(f), (Bytes{0x02, 4, 0x0c, 6, 1, 0x00, 0x7f}));
}

TEST(Hextile, EncodeTileFollowsTheState) {
  HextileEncoder enc;
  const Frame f = frame8(16, 16, 5);
  HextileTileState state;
  ByteBuffer out;
  enc.encode_tile(f.view(), state, out);
  EXPECT_TRUE(state.background_valid);
  EXPECT_EQ(state.background, 5u);
  enc.encode_tile(f.view(), state, out);
  EXPECT_EQ(Bytes(out.data(), out.data() + out.size()), (Bytes{0x02, 5, 0x00}));
}

TEST(HextileDecoder, RejectsMalformedInput) {
  auto dec = test::make_reference_decoder(rfb::encoding::kHextile);
  ASSERT_TRUE(dec);
  test::ClientFramebuffer fb(64, 64, PixelFormat::bgr233());
  auto decode = [&](const Bytes& b, Rect r = Rect{0, 0, 17, 17}) {
    rfb::Reader in(b);
    return dec->decode(in, r, fb).ok();
  };
  EXPECT_TRUE(decode({0x02, 0, 0x0c, 9, 1, 0x00, 0x00, 0x00, 0x00}));
  EXPECT_FALSE(decode({0x00, 0x00, 0x00, 0x00}));                    // No background yet.
  EXPECT_FALSE(decode({0x0a, 0, 1, 0x00, 0x00, 0, 0, 0}));           // No foreground yet.
  EXPECT_FALSE(decode({0x02, 0, 0x0c, 9, 1, 0x10, 0x00, 0, 0}));     // Subrect outside 1x16.
  EXPECT_FALSE(decode({0x02, 0, 0x0c, 9, 1, 0x01, 0x0f, 0, 0}));     // Too tall for 1x16.
  EXPECT_FALSE(decode({0x16, 0, 9, 0, 0, 0, 0, 0}));                 // Fg with coloured.
  EXPECT_FALSE(decode({0x22, 0, 0, 0, 0}));                          // Unknown bit.
  EXPECT_FALSE(decode({0x01, 0, 0, 0}, Rect{0, 0, 2, 2}));           // Short raw tile.
  EXPECT_FALSE(decode({0x1a, 0, 1, 0x00, 0x00}, Rect{0, 0, 2, 2}));  // Short coloured subrect.
  EXPECT_FALSE(decode({0x02, 0}, Rect{60, 60, 16, 16}));             // Outside the framebuffer.
  // Raw tiles leave the background undefined; coloured subrects the foreground.
  Bytes raw_then_nothing(17, 0);
  raw_then_nothing[0] = 0x01;
  raw_then_nothing.push_back(0x00);
  EXPECT_FALSE(decode(raw_then_nothing, Rect{0, 0, 17, 1}));
  raw_then_nothing.back() = 0x02;
  raw_then_nothing.push_back(0);
  EXPECT_TRUE(decode(raw_then_nothing, Rect{0, 0, 17, 1}));
  EXPECT_FALSE(decode({0x1a, 0, 1, 9, 0x00, 0x00, 0x08, 1, 0x00, 0x00}, Rect{0, 0, 32, 16}));
  EXPECT_TRUE(decode({0x0e, 0, 9, 1, 0x00, 0x00, 0x00, 0x08, 1, 0x00, 0x00}, Rect{0, 0, 48, 16}));
  // Every truncation of a valid payload fails cleanly.
  const Frame img = test::make_ui_image(40, 40);
  const Bytes full = encode(img);
  test::ClientFramebuffer big(40, 40, img.format());
  for (size_t n = 0; n < full.size(); ++n) {
    rfb::Reader in(std::span<const uint8_t>(full.data(), n));
    EXPECT_FALSE(dec->decode(in, Rect{0, 0, 40, 40}, big).ok()) << n;
  }
}

TEST(Hextile, WideRectanglesDoNotOverflow) {
  const Frame f = test::make_solid(65535, 1, 1, 2, 3);
  const Bytes b = encode(f);
  ASSERT_EQ(b.size(), 5u + 4095u);  // First tile 2+pixel, then 4095 tiles of 0.
  EXPECT_EQ((Bytes{b[0], b[1], b[2], b[3], b[4]}), (Bytes{0x02, 3, 2, 1, 0}));
}

// Round trips: every test format x every test image.
struct ImageCase {
  const char* name;
  std::function<Frame()> make;
};

const ImageCase kImages[] = {
    {"ui", [] { return test::make_ui_image(130, 90); }},
    {"photo", [] { return test::make_photo_image(70, 50); }},
    {"gradient", [] { return test::make_gradient(70, 50); }},
    {"solid", [] { return test::make_solid(70, 50, 10, 200, 30); }},
    {"noise", [] { return test::make_noise(40, 30); }},
    {"one_pixel", [] { return test::make_noise(1, 1); }},
    {"odd_17x33", [] { return test::make_ui_image(17, 33, 3); }},
    {"odd_65x1", [] { return test::make_photo_image(65, 1); }},
    {"odd_1x65", [] { return test::make_gradient(1, 65); }},
    {"wide_65535x1", [] { return test::make_photo_image(65535, 1); }},
    {"desktop_1920x1080", [] { return test::make_ui_image(1920, 1080); }},
};

class HextileRoundTrip
    : public ::testing::TestWithParam<std::tuple<test::NamedFormat, const ImageCase*>> {};

TEST_P(HextileRoundTrip, DecodesToTheSamePixels) {
  const auto& [format, image] = GetParam();
  const Frame frame = test::convert_frame(image->make(), format.format);
  const int w = frame.size().width, h = frame.size().height;
  const Bytes payload = encode(frame);

  // Never more than one byte per tile over Raw.
  const size_t tiles = static_cast<size_t>((w + 15) / 16) * static_cast<size_t>((h + 15) / 16);
  EXPECT_LE(payload.size(), frame.stride() * static_cast<size_t>(h) + tiles);

  auto dec = test::make_reference_decoder(rfb::encoding::kHextile);
  ASSERT_TRUE(dec);
  test::ClientFramebuffer fb(w, h, frame.format());
  std::fill(fb.pixels.begin(), fb.pixels.end(), uint8_t{0xa5});
  rfb::Reader in(payload);
  const Status s = dec->decode(in, Rect{0, 0, w, h}, fb);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_TRUE(std::equal(fb.pixels.begin(), fb.pixels.end(), frame.data()));
}

std::vector<const ImageCase*> image_cases() {
  std::vector<const ImageCase*> v;
  for (const ImageCase& c : kImages) v.push_back(&c);
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllFormats, HextileRoundTrip,
                         ::testing::Combine(::testing::ValuesIn(test::test_pixel_formats()),
                                            ::testing::ValuesIn(image_cases())),
                         [](const auto& p) {
                           return std::get<0>(p.param).name + "_" + std::get<1>(p.param)->name;
                         });

}  // namespace
}  // namespace vncd::enc
