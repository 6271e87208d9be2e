// Palette building and the per-connection zlib stream.
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "encodings/palette.h"
#include "encodings/pixels.h"
#include "encodings/zlib_stream.h"
#include "server/worker_pool.h"

namespace vncd::enc {
namespace {

TEST(Palette, AddLookupLimitAndSort) {
  Palette p;
  EXPECT_TRUE(p.add(0xAA, 1));
  EXPECT_TRUE(p.add(0xBB, 5));
  EXPECT_TRUE(p.add(0xAA, 2));
  EXPECT_EQ(p.size(), 2);
  EXPECT_EQ(p.lookup(0xAA), 0);
  EXPECT_EQ(p.lookup(0xBB), 1);
  EXPECT_EQ(p.lookup(0xCC), -1);
  EXPECT_EQ(p.count(0), 3u);
  EXPECT_FALSE(p.add(0xCC, 1, 2));  // Full at the given limit: unchanged.
  EXPECT_EQ(p.size(), 2);
  EXPECT_TRUE(p.add(0xBB, 1, 2));  // Known colours still count.
  EXPECT_EQ(p.most_frequent(), 1);
  p.sort_by_count();
  EXPECT_EQ(p.colour(0), 0xBBu);
  EXPECT_EQ(p.lookup(0xBB), 0);
  EXPECT_EQ(p.lookup(0xAA), 1);
  p.clear();
  EXPECT_EQ(p.size(), 0);
  EXPECT_EQ(p.lookup(0xAA), -1);
}

TEST(Palette, HoldsAllColoursUpToTheMaximum) {
  Palette p;
  for (uint32_t c = 0; c < 256; ++c) ASSERT_TRUE(p.add(c * 0x01010101u));
  EXPECT_FALSE(p.add(0x12345678));
  for (uint32_t c = 0; c < 256; ++c) EXPECT_EQ(p.lookup(c * 0x01010101u), static_cast<int>(c));
}

TEST(Palette, BuildFromPixelsAndSolid) {
  std::vector<uint16_t> px(8 * 4, 7);
  px[5] = 9;
  px[30] = 11;
  rfb::PixelView v{reinterpret_cast<const uint8_t*>(px.data()), 16, 8, 4,
                   rfb::PixelFormat::rgb565()};
  Palette p;
  ASSERT_TRUE(build_palette(v, 16, p));
  EXPECT_EQ(p.size(), 3);
  EXPECT_EQ(p.count(static_cast<int>(p.lookup(7))), 30u);
  EXPECT_FALSE(build_palette(v, 2, p));
  uint32_t c = 0;
  EXPECT_FALSE(is_solid(v, &c));
  EXPECT_TRUE(is_solid(v.sub({0, 1, 8, 2}), &c));
  EXPECT_EQ(c, 7u);
}

TEST(Palette, CountRunsPerRowAndStopsPastTheLimit) {
  std::vector<uint16_t> px(8 * 4, 7);
  px[5] = 9;   // Row 0: 7 7 7 7 7 9 7 7 -> 3 runs.
  px[8] = 9;   // Row 1: 9 7 ... -> 2 runs (no run continues across rows).
  px[23] = 1;  // Row 2: ... 7 1 -> 2 runs; row 3: 1 run.
  rfb::PixelView v{reinterpret_cast<const uint8_t*>(px.data()), 16, 8, 4,
                   rfb::PixelFormat::rgb565()};
  EXPECT_EQ(count_runs(v, 100), 8);
  EXPECT_EQ(count_runs(v, 8), 8);
  EXPECT_EQ(count_runs(v, 4), 5);  // Stops after the row that passes the limit.
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint16_t>(i);
  EXPECT_EQ(count_runs(v, 100), 32);
}

TEST(Palette, ClearAfterALargePaletteForgetsEveryColour) {
  Palette p;
  for (uint32_t c = 0; c < 200; ++c) ASSERT_TRUE(p.add(c * 977));
  p.clear();
  EXPECT_EQ(p.size(), 0);
  for (uint32_t c = 0; c < 200; ++c) EXPECT_EQ(p.lookup(c * 977), -1);
  ASSERT_TRUE(p.add(977, 5));
  EXPECT_EQ(p.lookup(977), 0);
  EXPECT_EQ(p.count(0), 5u);
}

std::vector<uint8_t> inflate_all(z_stream& z, const rfb::ByteBuffer& in, size_t expect) {
  std::vector<uint8_t> out(expect + 16);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR);
  EXPECT_EQ(z.avail_in, 0u);
  out.resize(out.size() - z.avail_out);
  return out;
}

TEST(ZlibStream, OneStreamAcrossCallsDecodesIncrementally) {
  ZlibStream s(1);
  z_stream z{};
  ASSERT_EQ(inflateInit(&z), Z_OK);
  std::mt19937 rng(5);
  for (int round = 0; round < 5; ++round) {
    std::vector<uint8_t> data(1000 + static_cast<size_t>(round) * 70000);
    for (auto& b : data) b = static_cast<uint8_t>(rng() % 3);  // Compressible.
    rfb::ByteBuffer out;
    out.u8(0xEE);  // Existing content is kept.
    s.compress(data, out, round == 3 ? 9 : -1);
    ASSERT_EQ(out.data()[0], 0xEE);
    rfb::ByteBuffer payload;
    payload.append(std::span<const uint8_t>(out.data() + 1, out.size() - 1));
    EXPECT_EQ(inflate_all(z, payload, data.size()), data);
  }
  EXPECT_EQ(s.level(), 9);
  inflateEnd(&z);
}

// Pieces (ZRLE's bands) continue the one stream like one input would, serial or as pigz chunks,
// interleaved with plain compress() calls, and with empty pieces; chunk buffers are given back.
TEST(ZlibStream, PiecesContinueTheStreamSerialAndParallel) {
  server::WorkerPool pool(2);
  for (rfb::TaskRunner* runner :
       {static_cast<rfb::TaskRunner*>(nullptr), static_cast<rfb::TaskRunner*>(&pool)}) {
    ZlibStream s(2);
    z_stream z{};
    ASSERT_EQ(inflateInit(&z), Z_OK);
    std::mt19937 rng(9);
    for (int round = 0; round < 4; ++round) {
      std::vector<std::vector<uint8_t>> parts(3);
      parts[0].resize(3u << 20);  // Above the kept chunk capacity once deflated (random bytes).
      for (auto& b : parts[0]) b = static_cast<uint8_t>(rng());
      parts[1].resize(round == 1 ? 0 : 20000);
      for (auto& b : parts[1]) b = static_cast<uint8_t>(rng() % 4);
      parts[2].assign(40000, static_cast<uint8_t>(round));
      std::vector<std::span<const uint8_t>> spans(parts.begin(), parts.end());
      std::vector<uint8_t> want;
      for (const auto& p : parts) want.insert(want.end(), p.begin(), p.end());
      rfb::ByteBuffer out;
      if (round == 2) {
        s.compress(want, out, -1, runner);
      } else {
        s.compress_pieces(spans, out, round == 3 ? 6 : -1, runner,
                          round == 0 ? Z_RLE : Z_DEFAULT_STRATEGY);
      }
      EXPECT_EQ(inflate_all(z, out, want.size()), want) << round;
    }
    inflateEnd(&z);
  }
}

TEST(ZlibStream, ResetStartsANewStream) {
  ZlibStream s;
  rfb::ByteBuffer a, b;
  const std::vector<uint8_t> data(5000, 42);
  s.compress(data, a);
  s.reset();
  s.compress(data, b);
  z_stream z{};
  ASSERT_EQ(inflateInit(&z), Z_OK);
  EXPECT_EQ(inflate_all(z, b, data.size()), data);  // Decodes without the first part.
  inflateEnd(&z);
  ZlibStream moved = std::move(s);
  rfb::ByteBuffer c;
  moved.compress(data, c);
  EXPECT_FALSE(c.empty());
}

}  // namespace
}  // namespace vncd::enc
