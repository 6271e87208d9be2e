// Raw encoding and the update planner: exact FramebufferUpdate bytes, rectangle splitting,
// DesktopSize, encoding choice from the client's list, conversion to the client's format.
#include <gtest/gtest.h>

#include <algorithm>

#include <random>

#include "encodings/raw_encoder.h"
#include "encodings/registry.h"
#include "encodings/update_planner.h"
#include "rfb/messages.h"
#include "support/pixel_reference.h"
#include "support/reference_decoder.h"
#include "support/test_images.h"

#include <cstring>

namespace vncd::enc {
namespace {

using rfb::ByteBuffer;
using rfb::Frame;
using rfb::PixelFormat;
using rfb::Rect;

Frame noise_frame(int w, int h, uint32_t seed) {
  Frame f({w, h}, PixelFormat::rgb888());
  std::mt19937 rng(seed);
  uint8_t* p = f.mutable_data();
  for (size_t i = 0; i < f.stride() * static_cast<size_t>(h); ++i)
    p[i] = static_cast<uint8_t>(rng());
  return f;
}

struct ParsedRect {
  Rect r;
  int32_t encoding;
  std::vector<uint8_t> payload;
};

// Reads back a FramebufferUpdate whose rectangles are all Raw or DesktopSize.
std::vector<ParsedRect> parse_update(const ByteBuffer& b, const PixelFormat& pf) {
  rfb::Reader r(b.span());
  EXPECT_EQ(r.u8(), rfb::server_msg::kFramebufferUpdate);
  r.skip(1);
  uint16_t n = r.u16();
  std::vector<ParsedRect> out;
  for (uint16_t i = 0; i < n; ++i) {
    ParsedRect p;
    p.r.x = r.u16();
    p.r.y = r.u16();
    p.r.w = r.u16();
    p.r.h = r.u16();
    p.encoding = r.s32();
    if (p.encoding == rfb::encoding::kRaw) {
      size_t len = static_cast<size_t>(p.r.w) * static_cast<size_t>(p.r.h) *
                   static_cast<size_t>(pf.bytes_per_pixel());
      EXPECT_TRUE(r.has(len));
      auto s = r.bytes(len);
      p.payload.assign(s.begin(), s.end());
    }
    out.push_back(std::move(p));
  }
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST(RawEncoder, CopiesRowsHonouringStride) {
  const uint8_t px[] = {1, 2, 3, 4, 9, 9, 5, 6, 7, 8, 9, 9};  // 2x2 of 16bpp, stride 6.
  RawEncoder enc;
  const PixelFormat pf = PixelFormat::rgb565();
  rfb::PixelConverter conv(pf, pf);
  ByteBuffer out;
  enc.encode(rfb::PixelView{px, 6, 2, 2, pf}, rfb::EncodeContext{pf, conv, {}}, out);
  EXPECT_EQ(std::vector<uint8_t>(out.data(), out.data() + out.size()),
            (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(enc.encoding(), rfb::encoding::kRaw);
  EXPECT_FALSE(enc.traits().lossy);
}

TEST(Registry, KnowsRawAndRefusesUnknown) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  EXPECT_TRUE(reg.supports(0));
  EXPECT_NE(reg.create(0), nullptr);
  EXPECT_EQ(reg.create(12345), nullptr);
  EXPECT_EQ(reg.name(0), "Raw");
  EXPECT_EQ(reg.name(999), "999");
}

class PlannerFormats : public testing::TestWithParam<PixelFormat> {};

TEST_P(PlannerFormats, RawUpdateMatchesReferenceConversion) {
  const PixelFormat client = GetParam();
  EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  const int32_t encs[] = {99, rfb::encoding::kCursor, 0};  // Unknown and pseudo: Raw is chosen.
  planner.set_encodings(encs);
  EXPECT_EQ(planner.preferred_encoding(), rfb::encoding::kRaw);
  Frame f = noise_frame(37, 23, 3);
  planner.set_formats(f.format(), client);

  rfb::Region changed(Rect{1, 2, 10, 5});
  changed.add(Rect{20, 10, 17, 13});
  ByteBuffer out;
  size_t n = planner.write_update(f, {changed, {}, std::nullopt}, out).rects;
  auto rects = parse_update(out, client);
  ASSERT_EQ(rects.size(), n);
  rfb::Region covered;
  for (const ParsedRect& p : rects) {
    ASSERT_EQ(p.encoding, rfb::encoding::kRaw);
    covered.add(p.r);
    std::vector<uint8_t> want(p.payload.size());
    const size_t bpp = static_cast<size_t>(client.bytes_per_pixel());
    test::ref_convert(f.view(p.r).data, f.stride(), f.format(), want.data(),
                      static_cast<size_t>(p.r.w) * bpp, client, p.r.w, p.r.h);
    EXPECT_EQ(p.payload, want) << p.r.str();
  }
  EXPECT_EQ(covered, changed);
}

INSTANTIATE_TEST_SUITE_P(Formats, PlannerFormats,
                         testing::Values(PixelFormat::rgb888(), PixelFormat::rgb565(),
                                         PixelFormat::bgr233(), PixelFormat::colour_map8(), [] {
                                           PixelFormat p = PixelFormat::rgb888();
                                           p.big_endian = true;
                                           return p;
                                         }()));

// Native == client in a format every bit of which is a channel bit: the planner encodes from the
// frame in place; its bytes are those of the encoder run on the converted pixels (here the same),
// and a full-frame update leaves no scratch above the kept bound behind.
TEST(Planner, IdentityFormatEncodesInPlaceWithTheSameBytes) {
  const EncoderRegistry reg = EncoderRegistry::builtin();
  const PixelFormat pf = PixelFormat::rgb565();
  const Frame src = noise_frame(700, 600, 11);
  Frame f({700, 600}, pf);
  rfb::PixelConverter conv(PixelFormat::rgb888(), pf);
  conv.convert(src.data(), src.stride(), f.mutable_data(), f.stride(), 700, 600);
  ASSERT_STREQ(rfb::PixelConverter(pf, pf).kernel_name(), "copy");
  for (int32_t e : {rfb::encoding::kHextile, rfb::encoding::kZRLE, rfb::encoding::kRaw}) {
    UpdatePlanner planner(reg);
    const int32_t encodings[] = {e};
    planner.set_encodings(encodings);
    planner.set_formats(pf, pf);
    ByteBuffer got;
    planner.write_update(f, {rfb::Region(Rect{0, 0, 700, 600}), {}, {}}, got);
    auto enc = reg.create(e);
    // Encoders with a height limit (ZRLE) get the frame in bands, in order, and so does every
    // encoding for pieces above kMaxPieceBytes (whole 64-row tile rows).
    int band = enc->traits().max_height > 0 ? enc->traits().max_height : 600;
    const size_t row_bytes = 700 * 2;
    if (row_bytes * static_cast<size_t>(band) > UpdatePlanner::kMaxPieceBytes)
      band = static_cast<int>(UpdatePlanner::kMaxPieceBytes / row_bytes) / 64 * 64;
    ByteBuffer want;
    rfb::write_framebuffer_update_header(want, static_cast<uint16_t>((600 + band - 1) / band));
    rfb::PixelConverter identity(pf, pf);
    for (int y = 0; y < 600; y += band) {
      const Rect r{0, y, 700, std::min(band, 600 - y)};
      rfb::write_rect_header(want, r, e);
      enc->encode(f.view(r), rfb::EncodeContext{pf, identity, rfb::EncodeSettings{}}, want);
    }
    EXPECT_EQ(std::vector<uint8_t>(got.span().begin(), got.span().end()),
              std::vector<uint8_t>(want.span().begin(), want.span().end()))
        << e;
  }
}

TEST(Planner, FollowsClientPreferenceOrder) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  const int32_t a[] = {99, rfb::encoding::kCopyRect, rfb::encoding::kZRLE, rfb::encoding::kHextile};
  planner.set_encodings(a);
  EXPECT_EQ(planner.preferred_encoding(), rfb::encoding::kZRLE);
  const int32_t b[] = {rfb::encoding::kHextile, rfb::encoding::kZRLE};
  planner.set_encodings(b);
  EXPECT_EQ(planner.preferred_encoding(), rfb::encoding::kHextile);
  const int32_t none[] = {rfb::encoding::kDesktopSize};
  planner.set_encodings(none);
  EXPECT_EQ(planner.preferred_encoding(), rfb::encoding::kRaw);
}

TEST(Planner, DesktopSizeComesFirstAndCountsInHeader) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  const int32_t encs[] = {0, rfb::encoding::kDesktopSize};
  planner.set_encodings(encs);
  EXPECT_TRUE(planner.client_supports(rfb::encoding::kDesktopSize));
  EXPECT_FALSE(planner.client_supports(rfb::encoding::kLastRect));
  Frame f = noise_frame(8, 4, 1);
  planner.set_formats(f.format(), f.format());
  ByteBuffer out;
  EXPECT_EQ(
      planner.write_update(f, {rfb::Region(Rect{0, 0, 8, 4}), {}, rfb::Size{8, 4}}, out).rects, 2u);
  auto rects = parse_update(out, f.format());
  ASSERT_EQ(rects.size(), 2u);
  EXPECT_EQ(rects[0].encoding, rfb::encoding::kDesktopSize);
  EXPECT_EQ(rects[0].r, (Rect{0, 0, 8, 4}));
  EXPECT_EQ(rects[1].encoding, rfb::encoding::kRaw);
}

TEST(Planner, EmptyRegionGivesEmptyUpdateAndOutsideIsClipped) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  Frame f = noise_frame(8, 4, 1);
  planner.set_formats(f.format(), f.format());
  ByteBuffer out;
  EXPECT_EQ(
      planner.write_update(f, {rfb::Region(Rect{100, 100, 5, 5}), {}, std::nullopt}, out).rects,
      0u);
  EXPECT_EQ(out.size(), 4u);
  out.clear();
  EXPECT_EQ(
      planner.write_update(f, {rfb::Region(Rect{6, 2, 100, 100}), {}, std::nullopt}, out).rects,
      1u);
  auto rects = parse_update(out, f.format());
  EXPECT_EQ(rects[0].r, (Rect{6, 2, 2, 2}));
}

TEST(Planner, FragmentedRegionStaysWithinRectCount) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  Frame f = noise_frame(160, 160, 1);
  planner.set_formats(f.format(), f.format());
  rfb::Region checker;
  for (int y = 0; y < 160; y += 2)
    for (int x = (y / 2) % 2; x < 160; x += 2) checker.add(Rect{x, y, 1, 1});
  ByteBuffer out;
  size_t n = planner.write_update(f, {checker, {}, std::nullopt}, out).rects;
  EXPECT_LE(n, 65535u);
  rfb::Region covered;
  for (const ParsedRect& p : parse_update(out, f.format())) covered.add(p.r);
  EXPECT_TRUE(covered.intersected(checker) == checker);
}

}  // namespace
}  // namespace vncd::enc

namespace vncd::enc {
namespace {

std::vector<int32_t> rect_encodings(const ByteBuffer& b) {
  rfb::Reader r(b.span());
  r.skip(2);
  const uint16_t n = r.u16();
  std::vector<int32_t> out;
  // Only walks headers of updates whose payload sizes are known: callers use it on CopyRect
  // and first-rectangle checks, or decode with the reference client instead.
  for (uint16_t i = 0; i < n && r.has(12); ++i) {
    r.skip(8);
    out.push_back(r.s32());
    if (out.back() == rfb::encoding::kCopyRect)
      r.skip(4);
    else
      break;
  }
  return out;
}

Status decode_into(test::ReferenceClient& client, const ByteBuffer& b) {
  rfb::Reader r(b.span());
  Status s = client.decode_update(r);
  if (s && r.remaining() != 0) return Error("trailing bytes after the update");
  return s;
}

TEST(Planner, CopyRectIsSentFirstAndOnlyWhenTheClientTakesIt) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  Frame before = test::make_ui_image(64, 64, 1);
  // "Scroll" up by 8 rows: the new frame's rows 0..55 are the old rows 8..63.
  Frame after = before;
  for (int y = 0; y < 56; ++y)
    std::memcpy(after.mutable_row(y), before.view().row(y + 8), after.stride());
  Frame strip = test::make_noise(64, 8, 4);
  for (int y = 56; y < 64; ++y)
    std::memcpy(after.mutable_row(y), strip.view().row(y - 56), after.stride());

  for (bool with_copyrect : {true, false}) {
    UpdatePlanner planner(reg);
    std::vector<int32_t> encs = {rfb::encoding::kHextile};
    if (with_copyrect) encs.insert(encs.begin(), rfb::encoding::kCopyRect);
    planner.set_encodings(encs);
    planner.set_formats(after.format(), PixelFormat::rgb565());
    test::ReferenceClient client(64, 64, PixelFormat::rgb565());
    ByteBuffer first;
    planner.write_update(before, {rfb::Region(Rect{0, 0, 64, 64}), {}, std::nullopt}, first);
    ASSERT_TRUE(decode_into(client, first));

    UpdateContent scroll{rfb::Region(Rect{0, 56, 64, 8}), {CopyOp{Rect{0, 0, 64, 56}, 0, 8}}, {}};
    ByteBuffer b;
    planner.write_update(after, scroll, b);
    std::vector<int32_t> kinds = rect_encodings(b);
    ASSERT_FALSE(kinds.empty());
    if (with_copyrect) {
      EXPECT_EQ(kinds[0], rfb::encoding::kCopyRect);
      EXPECT_LT(b.size(), 64u * 16 * 2);  // Far less than re-sending the moved pixels.
    } else {
      EXPECT_NE(kinds[0], rfb::encoding::kCopyRect);
    }
    Status s = decode_into(client, b);
    ASSERT_TRUE(s) << s.error().message();
    Frame want = test::convert_frame(after, PixelFormat::rgb565());
    EXPECT_EQ(client.fb.pixels,
              std::vector<uint8_t>(want.data(), want.data() + want.stride() * 64));
  }
}

TEST(Planner, LargeSolidAreasAreTakenOutAndDecodeExactly) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  Frame f = test::make_solid(300, 200, 40, 80, 120);
  Frame noise = test::make_noise(50, 50, 2);
  for (int y = 0; y < 50; ++y)
    std::memcpy(f.mutable_row(100 + y) + 100 * 4, noise.view().row(y), 200);
  for (int32_t e : {rfb::encoding::kZRLE, rfb::encoding::kHextile, rfb::encoding::kTight,
                    rfb::encoding::kRRE}) {
    UpdatePlanner planner(reg);
    const int32_t encs[] = {e};
    planner.set_encodings(encs);
    planner.set_formats(f.format(), f.format());
    ByteBuffer b;
    planner.write_update(f, {rfb::Region(Rect{0, 0, 300, 200}), {}, std::nullopt}, b);
    test::ReferenceClient client(300, 200, f.format());
    Status s = decode_into(client, b);
    ASSERT_TRUE(s) << e << ": " << s.error().message();
    Frame want = test::convert_frame(f, f.format());
    for (int y = 0; y < 200; ++y)
      for (int x = 0; x < 300; ++x)
        ASSERT_EQ(std::memcmp(client.fb.at(x, y), want.view().at(x, y), 3), 0)
            << e << " at " << x << "," << y;
    // 60,000 pixels, of which 2,500 are noise inside 64x64 pixels of solid-block grid: only those
    // may cost more than a few bytes (Raw for the whole frame would be 240,000 bytes).
    EXPECT_LT(b.size(), 64u * 64 * 4 + 2000) << e;
  }
}

TEST(Planner, RawOnlyClientGetsOnlyRaw) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  const int32_t encs[] = {rfb::encoding::kRaw};
  planner.set_encodings(encs);
  Frame f = test::make_solid(64, 64, 1, 2, 3);
  planner.set_formats(f.format(), f.format());
  ByteBuffer b;
  EXPECT_EQ(planner.write_update(f, {rfb::Region(Rect{0, 0, 64, 64}), {}, std::nullopt}, b).rects,
            1u);
  EXPECT_EQ(rect_encodings(b), std::vector<int32_t>{rfb::encoding::kRaw});
  EXPECT_EQ(b.size(), 4u + 12u + 64u * 64u * 4u);
}

TEST(Planner, BusyContentFallsBackFromRre) {
  EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  const int32_t encs[] = {rfb::encoding::kRRE, rfb::encoding::kZRLE};
  planner.set_encodings(encs);
  Frame f = test::make_noise(40, 40, 9);
  planner.set_formats(f.format(), f.format());
  ByteBuffer b;
  planner.write_update(f, {rfb::Region(Rect{0, 0, 40, 40}), {}, std::nullopt}, b);
  rfb::Reader r(b.span());
  r.skip(4 + 8);
  EXPECT_EQ(r.s32(), rfb::encoding::kZRLE);
  test::ReferenceClient client(40, 40, f.format());
  EXPECT_TRUE(decode_into(client, b));
}

TEST(Planner, SettingsFromPseudoEncodings) {
  const int32_t encs[] = {7, -256 + 3, -32 + 8, -512 + 77, -768 + 2, -256 + 9};
  rfb::EncodeSettings s = settings_from_encodings(encs);
  EXPECT_EQ(s.compress_level, 9);
  EXPECT_EQ(s.quality_level, 8);
  EXPECT_EQ(s.fine_quality, 77);
  EXPECT_EQ(s.subsampling, 2);
  EXPECT_EQ(settings_from_encodings({}).quality_level, -1);
}

}  // namespace
}  // namespace vncd::enc

namespace vncd::enc {
namespace {

int64_t total_area(const std::vector<Rect>& rs) {
  int64_t a = 0;
  for (const Rect& r : rs) a += r.area();
  return a;
}

TEST(Coalesce, NeighboursWithinTheSlackBecomeOneRectangle) {
  // A glyph cut into per-tile boxes at a tile corner, plus a far-away clock digit.
  const std::vector<Rect> glyph{{28, 26, 4, 6}, {32, 26, 5, 6}, {28, 32, 4, 9}, {32, 32, 5, 9}};
  std::vector<Rect> in = glyph;
  in.push_back(Rect{900, 500, 8, 12});
  const std::vector<Rect> out = coalesce_rects(in, 256);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (Rect{28, 26, 9, 15}));
  EXPECT_EQ(out[1], (Rect{900, 500, 8, 12}));
}

TEST(Coalesce, NothingMergesBeyondTheSlack) {
  const std::vector<Rect> in{{0, 0, 10, 10}, {20, 0, 10, 10}};  // Gap of 10x10 = 100 px.
  EXPECT_EQ(coalesce_rects(in, 99).size(), 2u);
  EXPECT_EQ(coalesce_rects(in, 100), (std::vector<Rect>{{0, 0, 30, 10}}));
}

TEST(Coalesce, ResultCoversTheInputAndStaysDisjoint) {
  uint32_t seed = 7;
  auto rnd = [&](int mod) {
    seed = seed * 1103515245u + 12345u;
    return static_cast<int>((seed >> 8) % static_cast<uint32_t>(mod));
  };
  for (int round = 0; round < 200; ++round) {
    rfb::Region region;
    const int n = 1 + rnd(12);
    for (int i = 0; i < n; ++i) region.add(Rect{rnd(200), rnd(200), 1 + rnd(30), 1 + rnd(30)});
    const std::vector<Rect> out = coalesce_rects(region.rects(), 256);
    rfb::Region covered;
    for (const Rect& r : out) covered.add(r);
    EXPECT_TRUE(covered.intersected(region) == region) << "round " << round;
    EXPECT_EQ(covered.area(), total_area(out)) << "overlap in round " << round;
    EXPECT_LE(out.size(), region.rects().size());
    EXPECT_LE(covered.area() - region.area(), int64_t{256} * n);
  }
}

// The rule coalesce_rects() implements, spelled out with no shortcuts: repeatedly merge the
// first pair (in list order) whose bounding box holds everything it overlaps and wastes at most
// `slack` pixels, together with what it overlaps.
std::vector<Rect> coalesce_reference(std::vector<Rect> rects, int64_t slack) {
  if (rects.size() > kMaxCoalesce) return rects;
  std::vector<int64_t> covered;
  for (const Rect& r : rects) covered.push_back(r.area());
  auto bounding = [](const Rect& a, const Rect& b) {
    const int x = std::min(a.x, b.x), y = std::min(a.y, b.y);
    return Rect{x, y, std::max(a.right(), b.right()) - x, std::max(a.bottom(), b.bottom()) - y};
  };
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < rects.size() && !merged; ++i) {
      for (size_t j = i + 1; j < rects.size() && !merged; ++j) {
        const Rect box = bounding(rects[i], rects[j]);
        std::vector<size_t> joining{j};
        int64_t inside = covered[i] + covered[j];
        Rect grown = box;
        for (size_t k = 0; k < rects.size(); ++k) {
          if (k == i || k == j || box.intersect(rects[k]).empty()) continue;
          joining.push_back(k);
          inside += covered[k];
          grown = bounding(grown, rects[k]);
        }
        if (grown != box || box.area() - inside > slack) continue;
        rects[i] = box;
        covered[i] = inside;
        std::sort(joining.rbegin(), joining.rend());
        for (size_t k : joining) {
          rects.erase(rects.begin() + static_cast<std::ptrdiff_t>(k));
          covered.erase(covered.begin() + static_cast<std::ptrdiff_t>(k));
        }
        merged = true;
      }
    }
  }
  return rects;
}

TEST(Coalesce, SameAsTheRuleWithoutShortcuts) {
  uint32_t seed = 11;
  auto rnd = [&](int mod) {
    seed = seed * 1103515245u + 12345u;
    return static_cast<int>((seed >> 8) % static_cast<uint32_t>(mod));
  };
  size_t merges = 0;
  for (int round = 0; round < 300; ++round) {
    // Text-like fragments (glyph boxes along lines) and scattered ones.
    rfb::Region region;
    const int n = 1 + rnd(40);
    for (int i = 0; i < n; ++i) {
      if (round % 2)
        region.add(Rect{rnd(60) * 9, rnd(8) * 16, 6 + rnd(4), 10 + rnd(5)});
      else
        region.add(Rect{rnd(400), rnd(300), 1 + rnd(40), 1 + rnd(40)});
    }
    for (int64_t slack : {0, 64, 256, 4096}) {
      const std::vector<Rect> out = coalesce_rects(region.rects(), slack);
      EXPECT_EQ(out, coalesce_reference(region.rects(), slack)) << "round " << round;
      merges += region.rects().size() - out.size();
    }
  }
  EXPECT_GT(merges, 1000u);  // The cases do merge.
}

TEST(Coalesce, LongListsAreLeftAlone) {
  std::vector<Rect> in;
  for (int i = 0; i <= static_cast<int>(kMaxCoalesce); ++i) in.push_back(Rect{i * 2, 0, 1, 1});
  EXPECT_EQ(coalesce_rects(in, 1000).size(), in.size());
}

}  // namespace
}  // namespace vncd::enc
