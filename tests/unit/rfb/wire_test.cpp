// Reader/ByteBuffer and the client/server message parsers and writers.
#include <gtest/gtest.h>

#include <cstring>

#include <random>
#include <variant>

#include "rfb/geometry.h"
#include "rfb/messages.h"
#include "rfb/wire.h"

namespace vncd::rfb {
namespace {

std::vector<uint8_t> bytes(const ByteBuffer& b) {
  return {b.data(), b.data() + b.size()};
}

TEST(Reader, ReadsBigEndianAndTracksPosition) {
  const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xFF, 0xFF, 0xFF, 0xFE};
  Reader r(data);
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0203);
  EXPECT_EQ(r.u32(), 0x04050607u);
  EXPECT_EQ(r.consumed(), 7u);
  EXPECT_TRUE(r.has(4));
  EXPECT_FALSE(r.has(5));
  EXPECT_EQ(r.s32(), -2);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_FALSE(r.has(1));
}

TEST(Reader, BytesAndSkipStayInBounds) {
  const uint8_t data[] = {1, 2, 3, 4, 5};
  Reader r(data);
  r.skip(1);
  auto b = r.bytes(3);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], 2);
  EXPECT_EQ(b[2], 4);
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_TRUE(r.has(0));
}

TEST(ByteBuffer, WritesBigEndianAndPatches) {
  ByteBuffer b;
  b.u8(0xAB);
  b.u16(0x1234);
  b.u32(0xDEADBEEF);
  b.s32(-1);
  b.zeros(2);
  b.append(std::string_view("hi"));
  EXPECT_EQ(bytes(b), (std::vector<uint8_t>{0xAB, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0xFF, 0xFF,
                                            0xFF, 0xFF, 0, 0, 'h', 'i'}));
  b.patch_u16(1, 0xCAFE);
  b.patch_u32(3, 7);
  EXPECT_EQ(b.data()[1], 0xCA);
  EXPECT_EQ(b.data()[6], 7);
}

TEST(ByteBuffer, ConsumeAndTakeKeepOrder) {
  ByteBuffer a, b;
  for (int i = 0; i < 200000; ++i) a.u8(static_cast<uint8_t>(i));
  size_t expect_first = 0;
  while (a.size() > 10) {
    size_t n = std::min<size_t>(a.size() - 10, 70001);
    a.consume(n);
    expect_first += n;
    ASSERT_EQ(a.data()[0], static_cast<uint8_t>(expect_first));
  }
  b.u8(1);
  b.take(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.size(), 11u);
  EXPECT_EQ(b.data()[1], static_cast<uint8_t>(expect_first));
  ByteBuffer c;
  c.take(b);
  EXPECT_EQ(c.size(), 11u);
  EXPECT_TRUE(b.empty());
}

TEST(ByteBuffer, GrowIsZeroed) {
  ByteBuffer b;
  b.u8(9);
  uint8_t* p = b.grow(5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p[i], 0);
  EXPECT_EQ(b.size(), 6u);
  // Storage reused after clear() held other bytes: grow() still zeroes, zeros() writes zeros,
  // and grow_for_overwrite() hands out exactly the room its caller fills.
  b.clear();
  std::memset(b.grow_for_overwrite(64), 0xAB, 64);
  b.clear();
  p = b.grow(32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(p[i], 0) << i;
  b.zeros(16);
  for (size_t i = 32; i < 48; ++i) EXPECT_EQ(b.data()[i], 0) << i;
  uint8_t* q = b.grow_for_overwrite(8);
  EXPECT_EQ(q, b.data() + 48);
  std::memset(q, 7, 8);
  EXPECT_EQ(b.size(), 56u);
  EXPECT_EQ(b.data()[55], 7);
}

// Every client message: serialize -> exact bytes -> parse back, and every prefix is "need more".
struct MessageCase {
  const char* name;
  ClientMessage msg;
  std::vector<uint8_t> wire;
};

std::vector<MessageCase> message_cases() {
  return {
      {"SetPixelFormat", SetPixelFormat{PixelFormat::rgb565()}, {0, 0,  0, 0,  16, 16, 0, 1, 0, 31,
                                                                 0, 63, 0, 31, 11, 5,  0, 0, 0, 0}},
      {"SetEncodings",
       SetEncodings{{16, 0, -223}},
       {2, 0, 0, 3, 0, 0, 0, 16, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x21}},
      {"SetEncodingsEmpty", SetEncodings{{}}, {2, 0, 0, 0}},
      {"FramebufferUpdateRequest",
       FramebufferUpdateRequest{true, 1, 2, 300, 65535},
       {3, 1, 0, 1, 0, 2, 1, 44, 0xFF, 0xFF}},
      {"KeyEvent", KeyEvent{true, 0xFF0D}, {4, 1, 0, 0, 0, 0, 0xFF, 0x0D}},
      {"PointerEvent", PointerEvent{0x18, 640, 480}, {5, 0x18, 2, 128, 1, 224}},
      {"ClientCutText", ClientCutText{"ab", 0}, {6, 0, 0, 0, 0, 0, 0, 2, 'a', 'b'}},
      {"ClientCutTextEmpty", ClientCutText{"", 0}, {6, 0, 0, 0, 0, 0, 0, 0}},
      {"EnableContinuousUpdates",
       EnableContinuousUpdates{true, 1, 2, 300, 65535},
       {150, 1, 0, 1, 0, 2, 1, 44, 0xFF, 0xFF}},
      {"DisableContinuousUpdates",
       EnableContinuousUpdates{false, 0, 0, 0, 0},
       {150, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {"ClientFenceEmpty",
       ClientFence{fence::kRequest | fence::kBlockBefore, {}},
       {248, 0, 0, 0, 0x80, 0, 0, 1, 0}},
      {"ClientFence",
       ClientFence{fence::kSyncNext | 0x40000000u, {7, 8, 9}},
       {248, 0, 0, 0, 0x40, 0, 0, 4, 3, 7, 8, 9}},
      {"ClientFenceMaxPayload", ClientFence{fence::kBlockAfter, std::vector<uint8_t>(64, 0xAB)},
       [] {
         std::vector<uint8_t> w = {248, 0, 0, 0, 0, 0, 0, 2, 64};
         w.insert(w.end(), 64, 0xAB);
         return w;
       }()},
  };
}

TEST(Messages, SerializeParseRoundTripAndPrefixes) {
  const MessageLimits limits;
  for (const MessageCase& c : message_cases()) {
    ByteBuffer b;
    serialize(c.msg, b);
    EXPECT_EQ(bytes(b), c.wire) << c.name;
    for (size_t n = 0; n < c.wire.size(); ++n) {
      Reader r(std::span<const uint8_t>(c.wire).first(n));
      ClientMessage out;
      ParseOutcome p = parse_client_message(r, limits, out);
      EXPECT_EQ(p.status, ParseOutcome::Status::kNeedMore) << c.name << " prefix " << n;
      EXPECT_EQ(r.consumed(), 0u) << c.name << " prefix " << n;
    }
    std::vector<uint8_t> with_tail = c.wire;
    with_tail.push_back(0x42);
    Reader r(with_tail);
    ClientMessage out;
    ParseOutcome p = parse_client_message(r, limits, out);
    ASSERT_EQ(p.status, ParseOutcome::Status::kOk) << c.name << ": " << p.reason;
    EXPECT_EQ(r.consumed(), c.wire.size()) << c.name;
    EXPECT_EQ(out, c.msg) << c.name;
  }
}

TEST(Messages, LimitsAreCheckedBeforeWaitingForData) {
  MessageLimits limits;
  limits.max_encodings = 4;
  limits.max_cut_text = 8;
  limits.max_cut_text_wire = 100;
  ClientMessage out;
  {
    const uint8_t m[] = {2, 0, 0, 5};  // 5 encodings announced, none sent yet.
    Reader r(m);
    ParseOutcome p = parse_client_message(r, limits, out);
    EXPECT_EQ(p.status, ParseOutcome::Status::kFail);
    EXPECT_EQ(p.reason, "SetEncodings lists 5 encodings (limit 4)");
  }
  {
    const uint8_t m[] = {6, 0, 0, 0, 0, 0, 0, 101};
    Reader r(m);
    EXPECT_EQ(parse_client_message(r, limits, out).status, ParseOutcome::Status::kFail);
  }
  {
    const uint8_t m[] = {6, 0, 0, 0, 0, 0, 0, 50};  // Over max_cut_text: dropped, header consumed.
    Reader r(m);
    ASSERT_EQ(parse_client_message(r, limits, out).status, ParseOutcome::Status::kOk);
    EXPECT_EQ(r.consumed(), 8u);
    EXPECT_EQ(std::get<ClientCutText>(out).discard, 50u);
  }
  {
    const uint8_t m[] = {6, 0, 0, 0, 0x80, 0, 0, 0};  // "Negative": extended clipboard only.
    Reader r(m);
    EXPECT_EQ(parse_client_message(r, MessageLimits{}, out).status, ParseOutcome::Status::kFail);
  }
}

TEST(Messages, FencePayloadOverLimitFailsOnTheLengthByte) {
  for (unsigned len : {65u, 200u, 255u}) {
    // Only the header: the parser must not wait for a payload it will refuse.
    const uint8_t m[] = {248, 0, 0, 0, 0x80, 0, 0, 0, static_cast<uint8_t>(len)};
    Reader r(m);
    ClientMessage out;
    ParseOutcome p = parse_client_message(r, MessageLimits{}, out);
    EXPECT_EQ(p.status, ParseOutcome::Status::kFail) << len;
    EXPECT_EQ(p.reason, "Fence payload of " + std::to_string(len) +
                            " bytes exceeds the protocol limit of 64");
  }
  // 64 with the payload missing is merely incomplete.
  const uint8_t m[] = {248, 0, 0, 0, 0x80, 0, 0, 0, 64, 1, 2};
  Reader r(m);
  ClientMessage out;
  EXPECT_EQ(parse_client_message(r, MessageLimits{}, out).status, ParseOutcome::Status::kNeedMore);
  EXPECT_EQ(r.consumed(), 0u);
}

TEST(Messages, UnknownTypeFails) {
  for (int t : {1, 7, 8, 127, 149, 151, 247, 249, 255}) {
    const uint8_t m[] = {static_cast<uint8_t>(t), 0, 0, 0};
    Reader r(m);
    ClientMessage out;
    ParseOutcome p = parse_client_message(r, MessageLimits{}, out);
    EXPECT_EQ(p.status, ParseOutcome::Status::kFail) << t;
    EXPECT_EQ(p.reason, "unknown client message type " + std::to_string(t));
  }
}

TEST(Messages, RandomBytesNeverCrashOrOverread) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> buf(rng() % 40);
    for (auto& b : buf) b = static_cast<uint8_t>(rng() % 8 == 0 ? rng() : rng() % 7);
    Reader r(buf);
    ClientMessage out;
    ParseOutcome p = parse_client_message(r, MessageLimits{}, out);
    if (p.status == ParseOutcome::Status::kNeedMore) {
      EXPECT_EQ(r.consumed(), 0u);
    }
    EXPECT_LE(r.consumed(), buf.size());
  }
}

TEST(ServerMessages, ExactBytes) {
  ByteBuffer b;
  write_framebuffer_update_header(b, 3);
  write_rect_header(b, Rect{1, 2, 3, 4}, -223);
  EXPECT_EQ(bytes(b),
            (std::vector<uint8_t>{0, 0, 0, 3, 0, 1, 0, 2, 0, 3, 0, 4, 0xFF, 0xFF, 0xFF, 0x21}));
  b.clear();
  const Colour16 cols[] = {{1, 2, 3}, {0xFFFF, 0, 0x8000}};
  write_set_colour_map_entries(b, 5, cols);
  EXPECT_EQ(bytes(b),
            (std::vector<uint8_t>{1, 0, 0, 5, 0, 2, 0, 1, 0, 2, 0, 3, 0xFF, 0xFF, 0, 0, 0x80, 0}));
  b.clear();
  write_bell(b);
  write_server_cut_text(b, "xyz");
  EXPECT_EQ(bytes(b), (std::vector<uint8_t>{2, 3, 0, 0, 0, 0, 0, 0, 3, 'x', 'y', 'z'}));
}

TEST(ServerMessages, EndOfContinuousUpdatesExactBytes) {
  ByteBuffer b;
  write_end_of_continuous_updates(b);
  EXPECT_EQ(bytes(b), (std::vector<uint8_t>{150}));
}

TEST(ServerMessages, FenceExactBytes) {
  ByteBuffer b;
  write_fence(b, fence::kRequest | fence::kBlockBefore, {});
  EXPECT_EQ(bytes(b), (std::vector<uint8_t>{248, 0, 0, 0, 0x80, 0, 0, 1, 0}));
  b.clear();
  const uint8_t payload[] = {0xDE, 0xAD, 0xBE, 0xEF};
  write_fence(b, fence::kSyncNext | fence::kBlockAfter, payload);
  EXPECT_EQ(bytes(b), (std::vector<uint8_t>{248, 0, 0, 0, 0, 0, 0, 6, 4, 0xDE, 0xAD, 0xBE, 0xEF}));
  b.clear();
  const std::vector<uint8_t> max(fence::kMaxPayload, 0x5A);
  write_fence(b, 0x12345678u, max);
  std::vector<uint8_t> want = {248, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 64};
  want.insert(want.end(), 64, 0x5A);
  EXPECT_EQ(bytes(b), want);
}

TEST(ServerMessages, FencePayloadOverLimitIsRefused) {
  const std::vector<uint8_t> big(fence::kMaxPayload + 1, 1);
#ifdef NDEBUG
  // Release builds clamp, so the peer never sees a length it must refuse.
  ByteBuffer b;
  write_fence(b, fence::kRequest, big);
  ASSERT_EQ(b.size(), 9u + fence::kMaxPayload);
  EXPECT_EQ(b.data()[8], fence::kMaxPayload);
#else
  EXPECT_DEATH(
      {
        ByteBuffer b;
        write_fence(b, fence::kRequest, big);
      },
      "at most 64");
#endif
}

TEST(Fence, FlagValuesFollowTheSpec) {
  // rfbproto.rst "ClientFence": bits 0, 1, 2 and 31.
  EXPECT_EQ(fence::kBlockBefore, 0x1u);
  EXPECT_EQ(fence::kBlockAfter, 0x2u);
  EXPECT_EQ(fence::kSyncNext, 0x4u);
  EXPECT_EQ(fence::kRequest, 0x80000000u);
  EXPECT_EQ(fence::kMaxPayload, 64u);
}

TEST(Fence, ResponseClearsRequestAndUnknownBits) {
  EXPECT_EQ(fence::response_flags(fence::kRequest), 0u);
  EXPECT_EQ(fence::response_flags(fence::kRequest | fence::kBlockBefore | 0x7FFFFFF8u),
            fence::kBlockBefore);
  EXPECT_EQ(fence::response_flags(0xFFFFFFFFu), fence::kUnderstood);
  EXPECT_EQ(fence::response_flags(fence::kRequest | fence::kBlockAfter | fence::kSyncNext),
            fence::kBlockAfter | fence::kSyncNext);
  EXPECT_EQ(fence::kUnderstood & fence::kRequest, 0u);
}

TEST(Geometry, RegionFromRectsIsTheUnionOfOverlappingRects) {
  const std::vector<Rect> rects = {
      {0, 0, 10, 10}, {5, 5, 10, 10}, {30, 0, 4, 4}, {0, 0, 0, 5}, {2, 2, 3, 3}};
  Region one_by_one;
  for (const Rect& r : rects) one_by_one.add(r);
  const Region at_once = Region::from_rects(rects);
  EXPECT_EQ(at_once, one_by_one);
  EXPECT_EQ(at_once.area(), 100 + 100 - 25 + 16);
  EXPECT_TRUE(Region::from_rects({}).empty());
  // Many small runs (a scrolled terminal's changed tiles): the same region.
  std::vector<Rect> runs;
  Region added;
  for (int y = 0; y < 1080; y += 16)
    for (int x = (y / 16) % 3; x < 1920; x += 40) {
      runs.push_back(Rect{x, y, 30, 15});
      added.add(runs.back());
    }
  EXPECT_EQ(Region::from_rects(runs), added);
}

TEST(Geometry, RectIntersectAndRegionOps) {
  EXPECT_EQ((Rect{0, 0, 10, 10}.intersect(Rect{5, 5, 10, 10})), (Rect{5, 5, 5, 5}));
  EXPECT_TRUE((Rect{0, 0, 10, 10}.intersect(Rect{10, 0, 5, 5})).empty());
  EXPECT_TRUE((Rect{60000, 60000, 65535, 65535}.intersect(Rect{0, 0, 1920, 1080})).empty());
  Region r(Rect{0, 0, 10, 10});
  r.add(Rect{5, 5, 10, 10});
  EXPECT_EQ(r.area(), 175);
  EXPECT_EQ(r.bounds(), (Rect{0, 0, 15, 15}));
  r.subtract(Rect{0, 0, 15, 5});  // Removes the top half of the first square only.
  EXPECT_EQ(r.area(), 125);
  EXPECT_TRUE(r.contains(7, 7));
  EXPECT_FALSE(r.contains(1, 1));
  Region copy = r;
  copy.translate(100, 0);
  EXPECT_TRUE(copy.contains(107, 7));
  EXPECT_TRUE(r.intersected(copy).empty());
  r.intersect(Rect{0, 0, 0, 0});
  EXPECT_TRUE(r.empty());
  Region moved = std::move(copy);
  EXPECT_EQ(moved.area(), 125);
}

TEST(Geometry, EmptyRegionsAreEqualHoweverTheyWereMade) {
  // An intersection that comes out empty may keep stale extents inside pixman.
  Region a(Rect{0, 7, 10, 10});
  a.intersect(Rect{20, 30, 5, 5});
  Region b(Rect{100, 100, 3, 3});
  b.subtract(Rect{100, 100, 3, 3});
  ASSERT_TRUE(a.empty());
  ASSERT_TRUE(b.empty());
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(a == Region());
  EXPECT_FALSE(a == Region(Rect{0, 0, 1, 1}));
  EXPECT_FALSE(Region(Rect{0, 0, 1, 1}) == b);
}

}  // namespace
}  // namespace vncd::rfb

namespace vncd::rfb {
namespace {

TEST(ByteBufferShrink, GivesBackStorageAboveTheBoundAndKeepsContent) {
  ByteBuffer b;
  b.zeros(1 << 20);
  b.clear();
  EXPECT_GE(b.capacity(), size_t{1} << 20);  // clear() keeps storage for reuse...
  b.shrink_to(4096);
  EXPECT_LE(b.capacity(), 4096u);  // ...shrink_to() gives it back.
  b.u32(0x01020304);
  b.u8(9);
  b.consume(1);
  b.zeros(10000);
  const std::vector<uint8_t> before(b.span().begin(), b.span().end());
  b.shrink_to(20000);  // Within the bound: untouched.
  EXPECT_EQ(std::vector<uint8_t>(b.span().begin(), b.span().end()), before);
  b.shrink_to(100);  // Above: reallocated to fit, content and order kept.
  EXPECT_EQ(std::vector<uint8_t>(b.span().begin(), b.span().end()), before);
  EXPECT_EQ(b.data()[0], 2);
  EXPECT_LT(b.capacity(), 16384u);
}

}  // namespace
}  // namespace vncd::rfb
