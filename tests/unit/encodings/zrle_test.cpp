// Zlib, TRLE and ZRLE: CPIXEL layouts, hand-checked tile bytes, round trips through the reference
// decoders in every pixel format, one zlib stream across rectangles and updates, malformed input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <random>

#include "encodings/palette.h"
#include "encodings/registry.h"
#include "encodings/trle.h"
#include "encodings/trle_encoder.h"
#include "encodings/zlib_encoder.h"
#include "encodings/zrle_encoder.h"
#include "support/decode_trle.h"
#include "support/pixel_reference.h"
#include "support/reference_decoder.h"
#include "support/test_images.h"

namespace vncd::enc {
namespace {

using rfb::ByteBuffer;
using rfb::Frame;
using rfb::PixelFormat;
using rfb::PixelView;
using rfb::Rect;
using Bytes = std::vector<uint8_t>;

Bytes bytes_of(const ByteBuffer& b) {
  return Bytes(b.data(), b.data() + b.size());
}

// --- Formats -----------------------------------------------------------------------------------

PixelFormat fmt32(bool be, int depth, int rs, int gs, int bs, uint16_t max = 255) {
  PixelFormat pf = PixelFormat::rgb888();
  pf.big_endian = be;
  pf.depth = static_cast<uint8_t>(depth);
  pf.red_max = pf.green_max = pf.blue_max = max;
  pf.red_shift = static_cast<uint8_t>(rs);
  pf.green_shift = static_cast<uint8_t>(gs);
  pf.blue_shift = static_cast<uint8_t>(bs);
  return pf;
}

// test_pixel_formats() plus the 32-bit layouts whose CPIXEL differs: colour in the high three
// bytes, big-endian low three bytes, and depth 32 (never reduced).
std::vector<test::NamedFormat> all_formats() {
  auto v = test::test_pixel_formats();
  v.push_back({"rgb888_high_le", fmt32(false, 24, 24, 16, 8)});
  v.push_back({"rgb888_high_be", fmt32(true, 24, 24, 16, 8)});
  v.push_back({"bgr888_shift0_be", fmt32(true, 24, 0, 8, 16)});
  v.push_back({"depth32_le", fmt32(false, 32, 16, 8, 0)});
  v.push_back({"rgb101010_be", fmt32(true, 30, 20, 10, 0, 1023)});
  for (const auto& f : v) EXPECT_TRUE(f.format.validate().ok()) << f.name;
  return v;
}

// --- CPIXEL ------------------------------------------------------------------------------------

TEST(CPixel, LayoutPerSpecForEveryByteOrderAndShift) {
  // Low three bytes: first three in memory (LE) or last three (BE).
  EXPECT_EQ(cpixel_layout(fmt32(false, 24, 16, 8, 0)), (CPixelLayout{3, 0}));
  EXPECT_EQ(cpixel_layout(fmt32(true, 24, 16, 8, 0)), (CPixelLayout{3, 1}));
  EXPECT_EQ(cpixel_layout(fmt32(false, 24, 0, 8, 16)), (CPixelLayout{3, 0}));
  EXPECT_EQ(cpixel_layout(fmt32(true, 24, 0, 8, 16)), (CPixelLayout{3, 1}));
  // High three bytes: last three in memory (LE) or first three (BE).
  EXPECT_EQ(cpixel_layout(fmt32(false, 24, 8, 16, 24)), (CPixelLayout{3, 1}));
  EXPECT_EQ(cpixel_layout(fmt32(true, 24, 8, 16, 24)), (CPixelLayout{3, 0}));
  EXPECT_EQ(cpixel_layout(fmt32(false, 24, 24, 16, 8)), (CPixelLayout{3, 1}));
  // Both would fit (depth 16 in 32 bits): the spec's convention is the low three bytes.
  PixelFormat mid = fmt32(false, 16, 19, 13, 8, 31);
  mid.green_max = 31;
  EXPECT_EQ(cpixel_layout(mid), (CPixelLayout{3, 0}));
  mid.big_endian = true;
  EXPECT_EQ(cpixel_layout(mid), (CPixelLayout{3, 1}));
  // No reduction: depth above 24, channels spanning all four bytes, 8/16 bpp, colour map.
  EXPECT_EQ(cpixel_layout(fmt32(false, 32, 16, 8, 0)), (CPixelLayout{4, 0}));
  EXPECT_EQ(cpixel_layout(fmt32(true, 32, 24, 16, 8)), (CPixelLayout{4, 0}));
  EXPECT_EQ(cpixel_layout(fmt32(false, 24, 0, 8, 24)), (CPixelLayout{4, 0}));
  EXPECT_EQ(cpixel_layout(fmt32(true, 30, 20, 10, 0, 1023)), (CPixelLayout{4, 0}));
  EXPECT_EQ(cpixel_layout(PixelFormat::rgb565()), (CPixelLayout{2, 0}));
  EXPECT_EQ(cpixel_layout(PixelFormat::bgr233()), (CPixelLayout{1, 0}));
  EXPECT_EQ(cpixel_layout(PixelFormat::colour_map8()), (CPixelLayout{1, 0}));
  // The reference decoder, written from the spec separately, agrees on the size.
  for (const auto& f : all_formats())
    EXPECT_EQ(cpixel_layout(f.format).size, test::cpixel_bytes(f.format)) << f.name;
}

// One solid 1x1 tile of pixel value 0xCCBBAA00 | channels: checks which bytes go on the wire.
Bytes solid_tile_bytes(const PixelFormat& pf, uint32_t value) {
  uint8_t px[4];
  test::ref_store_pixel(px, pf, value);
  ByteBuffer out;
  encode_tiles(PixelView{px, 4, 1, 1, pf}, trle::kTrleTileSize, out);
  return bytes_of(out);
}

TEST(CPixel, WireBytesKeepTheClientByteOrder) {
  // Red 0xAA, green 0xBB, blue 0xCC; the unused byte is 0xFF and must be the one dropped.
  auto value = [](const PixelFormat& pf) {
    return (0xAAu << pf.red_shift) | (0xBBu << pf.green_shift) | (0xCCu << pf.blue_shift) |
           (pf.red_shift == 24 || pf.blue_shift == 24 ? 0xFFu : 0xFF000000u);
  };
  PixelFormat le = fmt32(false, 24, 16, 8, 0), be = fmt32(true, 24, 16, 8, 0);
  EXPECT_EQ(solid_tile_bytes(le, value(le)), (Bytes{1, 0xCC, 0xBB, 0xAA}));
  EXPECT_EQ(solid_tile_bytes(be, value(be)), (Bytes{1, 0xAA, 0xBB, 0xCC}));
  le = fmt32(false, 24, 0, 8, 16), be = fmt32(true, 24, 0, 8, 16);
  EXPECT_EQ(solid_tile_bytes(le, value(le)), (Bytes{1, 0xAA, 0xBB, 0xCC}));
  EXPECT_EQ(solid_tile_bytes(be, value(be)), (Bytes{1, 0xCC, 0xBB, 0xAA}));
  le = fmt32(false, 24, 8, 16, 24), be = fmt32(true, 24, 8, 16, 24);
  EXPECT_EQ(solid_tile_bytes(le, value(le)), (Bytes{1, 0xAA, 0xBB, 0xCC}));
  EXPECT_EQ(solid_tile_bytes(be, value(be)), (Bytes{1, 0xCC, 0xBB, 0xAA}));
  le = fmt32(false, 24, 24, 16, 8), be = fmt32(true, 24, 24, 16, 8);
  EXPECT_EQ(solid_tile_bytes(le, value(le)), (Bytes{1, 0xCC, 0xBB, 0xAA}));
  EXPECT_EQ(solid_tile_bytes(be, value(be)), (Bytes{1, 0xAA, 0xBB, 0xCC}));
  // Depth 32: the whole pixel, unused byte included.
  const PixelFormat d32 = fmt32(false, 32, 16, 8, 0);
  EXPECT_EQ(solid_tile_bytes(d32, value(d32)), (Bytes{1, 0xCC, 0xBB, 0xAA, 0xFF}));
  PixelFormat d32be = d32;
  d32be.big_endian = true;
  EXPECT_EQ(solid_tile_bytes(d32be, value(d32be)), (Bytes{1, 0xFF, 0xAA, 0xBB, 0xCC}));
}

// --- Run lengths and packing -------------------------------------------------------------------

TEST(Trle, RunLengthFieldMatchesTheSpecExamples) {
  const std::pair<uint32_t, Bytes> cases[] = {
      {1, {0}},
      {255, {254}},
      {256, {255, 0}},
      {257, {255, 1}},
      {510, {255, 254}},
      {511, {255, 255, 0}},
      {4096, {255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 15}},
  };
  for (const auto& [len, want] : cases) {
    ByteBuffer b;
    write_run_length(len, b);
    EXPECT_EQ(bytes_of(b), want) << len;
    EXPECT_EQ(run_length_size(len), want.size()) << len;
  }
}

TEST(Trle, PackedIndexWidthsAndRowPadding) {
  EXPECT_EQ(packed_index_bits(2), 1);
  EXPECT_EQ(packed_index_bits(3), 2);
  EXPECT_EQ(packed_index_bits(4), 2);
  EXPECT_EQ(packed_index_bits(5), 4);
  EXPECT_EQ(packed_index_bits(16), 4);
  EXPECT_EQ(packed_indexes_size(10, 2, 1), 4u);  // floor((10 + 7) / 8) * 2
  EXPECT_EQ(packed_indexes_size(5, 3, 2), 6u);   // floor((5 + 3) / 4) * 3
  EXPECT_EQ(packed_indexes_size(7, 1, 4), 4u);   // floor((7 + 1) / 2)
  EXPECT_EQ(packed_indexes_size(64, 64, 4), 2048u);
}

// --- Hand-checked TRLE tiles -------------------------------------------------------------------

Bytes trle_bytes(const PixelView& v) {
  ByteBuffer out;
  TrleEncoder enc;
  rfb::PixelConverter conv(PixelFormat::rgb888(), v.format);
  enc.encode(v, rfb::EncodeContext{v.format, conv, {}}, out);
  return bytes_of(out);
}

PixelView view8(const Bytes& px, int w, int h) {
  return PixelView{px.data(), static_cast<size_t>(w), w, h, PixelFormat::bgr233()};
}

TEST(TrleTiles, SolidTile) {
  const Bytes px(16 * 16, 0x2A);
  EXPECT_EQ(trle_bytes(view8(px, 16, 16)), (Bytes{1, 0x2A}));
}

TEST(TrleTiles, TwoColourPackedWithRowPadding) {
  const uint8_t A = 0x11, B = 0x22;
  const Bytes px = {A, B, A, A, A, A, A, A, B, A,   // 0100 0000 | 10 + 6 padding bits
                    B, B, B, B, B, B, B, B, B, B};  // 1111 1111 | 11 + padding
  // Palette in first-seen order; 1 bit per pixel, leftmost pixel in the top bit.
  EXPECT_EQ(trle_bytes(view8(px, 10, 2)), (Bytes{2, A, B, 0x40, 0x80, 0xFF, 0xC0}));
}

TEST(TrleTiles, ThreeColourPackedTwoBitsAt16bpp) {
  std::vector<uint16_t> px = {0x1111, 0x2222, 0x3344, 0x1111, 0x2222,
                              0x3344, 0x1111, 0x2222, 0x3344, 0x1111};
  PixelView v{reinterpret_cast<const uint8_t*>(px.data()), 10, 5, 2, PixelFormat::rgb565()};
  // 2 bits per index: row 0 = 00 01 10 00 | 01 (pad), row 1 = 10 00 01 10 | 00 (pad).
  EXPECT_EQ(trle_bytes(v), (Bytes{3, 0x11, 0x11, 0x22, 0x22, 0x44, 0x33, 0x18, 0x40, 0x86, 0x00}));
}

TEST(TrleTiles, FiveColourPackedFourBits) {
  const Bytes px = {1, 2, 3, 4, 5, 1, 2,  //
                    3, 4, 5, 1, 2, 3, 4};
  // Indexes 0..4 in first-seen order, 4 bits each, 7 pixels -> 4 bytes per row.
  EXPECT_EQ(trle_bytes(view8(px, 7, 2)),
            (Bytes{5, 1, 2, 3, 4, 5, 0x01, 0x23, 0x40, 0x10, 0x23, 0x40, 0x12, 0x30}));
}

TEST(TrleTiles, PaletteRleWithSingleAndLongRuns) {
  // Runs in raster order across rows: A x1, B x1, A x100, B x154 (16x16 = 256 pixels), 32bpp BE.
  const PixelFormat pf = fmt32(true, 24, 16, 8, 0);
  std::vector<uint8_t> px(256 * 4);
  const uint32_t A = 0xFF102030, B = 0xFF405060;
  for (int i = 0; i < 256; ++i) {
    const bool a = i == 0 || (i >= 2 && i < 102);
    test::ref_store_pixel(&px[static_cast<size_t>(i) * 4], pf, a ? A : B);
  }
  PixelView v{px.data(), 64, 16, 16, pf};
  // Palette RLE 13 bytes beats plain RLE (17) and packed (39). Single runs are bare indexes.
  EXPECT_EQ(trle_bytes(v), (Bytes{130, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60,  //
                                  0x00, 0x01, 0x80, 99, 0x81, 153}));
}

TEST(TrleTiles, PlainRleWhenEveryRunHasItsOwnColour) {
  Bytes px(256);
  for (size_t i = 0; i < 256; ++i) px[i] = static_cast<uint8_t>(0x40 + i / 64);
  // Plain RLE 9 bytes; palette RLE would be 13.
  EXPECT_EQ(trle_bytes(view8(px, 16, 16)), (Bytes{128, 0x40, 63, 0x41, 63, 0x42, 63, 0x43, 63}));
}

TEST(TrleTiles, RawWhenNothingRepeats) {
  std::vector<uint16_t> px(16);
  for (size_t i = 0; i < 16; ++i) px[i] = static_cast<uint16_t>(0x0101 * (i + 1));
  PixelView v{reinterpret_cast<const uint8_t*>(px.data()), 8, 4, 4, PixelFormat::rgb565()};
  Bytes want = {0};
  for (uint16_t p : px) {
    want.push_back(static_cast<uint8_t>(p));
    want.push_back(static_cast<uint8_t>(p >> 8));
  }
  EXPECT_EQ(trle_bytes(v), want);
}

TEST(TrleTiles, RawTileDropsTheUnusedByteOfEachPixel) {
  const PixelFormat pf = fmt32(false, 24, 8, 16, 24);  // Colour in the high three bytes.
  const Bytes px = {0xFF, 1, 2, 3, 0xFF, 4, 5, 6};     // 2x1; a raw tile beats the others here.
  PixelView v{px.data(), 8, 2, 1, pf};
  EXPECT_EQ(trle_bytes(v), (Bytes{0, 1, 2, 3, 4, 5, 6}));
}

TEST(TrleTiles, TilesGoLeftToRightTopToBottomWithShortEdges) {
  // 17x17 of 8bpp: tiles 16x16, 1x16, 16x1, 1x1, each solid in its own colour.
  Bytes px(17 * 17);
  for (int y = 0; y < 17; ++y)
    for (int x = 0; x < 17; ++x)
      px[static_cast<size_t>(y * 17 + x)] = static_cast<uint8_t>((x >= 16) + 2 * (y >= 16) + 1);
  EXPECT_EQ(trle_bytes(view8(px, 17, 17)), (Bytes{1, 1, 1, 2, 1, 3, 1, 4}));
}

TEST(TrleTiles, PlanSizeIsExactAndChoiceIsTheSmallest) {
  const Frame f = test::make_ui_image(256, 128, 3);
  for (const auto& nf : all_formats()) {
    const Frame c = test::convert_frame(f, nf.format);
    const CPixelLayout cp = cpixel_layout(nf.format);
    Palette pal;
    for (int y = 0; y < 128; y += 16)
      for (int x = 0; x < 256; x += 16) {
        const PixelView t = c.view(Rect{x, y, 16, 16});
        const TilePlan plan = plan_tile(t, cp, pal);
        ByteBuffer out;
        write_tile(t, cp, plan, pal, out);
        ASSERT_EQ(out.size(), plan.size) << nf.name;
        EXPECT_LE(plan.size, 1 + 256 * size_t{cp.size}) << nf.name;  // Never worse than raw.
      }
  }
}

// --- Reference decoder: palette reuse and malformed input ---------------------------------------

Status decode_trle_payload(const Bytes& payload, Rect r, test::ClientFramebuffer& fb) {
  auto d = test::make_reference_decoder(rfb::encoding::kTRLE);
  rfb::Reader in(payload);
  Status s = d->decode(in, r, fb);
  if (s && in.remaining() != 0) return Error("trailing bytes");
  return s;
}

TEST(TrleDecoder, ReusesThePreviousPaletteFor127And129) {
  test::ClientFramebuffer fb(48, 1, PixelFormat::bgr233());
  // Tile 1: packed 2 colours. Tile 2: 127, same palette, packed. Tile 3: 129, palette RLE.
  const Bytes payload = {2,   7,    9,    0xAA, 0xAA,  // 16 px: 1010...
                         127, 0x0F, 0xF0,              // 0000 1111 1111 0000
                         129, 0x81, 14,   0x00};       // 15 x colour 1, then 1 x colour 0
  ASSERT_TRUE(decode_trle_payload(payload, Rect{0, 0, 48, 1}, fb).ok());
  for (int x = 0; x < 16; ++x) EXPECT_EQ(fb.pixels[static_cast<size_t>(x)], x % 2 ? 7 : 9) << x;
  for (int x = 0; x < 16; ++x)
    EXPECT_EQ(fb.pixels[static_cast<size_t>(16 + x)], x >= 4 && x < 12 ? 9 : 7) << x;
  for (int x = 0; x < 16; ++x) EXPECT_EQ(fb.pixels[static_cast<size_t>(32 + x)], x < 15 ? 9 : 7);
}

TEST(TrleDecoder, RejectsMalformedTiles) {
  test::ClientFramebuffer fb(16, 16, PixelFormat::bgr233());
  const Rect r{0, 0, 4, 1};
  const Bytes bad[] = {
      {},                       // No subencoding.
      {17},                     // Unused subencoding.
      {126},                    // Unused subencoding.
      {127, 0},                 // Reuse with no previous palette.
      {129, 0},                 // Reuse with no previous palette.
      {2, 1, 2},                // Packed pixels missing.
      {130, 1, 2, 5, 0, 0, 0},  // Palette index out of range.
      {128, 1, 4},              // Run longer than the tile.
      {128, 1, 255, 255, 255},  // Run-length chain past the tile.
      {131, 1, 2, 3, 0x82, 0},  // Index 2 of 3 fine, but then data runs out.
      {0, 1, 2, 3},             // Raw tile short by one pixel.
  };
  for (const Bytes& b : bad) EXPECT_FALSE(decode_trle_payload(b, r, fb).ok()) << b.size();
  EXPECT_FALSE(decode_trle_payload({1, 5}, Rect{10, 10, 8, 8}, fb).ok());  // Outside.
  EXPECT_TRUE(decode_trle_payload({1, 5}, r, fb).ok());
}

TEST(TrleDecoder, EveryTruncationOfAValidPayloadFails) {
  const Frame c = test::convert_frame(test::make_ui_image(40, 36, 2), PixelFormat::rgb565());
  const Bytes payload = trle_bytes(c.view());
  test::ClientFramebuffer fb(40, 36, PixelFormat::rgb565());
  ASSERT_TRUE(decode_trle_payload(payload, Rect{0, 0, 40, 36}, fb).ok());
  for (size_t n = 0; n < payload.size(); ++n) {
    const Bytes cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n));
    ASSERT_FALSE(decode_trle_payload(cut, Rect{0, 0, 40, 36}, fb).ok()) << n;
  }
}

// --- ZRLE and Zlib exact bytes ------------------------------------------------------------------

// Splits "U32 length, zlibData" and inflates zlibData with a fresh stream.
Bytes inflate_payload(const ByteBuffer& out, z_stream& z) {
  EXPECT_GE(out.size(), 4u);
  rfb::Reader r(out.span());
  const uint32_t len = r.u32();
  EXPECT_EQ(len, out.size() - 4);
  Bytes res(1 << 20);
  z.next_in = const_cast<Bytef*>(out.data() + 4);
  z.avail_in = len;
  z.next_out = res.data();
  z.avail_out = static_cast<uInt>(res.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
  EXPECT_EQ(z.avail_in, 0u);
  // erase, not resize: GCC 12 with the sanitizers sees a resize that could grow by 2^64 bytes.
  res.erase(res.end() - static_cast<std::ptrdiff_t>(z.avail_out), res.end());
  return res;
}

struct Inflater {
  Inflater() { EXPECT_EQ(inflateInit(&z), Z_OK); }
  ~Inflater() { inflateEnd(&z); }
  z_stream z{};
};

rfb::EncodeContext ctx_for(const PixelFormat& pf, const rfb::PixelConverter& conv, int level = -1) {
  return rfb::EncodeContext{pf, conv, rfb::EncodeSettings{level, -1}};
}

TEST(ZrleBytes, TilesAre64x64AndLongRunsChain255s) {
  // 70x64 of 8bpp: tile 1 (64x64) is A then 4095 x B; tile 2 (6x64) is solid C.
  const PixelFormat pf = PixelFormat::bgr233();
  Bytes px(70 * 64, 0x33);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) px[static_cast<size_t>(y * 70 + x)] = (x | y) ? 0x22 : 0x11;
  ZrleEncoder enc;
  rfb::PixelConverter conv(PixelFormat::rgb888(), pf);
  ByteBuffer out;
  enc.encode(PixelView{px.data(), 70, 70, 64, pf}, ctx_for(pf, conv), out);
  Inflater inf;
  // Plain RLE (21 bytes) beats palette RLE (22): 4095 = 1 + 16 * 255 + 14.
  Bytes want = {128, 0x11, 0, 0x22};
  want.insert(want.end(), 16, 255);
  want.push_back(14);
  want.insert(want.end(), {1, 0x33});
  EXPECT_EQ(inflate_payload(out, inf.z), want);
}

TEST(ZrleBytes, OneStreamAcrossRectanglesWithSyncFlushes) {
  const PixelFormat pf = fmt32(false, 24, 16, 8, 0);
  rfb::PixelConverter conv(PixelFormat::rgb888(), pf);
  ZrleEncoder enc;
  Inflater inf;
  for (uint8_t i = 0; i < 4; ++i) {
    const uint8_t px[4] = {i, 2, 3, 0xFF};
    ByteBuffer out;
    enc.encode(PixelView{px, 4, 1, 1, pf}, ctx_for(pf, conv, i == 2 ? 9 : -1), out);
    // Each rectangle inflates on its own from the one client stream (no zlib header after the
    // first, which a fresh inflater would need).
    EXPECT_EQ(inflate_payload(out, inf.z), (Bytes{1, i, 2, 3})) << int{i};
    if (i > 0) {
      Inflater fresh;
      z_stream& z = fresh.z;
      Bytes sink(64);
      z.next_in = const_cast<Bytef*>(out.data() + 4);
      z.avail_in = static_cast<uInt>(out.size() - 4);
      z.next_out = sink.data();
      z.avail_out = 64;
      EXPECT_EQ(inflate(&z, Z_SYNC_FLUSH), Z_DATA_ERROR);
    }
  }
}

TEST(ZlibBytes, RawPixelsHonouringStrideThroughOneStream) {
  const PixelFormat pf = PixelFormat::rgb565();
  rfb::PixelConverter conv(PixelFormat::rgb888(), pf);
  const Bytes px = {1, 2, 3, 4, 9, 9, 5, 6, 7, 8, 9, 9};  // 2x2 of 16bpp, stride 6.
  ZlibEncoder enc;
  EXPECT_EQ(enc.encoding(), rfb::encoding::kZlib);
  Inflater inf;
  ByteBuffer out;
  enc.encode(PixelView{px.data(), 6, 2, 2, pf}, ctx_for(pf, conv), out);
  EXPECT_EQ(inflate_payload(out, inf.z), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  out.clear();
  enc.encode(PixelView{px.data() + 6, 6, 2, 1, pf}, ctx_for(pf, conv, 0), out);
  EXPECT_EQ(inflate_payload(out, inf.z), (Bytes{5, 6, 7, 8}));
}

TEST(Registry, BuildsZlibTrleAndZrle) {
  const EncoderRegistry reg = EncoderRegistry::builtin();
  for (int32_t e : {rfb::encoding::kZlib, rfb::encoding::kTRLE, rfb::encoding::kZRLE}) {
    auto enc = reg.create(e);
    ASSERT_NE(enc, nullptr) << e;
    EXPECT_EQ(enc->encoding(), e);
    EXPECT_FALSE(enc->traits().lossy);
    EXPECT_EQ(enc->traits().input, rfb::EncoderTraits::Input::kClientFormat);
  }
  EXPECT_EQ(reg.name(rfb::encoding::kZRLE), "ZRLE");
  EXPECT_EQ(reg.name(rfb::encoding::kTRLE), "TRLE");
  EXPECT_EQ(reg.name(rfb::encoding::kZlib), "Zlib");
}

// --- Round trips -------------------------------------------------------------------------------

std::unique_ptr<rfb::Encoder> make_encoder(int32_t e) {
  switch (e) {
    case rfb::encoding::kZlib:
      return std::make_unique<ZlibEncoder>();
    case rfb::encoding::kTRLE:
      return std::make_unique<TrleEncoder>();
    default:
      return std::make_unique<ZrleEncoder>();
  }
}

// Compares the decoded framebuffer with the source, colour bits only when a 3-byte CPIXEL
// dropped the pixel's unused byte (whose value no client can know).
void expect_same_pixels(const Frame& want, const test::ClientFramebuffer& got, const char* what) {
  const PixelFormat& pf = want.format();
  ASSERT_EQ(got.width, want.size().width);
  ASSERT_EQ(got.height, want.size().height);
  uint32_t mask = 0xFFFFFFFFu;
  if (pf.true_colour && test::cpixel_bytes(pf) != pf.bytes_per_pixel())
    mask = (uint32_t{pf.red_max} << pf.red_shift) | (uint32_t{pf.green_max} << pf.green_shift) |
           (uint32_t{pf.blue_max} << pf.blue_shift);
  const size_t bpp = static_cast<size_t>(pf.bytes_per_pixel());
  for (int y = 0; y < got.height; ++y)
    for (int x = 0; x < got.width; ++x) {
      const uint8_t* a = want.data() + static_cast<size_t>(y) * want.stride() + x * bpp;
      const uint8_t* b = got.pixels.data() + static_cast<size_t>(y) * got.stride + x * bpp;
      ASSERT_EQ(test::ref_load_pixel(a, pf) & mask, test::ref_load_pixel(b, pf) & mask)
          << what << " at " << x << "," << y;
    }
}

// Encodes `rects` of `frame` in order with one encoder and decodes them with one reference
// decoder, as one connection would; returns the payload bytes.
size_t round_trip(int32_t encoding, rfb::Encoder& enc, test::ReferenceDecoder& dec,
                  const Frame& frame, const std::vector<Rect>& rects, test::ClientFramebuffer& fb,
                  int level = -1) {
  rfb::PixelConverter conv(PixelFormat::rgb888(), frame.format());
  size_t total = 0;
  for (const Rect& r : rects) {
    ByteBuffer out;
    enc.encode(frame.view(r), ctx_for(frame.format(), conv, level), out);
    total += out.size();
    rfb::Reader in(out.span());
    const Status s = dec.decode(in, r, fb);
    EXPECT_TRUE(s.ok()) << encoding << " " << r.str() << ": " << (s ? "" : s.error().message());
    EXPECT_EQ(in.remaining(), 0u) << encoding << " " << r.str();
  }
  return total;
}

struct Image {
  const char* name;
  Frame frame;
};

std::vector<Image> test_images() {
  std::vector<Image> v;
  v.push_back({"ui", test::make_ui_image(200, 150, 7)});
  v.push_back({"photo", test::make_photo_image(130, 70, 8)});
  v.push_back({"gradient", test::make_gradient(97, 66)});
  v.push_back({"solid", test::make_solid(80, 70, 10, 200, 30)});
  v.push_back({"noise", test::make_noise(70, 65, 9)});
  v.push_back({"1x1", test::make_noise(1, 1, 10)});
  v.push_back({"17x33", test::make_ui_image(17, 33, 11)});
  v.push_back({"65x1", test::make_photo_image(65, 1, 12)});
  v.push_back({"1x65", test::make_gradient(1, 65)});
  return v;
}

class RoundTrip : public ::testing::TestWithParam<int32_t> {};

TEST_P(RoundTrip, EveryFormatEveryImage) {
  const int32_t e = GetParam();
  const auto images = test_images();
  for (const auto& nf : all_formats()) {
    // One encoder and one decoder per format: the zlib streams carry across all the images.
    auto enc = make_encoder(e);
    auto dec = test::make_reference_decoder(e);
    ASSERT_NE(dec, nullptr);
    for (const auto& img : images) {
      const Frame c = test::convert_frame(img.frame, nf.format);
      const auto [w, h] = c.size();
      test::ClientFramebuffer fb(w, h, nf.format);
      round_trip(e, *enc, *dec, c, {Rect{0, 0, w, h}}, fb);
      expect_same_pixels(c, fb, (nf.name + " " + img.name).c_str());
      if (HasFatalFailure()) return;
    }
  }
}

TEST_P(RoundTrip, SubRectanglesAndSeveralUpdatesShareTheStream) {
  const int32_t e = GetParam();
  for (const PixelFormat& pf : {PixelFormat::rgb888(), fmt32(true, 24, 8, 16, 24)}) {
    auto enc = make_encoder(e);
    auto dec = test::make_reference_decoder(e);
    test::ClientFramebuffer fb(300, 200, pf);
    for (uint32_t update = 0; update < 4; ++update) {
      const Frame c = test::convert_frame(update % 2 ? test::make_photo_image(300, 200, update)
                                                     : test::make_ui_image(300, 200, update),
                                          pf);
      // Rectangles at offsets not multiple of any tile size, with levels changing between
      // updates: the client's single inflate stream must follow.
      round_trip(e, *enc, *dec, c,
                 {Rect{0, 0, 300, 37}, Rect{0, 37, 129, 163}, Rect{129, 37, 171, 100},
                  Rect{129, 137, 171, 63}},
                 fb,
                 update == 1   ? 9
                 : update == 2 ? 0
                               : -1);
      expect_same_pixels(c, fb, "update");
    }
  }
}

TEST_P(RoundTrip, FullHdUiFrame) {
  const int32_t e = GetParam();
  const Frame c = test::make_ui_image(1920, 1080, 4);
  auto enc = make_encoder(e);
  auto dec = test::make_reference_decoder(e);
  test::ClientFramebuffer fb(1920, 1080, c.format());
  round_trip(e, *enc, *dec, c, {Rect{0, 0, 1920, 1080}}, fb);
  expect_same_pixels(c, fb, "1920x1080");
}

// Full-width bands of photo pixels (ZRLE: Huffman-only literal blocks) and of raw tiles whose
// pixels repeat from a few hundred colours (ZRLE: the greedy matcher, like the e2e plasma).
TEST_P(RoundTrip, FullHdPhotoAndManyColourFrames) {
  const int32_t e = GetParam();
  Frame many(rfb::Size{1920, 512}, PixelFormat::rgb888());
  std::mt19937 rng(21);
  std::vector<uint32_t> colours(600);
  for (auto& c : colours) c = rng() & 0xFFFFFF;
  for (int y = 0; y < 512; ++y) {
    uint8_t* row = many.mutable_row(y);
    for (int x = 0; x < 1920; ++x) {
      const uint32_t c = colours[rng() % colours.size()];
      std::memcpy(row + static_cast<size_t>(x) * 4, &c, 4);
    }
  }
  for (const Frame* c : {static_cast<const Frame*>(&many), static_cast<const Frame*>(nullptr)}) {
    const Frame photo = test::make_photo_image(1920, 512, 5);
    const Frame& f = c ? *c : photo;
    auto enc = make_encoder(e);
    auto dec = test::make_reference_decoder(e);
    test::ClientFramebuffer fb(1920, 512, f.format());
    round_trip(e, *enc, *dec, f, {Rect{0, 0, 1920, 512}}, fb);
    expect_same_pixels(f, fb, c ? "many colours" : "photo");
  }
}

TEST_P(RoundTrip, WideAndTallSolidsDoNotOverflowCounters) {
  const int32_t e = GetParam();
  for (const auto& [w, h] : {std::pair{65535, 1}, std::pair{1, 65535}, std::pair{4096, 64}}) {
    const Frame c = test::convert_frame(test::make_solid(w, h, 1, 2, 3), PixelFormat::rgb565());
    auto enc = make_encoder(e);
    auto dec = test::make_reference_decoder(e);
    test::ClientFramebuffer fb(w, h, c.format());
    const size_t bytes = round_trip(e, *enc, *dec, c, {Rect{0, 0, w, h}}, fb);
    expect_same_pixels(c, fb, "solid");
    if (e == rfb::encoding::kTRLE) {
      // Every tile solid: 3 bytes each.
      const size_t tiles = static_cast<size_t>((w + 15) / 16) * static_cast<size_t>((h + 15) / 16);
      EXPECT_EQ(bytes, tiles * 3);
    } else {
      EXPECT_LT(bytes, static_cast<size_t>(w) * static_cast<size_t>(h) / 50);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, RoundTrip,
                         ::testing::Values(rfb::encoding::kZlib, rfb::encoding::kTRLE,
                                           rfb::encoding::kZRLE),
                         [](const auto& p) {
                           return p.param == rfb::encoding::kZlib   ? std::string("Zlib")
                                  : p.param == rfb::encoding::kTRLE ? std::string("TRLE")
                                                                    : std::string("ZRLE");
                         });

// --- Malformed ZRLE / Zlib ---------------------------------------------------------------------

TEST(ZrleDecoder, RejectsMalformedStreams) {
  const PixelFormat pf = PixelFormat::bgr233();
  test::ClientFramebuffer fb(8, 8, pf);
  const Rect r{0, 0, 8, 8};
  auto deflate_bytes = [](const Bytes& data) {
    ZlibStream s;
    ByteBuffer b;
    b.u32(0);
    s.compress(data, b);
    b.patch_u32(0, static_cast<uint32_t>(b.size() - 4));
    return bytes_of(b);
  };
  auto decode = [&](const Bytes& payload, int32_t e) {
    auto d = test::make_reference_decoder(e);
    rfb::Reader in(payload);
    return d->decode(in, r, fb);
  };
  const int32_t Z = rfb::encoding::kZRLE;
  EXPECT_TRUE(decode(deflate_bytes({1, 7}), Z).ok());
  EXPECT_FALSE(decode(deflate_bytes({1, 7, 0}), Z).ok());     // Bytes after the last tile.
  EXPECT_FALSE(decode(deflate_bytes({127, 0}), Z).ok());      // TRLE-only subencoding.
  EXPECT_FALSE(decode(deflate_bytes({129, 0}), Z).ok());      // TRLE-only subencoding.
  EXPECT_FALSE(decode(deflate_bytes({2, 1, 2, 0}), Z).ok());  // Packed rows missing.
  EXPECT_FALSE(decode({0, 0, 0, 9, 1, 2}, Z).ok());           // Length beyond the data.
  EXPECT_FALSE(decode({0, 0, 0, 4, 1, 2, 3, 4}, Z).ok());     // Not zlib.
  Bytes big(100000, 0);                                       // Inflates past any 8x8 tile.
  EXPECT_FALSE(decode(deflate_bytes(big), Z).ok());
  const int32_t L = rfb::encoding::kZlib;
  EXPECT_TRUE(decode(deflate_bytes(Bytes(64, 3)), L).ok());
  EXPECT_FALSE(decode(deflate_bytes(Bytes(63, 3)), L).ok());  // One pixel short.
  EXPECT_FALSE(decode(deflate_bytes(Bytes(65, 3)), L).ok());  // One byte long.
}

// --- Compression measurements ------------------------------------------------------------------

TEST(Compression, BytesPerPixelAt32bpp) {
  const Frame ui = test::make_ui_image(1280, 720, 21);
  const Frame photo = test::make_photo_image(1280, 720, 22);
  const double pixels = 1280.0 * 720.0;
  for (int32_t e : {rfb::encoding::kZlib, rfb::encoding::kTRLE, rfb::encoding::kZRLE}) {
    double bpp[2] = {};
    for (int i = 0; i < 2; ++i) {
      const Frame& f = i ? photo : ui;
      auto enc = make_encoder(e);
      auto dec = test::make_reference_decoder(e);
      test::ClientFramebuffer fb(1280, 720, f.format());
      const auto t0 = std::chrono::steady_clock::now();
      const size_t bytes = round_trip(e, *enc, *dec, f, {Rect{0, 0, 1280, 720}}, fb);
      const auto ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      bpp[i] = static_cast<double>(bytes) / pixels;
      std::cout << "[ measure  ] encoding " << e << (i ? " photo " : " ui    ") << bpp[i]
                << " bytes/pixel (encode+decode " << ms << " ms)\n";
    }
    // Measured 0.11 (Zlib), 0.14 (TRLE), 0.063 (ZRLE): UI tiles are mostly flat or few-colour.
    EXPECT_LT(bpp[0], e == rfb::encoding::kZRLE ? 0.08 : 0.2) << e;
    // Photo with per-pixel noise: measured 3.09 / 3.00 / 2.73; raw is 4 (3 as CPIXELs).
    EXPECT_LT(bpp[1], e == rfb::encoding::kZRLE ? 2.9 : 3.2) << e;
  }
}

}  // namespace
}  // namespace vncd::enc
