// Tight encoding: exact bytes for fill, mono, copy and palette rectangles, the compact length,
// the gradient filter and mono packing; lossless round trips through the reference decoder in
// every client format; JPEG quality (PSNR); zlib stream resets and continuity; planner splitting.
#include <zlib.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "encodings/registry.h"
#include "encodings/tight_encoder.h"
#include "encodings/update_planner.h"
#include "support/pixel_reference.h"
#include "support/reference_decoders.h"
#include "support/test_images.h"

namespace vncd::enc {
namespace {

using rfb::ByteBuffer;
using rfb::EncodeContext;
using rfb::EncodeSettings;
using rfb::Frame;
using rfb::PixelConverter;
using rfb::PixelFormat;
using rfb::Rect;
using Method = TightEncoder::Method;

std::vector<uint8_t> bytes_of(const ByteBuffer& b) {
  return {b.data(), b.data() + b.size()};
}

PixelFormat be(PixelFormat pf) {
  pf.big_endian = true;
  return pf;
}
PixelFormat bgr888() {
  PixelFormat pf = PixelFormat::rgb888();
  pf.red_shift = 0;
  pf.blue_shift = 16;
  return pf;
}

// Encodes one rectangle of a native (rgb888) frame for `client`.
ByteBuffer encode_rect(TightEncoder& enc, const Frame& native, const Rect& r,
                       const PixelFormat& client, EncodeSettings settings = {}) {
  PixelConverter conv(native.format(), client);
  ByteBuffer out;
  enc.encode(native.view(r), EncodeContext{client, conv, settings}, out);
  return out;
}
ByteBuffer encode_all(TightEncoder& enc, const Frame& native, const PixelFormat& client,
                      EncodeSettings settings = {}) {
  return encode_rect(enc, native, Rect{0, 0, native.size().width, native.size().height}, client,
                     settings);
}

// Bits of a client pixel that carry colour (unused bits differ legitimately: vncd fills them).
uint32_t colour_mask(const PixelFormat& pf) {
  if (!pf.true_colour) return 0xff;
  return (uint32_t{pf.red_max} << pf.red_shift) | (uint32_t{pf.green_max} << pf.green_shift) |
         (uint32_t{pf.blue_max} << pf.blue_shift);
}

// Number of pixels whose colour bits differ between the decoded framebuffer and `expected`.
int mismatches(const test::ClientFramebuffer& fb, const Frame& expected) {
  const uint32_t mask = colour_mask(fb.format);
  int bad = 0;
  for (int y = 0; y < fb.height; ++y)
    for (int x = 0; x < fb.width; ++x) {
      const uint8_t* want = expected.view().at(x, y);
      const uint8_t* got =
          fb.pixels.data() + static_cast<size_t>(y) * fb.stride +
          static_cast<size_t>(x) * static_cast<size_t>(fb.format.bytes_per_pixel());
      if ((test::ref_load_pixel(want, fb.format) & mask) !=
          (test::ref_load_pixel(got, fb.format) & mask))
        ++bad;
    }
  return bad;
}

// Encodes `native` in pieces of the encoder's limits and decodes them with one decoder (as one
// client would); returns the client's framebuffer. Records the methods used.
test::ClientFramebuffer round_trip(TightEncoder& enc, test::ReferenceDecoder& dec,
                                   const Frame& native, const PixelFormat& client,
                                   EncodeSettings settings, std::vector<Method>* methods = nullptr,
                                   size_t* total_bytes = nullptr) {
  const int w = native.size().width, h = native.size().height;
  test::ClientFramebuffer fb(w, h, client);
  const rfb::EncoderTraits t = enc.traits();
  for (int y = 0; y < h; y += t.max_height)
    for (int x = 0; x < w; x += t.max_width) {
      const Rect r{x, y, std::min(t.max_width, w - x), std::min(t.max_height, h - y)};
      ByteBuffer out = encode_rect(enc, native, r, client, settings);
      if (methods) methods->push_back(enc.last_method());
      if (total_bytes) *total_bytes += out.size();
      rfb::Reader in(out.span());
      Status s = dec.decode(in, r, fb);
      EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message()) << " at " << r.str();
      EXPECT_EQ(in.remaining(), 0u) << "at " << r.str();
    }
  return fb;
}

// PSNR (dB) of the decoded picture against the original rgb888 frame, over 8-bit channels.
double psnr(const test::ClientFramebuffer& fb, const Frame& original) {
  double se = 0;
  const PixelFormat& pf = fb.format;
  for (int y = 0; y < fb.height; ++y)
    for (int x = 0; x < fb.width; ++x) {
      const uint32_t o = test::ref_load_pixel(original.view().at(x, y), original.format());
      const uint32_t d = test::ref_load_pixel(
          fb.pixels.data() + static_cast<size_t>(y) * fb.stride +
              static_cast<size_t>(x) * static_cast<size_t>(pf.bytes_per_pixel()),
          pf);
      const int orig[3] = {static_cast<int>((o >> 16) & 255), static_cast<int>((o >> 8) & 255),
                           static_cast<int>(o & 255)};
      const int dec[3] = {
          static_cast<int>(test::ref_scale((d >> pf.red_shift) & pf.red_max, pf.red_max, 255)),
          static_cast<int>(
              test::ref_scale((d >> pf.green_shift) & pf.green_max, pf.green_max, 255)),
          static_cast<int>(test::ref_scale((d >> pf.blue_shift) & pf.blue_max, pf.blue_max, 255))};
      for (int c = 0; c < 3; ++c) se += (orig[c] - dec[c]) * (orig[c] - dec[c]);
    }
  const double mse = se / (3.0 * fb.width * fb.height);
  return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

// Inflates a complete zlib-flushed block with a fresh stream (for hand-checking payloads).
std::vector<uint8_t> inflate_block(const uint8_t* data, size_t size, size_t expect) {
  z_stream z{};
  EXPECT_EQ(inflateInit(&z), Z_OK);
  std::vector<uint8_t> out(expect + 16);
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  inflate(&z, Z_SYNC_FLUSH);
  const size_t produced = std::min<size_t>(out.size(), out.size() - z.avail_out);
  inflateEnd(&z);
  // A copy of the produced prefix (resize() here trips GCC 12's -Wstringop-overflow under ASan).
  return std::vector<uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(produced));
}

Frame two_colour_4x2() {
  // Row 0: A A B A, row 1: B B A A with A = red, B = blue.
  Frame f({4, 2}, PixelFormat::rgb888());
  const uint32_t a = 0xff0000, b = 0x0000ff;
  const uint32_t px[8] = {a, a, b, a, b, b, a, a};
  for (int i = 0; i < 8; ++i) test::ref_store_pixel(f.mutable_data() + i * 4, f.format(), px[i]);
  return f;
}

// --- Building blocks --------------------------------------------------------------------------

TEST(TightCompactLength, EdgeValues) {
  struct Case {
    size_t value;
    std::vector<uint8_t> bytes;
  };
  const Case cases[] = {
      {0, {0x00}},
      {127, {0x7f}},
      {128, {0x80, 0x01}},
      {10000, {0x90, 0x4e}},  // The spec's own example.
      {16383, {0xff, 0x7f}},
      {16384, {0x80, 0x80, 0x01}},
      {4194303, {0xff, 0xff, 0xff}},
  };
  for (const Case& c : cases) {
    ByteBuffer b;
    tight::write_compact_length(b, c.value);
    EXPECT_EQ(bytes_of(b), c.bytes) << c.value;
    EXPECT_EQ(tight::compact_length_size(c.value), c.bytes.size()) << c.value;
  }
}

TEST(TightGradientFilter, HandComputed2x2) {
  // R,G,B,X pixels: (10,20,30) (12,25,29) / (11,18,40) (200,0,255).
  const uint8_t rgbx[16] = {10, 20, 30, 0, 12, 25, 29, 0, 11, 18, 40, 0, 200, 0, 255, 0};
  uint8_t out[12];
  tight::gradient_filter_rgb24(rgbx, 8, 2, 2, out);
  // (0,0): P = 0. (1,0): P = left. (0,1): P = above.
  // (1,1): P = clamp(left + above - above-left) = (11+12-10, 18+25-20, 40+29-30) = (13, 23, 39).
  const uint8_t want[12] = {10,
                            20,
                            30,
                            2,
                            5,
                            static_cast<uint8_t>(29 - 30),
                            1,
                            static_cast<uint8_t>(18 - 20),
                            10,
                            187,
                            static_cast<uint8_t>(0 - 23),
                            216};
  EXPECT_EQ(std::vector<uint8_t>(out, out + 12), std::vector<uint8_t>(want, want + 12));
}

TEST(TightGradientFilter, PredictionIsClamped) {
  // (1,1): left + above - above-left = 250 + 250 - 0 = 500 -> 255; and 0 + 0 - 250 -> 0.
  const uint8_t rgbx[16] = {0, 250, 0, 0, 250, 0, 0, 0, 250, 0, 0, 0, 255, 3, 3, 0};
  uint8_t out[12];
  tight::gradient_filter_rgb24(rgbx, 8, 2, 2, out);
  EXPECT_EQ(out[9], 0);   // 255 - 255
  EXPECT_EQ(out[10], 3);  // 3 - clamp(0 + 0 - 250) = 3 - 0
  EXPECT_EQ(out[11], 3);  // 3 - clamp(0 + 0 - 0)
}

TEST(TightPackMono, MsbFirstRowsPadded) {
  const uint8_t idx[20] = {1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  uint8_t out[4] = {0xaa, 0xaa, 0xaa, 0xaa};
  tight::pack_mono(idx, 10, 10, 2, out);
  EXPECT_EQ(out[0], 0x81);
  EXPECT_EQ(out[1], 0xc0);  // Bits 8, 9 then padding zeros.
  EXPECT_EQ(out[2], 0x7f);
  EXPECT_EQ(out[3], 0x00);
}

TEST(TightTpixel, Rgb24OnlyForEightBitChannelsAtDepth24) {
  EXPECT_TRUE(tight::uses_rgb24(PixelFormat::rgb888()));
  EXPECT_TRUE(tight::uses_rgb24(be(PixelFormat::rgb888())));
  EXPECT_TRUE(tight::uses_rgb24(bgr888()));
  PixelFormat depth32 = PixelFormat::rgb888();
  depth32.depth = 32;
  EXPECT_FALSE(tight::uses_rgb24(depth32));
  EXPECT_FALSE(tight::uses_rgb24(PixelFormat::rgb565()));
  EXPECT_FALSE(tight::uses_rgb24(PixelFormat::colour_map8()));
}

TEST(TightJpegParams, QualityLevelTableAndFineOverrides) {
  EXPECT_FALSE(tight::jpeg_params({.compress_level = 5, .quality_level = -1}, {}).enabled);
  const int want[10] = {15, 29, 41, 42, 62, 77, 79, 86, 92, 100};
  for (int q = 0; q < 10; ++q) {
    tight::JpegParams p = tight::jpeg_params({.compress_level = -1, .quality_level = q}, {});
    EXPECT_TRUE(p.enabled);
    EXPECT_EQ(p.quality, want[q]);
    EXPECT_EQ(p.subsampling, q < 3   ? JpegSubsampling::k4X
                             : q < 6 ? JpegSubsampling::k2X
                                     : JpegSubsampling::k1X);
  }
  const int32_t list[] = {7, -512 + 95, -768 + 3, -32 + 1, -768 + 4};
  tight::JpegOptions o = tight::jpeg_options(settings_from_encodings(list));
  EXPECT_EQ(o.fine_quality, 95);
  ASSERT_TRUE(o.subsampling.has_value());
  EXPECT_EQ(*o.subsampling, JpegSubsampling::k4X);  // 8X, the last one, maps to 4X.
  tight::JpegParams p = tight::jpeg_params({.compress_level = -1, .quality_level = 1}, o);
  EXPECT_EQ(p.quality, 95);
  // Fine settings alone do not enable JPEG: the spec requires a JPEG Quality Level.
  EXPECT_FALSE(tight::jpeg_params({}, o).enabled);
  EXPECT_EQ(tight::jpeg_params({.compress_level = -1, .quality_level = 0},
                               tight::JpegOptions{.fine_quality = 0, .subsampling = std::nullopt})
                .quality,
            1);
}

// --- Exact bytes -------------------------------------------------------------------------------

TEST(TightBytes, FillIsThreeByteTpixelForEveryDepth24Layout) {
  const Frame f = test::make_solid(5, 3, 0x12, 0x34, 0x56);
  for (const PixelFormat& pf : {PixelFormat::rgb888(), be(PixelFormat::rgb888()), bgr888()}) {
    TightEncoder enc;
    EXPECT_EQ(bytes_of(encode_all(enc, f, pf)), (std::vector<uint8_t>{0x80, 0x12, 0x34, 0x56}))
        << pf.str();
    EXPECT_EQ(enc.last_method(), Method::kFill);
  }
}

TEST(TightBytes, FillIsClientPixelAt16bpp) {
  const Frame f = test::make_solid(5, 3, 0x12, 0x34, 0x56);
  // 565: r = (0x12*31+127)/255 = 2, g = (0x34*63+127)/255 = 13, b = (0x56*31+127)/255 = 10:
  // 2 << 11 | 13 << 5 | 10 = 0x11aa.
  TightEncoder enc;
  EXPECT_EQ(bytes_of(encode_all(enc, f, PixelFormat::rgb565())),
            (std::vector<uint8_t>{0x80, 0xaa, 0x11}));
  EXPECT_EQ(bytes_of(encode_all(enc, f, be(PixelFormat::rgb565()))),
            (std::vector<uint8_t>{0x80, 0x11, 0xaa}));
}

TEST(TightBytes, SmallMonoRectIsSentUncompressed) {
  TightEncoder enc;
  // Control 0x50: stream 1, read-filter-id; filter 1 (palette); 2 colours; red, blue; rows
  // 0010 -> 0x20 and 1100 -> 0xc0 (2 bytes < 12, so no zlib and no length).
  EXPECT_EQ(
      bytes_of(encode_all(enc, two_colour_4x2(), PixelFormat::rgb888())),
      (std::vector<uint8_t>{0x50, 0x01, 0x01, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0x20, 0xc0}));
  EXPECT_EQ(enc.last_method(), Method::kMono);
  // 565 little endian: red = 0xf800, blue = 0x001f.
  EXPECT_EQ(bytes_of(encode_all(enc, two_colour_4x2(), PixelFormat::rgb565())),
            (std::vector<uint8_t>{0x50, 0x01, 0x01, 0x00, 0xf8, 0x1f, 0x00, 0x20, 0xc0}));
}

TEST(TightBytes, SmallCopyRects) {
  Frame f({3, 1}, PixelFormat::rgb888());
  const uint32_t px[3] = {0xff0000, 0x00ff00, 0x0000ff};
  for (int i = 0; i < 3; ++i) test::ref_store_pixel(f.mutable_data() + i * 4, f.format(), px[i]);
  TightEncoder enc;
  // Three colours in three pixels: no palette; copy filter without a filter byte, stream 0.
  EXPECT_EQ(bytes_of(encode_all(enc, f, PixelFormat::rgb888())),
            (std::vector<uint8_t>{0x00, 0xff, 0, 0, 0, 0xff, 0, 0, 0, 0xff}));
  EXPECT_EQ(enc.last_method(), Method::kCopy);
  // BGR233: red 7 << 0, green 7 << 3, blue 3 << 6.
  EXPECT_EQ(bytes_of(encode_all(enc, f, PixelFormat::bgr233())),
            (std::vector<uint8_t>{0x00, 0x07, 0x38, 0xc0}));
}

TEST(TightBytes, IndexedPaletteHeaderAndIndexes) {
  // 8x4, three colours in vertical stripes: white, black, grey, white, ...
  Frame f({8, 4}, PixelFormat::rgb888());
  const uint32_t colours[3] = {0xffffff, 0x000000, 0x808080};
  std::vector<uint8_t> want_idx;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) {
      test::ref_store_pixel(f.mutable_row(y) + x * 4, f.format(), colours[x % 3]);
      want_idx.push_back(static_cast<uint8_t>(x % 3));
    }
  TightEncoder enc;
  const std::vector<uint8_t> b = bytes_of(encode_all(enc, f, PixelFormat::rgb888()));
  EXPECT_EQ(enc.last_method(), Method::kIndexed);
  const std::vector<uint8_t> head = {0x60, 0x01, 0x02, 0xff, 0xff, 0xff, 0, 0, 0, 0x80, 0x80, 0x80};
  ASSERT_GT(b.size(), head.size() + 1);
  EXPECT_EQ(std::vector<uint8_t>(b.begin(), b.begin() + 12), head);
  // 32 index bytes >= 12: compressed on stream 2, compact length then zlib data.
  const size_t len = b[12];
  ASSERT_LT(len, 128u);
  ASSERT_EQ(b.size(), 13 + len);
  EXPECT_EQ(inflate_block(b.data() + 13, len, 32), want_idx);
}

// --- Round trips ---------------------------------------------------------------------------

struct ImageCase {
  const char* name;
  Frame (*make)();
};
const ImageCase kImages[] = {
    {"ui", [] { return test::make_ui_image(300, 150); }},
    {"photo", [] { return test::make_photo_image(200, 130); }},
    {"gradient", [] { return test::make_gradient(150, 70); }},
    {"solid", [] { return test::make_solid(90, 40, 1, 2, 3); }},
    {"noise", [] { return test::make_noise(64, 64); }},
    {"one_by_one", [] { return test::make_noise(1, 1); }},
    {"odd_17x33", [] { return test::make_photo_image(17, 33); }},
    {"row_65x1", [] { return test::make_noise(65, 1); }},
    {"column_1x65", [] { return test::make_gradient(1, 65); }},
    {"wide_2100x3", [] { return test::make_ui_image(2100, 3); }},
};

using RoundTripParam = std::tuple<test::NamedFormat, size_t>;
class TightRoundTrip : public ::testing::TestWithParam<RoundTripParam> {};

std::string round_trip_name(const ::testing::TestParamInfo<RoundTripParam>& p) {
  return std::get<0>(p.param).name + "_" + kImages[std::get<1>(p.param)].name;
}

TEST_P(TightRoundTrip, LosslessThroughReferenceDecoder) {
  const auto& [fmt, image] = GetParam();
  const Frame native = kImages[image].make();
  const Frame expected = test::convert_frame(native, fmt.format);
  for (int level : {-1, 0, 9}) {
    TightEncoder enc;
    auto dec = test::make_reference_decoder(rfb::encoding::kTight);
    ASSERT_NE(dec, nullptr);
    std::vector<Method> methods;
    test::ClientFramebuffer fb =
        round_trip(enc, *dec, native, fmt.format, {.compress_level = level}, &methods);
    EXPECT_EQ(mismatches(fb, expected), 0) << "level " << level;
    for (Method m : methods) EXPECT_NE(m, Method::kJpeg);
  }
}

INSTANTIATE_TEST_SUITE_P(FormatsAndImages, TightRoundTrip,
                         ::testing::Combine(::testing::ValuesIn(test::test_pixel_formats()),
                                            ::testing::Range<size_t>(0, std::size(kImages))),
                         round_trip_name);

TEST(TightRoundTrip, MethodsFollowContent) {
  TightEncoder enc;
  auto dec = test::make_tight_decoder();
  std::vector<Method> m;
  round_trip(enc, *dec, test::make_solid(64, 64, 9, 9, 9), PixelFormat::rgb888(), {}, &m);
  round_trip(enc, *dec, test::make_photo_image(256, 64), PixelFormat::rgb888(), {}, &m);
  round_trip(enc, *dec, test::make_noise(256, 64), PixelFormat::rgb888(), {}, &m);
  round_trip(enc, *dec, test::make_photo_image(256, 64), PixelFormat::rgb565(), {}, &m);
  EXPECT_EQ(m,
            (std::vector<Method>{Method::kFill, Method::kGradient, Method::kCopy, Method::kCopy}));
}

TEST(TightRoundTrip, GradientBeatsPlainDeflateOnPhotos) {
  const Frame photo = test::make_photo_image(512, 64, 7);
  TightEncoder enc;
  const ByteBuffer b = encode_all(enc, photo, PixelFormat::rgb888(), {.compress_level = 6});
  ASSERT_EQ(enc.last_method(), Method::kGradient);
  // The same pixels as plain R,G,B through deflate at the same zlib level (raw level 5 for 6).
  std::vector<uint8_t> rgb;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 512; ++x) {
      const uint32_t v = test::ref_load_pixel(photo.view().at(x, y), photo.format());
      rgb.insert(rgb.end(), {static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                             static_cast<uint8_t>(v)});
    }
  ZlibStream z(5);
  ByteBuffer plain;
  z.compress(rgb, plain);
  std::printf("photo 512x64: gradient %zu bytes, plain deflate %zu bytes\n", b.size(),
              plain.size());
  EXPECT_LT(b.size(), plain.size() * 9 / 10);
}

TEST(TightRoundTrip, FullHdThroughPlanner) {
  const EncoderRegistry registry = EncoderRegistry::builtin();
  for (const PixelFormat& pf : {PixelFormat::rgb888(), PixelFormat::rgb565()}) {
    UpdatePlanner planner(registry);
    const int32_t encs[] = {rfb::encoding::kTight};
    planner.set_encodings(encs);
    const Frame frame = test::make_ui_image(1920, 1080, 3);
    planner.set_formats(frame.format(), pf);
    ByteBuffer out;
    const size_t n =
        planner
            .write_update(frame,
                          UpdateContent{rfb::Region(Rect{0, 0, 1920, 1080}), {}, std::nullopt}, out)
            .rects;
    // At least one 1920-wide strip per 64 rows; solid areas the planner takes out add a few.
    EXPECT_GE(n, (1080u + 63) / 64);
    EXPECT_LT(n, 200u);
    test::ReferenceClient client(1920, 1080, pf);
    rfb::Reader in(out.span());
    Status s = client.decode_update(in);
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(in.remaining(), 0u);
    EXPECT_EQ(mismatches(client.fb, test::convert_frame(frame, pf)), 0);
    std::printf("1920x1080 UI in %s: %zu bytes (%.3f bytes/pixel)\n", pf.str().c_str(), out.size(),
                static_cast<double>(out.size()) / (1920.0 * 1080.0));
  }
}

TEST(TightRoundTrip, VeryWideSolidIsSplitAndDoesNotOverflow) {
  const EncoderRegistry registry = EncoderRegistry::builtin();
  UpdatePlanner planner(registry);
  const int32_t encs[] = {rfb::encoding::kTight};
  planner.set_encodings(encs);
  const Frame frame = test::make_solid(65535, 1, 0xaa, 0xbb, 0xcc);
  planner.set_formats(frame.format(), PixelFormat::rgb888());
  ByteBuffer out;
  const size_t n =
      planner
          .write_update(frame, UpdateContent{rfb::Region(Rect{0, 0, 65535, 1}), {}, std::nullopt},
                        out)
          .rects;
  EXPECT_EQ(n, 32u);  // ceil(65535 / 2048)
  // Header 4 + 32 * (12 + 4 bytes of fill).
  EXPECT_EQ(out.size(), 4u + 32u * 16u);
  test::ReferenceClient client(65535, 1, PixelFormat::rgb888());
  rfb::Reader in(out.span());
  ASSERT_TRUE(client.decode_update(in).ok());
  EXPECT_EQ(mismatches(client.fb, frame), 0);
}

// --- JPEG ----------------------------------------------------------------------------------

TEST(TightJpeg, PsnrPerQualityLevel) {
  const Frame photo = test::make_photo_image(256, 256, 5);
  double prev = 0;
  size_t prev_bytes = 0;
  for (int q : {0, 5, 9}) {
    TightEncoder enc;
    auto dec = test::make_tight_decoder();
    std::vector<Method> m;
    size_t bytes = 0;
    test::ClientFramebuffer fb = round_trip(enc, *dec, photo, PixelFormat::rgb888(),
                                            {.compress_level = -1, .quality_level = q}, &m, &bytes);
    for (Method x : m) EXPECT_EQ(x, Method::kJpeg);
    const double db = psnr(fb, photo);
    std::printf("photo 256x256 JPEG quality level %d: %.2f dB, %zu bytes\n", q, db, bytes);
    EXPECT_GT(db, prev);
    EXPECT_GT(bytes, prev_bytes);
    prev = db;
    prev_bytes = bytes;
    const double floor_db = q == 9 ? 30.0 : q == 5 ? 25.0 : 20.0;
    EXPECT_GE(db, floor_db) << "quality level " << q;
  }
}

TEST(TightJpeg, EveryTrueColourLayoutAt16And32Bits) {
  const Frame photo = test::make_photo_image(128, 64, 11);
  for (const PixelFormat& pf : {PixelFormat::rgb888(), be(PixelFormat::rgb888()), bgr888(),
                                PixelFormat::rgb565(), be(PixelFormat::rgb565())}) {
    TightEncoder enc;
    auto dec = test::make_tight_decoder();
    std::vector<Method> m;
    test::ClientFramebuffer fb =
        round_trip(enc, *dec, photo, pf, {.compress_level = -1, .quality_level = 8}, &m);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0], Method::kJpeg) << pf.str();
    EXPECT_GE(psnr(fb, photo), 30.0) << pf.str();
  }
}

TEST(TightJpeg, NotUsedWhereTheSpecOrSizeRulesItOut) {
  const Frame photo = test::make_photo_image(64, 64, 2);
  const EncodeSettings q5{.compress_level = -1, .quality_level = 5};
  for (const PixelFormat& pf : {PixelFormat::bgr233(), PixelFormat::colour_map8()}) {
    TightEncoder enc;
    encode_all(enc, photo, pf, q5);
    EXPECT_NE(enc.last_method(), Method::kJpeg) << pf.str();
  }
  TightEncoder enc;
  encode_rect(enc, photo, Rect{0, 0, 31, 32}, PixelFormat::rgb888(), q5);  // 992 < 1024 pixels.
  EXPECT_NE(enc.last_method(), Method::kJpeg);
  encode_all(enc, test::make_ui_image(64, 64), PixelFormat::rgb888(), q5);  // Few colours.
  EXPECT_NE(enc.last_method(), Method::kJpeg);
  encode_all(enc, photo, PixelFormat::rgb888(), q5);
  EXPECT_EQ(enc.last_method(), Method::kJpeg);
}

TEST(TightJpeg, FineQualityAndSubsamplingOverrideTheLevel) {
  const Frame photo = test::make_photo_image(128, 64, 4);
  const EncodeSettings q0{.compress_level = -1, .quality_level = 0};
  TightEncoder coarse;
  const size_t coarse_bytes = encode_all(coarse, photo, PixelFormat::rgb888(), q0).size();
  TightEncoder fine;
  fine.set_jpeg_options({.fine_quality = 95, .subsampling = JpegSubsampling::k1X});
  auto dec = test::make_tight_decoder();
  test::ClientFramebuffer fb = round_trip(fine, *dec, photo, PixelFormat::rgb888(), q0);
  EXPECT_EQ(fine.last_method(), Method::kJpeg);
  EXPECT_GE(psnr(fb, photo), 35.0);
  EXPECT_GT(encode_all(fine, photo, PixelFormat::rgb888(), q0).size(), coarse_bytes * 2);
  TightEncoder gray;
  gray.set_jpeg_options({.fine_quality = -1, .subsampling = JpegSubsampling::kGray});
  auto dec2 = test::make_tight_decoder();
  test::ClientFramebuffer g = round_trip(gray, *dec2, photo, PixelFormat::rgb888(), q0);
  // Grey: every decoded pixel has R == G == B.
  for (int i = 0; i < 128 * 64; ++i) {
    const uint32_t v = test::ref_load_pixel(g.pixels.data() + i * 4, g.format);
    EXPECT_EQ((v >> 16) & 255, (v >> 8) & 255);
    EXPECT_EQ((v >> 8) & 255, v & 255);
  }
}

// --- zlib streams ----------------------------------------------------------------------------

TEST(TightStreams, KeptAcrossRectangles) {
  const Frame ui = test::make_photo_image(128, 32, 9);  // 12 KiB filtered: in one window.
  TightEncoder enc;
  const ByteBuffer first = encode_all(enc, ui, PixelFormat::rgb888());
  const ByteBuffer second = encode_all(enc, ui, PixelFormat::rgb888());
  ASSERT_EQ(enc.last_method(), Method::kGradient);  // Zlib stream 3.
  EXPECT_EQ(first.data()[0] & 0x0f, 0);             // No resets requested.
  // The second copy refers back into the first through the shared dictionary.
  EXPECT_LT(second.size(), first.size() / 4);

  const Rect r{0, 0, 128, 32};
  auto dec = test::make_tight_decoder();
  test::ClientFramebuffer fb(128, 32, PixelFormat::rgb888());
  rfb::Reader in1(first.span()), in2(second.span());
  ASSERT_TRUE(dec->decode(in1, r, fb).ok());
  fb.pixels.assign(fb.pixels.size(), 0);
  ASSERT_TRUE(dec->decode(in2, r, fb).ok());
  EXPECT_EQ(mismatches(fb, ui), 0);

  // A decoder that did not see the first rectangle cannot decode the second.
  auto fresh = test::make_tight_decoder();
  test::ClientFramebuffer fb2(128, 32, PixelFormat::rgb888());
  rfb::Reader in3(second.span());
  const Status s = fresh->decode(in3, r, fb2);
  EXPECT_TRUE(!s.ok() || mismatches(fb2, ui) > 0);
}

// Large photo (gradient) and noise (copy) blocks go through deflate without its match search;
// the stream switches strategy between rectangles and must stay one valid stream for the client.
TEST(TightStreams, HuffmanOnlyBlocksInterleavedWithMatchedOnesDecodeExactly) {
  const Frame photo = test::make_photo_image(1024, 64, 4);      // 192 KiB filtered: Huffman only.
  const Frame noise = test::make_noise(1024, 64, 5);            // Sampled incompressible.
  const Frame small_photo = test::make_photo_image(96, 32, 6);  // In one window: matched.
  const Frame ui = test::make_ui_image(256, 64, 7);
  for (const PixelFormat& client : {PixelFormat::rgb888(), PixelFormat::rgb565()}) {
    SCOPED_TRACE(client.str());
    TightEncoder enc;
    auto dec = test::make_tight_decoder();
    // Twice round, so each stream carries on from a block of the other strategy.
    for (int round = 0; round < 2; ++round) {
      for (const Frame* f : {&photo, &small_photo, &noise, &ui, &photo, &noise, &small_photo}) {
        const int w = f->size().width, h = f->size().height;
        const ByteBuffer out = encode_all(enc, *f, client);
        test::ClientFramebuffer fb(w, h, client);
        rfb::Reader in(out.span());
        const Status st = dec->decode(in, Rect{0, 0, w, h}, fb);
        ASSERT_TRUE(st.ok()) << st.error().message();
        EXPECT_EQ(in.remaining(), 0u);
        EXPECT_EQ(mismatches(fb, test::convert_frame(*f, client)), 0);
        if (f == &noise) {
          EXPECT_EQ(enc.last_method(), Method::kCopy);
          // Huffman-only never costs more than stored blocks plus a little.
          const size_t raw =
              static_cast<size_t>(w * h) *
              (client.bpp == 32 ? 3u : static_cast<size_t>(client.bytes_per_pixel()));
          EXPECT_LT(out.size(), raw + raw / 50);
        }
        if (f == &photo && client.bpp == 32) {
          EXPECT_EQ(enc.last_method(), Method::kGradient);
        }
      }
    }
  }
}

// Terminal-like text in three colours (dark background, grey and green lines): a palette block,
// 8-bit indexes.
Frame make_three_colour_text(int w, int h, uint32_t seed) {
  Frame f({w, h}, PixelFormat::rgb888());
  std::mt19937 rng(seed);
  for (int y = 0; y < h; ++y) {
    const uint32_t ink = (y / 15) % 3 == 1 ? 0x0078dc78u : 0x00d2d2d2u;
    for (int x = 0; x < w; ++x) {
      const bool on = y % 15 < 13 && ((x / 9) * 7 + y) % 5 != 0 && rng() % 3 == 0;
      const uint32_t px = on ? ink : 0x00101010u;
      std::memcpy(f.mutable_row(y) + static_cast<size_t>(x) * 4, &px, 4);
    }
  }
  return f;
}

// Two-colour text in 1-bit rows (a mono block).
Frame make_two_colour_text(int w, int h, uint32_t seed) {
  Frame f({w, h}, PixelFormat::rgb888());
  std::mt19937 rng(seed);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint32_t px = y % 15 < 13 && rng() % 3 == 0 ? 0x00d2d2d2u : 0x00101010u;
      std::memcpy(f.mutable_row(y) + static_cast<size_t>(x) * 4, &px, 4);
    }
  return f;
}

// Palette blocks (indexes and 1-bit rows) at compression levels 1 to 3 go through vncd's own
// lazy deflate instead of zlib, with the stream's history as zlib has it (at 4, zlib): one valid
// stream, whose repeats of recent rectangles cost next to nothing.
TEST(TightStreams, PaletteBlocksThroughTheLazyCoderDecodeExactly) {
  const Frame big = make_three_colour_text(1024, 64, 3);  // 64 KiB of indexes.
  const Frame small = make_three_colour_text(64, 30, 4);
  const Frame mono = make_two_colour_text(256, 30, 5);
  for (int level = 1; level <= 4; ++level) {
    SCOPED_TRACE(level);
    TightEncoder enc;
    auto dec = test::make_tight_decoder();
    std::vector<size_t> sizes;
    for (const Frame* f : {&big, &small, &small, &big, &mono, &mono, &big, &small}) {
      const int w = f->size().width, h = f->size().height;
      const ByteBuffer out = encode_all(enc, *f, PixelFormat::rgb888(), {.compress_level = level});
      EXPECT_EQ(enc.last_method(), f == &mono ? Method::kMono : Method::kIndexed);
      test::ClientFramebuffer fb(w, h, PixelFormat::rgb888());
      rfb::Reader in(out.span());
      const Status st = dec->decode(in, Rect{0, 0, w, h}, fb);
      ASSERT_TRUE(st.ok()) << st.error().message();
      EXPECT_EQ(in.remaining(), 0u);
      EXPECT_EQ(mismatches(fb, *f), 0);
      if (f == &big) {
        EXPECT_LT(out.size(), static_cast<size_t>(w * h) / 4);
      }
      sizes.push_back(out.size());
    }
    EXPECT_LT(sizes[5] * 4, sizes[4]) << "the repeated mono block refers back";
    // Indexes find less of their repeat: positions inside long matches (runs, rows repeating
    // the row above) are not hashed, so the search reaches the copy only between them.
    EXPECT_LT(sizes[2], sizes[1]) << "the repeated small block refers back";
  }
}

// Which stream each kind of data uses: by kind alone (TightVNC's mapping); as lane i of two,
// 2i for palette indexes and 2i + 1 for the rest (1-bit rows among it); as lane i of three or
// four, stream i. A lane's first rectangle
// resets exactly its streams, and a client decoding both lanes' rectangles in any interleaving
// (one decoder, as the planner sends them) gets the picture.
TEST(TightStreams, EachLaneKeepsToItsOwnStreams) {
  const Frame indexed = make_three_colour_text(1024, 64, 5);  // Through deflate_lazy at level 3.
  const Frame mono = make_two_colour_text(1024, 32, 6);
  const EncodeSettings level3{.compress_level = 3};
  auto stream_of = [](const ByteBuffer& b) { return (b.data()[0] >> 4) & 3; };
  struct Case {
    int lanes;
    int lane_mono[4], lane_indexed[4];
    uint8_t resets[4];
  };
  const Case cases[] = {{1, {1}, {2}, {0x0f}},
                        {2, {1, 3}, {0, 2}, {0x03, 0x0c}},
                        {3, {0, 1, 2}, {0, 1, 2}, {0x01, 0x02, 0x04}},
                        {4, {0, 1, 2, 3}, {0, 1, 2, 3}, {0x01, 0x02, 0x04, 0x08}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.lanes);
    std::vector<TightEncoder> lanes(static_cast<size_t>(c.lanes));
    auto dec = test::make_tight_decoder();
    for (int round = 0; round < 3; ++round) {
      for (int l = 0; l < c.lanes; ++l) {
        TightEncoder& enc = lanes[static_cast<size_t>(l)];
        if (round == 0 && c.lanes > 1) enc.set_lane(l, c.lanes);
        bool first = round == 0 && c.lanes > 1;
        for (const Frame* f : {&mono, &indexed, &indexed, &mono}) {
          const ByteBuffer out = encode_all(enc, *f, PixelFormat::rgb888(), level3);
          const bool is_mono = f == &mono;
          ASSERT_EQ(enc.last_method(), is_mono ? Method::kMono : Method::kIndexed);
          EXPECT_EQ(stream_of(out), is_mono ? c.lane_mono[l] : c.lane_indexed[l]);
          EXPECT_EQ(out.data()[0] & 0x0f, first ? c.resets[l] : 0);
          first = false;
          const int w = f->size().width, h = f->size().height;
          test::ClientFramebuffer fb(w, h, PixelFormat::rgb888());
          rfb::Reader in(out.span());
          const Status st = dec->decode(in, Rect{0, 0, w, h}, fb);
          ASSERT_TRUE(st.ok()) << st.error().message();
          EXPECT_EQ(mismatches(fb, *f), 0);
        }
      }
    }
  }
}

TEST(TightStreams, ResetIsSignalledAndRestartsTheDictionary) {
  const Frame ui = test::make_ui_image(200, 64, 9);
  TightEncoder enc;
  const ByteBuffer first = encode_all(enc, ui, PixelFormat::rgb888());
  enc.reset_streams();
  const ByteBuffer after_reset = encode_all(enc, ui, PixelFormat::rgb888());
  TightEncoder fresh;
  const ByteBuffer from_fresh = encode_all(fresh, ui, PixelFormat::rgb888());
  ASSERT_EQ(after_reset.size(), from_fresh.size());
  EXPECT_EQ(after_reset.data()[0], from_fresh.data()[0] | 0x0f);
  EXPECT_TRUE(std::equal(after_reset.data() + 1, after_reset.data() + after_reset.size(),
                         from_fresh.data() + 1));
  // The flag is sent once.
  EXPECT_EQ(encode_all(enc, ui, PixelFormat::rgb888()).data()[0] & 0x0f, 0);

  // Decoding first, then the reset rectangle, with one decoder: the decoder resets too.
  auto dec = test::make_tight_decoder();
  test::ClientFramebuffer fb(200, 64, PixelFormat::rgb888());
  rfb::Reader in1(first.span()), in2(after_reset.span());
  ASSERT_TRUE(dec->decode(in1, Rect{0, 0, 200, 64}, fb).ok());
  const Status s = dec->decode(in2, Rect{0, 0, 200, 64}, fb);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(mismatches(fb, ui), 0);

  // Resets ride on any method, fill included (rfbproto.rst NOTE1).
  enc.reset_streams();
  EXPECT_EQ(bytes_of(encode_all(enc, test::make_solid(4, 4, 1, 2, 3), PixelFormat::rgb888())),
            (std::vector<uint8_t>{0x8f, 1, 2, 3}));
}

// --- Decoder robustness -------------------------------------------------------------------

TEST(TightDecoder, RejectsMalformedInput) {
  const Rect r{0, 0, 8, 8};
  auto fails = [&](std::vector<uint8_t> bytes, const PixelFormat& pf = PixelFormat::rgb888()) {
    auto dec = test::make_tight_decoder();
    test::ClientFramebuffer fb(8, 8, pf);
    rfb::Reader in(bytes);
    return !dec->decode(in, r, fb).ok();
  };
  EXPECT_TRUE(fails({}));
  EXPECT_TRUE(fails({0x80, 1, 2}));                                         // Short fill colour.
  EXPECT_TRUE(fails({0xb0}));                                               // Invalid method 1011.
  EXPECT_TRUE(fails({0x40, 3}));                                            // Unknown filter.
  EXPECT_TRUE(fails({0x50, 1, 1, 0, 0, 0, 1, 1, 1}));                       // Mono, missing data.
  EXPECT_TRUE(fails({0x60, 1, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 5, 1, 2, 3}));  // Bad zlib.
  EXPECT_TRUE(fails({0x90, 0x80}));                                         // Short compact length.
  EXPECT_TRUE(fails({0x90, 0x05, 1, 2, 3, 4, 5}));                          // Not a JPEG.
  EXPECT_TRUE(fails({0x90, 0x01, 0}, PixelFormat::bgr233()));               // JPEG at 8 bpp.
  EXPECT_TRUE(fails({0x40, 2}, PixelFormat::bgr233()));                     // Gradient at 8 bpp.
  // Wider than 2048 pixels.
  auto dec = test::make_tight_decoder();
  test::ClientFramebuffer wide(2049, 1, PixelFormat::rgb888());
  const uint8_t fill[] = {0x80, 1, 2, 3};
  rfb::Reader in(fill);
  EXPECT_FALSE(dec->decode(in, Rect{0, 0, 2049, 1}, wide).ok());
}

TEST(TightDecoder, EveryTruncationFailsCleanly) {
  const Frame ui = test::make_ui_image(96, 40, 4), photo = test::make_photo_image(64, 32, 4);
  const EncodeSettings q5{.compress_level = -1, .quality_level = 5};
  struct Piece {
    const Frame* frame;
    EncodeSettings settings;
  };
  for (const Piece& p : {Piece{&ui, {}}, Piece{&photo, {}}, Piece{&photo, q5}}) {
    TightEncoder enc;
    const std::vector<uint8_t> full =
        bytes_of(encode_all(enc, *p.frame, PixelFormat::rgb888(), p.settings));
    const Rect r{0, 0, p.frame->size().width, p.frame->size().height};
    for (size_t n = 0; n < full.size(); n += 1 + full.size() / 200) {
      auto dec = test::make_tight_decoder();
      test::ClientFramebuffer fb(r.w, r.h, PixelFormat::rgb888());
      rfb::Reader in(std::span<const uint8_t>(full.data(), n));
      EXPECT_FALSE(dec->decode(in, r, fb).ok()) << "prefix " << n << " of " << full.size();
    }
  }
}

}  // namespace
}  // namespace vncd::enc
