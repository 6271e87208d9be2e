// The test-side ReferenceClient's reading of server messages: every message type it knows, the
// Fence and ContinuousUpdates extensions in order, and its refusal of malformed or oversized input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rfb/encoder.h"
#include "rfb/messages.h"
#include "support/reference_decoder.h"

namespace vncd::test {
namespace {

using rfb::ByteBuffer;
using rfb::PixelFormat;
using rfb::Rect;

ByteBuffer desktop_size_update(int w, int h) {
  ByteBuffer b;
  rfb::write_framebuffer_update_header(b, 1);
  rfb::write_rect_header(b, Rect{0, 0, w, h}, rfb::encoding::kDesktopSize);
  return b;
}

TEST(ReferenceClient, RecordsServerMessagesInOrder) {
  ByteBuffer b;
  const uint8_t p1[] = {1, 2, 3};
  const std::vector<uint8_t> p64(rfb::fence::kMaxPayload, 0xEE);
  rfb::write_end_of_continuous_updates(b);
  rfb::write_fence(b, rfb::fence::kRequest | rfb::fence::kBlockBefore, p1);
  // A one-pixel Raw update between the others.
  rfb::write_framebuffer_update_header(b, 1);
  rfb::write_rect_header(b, Rect{1, 0, 1, 1}, rfb::encoding::kRaw);
  const uint8_t pixel[] = {0x11, 0x22, 0x33, 0x00};
  b.append(pixel);
  rfb::write_bell(b);
  rfb::write_fence(b, 0, {});
  rfb::write_server_cut_text(b, "clip");
  rfb::write_fence(b, rfb::fence::kSyncNext, p64);
  rfb::write_end_of_continuous_updates(b);
  const rfb::Colour16 cols[] = {{1, 2, 3}, {4, 5, 6}};
  rfb::write_set_colour_map_entries(b, 3, cols);

  ReferenceClient client(2, 1, PixelFormat::rgb888());
  rfb::Reader in(b.span());
  Status s = client.decode_messages(in);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_EQ(client.end_of_continuous_updates, 2);
  ASSERT_EQ(client.fences.size(), 3u);
  EXPECT_EQ(client.fences[0], (ReceivedFence{0x80000001u, {1, 2, 3}}));
  EXPECT_EQ(client.fences[1], (ReceivedFence{0, {}}));
  EXPECT_EQ(client.fences[2], (ReceivedFence{rfb::fence::kSyncNext, p64}));
  EXPECT_EQ(client.updates, 1);
  EXPECT_EQ(client.bells, 1);
  EXPECT_EQ(client.cut_texts, (std::vector<std::string>{"clip"}));
  ASSERT_EQ(client.colour_map.size(), 5u);
  EXPECT_EQ(client.colour_map[4].g, 5);
  EXPECT_EQ(client.fb.at(1, 0)[0], 0x11);
  EXPECT_EQ(client.fb.at(1, 0)[2], 0x33);
}

TEST(ReferenceClient, RefusesMalformedFences) {
  struct Case {
    const char* what;
    std::vector<uint8_t> wire;
    const char* error;
  };
  std::vector<uint8_t> over = {248, 0, 0, 0, 0, 0, 0, 0, 65};
  over.insert(over.end(), 65, 0);
  const Case cases[] = {
      {"payload over 64", over, "ServerFence payload of 65 bytes (limit 64)"},
      {"short header", {248, 0, 0, 0, 0, 0, 0, 0}, "short ServerFence header"},
      {"short payload", {248, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2}, "short ServerFence payload"},
      {"unknown type", {249}, "unknown server message type 249"},
  };
  for (const Case& c : cases) {
    ReferenceClient client(1, 1, PixelFormat::rgb888());
    rfb::Reader in(c.wire);
    Status s = client.decode_messages(in);
    ASSERT_FALSE(s.ok()) << c.what;
    EXPECT_EQ(s.error().message(), c.error) << c.what;
    EXPECT_TRUE(client.fences.empty()) << c.what;
  }
}

TEST(ReferenceClient, DesktopSizeUpToTheLimitResizes) {
  ReferenceClient client(4, 4, PixelFormat::rgb888());
  ByteBuffer b = desktop_size_update(ReferenceClient::kMaxDesktopSide, 2);
  rfb::Reader in(b.span());
  Status s = client.decode_message(in);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(client.fb.width, ReferenceClient::kMaxDesktopSide);
  EXPECT_EQ(client.fb.height, 2);
  EXPECT_EQ(client.fb.pixels.size(), size_t{ReferenceClient::kMaxDesktopSide} * 2 * 4);
}

TEST(ReferenceClient, HugeDesktopSizeIsAnErrorNotAnAllocation) {
  for (auto [w, h] : {std::pair{16385, 1}, std::pair{1, 16385}, std::pair{65535, 65535}}) {
    ReferenceClient client(4, 4, PixelFormat::rgb888());
    ByteBuffer b = desktop_size_update(w, h);
    rfb::Reader in(b.span());
    Status s = client.decode_message(in);
    ASSERT_FALSE(s.ok()) << w << "x" << h;
    EXPECT_EQ(s.error().message(), "DesktopSize " + std::to_string(w) + "x" + std::to_string(h) +
                                       " exceeds the reference client's limit of 16384 per side");
    // The framebuffer is untouched.
    EXPECT_EQ(client.fb.width, 4);
    EXPECT_EQ(client.fb.pixels.size(), 4u * 4u * 4u);
  }
}

}  // namespace
}  // namespace vncd::test
