// PixelFormat validation and wire form (rfbproto.rst, "SetPixelFormat" / ServerInit).
#include "rfb/pixel_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vncd::rfb {
namespace {

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

TEST(PixelFormatValidate, AcceptsValidFormats) {
  const std::vector<PixelFormat> ok = {
      PixelFormat::rgb888(),
      PixelFormat::rgb565(),
      PixelFormat::bgr233(),
      PixelFormat::colour_map8(),
      make(32, 24, true, 255, 255, 255, 16, 8, 0),
      make(32, 24, false, 255, 255, 255, 8, 16, 24),
      make(16, 15, true, 31, 31, 31, 10, 5, 0),
      make(16, 12, false, 15, 15, 15, 8, 4, 0),
      make(32, 30, false, 1023, 1023, 1023, 20, 10, 0),
      make(32, 32, false, 65535, 255, 255, 16, 8, 0),
      make(8, 3, false, 1, 1, 1, 0, 1, 2),
  };
  for (const PixelFormat& pf : ok) {
    Status s = pf.validate();
    EXPECT_TRUE(s.ok()) << pf.str() << ": " << (s.ok() ? "" : s.error().message());
  }
}

struct Invalid {
  const char* why;
  PixelFormat pf;
  const char* message_part;  // Shows the format was rejected for the intended reason.
};

class PixelFormatInvalid : public ::testing::TestWithParam<Invalid> {};

TEST_P(PixelFormatInvalid, IsRejected) {
  const Invalid& c = GetParam();
  Status s = c.pf.validate();
  ASSERT_FALSE(s.ok()) << c.why << " accepted: " << c.pf.str();
  EXPECT_NE(s.error().message().find(c.message_part), std::string::npos)
      << c.why << ": " << s.error().message();
}

PixelFormat with_bpp(uint8_t bpp) {
  PixelFormat pf = PixelFormat::bgr233();
  pf.bpp = bpp;
  return pf;
}

PixelFormat colour_map_at(uint8_t bpp) {
  PixelFormat pf = PixelFormat::colour_map8();
  pf.bpp = bpp;
  return pf;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PixelFormatInvalid,
    ::testing::Values(
        Invalid{"bpp0", with_bpp(0), "bits-per-pixel"},
        Invalid{"bpp7", with_bpp(7), "bits-per-pixel"},
        Invalid{"bpp24", make(24, 24, false, 255, 255, 255, 16, 8, 0), "bits-per-pixel"},
        Invalid{"bpp33", make(33, 24, false, 255, 255, 255, 16, 8, 0), "bits-per-pixel"},
        Invalid{"depth0", make(32, 0, false, 255, 255, 255, 16, 8, 0), "depth"},
        Invalid{"depth_over_bpp32", make(32, 33, false, 255, 255, 255, 16, 8, 0), "depth"},
        Invalid{"depth_over_bpp16", make(16, 17, false, 31, 63, 31, 11, 5, 0), "depth"},
        Invalid{"red_max6", make(16, 16, false, 6, 63, 31, 11, 5, 0), "red-max 6"},
        Invalid{"green_max0", make(16, 16, false, 31, 0, 31, 11, 5, 0), "green-max 0"},
        Invalid{"blue_max256", make(32, 24, false, 255, 255, 256, 16, 8, 0), "blue-max 256"},
        Invalid{"red_past_bpp32", make(32, 24, false, 255, 255, 255, 25, 8, 0), "outside"},
        Invalid{"blue_past_bpp16", make(16, 16, false, 31, 63, 31, 0, 5, 12), "outside"},
        Invalid{"huge_shift", make(32, 24, false, 255, 255, 255, 16, 8, 200), "outside"},
        Invalid{"overlap_rg", make(32, 24, false, 255, 255, 255, 16, 12, 0), "overlap"},
        Invalid{"overlap_same_shift", make(16, 16, false, 31, 63, 31, 0, 5, 0), "overlap"},
        Invalid{"colour_map16", colour_map_at(16), "colour map"},
        Invalid{"colour_map32", colour_map_at(32), "colour map"}),
    [](const ::testing::TestParamInfo<Invalid>& p) { return std::string(p.param.why); });

TEST(PixelFormatWire, SerializesExactBytes) {
  ByteBuffer out;
  PixelFormat::rgb888().serialize(out);
  const std::vector<uint8_t> want = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
  ASSERT_EQ(out.size(), PixelFormat::kWireSize);
  EXPECT_EQ(std::vector<uint8_t>(out.data(), out.data() + out.size()), want);

  ByteBuffer out2;
  make(16, 15, true, 31, 31, 1023, 10, 5, 0).serialize(out2);
  const std::vector<uint8_t> want2 = {16, 15, 1, 1, 0, 31, 0, 31, 3, 255, 10, 5, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<uint8_t>(out2.data(), out2.data() + out2.size()), want2);

  ByteBuffer out3;
  PixelFormat::colour_map8().serialize(out3);
  const std::vector<uint8_t> want3 = {8, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<uint8_t>(out3.data(), out3.data() + out3.size()), want3);
}

TEST(PixelFormatWire, RoundTrips) {
  const std::vector<PixelFormat> formats = {PixelFormat::rgb888(),
                                            PixelFormat::rgb565(),
                                            PixelFormat::bgr233(),
                                            PixelFormat::colour_map8(),
                                            make(32, 24, true, 255, 255, 255, 0, 8, 16),
                                            make(32, 32, false, 65535, 255, 255, 16, 8, 0),
                                            make(16, 15, true, 31, 31, 31, 10, 5, 0)};
  for (const PixelFormat& pf : formats) {
    ByteBuffer out;
    pf.serialize(out);
    ASSERT_EQ(out.size(), PixelFormat::kWireSize);
    Reader r(out.span());
    PixelFormat back = PixelFormat::parse(r);
    EXPECT_EQ(back, pf) << pf.str() << " came back as " << back.str();
    EXPECT_EQ(r.consumed(), PixelFormat::kWireSize);
  }
}

TEST(PixelFormatWire, ParseIgnoresPaddingAndTreatsNonZeroFlagsAsTrue) {
  const uint8_t bytes[] = {16, 16, 7, 9, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0xAA, 0xBB, 0xCC, 0x42};
  Reader r(bytes);
  PixelFormat pf = PixelFormat::parse(r);
  EXPECT_EQ(r.consumed(), PixelFormat::kWireSize);
  EXPECT_EQ(r.remaining(), 1u);
  PixelFormat want = PixelFormat::rgb565();
  want.big_endian = true;
  EXPECT_EQ(pf, want);
}

}  // namespace
}  // namespace vncd::rfb
