// The update planner on a real multi-threaded TaskRunner: every encoding x client format over
// several successive updates (zlib streams carry on across them), decoded by the reference client
// and libvncclient; 1 and N threads give the same picture; ZlibStream's pigz-style chunks are one
// valid zlib stream for real inflate; per-rectangle quality (lossless region, JPEG cap).
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "encodings/registry.h"
#include "encodings/tight_encoder.h"
#include "encodings/update_planner.h"
#include "encodings/zlib_stream.h"
#include "rfb/encoder.h"
#include "server/worker_pool.h"
#include "support/libvncclient_decoder.h"
#include "support/reference_decoder.h"
#include "support/test_images.h"

namespace vncd::enc {
namespace {

namespace E = rfb::encoding;
using rfb::Frame;
using rfb::Rect;

constexpr int kW = 640;
constexpr int kH = 360;

struct Encoding {
  std::string name;
  std::vector<int32_t> list;  // The client's SetEncodings.
  const char* libvnc;         // libvncclient's name, nullptr: not checked there.
  bool lossy = false;
};

const Encoding kEncodings[] = {
    {"Raw", {E::kRaw}, "raw"},
    {"RRE", {E::kRRE, E::kHextile}, "rre hextile"},
    {"CoRRE", {E::kCoRRE}, "corre"},
    {"Hextile", {E::kHextile}, "hextile"},
    {"Zlib", {E::kZlib}, "zlib"},
    {"Tight", {E::kTight}, "tight"},
    {"TRLE", {E::kTRLE}, "trle"},
    {"ZRLE", {E::kZRLE}, "zrle"},
    {"TightJpeg", {E::kTight, E::kQualityLevel0 + 7}, nullptr, true},
};

// Colour bits only (bits outside the channels carry nothing).
bool same_colours(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                  const rfb::PixelFormat& pf) {
  if (a.size() != b.size()) return false;
  if (pf.bpp != 32 || !pf.true_colour) return a == b;
  const uint32_t mask = (uint32_t{pf.red_max} << pf.red_shift) |
                        (uint32_t{pf.green_max} << pf.green_shift) |
                        (uint32_t{pf.blue_max} << pf.blue_shift);
  for (size_t i = 0; i + 4 <= a.size(); i += 4) {
    uint32_t x, y;
    std::memcpy(&x, a.data() + i, 4);
    std::memcpy(&y, b.data() + i, 4);
    if (pf.big_endian) {
      x = __builtin_bswap32(x);
      y = __builtin_bswap32(y);
    }
    if ((x & mask) != (y & mask)) return false;
  }
  return true;
}

std::vector<uint8_t> pixels_of(const Frame& f, const rfb::PixelFormat& pf) {
  Frame c = test::convert_frame(f, pf);
  return std::vector<uint8_t>(c.data(),
                              c.data() + c.stride() * static_cast<size_t>(c.size().height));
}

void paste(Frame& dst, const Frame& src, const Rect& r) {
  for (int y = r.y; y < r.bottom(); ++y)
    std::memcpy(dst.mutable_row(y) + r.x * 4, src.view().row(y) + r.x * 4,
                static_cast<size_t>(r.w) * 4);
}

// Four updates: a full UI frame, three photo patches, a full photo frame, a gradient band.
struct Step {
  Frame frame;
  UpdateContent content;
};
std::vector<Step> steps() {
  std::vector<Step> out;
  Frame f = test::make_ui_image(kW, kH, 7);
  out.push_back({f, {rfb::Region(Rect{0, 0, kW, kH}), {}, {}}});
  const Frame photo = test::make_photo_image(kW, kH, 3);
  rfb::Region patches;
  for (const Rect& r : {Rect{10, 10, 200, 150}, Rect{300, 40, 330, 100}, Rect{50, 250, 500, 90}}) {
    paste(f, photo, r);
    patches.add(r);
  }
  out.push_back({f, {patches, {}, {}}});
  const Frame photo2 = test::make_photo_image(kW, kH, 9);
  out.push_back({photo2, {rfb::Region(Rect{0, 0, kW, kH}), {}, {}}});
  Frame g = photo2;
  paste(g, test::make_gradient(kW, kH), Rect{0, 100, kW, 170});
  out.push_back({g, {rfb::Region(Rect{0, 100, kW, 170}), {}, {}}});
  return out;
}

struct Encoded {
  std::vector<std::vector<uint8_t>> updates;
};

Encoded encode_all(const Encoding& e, const rfb::PixelFormat& pf, rfb::TaskRunner* runner,
                   const std::vector<Step>& s) {
  const EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  planner.set_task_runner(runner);
  planner.set_encodings(e.list);
  planner.set_formats(s[0].frame.format(), pf);
  Encoded out;
  for (const Step& step : s) {
    rfb::ByteBuffer b;
    planner.write_update(step.frame, step.content, b);
    out.updates.emplace_back(b.data(), b.data() + b.size());
  }
  return out;
}

using Param = std::tuple<Encoding, test::NamedFormat>;
class Parallel : public testing::TestWithParam<Param> {};

TEST_P(Parallel, SuccessiveUpdatesDecodeAndMatchOneThread) {
  const auto& [enc, fmt] = GetParam();
  const std::vector<Step> s = steps();
  server::WorkerPool pool(3);
  const Encoded one = encode_all(enc, fmt.format, nullptr, s);
  const Encoded many = encode_all(enc, fmt.format, &pool, s);

  test::ReferenceClient ref_one(kW, kH, fmt.format), ref_many(kW, kH, fmt.format);
  for (size_t i = 0; i < s.size(); ++i) {
    for (auto [client, bytes] :
         {std::pair{&ref_one, &one.updates[i]}, {&ref_many, &many.updates[i]}}) {
      rfb::Reader r(*bytes);
      Status st = client->decode_update(r);
      ASSERT_TRUE(st) << "update " << i << ": " << st.error().message();
      EXPECT_EQ(r.remaining(), 0u);
    }
    if (!enc.lossy) {
      ASSERT_TRUE(same_colours(ref_many.fb.pixels, pixels_of(s[i].frame, fmt.format), fmt.format))
          << "threaded output differs from the frame after update " << i;
    }
    ASSERT_EQ(ref_one.fb.pixels, ref_many.fb.pixels) << "1 vs 3 threads after update " << i;
  }

  // libvncclient 0.9.14 decodes Tight, TRLE and ZRLE wrongly for big-endian client formats
  // (INTEROP-NOTES.md); the reference client covers those.
  if (!enc.libvnc) return;
  const int32_t e0 = enc.list[0];
  if (fmt.format.big_endian && (e0 == E::kTight || e0 == E::kTRLE || e0 == E::kZRLE)) return;
  test::LibVncClientRun run;
  run.width = kW;
  run.height = kH;
  run.client_format = fmt.format;
  run.encodings = enc.libvnc;
  run.updates = many.updates;
  Result<std::vector<uint8_t>> got = test::decode_with_libvncclient(run);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_TRUE(same_colours(*got, pixels_of(s.back().frame, fmt.format), fmt.format));
}

INSTANTIATE_TEST_SUITE_P(AllEncodings, Parallel,
                         testing::Combine(testing::ValuesIn(kEncodings),
                                          testing::ValuesIn(test::test_pixel_formats())),
                         [](const testing::TestParamInfo<Param>& p) {
                           return std::get<0>(p.param).name + "_" + std::get<1>(p.param).name;
                         });

// The server may change its pool between updates: Tight's lanes re-split its streams (with
// resets), ZRLE/Zlib switch between serial and chunked deflate on the same stream.
TEST(ParallelSwitch, ThreadCountChangesBetweenUpdates) {
  const std::vector<Step> s = steps();
  server::WorkerPool p2(2), p3(3), p4(4);
  rfb::TaskRunner* runners[] = {&p3, nullptr, &p4, &p2, &p4, nullptr, &p3, &p2};
  for (const Encoding& e : kEncodings) {
    for (const test::NamedFormat& fmt : test::test_pixel_formats()) {
      const EncoderRegistry reg = EncoderRegistry::builtin();
      UpdatePlanner planner(reg);
      planner.set_encodings(e.list);
      planner.set_formats(s[0].frame.format(), fmt.format);
      test::ReferenceClient ref(kW, kH, fmt.format);
      for (size_t i = 0; i < std::size(runners); ++i) {
        planner.set_task_runner(runners[i]);
        const Step& step = s[i % s.size()];
        rfb::ByteBuffer b;
        planner.write_update(step.frame, step.content, b);
        rfb::Reader r(b.span());
        Status st = ref.decode_update(r);
        ASSERT_TRUE(st) << e.name << " " << fmt.name << " update " << i << ": "
                        << st.error().message();
        // The steps go round in order, so each leaves the client showing its frame.
        if (!e.lossy) {
          ASSERT_TRUE(same_colours(ref.fb.pixels, pixels_of(step.frame, fmt.format), fmt.format))
              << e.name << " " << fmt.name << " update " << i;
        }
      }
    }
  }
}

// An update written in installments (begin_update, then continue_update with a small budget,
// as the server streams a large update) is the same valid message: every encoding and format,
// successive updates, with threads; each installment stops soon after its budget.
TEST(Installments, SmallBudgetsGiveTheSamePicture) {
  const std::vector<Step> s = steps();
  server::WorkerPool pool(2);
  constexpr size_t kBudget = 16 * 1024;
  for (const Encoding& e : kEncodings) {
    for (const test::NamedFormat& fmt : test::test_pixel_formats()) {
      const EncoderRegistry reg = EncoderRegistry::builtin();
      UpdatePlanner planner(reg);
      planner.set_task_runner(&pool);
      planner.set_encodings(e.list);
      planner.set_formats(s[0].frame.format(), fmt.format);
      const Encoded whole = encode_all(e, fmt.format, nullptr, s);
      test::ReferenceClient ref(kW, kH, fmt.format), ref_whole(kW, kH, fmt.format);
      for (size_t i = 0; i < s.size(); ++i) {
        rfb::ByteBuffer b;
        planner.begin_update(s[i].frame, s[i].content, b);
        EXPECT_TRUE(planner.in_update());
        size_t calls = 0;
        for (bool done = false; !done; ++calls) {
          ASSERT_LT(calls, 10000u);
          const size_t before = b.size();
          done = planner.continue_update(b, kBudget);
          // A batch is at least one piece per thread, each at most kMaxPieceBytes of pixels
          // (Raw into a wider client format at most doubles it).
          EXPECT_LE(b.size() - before, kBudget + 2 * 2 * UpdatePlanner::kMaxPieceBytes + 4096);
          if (!done) {
            EXPECT_GE(b.size() - before, kBudget);
          }
        }
        EXPECT_FALSE(planner.in_update());
        EXPECT_TRUE(planner.continue_update(b, kBudget)) << "nothing left to continue";
        rfb::Reader r(b.span());
        Status st = ref.decode_update(r);
        ASSERT_TRUE(st) << e.name << " " << fmt.name << " update " << i << ": "
                        << st.error().message();
        EXPECT_EQ(r.remaining(), 0u);
        rfb::Reader rw(whole.updates[i]);
        ASSERT_TRUE(ref_whole.decode_update(rw));
        if (!e.lossy) {
          ASSERT_TRUE(same_colours(ref.fb.pixels, pixels_of(s[i].frame, fmt.format), fmt.format))
              << e.name << " " << fmt.name << " update " << i;
        }
        ASSERT_EQ(ref.fb.pixels, ref_whole.fb.pixels) << e.name << " " << fmt.name << " " << i;
      }
    }
  }
}

// A whole 1920x1080 screen never becomes one rectangle: pieces are cut so the planner's buffers
// and one installment stay about kMaxPieceBytes, not a screen.
TEST(Installments, FullScreenRawIsCutIntoBoundedBands) {
  constexpr int kFw = 1920, kFh = 1080;
  const Frame f = test::make_photo_image(kFw, kFh, 5);
  const EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  const int32_t raw[] = {E::kRaw};
  planner.set_encodings(raw);
  planner.set_formats(f.format(), f.format());
  rfb::ByteBuffer b;
  planner.begin_update(f, {rfb::Region(Rect{0, 0, kFw, kFh}), {}, {}}, b);
  size_t installments = 0;
  size_t largest = 0;
  for (bool done = false; !done; ++installments) {
    const size_t before = b.size();
    done = planner.continue_update(b, 1);
    largest = std::max(largest, b.size() - before);
  }
  EXPECT_LE(largest, UpdatePlanner::kMaxPieceBytes + 12);
  EXPECT_GE(installments, size_t{kFw} * kFh * 4 / UpdatePlanner::kMaxPieceBytes);
  test::ReferenceClient ref(kFw, kFh, f.format());
  rfb::Reader r(b.span());
  ASSERT_TRUE(ref.decode_update(r));
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(same_colours(ref.fb.pixels,
                           std::vector<uint8_t>(f.data(), f.data() + f.stride() * size_t{kFh}),
                           f.format()));
}

// Runs a batch inline as if on `concurrency` threads, counting the batches: each costs the
// server a wake-up of every worker.
class CountingRunner final : public rfb::TaskRunner {
 public:
  size_t concurrency() const override { return 2; }
  void run(size_t count, const std::function<void(size_t)>& fn) override {
    ++runs;
    for (size_t i = 0; i < count; ++i) fn(i);
  }
  size_t runs = 0;
};

// A 1080p photo as JPEG is about 20 times smaller than its pixels: once the planner has seen
// that, an installment's budget is filled by one batch (one wake-up of the threads), not by
// pairs of bands until the output is big enough. Overshoot stays bounded by kMaxBatchBytes.
TEST(Installments, BatchesAreSizedByTheOutputRatio) {
  constexpr int kFw = 1920, kFh = 1080;
  const Frame f = test::make_photo_image(kFw, kFh, 7);
  const EncoderRegistry reg = EncoderRegistry::builtin();
  UpdatePlanner planner(reg);
  CountingRunner runner;
  planner.set_task_runner(&runner);
  const int32_t tight_jpeg[] = {E::kTight, E::kQualityLevel0 + 8};
  planner.set_encodings(tight_jpeg);
  planner.set_formats(f.format(), f.format());
  test::ReferenceClient ref(kFw, kFh, f.format());
  for (int update = 0; update < 3; ++update) {
    rfb::ByteBuffer b;
    planner.begin_update(f, {rfb::Region(Rect{0, 0, kFw, kFh}), {}, {}}, b);
    size_t budget = 64 * 1024, installments = 0;
    runner.runs = 0;
    for (bool done = false; !done; ++installments, budget = std::min(2 * budget, size_t{1} << 20)) {
      const size_t before = b.size();
      done = planner.continue_update(b, budget);
      EXPECT_LE(b.size() - before, budget + UpdatePlanner::kMaxBatchBytes);
    }
    // Raw would be 8 MB: the first update learns the ratio, the next ones use it.
    EXPECT_LT(b.size(), size_t{kFw} * kFh * 4 / 8);
    if (update > 0) {
      EXPECT_LE(runner.runs, installments + 1) << "update " << update;
    }
    rfb::Reader r(b.span());
    ASSERT_TRUE(ref.decode_update(r));
    EXPECT_EQ(r.remaining(), 0u);
  }
}

// Inflates everything given so far with one zlib stream, as a client does.
class Inflater {
 public:
  Inflater() { EXPECT_EQ(inflateInit(&z_), Z_OK); }
  ~Inflater() { inflateEnd(&z_); }
  std::vector<uint8_t> feed(std::span<const uint8_t> in, size_t expect) {
    std::vector<uint8_t> out(expect + 1);
    z_.next_in = const_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = out.data();
    z_.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z_, Z_SYNC_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc << " " << (z_.msg ? z_.msg : "");
    EXPECT_EQ(z_.avail_in, 0u);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

std::vector<uint8_t> sample(size_t n, uint32_t seed) {
  // Repetitive enough for long matches across chunk boundaries, with some noise.
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = (i % 4099 < 3000) ? static_cast<uint8_t>(i / 7) : static_cast<uint8_t>(rng());
  return v;
}

TEST(ZlibStreamPigz, ChunksAreOneStreamForRealInflateAcrossCalls) {
  server::WorkerPool pool(4);
  ZlibStream stream(2);
  Inflater client;
  const size_t sizes[] = {100, 700000, 5000, 300000, 64 * 1024 * 2 + 1, 40, 1 << 20};
  uint32_t seed = 1;
  for (size_t n : sizes) {
    const std::vector<uint8_t> in = sample(n, seed++);
    rfb::ByteBuffer out;
    stream.compress(in, out, seed % 3 == 0 ? 6 : 2, seed % 2 ? &pool : nullptr,
                    seed % 4 < 2 ? Z_RLE : Z_DEFAULT_STRATEGY);
    EXPECT_EQ(client.feed(out.span(), n), in) << n;
  }
}

TEST(ZlibStreamPigz, ResetStartsAFreshStreamWithAHeader) {
  server::WorkerPool pool(2);
  ZlibStream stream(5);
  const std::vector<uint8_t> in = sample(400000, 5);
  {
    Inflater a;
    rfb::ByteBuffer out;
    stream.compress(in, out, -1, &pool);
    EXPECT_EQ(a.feed(out.span(), in.size()), in);
  }
  stream.reset();
  Inflater b;
  rfb::ByteBuffer out;
  stream.compress(in, out, -1, &pool);
  EXPECT_EQ(b.feed(out.span(), in.size()), in);
}

TEST(ZlibStreamPigz, RatioCostIsSmall) {
  // Photo-like tile data: the split may cost a little, never much.
  const Frame photo = test::make_photo_image(kW, kH, 2);
  const std::span<const uint8_t> in(photo.data(), photo.stride() * static_cast<size_t>(kH));
  server::WorkerPool pool(4);
  ZlibStream serial(2), split(2);
  rfb::ByteBuffer a, b;
  serial.compress(in, a);
  split.compress(in, b, -1, &pool);
  EXPECT_LT(static_cast<double>(b.size()), static_cast<double>(a.size()) * 1.03);
}

// A stand-in for a lossy encoder: Raw bytes, "lossy" whenever allowed, records its settings.
struct Seen {
  std::vector<rfb::EncodeSettings> settings;
};
class FakeLossy final : public rfb::Encoder {
 public:
  explicit FakeLossy(Seen* seen) : seen_(seen) {}
  int32_t encoding() const override { return E::kRaw; }
  rfb::EncoderTraits traits() const override {
    rfb::EncoderTraits t;
    t.lossy = true;
    t.max_lanes = 1;
    return t;
  }
  void encode(const rfb::PixelView& px, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override {
    seen_->settings.push_back(ctx.settings);
    lossy_ = ctx.settings.allow_lossy;
    const size_t row =
        static_cast<size_t>(px.width) * static_cast<size_t>(px.format.bytes_per_pixel());
    for (int y = 0; y < px.height; ++y) out.append({px.row(y), row});
  }
  bool last_was_lossy() const override { return lossy_; }

 private:
  Seen* seen_;
  bool lossy_ = false;
};

TEST(Quality, LossyRegionIsReportedExactlyAndCapsReachTheEncoder) {
  Seen seen;
  EncoderRegistry reg = EncoderRegistry::builtin();
  reg.add(E::kTight, "fake", [&seen] { return std::make_unique<FakeLossy>(&seen); });
  const Frame f = test::make_noise(kW, kH, 4);
  server::WorkerPool pool(3);
  for (rfb::TaskRunner* runner :
       {static_cast<rfb::TaskRunner*>(nullptr), static_cast<rfb::TaskRunner*>(&pool)}) {
    seen.settings.clear();
    UpdatePlanner planner(reg);
    planner.set_task_runner(runner);
    const int32_t encs[] = {E::kTight, E::kQualityLevel0 + 9};
    planner.set_encodings(encs);
    planner.set_formats(f.format(), f.format());
    UpdateContent c{rfb::Region(Rect{0, 0, kW, kH}), {}, {}};
    c.lossless.add(Rect{100, 50, 123, 77});
    c.lossless.add(Rect{400, 300, 300, 100});  // Partly outside the frame.
    c.jpeg_quality_cap = 40;
    c.jpeg_subsampling = 2;
    rfb::ByteBuffer b;
    const UpdateResult r = planner.write_update(f, c, b);
    rfb::Region want(Rect{0, 0, kW, kH});
    want.subtract(c.lossless);
    EXPECT_TRUE(r.lossy == want);
    ASSERT_FALSE(seen.settings.empty());
    size_t lossless = 0;
    for (const rfb::EncodeSettings& s : seen.settings) {
      EXPECT_EQ(s.jpeg_quality_cap, 40);
      EXPECT_EQ(s.jpeg_subsampling_cap, 2);
      EXPECT_EQ(s.quality_level, 9);
      lossless += s.allow_lossy ? 0 : 1;
    }
    EXPECT_GE(lossless, 2u);  // The two lossless areas, not straddled by any piece.
    test::ReferenceClient ref(kW, kH, f.format());
    rfb::Reader in(b.span());
    ASSERT_TRUE(ref.decode_update(in));
    EXPECT_TRUE(same_colours(ref.fb.pixels, pixels_of(f, f.format()), f.format()));
  }
}

TEST(Quality, PhotoInsideLosslessIsNotJpegAndTheRestIs) {
  const EncoderRegistry reg = EncoderRegistry::builtin();
  const Frame f = test::make_photo_image(kW, kH, 6);
  const Rect keep{64, 64, 256, 128};
  for (size_t threads : {1u, 3u}) {
    server::WorkerPool pool(threads);
    UpdatePlanner planner(reg);
    planner.set_task_runner(&pool);
    const int32_t encs[] = {E::kTight, E::kQualityLevel0 + 5};
    planner.set_encodings(encs);
    planner.set_formats(f.format(), rfb::PixelFormat::rgb888());
    UpdateContent c{rfb::Region(Rect{0, 0, kW, kH}), {}, {}};
    c.lossless = rfb::Region(keep);
    rfb::ByteBuffer b;
    const UpdateResult r = planner.write_update(f, c, b);
    EXPECT_FALSE(r.lossy.empty());
    EXPECT_TRUE(r.lossy.intersected(keep).empty());
    // A photo is all JPEG outside the lossless area at quality level 5.
    rfb::Region rest(Rect{0, 0, kW, kH});
    rest.subtract(keep);
    EXPECT_TRUE(r.lossy == rest);
    test::ReferenceClient ref(kW, kH, rfb::PixelFormat::rgb888());
    rfb::Reader in(b.span());
    ASSERT_TRUE(ref.decode_update(in));
    const std::vector<uint8_t> want = pixels_of(f, rfb::PixelFormat::rgb888());
    for (int y = keep.y; y < keep.bottom(); ++y) {
      const size_t row = static_cast<size_t>(keep.w) * 4;
      const uint8_t* got = ref.fb.at(keep.x, y);
      const uint8_t* exp = want.data() + (static_cast<size_t>(y) * kW + keep.x) * 4;
      ASSERT_TRUE(same_colours({got, got + row}, {exp, exp + row}, rfb::PixelFormat::rgb888()))
          << "row " << y;
    }
  }
}

size_t tight_jpeg_bytes(int quality_level, int cap, int subsampling_cap) {
  const EncoderRegistry reg = EncoderRegistry::builtin();
  const Frame f = test::make_photo_image(kW, kH, 8);
  UpdatePlanner planner(reg);
  const int32_t encs[] = {E::kTight, E::kQualityLevel0 + quality_level};
  planner.set_encodings(encs);
  planner.set_formats(f.format(), rfb::PixelFormat::rgb888());
  UpdateContent c{rfb::Region(Rect{0, 0, kW, kH}), {}, {}};
  c.jpeg_quality_cap = cap;
  c.jpeg_subsampling = subsampling_cap;
  rfb::ByteBuffer b;
  const UpdateResult r = planner.write_update(f, c, b);
  EXPECT_TRUE(r.lossy == rfb::Region(Rect{0, 0, kW, kH}));
  return b.size();
}

// A photo and text sharing a 64-row band (an image above a terminal, as on the e2e benchmark's
// screen): the band is cut where the content changes, so the photo rows go as JPEG and the text
// rows without loss, whichever is on top; a ruled line across a photo and a photo too narrow to
// tell are not cut; without a JPEG quality nothing is.
TEST(Quality, TextAndPhotoInOneBandAreCutApart) {
  const EncoderRegistry reg = EncoderRegistry::builtin();
  const Frame photo = test::make_photo_image(kW, 64, 8);
  const Frame text = test::make_ui_image(kW, 64, 9);
  // rows [0, split) from `upper`, the rest from `lower`.
  auto stack = [](const Frame& upper, const Frame& lower, int split) {
    Frame f({kW, 64}, rfb::PixelFormat::rgb888());
    for (int y = 0; y < 64; ++y)
      std::memcpy(f.mutable_row(y), (y < split ? upper : lower).view().row(y), size_t{kW} * 4);
    return f;
  };
  auto encode = [&](const Frame& f, std::span<const int32_t> encs, int width) {
    UpdatePlanner planner(reg);
    planner.set_encodings(encs);
    planner.set_formats(f.format(), rfb::PixelFormat::rgb888());
    rfb::ByteBuffer b;
    const UpdateResult r = planner.write_update(f, {rfb::Region(Rect{0, 0, width, 64}), {}, {}}, b);
    test::ReferenceClient ref(kW, 64, rfb::PixelFormat::rgb888());
    rfb::Reader in(b.span());
    EXPECT_TRUE(ref.decode_update(in));
    return std::make_pair(r, ref.fb.pixels);
  };
  const int32_t jpeg[] = {E::kTight, E::kQualityLevel0 + 8};
  const int32_t lossless[] = {E::kTight};
  for (const bool photo_on_top : {true, false}) {
    SCOPED_TRACE(photo_on_top);
    const int split = photo_on_top ? 20 : 44;
    const Frame f = photo_on_top ? stack(photo, text, split) : stack(text, photo, split);
    const Rect photo_rows = photo_on_top ? Rect{0, 0, kW, split} : Rect{0, split, kW, 64 - split};
    const Rect text_rows = photo_on_top ? Rect{0, split, kW, 64 - split} : Rect{0, 0, kW, split};
    const auto [r, got] = encode(f, jpeg, kW);
    EXPECT_TRUE(r.lossy == rfb::Region(photo_rows));
    const std::vector<uint8_t> want = pixels_of(f, rfb::PixelFormat::rgb888());
    const size_t from = static_cast<size_t>(text_rows.y) * kW * 4;
    const size_t to = static_cast<size_t>(text_rows.bottom()) * kW * 4;
    EXPECT_TRUE(same_colours({got.begin() + from, got.begin() + to},
                             {want.begin() + from, want.begin() + to}, rfb::PixelFormat::rgb888()));
    // A lossless client: one exact picture, nothing lossy.
    const auto [r2, got2] = encode(f, lossless, kW);
    EXPECT_TRUE(r2.lossy.empty());
    EXPECT_TRUE(same_colours(got2, want, rfb::PixelFormat::rgb888()));
  }
  // A one-colour line 3 rows high across the photo: still one JPEG.
  Frame ruled = stack(photo, photo, 0);
  for (int y = 30; y < 33; ++y)
    for (int x = 0; x < kW; ++x) std::memset(ruled.mutable_row(y) + size_t{4} * x, 0x40, 4);
  EXPECT_TRUE(encode(ruled, jpeg, kW).first.lossy == rfb::Region(Rect{0, 0, kW, 64}));
  // Photo rows narrower than 256 pixels are not told apart from busy UI: no cut, all JPEG.
  const Frame narrow = stack(photo, text, 20);
  const UpdateResult rn = encode(narrow, jpeg, 200).first;
  EXPECT_TRUE(rn.lossy == rfb::Region(Rect{0, 0, 200, 64}) || rn.lossy.empty());
}

TEST(Quality, JpegCapLowersQualityButNeverRaisesIt) {
  const size_t q9 = tight_jpeg_bytes(9, -1, -1);
  const size_t q9_capped = tight_jpeg_bytes(9, 30, -1);
  const size_t q1 = tight_jpeg_bytes(1, -1, -1);
  const size_t q1_cap_high = tight_jpeg_bytes(1, 95, -1);
  EXPECT_LT(q9_capped * 2, q9);
  EXPECT_EQ(q1_cap_high, q1);  // The client asked for less than the cap.
  // Grey (3) is coarser than level 9's 4:4:4.
  EXPECT_LT(tight_jpeg_bytes(9, -1, 3), q9);
  // 4:4:4 (0) is finer than level 1's 4:2:0: no change.
  EXPECT_EQ(tight_jpeg_bytes(1, -1, 0), q1);
}

TEST(Quality, CappedParams) {
  tight::JpegParams p{true, 92, JpegSubsampling::k1X};
  rfb::EncodeSettings s;
  s.jpeg_quality_cap = 50;
  s.jpeg_subsampling_cap = 1;  // 4X
  const tight::JpegParams c = tight::capped(p, s);
  EXPECT_EQ(c.quality, 50);
  EXPECT_EQ(c.subsampling, JpegSubsampling::k4X);
  p.quality = 20;
  p.subsampling = JpegSubsampling::kGray;
  const tight::JpegParams d = tight::capped(p, s);
  EXPECT_EQ(d.quality, 20);
  EXPECT_EQ(d.subsampling, JpegSubsampling::kGray);
}

}  // namespace
}  // namespace vncd::enc
