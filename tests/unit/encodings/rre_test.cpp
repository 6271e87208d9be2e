// RRE and CoRRE: exact bytes for small hand-checked rectangles, the subrectangle search, the size
// estimate the planner uses, malformed input to the reference decoders, and round trips through
// the reference decoders in every test pixel format on every test image.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "encodings/rre_encoder.h"
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

Bytes bytes_of(const ByteBuffer& b) {
  return Bytes(b.data(), b.data() + b.size());
}

// A w x h frame of 8-bit pixels (BGR233), row by row.
Frame frame8(int w, int h, const Bytes& px) {
  Frame f({w, h}, PixelFormat::bgr233());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) f.mutable_row(y)[x] = px[static_cast<size_t>(y * w + x)];
  return f;
}

// A w x h frame of 32-bit little-endian pixels filled with `bg`.
Frame frame32(int w, int h, uint32_t bg) {
  Frame f({w, h}, PixelFormat::rgb888());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = f.mutable_row(y) + x * 4;
      for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(bg >> (8 * i));
    }
  return f;
}

void set32(Frame& f, int x, int y, uint32_t v) {
  uint8_t* p = f.mutable_row(y) + x * 4;
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

Bytes encode(rfb::Encoder& enc, const rfb::PixelView& v) {
  const rfb::PixelConverter conv(PixelFormat::rgb888(), v.format);
  ByteBuffer out;
  enc.encode(v, rfb::EncodeContext{v.format, conv, {}}, out);
  return bytes_of(out);
}

// Encodes `frame` (already in the client format) in pieces of at most max_w x max_h, as the
// planner would split it, decodes each piece with the reference decoder for the encoder's
// encoding into a framebuffer pre-filled with garbage, and compares every pixel.
::testing::AssertionResult round_trips(rfb::Encoder& enc, const Frame& frame, int max_w,
                                       int max_h) {
  const PixelFormat& pf = frame.format();
  const rfb::PixelConverter conv(PixelFormat::rgb888(), pf);
  auto decoder = test::make_reference_decoder(enc.encoding());
  if (!decoder) return ::testing::AssertionFailure() << "no reference decoder";
  test::ClientFramebuffer fb(frame.size().width, frame.size().height, pf);
  std::fill(fb.pixels.begin(), fb.pixels.end(), uint8_t{0xa5});
  for (int y = 0; y < frame.size().height; y += max_h) {
    for (int x = 0; x < frame.size().width; x += max_w) {
      const Rect r{x, y, std::min(max_w, frame.size().width - x),
                   std::min(max_h, frame.size().height - y)};
      ByteBuffer out;
      enc.encode(frame.view(r), rfb::EncodeContext{pf, conv, {}}, out);
      rfb::Reader in(out.span());
      if (Status s = decoder->decode(in, r, fb); !s)
        return ::testing::AssertionFailure() << r.str() << ": " << s.error().message();
      if (in.remaining() != 0)
        return ::testing::AssertionFailure()
               << r.str() << ": " << in.remaining() << " bytes left over";
    }
  }
  for (int y = 0; y < frame.size().height; ++y)
    if (std::memcmp(fb.at(0, y), frame.data() + frame.stride() * static_cast<size_t>(y),
                    frame.stride()) != 0)
      return ::testing::AssertionFailure() << "row " << y << " differs";
  return ::testing::AssertionSuccess();
}

TEST(Rre, TraitsAndEncodings) {
  RreEncoder rre;
  CoRreEncoder corre;
  EXPECT_EQ(rre.encoding(), rfb::encoding::kRRE);
  EXPECT_EQ(corre.encoding(), rfb::encoding::kCoRRE);
  EXPECT_EQ(rre.traits().max_width, 0);
  EXPECT_EQ(corre.traits().max_width, 255);
  EXPECT_EQ(corre.traits().max_height, 255);
  EXPECT_FALSE(rre.traits().lossy);
  EXPECT_EQ(rre.traits().input, rfb::EncoderTraits::Input::kClientFormat);
}

TEST(Rre, SquareOn32bppExactBytes) {
  Frame f = frame32(4, 3, 0x00112233);
  for (int y = 1; y < 3; ++y)
    for (int x = 1; x < 3; ++x) set32(f, x, y, 0x00ff0000);
  RreEncoder rre;
  // Count 1, background (LE bytes), then <pixel, x, y, w, h> with U16 coordinates.
  EXPECT_EQ(encode(rre, f.view()), (Bytes{0, 0, 0, 1, 0x33, 0x22, 0x11, 0, 0, 0, 0xff, 0,  //
                                          0, 1, 0, 1, 0,    2,    0,    2}));
  CoRreEncoder corre;
  EXPECT_EQ(encode(corre, f.view()),
            (Bytes{0, 0, 0, 1, 0x33, 0x22, 0x11, 0, 0, 0, 0xff, 0, 1, 1, 2, 2}));
}

TEST(Rre, SolidIsBackgroundOnly) {
  Frame f = frame32(5, 7, 0xdeadbeef);
  RreEncoder rre;
  EXPECT_EQ(encode(rre, f.view()), (Bytes{0, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde}));
}

TEST(Rre, LShapeTakesColumnThenRow) {
  // 4x4, colour 5 down column 0 and along row 3; 9 background pixels beat 7.
  const Frame f = frame8(4, 4,
                         {5, 0, 0, 0,  //
                          5, 0, 0, 0,  //
                          5, 0, 0, 0,  //
                          5, 5, 5, 5});
  RreEncoder rre;
  EXPECT_EQ(encode(rre, f.view()), (Bytes{0, 0, 0, 2, 0,              //
                                          5, 0, 0, 0, 0, 0, 1, 0, 4,  //
                                          5, 0, 1, 0, 3, 0, 3, 0, 1}));
}

TEST(Rre, PrefersTheLargerOfRowFirstAndColumnFirst) {
  // Row-first from (0,0) would give 2x1; column-first gives 1x3, so 2 subrectangles not 3.
  const Frame f = frame8(3, 3,
                         {7, 7, 0,  //
                          7, 0, 0,  //
                          7, 0, 0});
  CoRreEncoder corre;
  EXPECT_EQ(encode(corre, f.view()), (Bytes{0, 0, 0, 2, 0, 7, 0, 0, 1, 3, 7, 1, 0, 1, 1}));
}

TEST(Rre, BackgroundIsMostFrequentEvenBeyond256Colours) {
  // 600 distinct colours once each, and colour 0x4242 three times near the end: more colours
  // than a palette holds, fewer pixels than the sample, so the count is exact.
  Frame f({603, 1}, PixelFormat::rgb565());
  for (int x = 0; x < 603; ++x) {
    const uint16_t v = x < 600 ? static_cast<uint16_t>(1000 + x) : uint16_t{0x4242};
    std::memcpy(f.mutable_row(0) + x * 2, &v, 2);
  }
  EXPECT_EQ(most_frequent_colour(f.view()), 0x4242u);
  RreEncoder rre;
  const Bytes b = encode(rre, f.view());
  ASSERT_GE(b.size(), 6u);
  EXPECT_EQ((Bytes{b[0], b[1], b[2], b[3]}), (Bytes{0, 0, 0x02, 0x58}));  // 600 subrectangles.
  EXPECT_EQ(b[4], 0x42);
  EXPECT_EQ(b[5], 0x42);
}

TEST(Rre, BackgroundOfALargeManyColourRectangleIsTheDominantColour) {
  // 1000x1000 noise (far more pixels than the sample) with a third of the rows one colour.
  Frame f = test::make_noise(1000, 1000, 7);
  for (int y = 0; y < 1000; y += 3)
    for (int x = 0; x < 1000; ++x) set32(f, x, y, 0x00c0ffee);
  EXPECT_EQ(most_frequent_colour(f.view()), 0x00c0ffeeu);
}

TEST(Rre, FindSubrectsStopsAtTheLimit) {
  const Frame f = test::make_noise(32, 32);
  std::vector<Subrect> out;
  std::vector<uint8_t> scratch;
  EXPECT_FALSE(find_subrects(f.view(), 0, 10, out, scratch));
  out.clear();
  EXPECT_TRUE(find_subrects(f.view(), 0, SIZE_MAX, out, scratch));
  EXPECT_GT(out.size(), 10u);
  // The subrectangles are inside, solid, disjoint and cover every non-background pixel.
  std::vector<int> hits(32 * 32, 0);
  for (const Subrect& s : out) {
    ASSERT_TRUE((Rect{0, 0, 32, 32}.contains(Rect{s.x, s.y, s.w, s.h})));
    for (int y = s.y; y < s.y + s.h; ++y)
      for (int x = s.x; x < s.x + s.w; ++x) {
        uint32_t v;
        std::memcpy(&v, f.view().at(x, y), 4);
        EXPECT_EQ(v, s.colour);
        ++hits[static_cast<size_t>(y * 32 + x)];
      }
  }
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(Rre, EncodedSizeMatchesAndHonoursTheLimit) {
  const Frame f = test::convert_frame(test::make_ui_image(120, 80), PixelFormat::rgb565());
  RreEncoder rre;
  const size_t actual = encode(rre, f.view()).size();
  EXPECT_EQ(rre.encoded_size(f.view()), std::optional<size_t>(actual));
  EXPECT_EQ(rre.encoded_size(f.view(), actual), std::optional<size_t>(actual));
  EXPECT_EQ(rre.encoded_size(f.view(), actual - 1), std::nullopt);
  EXPECT_EQ(rre.encoded_size(f.view(), 3), std::nullopt);
  CoRreEncoder corre;
  const Frame small = test::convert_frame(test::make_ui_image(60, 40), PixelFormat::rgb565());
  EXPECT_EQ(corre.encoded_size(small.view()),
            std::optional<size_t>(encode(corre, small.view()).size()));
  // Noise is far larger than Raw: the planner can tell cheaply.
  const Frame noise = test::make_noise(64, 64);
  EXPECT_EQ(rre.encoded_size(noise.view(), 64 * 64 * 4), std::nullopt);
}

TEST(Rre, WideRectanglesDoNotOverflow) {
  Frame solid = test::make_solid(65535, 1, 1, 2, 3);
  RreEncoder rre;
  EXPECT_EQ(encode(rre, solid.view()), (Bytes{0, 0, 0, 0, 3, 2, 1, 0}));
  EXPECT_TRUE(round_trips(rre, solid, 65535, 65535));
  // Alternating pixels: 32767 subrectangles with x up to 65533.
  Frame stripes({65535, 1}, PixelFormat::bgr233());
  for (int x = 0; x < 65535; ++x) stripes.mutable_row(0)[x] = static_cast<uint8_t>(x & 1);
  const Bytes b = encode(rre, stripes.view());
  EXPECT_EQ(b.size(), rre_payload_size(32767, 1, 2));
  EXPECT_EQ((Bytes{b[0], b[1], b[2], b[3], b[4]}), (Bytes{0, 0, 0x7f, 0xff, 0}));
  EXPECT_TRUE(round_trips(rre, stripes, 65535, 65535));
  Frame tall = test::make_noise(1, 65535);
  EXPECT_TRUE(round_trips(rre, tall, 65535, 65535));
}

TEST(RreDecoder, RejectsMalformedInput) {
  auto rre = test::make_reference_decoder(rfb::encoding::kRRE);
  auto corre = test::make_reference_decoder(rfb::encoding::kCoRRE);
  ASSERT_TRUE(rre && corre);
  test::ClientFramebuffer fb(8, 8, PixelFormat::bgr233());
  auto decode = [&](test::ReferenceDecoder& d, const Bytes& b, Rect r = Rect{0, 0, 4, 4}) {
    rfb::Reader in(b);
    return d.decode(in, r, fb).ok();
  };
  EXPECT_TRUE(decode(*rre, {0, 0, 0, 1, 0, 9, 0, 3, 0, 3, 0, 1, 0, 1}));
  EXPECT_FALSE(decode(*rre, {0, 0, 0, 1, 0, 9, 0, 3, 0, 3, 0, 2, 0, 1}));  // Past the right.
  EXPECT_FALSE(decode(*rre, {0, 0, 0, 1, 0, 9, 0, 3, 0, 3, 0, 1, 0}));     // Short.
  EXPECT_FALSE(decode(*rre, {0xff, 0xff, 0xff, 0xff, 0}));                 // Huge count.
  EXPECT_FALSE(decode(*rre, {0, 0, 0}));
  EXPECT_FALSE(decode(*rre, {0, 0, 0, 0, 0}, Rect{6, 6, 4, 4}));  // Outside the framebuffer.
  EXPECT_TRUE(decode(*corre, {0, 0, 0, 1, 0, 9, 2, 2, 2, 2}));
  EXPECT_FALSE(decode(*corre, {0, 0, 0, 1, 0, 9, 2, 3, 2, 2}));
  // Every truncation of a valid payload fails cleanly.
  const Frame f = test::make_ui_image(40, 30);
  RreEncoder enc;
  const Bytes full = encode(enc, f.view());
  test::ClientFramebuffer big(40, 30, f.format());
  for (size_t n = 0; n < full.size(); ++n) {
    rfb::Reader in(std::span<const uint8_t>(full.data(), n));
    EXPECT_FALSE(rre->decode(in, Rect{0, 0, 40, 30}, big).ok()) << n;
  }
}

// Round trips: every test format x every test image, RRE whole and CoRRE in 255x255 pieces.
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
    {"corre_split_300x270", [] { return test::make_ui_image(300, 270, 5); }},
    {"desktop_1920x1080", [] { return test::make_ui_image(1920, 1080); }},
};

class RreRoundTrip
    : public ::testing::TestWithParam<std::tuple<test::NamedFormat, const ImageCase*>> {};

TEST_P(RreRoundTrip, DecodesToTheSamePixels) {
  const auto& [format, image] = GetParam();
  const Frame frame = test::convert_frame(image->make(), format.format);
  RreEncoder rre;
  EXPECT_TRUE(round_trips(rre, frame, 65535, 65535));
  CoRreEncoder corre;
  EXPECT_TRUE(round_trips(corre, frame, 255, 255));
}

std::vector<const ImageCase*> image_cases() {
  std::vector<const ImageCase*> v;
  for (const ImageCase& c : kImages) v.push_back(&c);
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllFormats, RreRoundTrip,
                         ::testing::Combine(::testing::ValuesIn(test::test_pixel_formats()),
                                            ::testing::ValuesIn(image_cases())),
                         [](const auto& p) {
                           return std::get<0>(p.param).name + "_" + std::get<1>(p.param)->name;
                         });

}  // namespace
}  // namespace vncd::enc
