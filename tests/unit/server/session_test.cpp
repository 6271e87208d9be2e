// ClientSession over the in-memory transport, driven by hand: timeouts, the delayed
// authentication failure, backpressure for a slow client, colour maps, view-only, resizes.
#include "server/session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <string>

#include "encodings/registry.h"
#include "encodings/update_planner.h"
#include "rfb/encoder.h"
#include "server_test_support.h"
#include "support/reference_decoder.h"

namespace vncd::server {
namespace {

using std::chrono::milliseconds;
using testing::TestDesktop;
using testing::TestSecurity;

class RecordingHost final : public SessionHost {
 public:
  explicit RecordingHost(TestDesktop& d) : desktop_(d) {}
  rfb::ServerInitInfo session_init(ClientSession&, bool shared) override {
    last_shared = shared;
    return rfb::ServerInitInfo{desktop_.size(), desktop_.format(), "test desktop"};
  }
  void session_wants_frames(ClientSession&) override { ++wants; }
  void session_finished(ClientSession&) override { ++finished; }

  bool last_shared = false;
  int wants = 0;
  int finished = 0;

 private:
  TestDesktop& desktop_;
};

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class SessionTest : public ::testing::Test {
 protected:
  void make(bool refuse = false, WorkerPool* workers = nullptr) {
    auto l = EventLoop::create();
    ASSERT_TRUE(l.ok());
    loop = std::move(*l);
    security = std::make_unique<TestSecurity>(refuse);
    auto t = std::make_unique<MemoryTransport>("mem:1");
    transport = t.get();
    SessionServices services{*loop, config, *security, registry, desktop, desktop, host, workers};
    session = std::make_unique<ClientSession>(services, std::move(t), nullptr);
    ASSERT_TRUE(session->start().ok());
  }
  void feed(std::span<const uint8_t> b) {
    transport->push_input(b);
    session->on_readable();
  }
  void feed(const rfb::ClientMessage& m) {
    rfb::ByteBuffer b;
    rfb::serialize(m, b);
    feed(b.span());
  }
  // Version, None, shared ClientInit; output discarded.
  void handshake() {
    ASSERT_EQ(transport->take_output().size(), 12u);
    feed(bytes("RFB 003.008\n"));
    const uint8_t none = rfb::security::kNone, shared = 1;
    feed(std::span<const uint8_t>(&none, 1));
    feed(std::span<const uint8_t>(&shared, 1));
    ASSERT_TRUE(session->normal());
    transport->take_output();
  }
  void capture() {
    auto c = desktop.capture();
    ASSERT_TRUE(c.ok());
    session->on_capture(*c);
  }
  template <class Pred>
  bool run_until(Pred done, milliseconds limit = milliseconds(5000)) {
    auto end = EventLoop::Clock::now() + limit;
    while (!done()) {
      if (EventLoop::Clock::now() > end) return false;
      loop->run_once(milliseconds(10));
    }
    return true;
  }
  // Reads what the session writes until `updates` updates in all have gone out, as a client
  // that reads whenever the socket has data; `most_queued` keeps the most the session held.
  std::vector<uint8_t> drain_updates(uint64_t updates, size_t& most_queued) {
    std::vector<uint8_t> received;
    EXPECT_TRUE(run_until([&] {
      most_queued = std::max(most_queued, session->queued_bytes());
      std::vector<uint8_t> got = transport->take_output();
      received.insert(received.end(), got.begin(), got.end());
      session->on_writable();
      return session->updates_sent() == updates && !session->congested();
    }));
    std::vector<uint8_t> rest = transport->take_output();
    received.insert(received.end(), rest.begin(), rest.end());
    return received;
  }
  // `client` decodes `updates` updates from `received`, exactly, and then shows the desktop.
  void expect_client_shows_desktop(test::ReferenceClient& client,
                                   const std::vector<uint8_t>& received, int updates = 1) {
    rfb::Reader r(received);
    for (int i = 0; i < updates; ++i) {
      Status st = client.decode_update(r);
      ASSERT_TRUE(st) << st.error().message();
    }
    EXPECT_EQ(r.remaining(), 0u);
    const rfb::Size size = desktop.size();
    for (int y = 0; y < size.height; y += 37) {
      for (int x = 0; x < size.width; x += 29) {
        uint32_t got = 0;
        std::memcpy(&got, client.fb.at(x, y), 4);
        ASSERT_EQ(got & 0xFFFFFF, desktop.pixel(x, y)) << x << "," << y;
      }
    }
  }

  ServerConfig config;
  enc::EncoderRegistry registry = enc::EncoderRegistry::builtin();
  TestDesktop desktop{rfb::Size{64, 32}};
  RecordingHost host{desktop};
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<TestSecurity> security;
  MemoryTransport* transport = nullptr;
  std::unique_ptr<ClientSession> session;
};

// Bytes of a Raw full-screen update in rgb888: header, one rectangle header, pixels.
constexpr size_t kFullUpdate = 4 + 12 + 64 * 32 * 4;

TEST_F(SessionTest, HandshakeTimeoutClosesAnIdleClient) {
  config.handshake_timeout_s = 1;
  make();
  auto start = EventLoop::Clock::now();
  ASSERT_TRUE(run_until([&] { return session->finished(); }));
  EXPECT_GE(EventLoop::Clock::now() - start, milliseconds(1000));
  EXPECT_EQ(session->finish_reason(), "handshake not completed within 1 s");
  EXPECT_TRUE(transport->closed());
  EXPECT_EQ(host.finished, 1);
}

TEST_F(SessionTest, HandshakeTimeoutDoesNotHitANormalClient) {
  config.handshake_timeout_s = 1;
  make();
  handshake();
  loop->run_once(milliseconds(1200));
  loop->run_once(milliseconds(50));
  EXPECT_FALSE(session->finished());
  EXPECT_TRUE(session->normal());
}

TEST_F(SessionTest, AuthenticationFailureIsReportedOnlyAfterTheDelay) {
  config.auth_failure_delay_ms = 200;
  make(/*refuse=*/true);
  transport->take_output();
  feed(bytes("RFB 003.008\n"));
  const uint8_t choice[] = {rfb::security::kVncAuth, 0x42};
  auto start = EventLoop::Clock::now();
  feed(choice);
  // The security type list went out before; nothing about the failure yet.
  EXPECT_EQ(transport->take_output(), (std::vector<uint8_t>{1, rfb::security::kVncAuth}));
  EXPECT_FALSE(session->finished());
  ASSERT_TRUE(run_until([&] { return session->finished(); }));
  EXPECT_GE(EventLoop::Clock::now() - start, milliseconds(200));
  // SecurityResult failed (1) + the 3.8 reason.
  auto out = transport->take_output();
  ASSERT_GE(out.size(), 8u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 4), (std::vector<uint8_t>{0, 0, 0, 1}));
  EXPECT_EQ(std::string(out.begin() + 8, out.end()), "wrong password");
}

TEST_F(SessionTest, EncodesOnWorkersAndAppliesSettingsThatArriveMeanwhileAfterwards) {
  WorkerPool workers(2);
  make(false, &workers);
  handshake();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw}});
  desktop.paint_pattern();
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  // The update is being encoded on a worker; its completion is posted to the loop, which has not
  // run yet. A format and an encoding list sent meanwhile must not change that update.
  EXPECT_TRUE(session->congested());
  EXPECT_FALSE(session->wants_frames());
  feed(rfb::SetPixelFormat{rfb::PixelFormat::rgb565()});
  feed(rfb::SetEncodings{{rfb::encoding::kHextile, rfb::encoding::kRaw}});
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  ASSERT_TRUE(run_until([&] { return session->updates_sent() == 2; }));
  ASSERT_TRUE(run_until([&] { return !session->congested(); }));
  std::vector<uint8_t> out = transport->take_output();
  // First: Raw in rgb888, as requested when it was started.
  ASSERT_GE(out.size(), kFullUpdate);
  EXPECT_EQ(out[15], rfb::encoding::kRaw);
  // Second: in the new format with the new encoding (Hextile's header, 16-bit pixels).
  ASSERT_GT(out.size(), kFullUpdate + 16);
  const uint8_t* second = out.data() + kFullUpdate;
  EXPECT_EQ(second[0], 0);  // FramebufferUpdate
  EXPECT_EQ(second[15], rfb::encoding::kHextile);
  EXPECT_LT(out.size() - kFullUpdate, 4 + 12 + 64 * 32 * 2 + 4 * 8 + 1);
}

// A large update goes out in installments as the socket takes them: the session never queues
// much more than two, and the client still gets one exact update.
TEST_F(SessionTest, LargeUpdateGoesOutInInstallmentsAsTheSocketDrains) {
  constexpr int kW = 1024, kH = 768;
  constexpr size_t kSocket = 64 * 1024;
  desktop.resize({kW, kH});
  WorkerPool workers(2);
  make(false, &workers);
  handshake();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw}});
  desktop.paint_pattern();
  capture();
  transport->set_write_capacity(kSocket);
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, kW, kH});
  size_t most_queued = 0;
  const std::vector<uint8_t> received = drain_updates(1, most_queued);
  EXPECT_LE(most_queued, 2 * ClientSession::kInstallment + enc::UpdatePlanner::kMaxPieceBytes);
  EXPECT_GT(received.size(), size_t{kW} * kH * 4);
  test::ReferenceClient client(kW, kH, rfb::PixelFormat::rgb888());
  expect_client_shows_desktop(client, received);
}

// A resize is an update like the others: encoded on a worker and sent in installments (not on
// the loop thread in one piece), and the client follows the new size and sees the new screen.
TEST_F(SessionTest, ResizeGoesOutInInstallmentsLikeAnyUpdate) {
  constexpr int kW = 1024, kH = 768;
  WorkerPool workers(2);
  make(false, &workers);
  handshake();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw, rfb::encoding::kDesktopSize}});
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  size_t most_queued = 0;
  std::vector<uint8_t> received = drain_updates(1, most_queued);
  desktop.resize({kW, kH});
  desktop.paint_pattern();
  capture();
  transport->set_write_capacity(64 * 1024);
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  // Encoded off the loop thread: nothing is written before the loop runs the worker's result.
  EXPECT_TRUE(session->congested());
  EXPECT_EQ(session->queued_bytes(), 0u);
  const std::vector<uint8_t> resize = drain_updates(2, most_queued);
  EXPECT_LE(most_queued, 2 * ClientSession::kInstallment + enc::UpdatePlanner::kMaxPieceBytes);
  received.insert(received.end(), resize.begin(), resize.end());
  test::ReferenceClient client(64, 32, rfb::PixelFormat::rgb888());
  expect_client_shows_desktop(client, received, 2);
  EXPECT_EQ(client.fb.width, kW);
  EXPECT_EQ(client.fb.height, kH);
}

TEST_F(SessionTest, ASessionDestroyedWhileItsUpdateIsEncodedIsNotCalledBack) {
  WorkerPool workers(1);
  make(false, &workers);
  handshake();
  desktop.paint_pattern();
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  EXPECT_TRUE(session->congested());
  const int wants = host.wants;
  session.reset();
  // The job finishes and posts its completion; running it must not touch the session (ASan
  // reports it if it does) nor its host.
  for (int i = 0; i < 20; ++i) loop->run_once(milliseconds(5));
  EXPECT_EQ(host.wants, wants);
  EXPECT_EQ(host.finished, 0);
  // The pool still works.
  std::promise<void> ran;
  workers.submit([&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

// Decodes everything the session wrote since the last call.
class Viewer {
 public:
  test::ReferenceClient client{64, 32, rfb::PixelFormat::rgb888()};
  void read(MemoryTransport& t) {
    const std::vector<uint8_t> out = t.take_output();
    rfb::Reader r{std::span<const uint8_t>(out.data(), out.size())};
    Status st = client.decode_messages(r);
    ASSERT_TRUE(st.ok()) << st.error().message();
  }
  // The client's rgb888 picture is the desktop's.
  bool shows(const TestDesktop& d) {
    for (int y = 0; y < client.fb.height; ++y)
      for (int x = 0; x < client.fb.width; ++x) {
        const uint8_t* p = client.fb.at(x, y);
        const uint32_t px = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16;
        if (px != d.pixel(x, y)) return false;
      }
    return true;
  }
};

uint32_t fence_id(const test::ReceivedFence& f) {
  EXPECT_EQ(f.payload.size(), 4u);
  if (f.payload.size() != 4) return 0;
  return (uint32_t{f.payload[0]} << 24) | (uint32_t{f.payload[1]} << 16) |
         (uint32_t{f.payload[2]} << 8) | uint32_t{f.payload[3]};
}

TEST_F(SessionTest, ContinuousUpdatesAreAnnouncedOnceThenSentWithoutRequests) {
  make();
  handshake();
  Viewer v;
  feed(rfb::SetEncodings{{rfb::encoding::kRaw, rfb::encoding::kContinuousUpdates}});
  feed(rfb::SetEncodings{{rfb::encoding::kRaw, rfb::encoding::kContinuousUpdates}});
  v.read(*transport);
  EXPECT_EQ(v.client.end_of_continuous_updates, 1);
  desktop.paint_pattern();
  capture();
  feed(rfb::EnableContinuousUpdates{true, 0, 0, 64, 32});
  // The first picture goes without any FramebufferUpdateRequest.
  session->try_send_update();
  v.read(*transport);
  EXPECT_EQ(v.client.updates, 1);
  // Each change follows by itself, inside the continuous area only.
  desktop.fill(rfb::Rect{1, 2, 3, 4}, 0xFF0000);
  capture();
  session->try_send_update();
  v.read(*transport);
  EXPECT_EQ(v.client.updates, 2);
  EXPECT_TRUE(v.shows(desktop));
  // Incremental requests are ignored meanwhile; a non-incremental one is still answered.
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  session->try_send_update();
  EXPECT_EQ(transport->output_size(), 0u);
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 8, 8});
  v.read(*transport);
  EXPECT_EQ(v.client.updates, 3);
  // Disabling is answered with EndOfContinuousUpdates, and changes then wait for a request.
  feed(rfb::EnableContinuousUpdates{false, 0, 0, 64, 32});
  v.read(*transport);
  EXPECT_EQ(v.client.end_of_continuous_updates, 2);
  desktop.fill(rfb::Rect{5, 5, 2, 2}, 0x00FF00);
  capture();
  session->try_send_update();
  EXPECT_EQ(transport->output_size(), 0u);
}

TEST_F(SessionTest, ContinuousUpdatesNeedTheAnnouncementFirst) {
  make();
  handshake();
  desktop.paint_pattern();
  capture();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw}});
  feed(rfb::EnableContinuousUpdates{true, 0, 0, 64, 32});
  session->try_send_update();
  EXPECT_EQ(transport->output_size(), 0u);
  EXPECT_TRUE(session->normal());
}

TEST_F(SessionTest, FencesAreAnnouncedAnsweredAndFollowEveryUpdate) {
  make();
  handshake();
  Viewer v;
  feed(rfb::SetEncodings{{rfb::encoding::kRaw, rfb::encoding::kFence}});
  v.read(*transport);
  // Our announcement is a request the client must answer (BlockBefore: a round-trip probe).
  ASSERT_EQ(v.client.fences.size(), 1u);
  EXPECT_EQ(v.client.fences[0].flags, rfb::fence::kRequest | rfb::fence::kBlockBefore);
  const uint32_t first = fence_id(v.client.fences[0]);
  feed(rfb::ClientFence{rfb::fence::kBlockBefore, v.client.fences[0].payload});
  // A client's request: Request and unknown bits cleared, the rest and the payload kept.
  feed(rfb::ClientFence{
      rfb::fence::kRequest | rfb::fence::kBlockBefore | rfb::fence::kSyncNext | (1u << 7),
      {'a', 'b', 'c'}});
  v.read(*transport);
  ASSERT_EQ(v.client.fences.size(), 2u);
  EXPECT_EQ(v.client.fences[1].flags, rfb::fence::kBlockBefore | rfb::fence::kSyncNext);
  EXPECT_EQ(v.client.fences[1].payload, (std::vector<uint8_t>{'a', 'b', 'c'}));
  // Every update is followed by a fence with a new id.
  desktop.paint_pattern();
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  v.read(*transport);
  ASSERT_EQ(v.client.updates, 1);
  ASSERT_EQ(v.client.fences.size(), 3u);
  EXPECT_EQ(v.client.fences[2].flags, rfb::fence::kRequest | rfb::fence::kBlockBefore);
  EXPECT_NE(fence_id(v.client.fences[2]), first);
  // Unknown ids and malformed answers are ignored.
  feed(rfb::ClientFence{0, {1, 2, 3, 4}});
  feed(rfb::ClientFence{0, {1}});
  EXPECT_TRUE(session->normal());
}

TEST_F(SessionTest, AFenceDuringAnUpdateIsAnsweredAfterItAndBeforeTheNextMessageTakesEffect) {
  WorkerPool workers(2);
  make(false, &workers);
  handshake();
  Viewer v;
  feed(rfb::SetEncodings{{rfb::encoding::kRaw, rfb::encoding::kFence}});
  v.read(*transport);
  v.client.fences.clear();
  desktop.paint_pattern();
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  ASSERT_TRUE(session->congested());  // Being encoded.
  // TigerVNC's pattern for a format change: fence (SyncNext), SetPixelFormat, request.
  feed(rfb::ClientFence{rfb::fence::kRequest | rfb::fence::kBlockBefore | rfb::fence::kSyncNext,
                        {'p', 'f'}});
  feed(rfb::SetPixelFormat{rfb::PixelFormat::rgb565()});
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  ASSERT_TRUE(run_until([&] { return session->updates_sent() == 2 && !session->congested(); }));
  const std::vector<uint8_t> out = transport->take_output();
  // The first update in rgb888, then our fence after it, then the answer, then 16-bit pixels.
  rfb::Reader r{std::span<const uint8_t>(out.data(), out.size())};
  ASSERT_TRUE(v.client.decode_message(r).ok());
  EXPECT_EQ(v.client.updates, 1);
  ASSERT_TRUE(v.client.decode_message(r).ok());
  ASSERT_TRUE(v.client.decode_message(r).ok());
  ASSERT_EQ(v.client.fences.size(), 2u);
  EXPECT_EQ(v.client.fences[0].flags, rfb::fence::kRequest | rfb::fence::kBlockBefore);
  EXPECT_EQ(v.client.fences[1].payload, (std::vector<uint8_t>{'p', 'f'}));
  v.client.fb = test::ClientFramebuffer(64, 32, rfb::PixelFormat::rgb565());
  ASSERT_TRUE(v.client.decode_message(r).ok());
  EXPECT_EQ(v.client.updates, 2);
  // 16-bit Raw: header, one rectangle, 2 bytes per pixel, then our fence for it (fences: 9
  // bytes and the payload).
  ASSERT_TRUE(v.client.decode_messages(r).ok());
  EXPECT_EQ(v.client.fences.size(), 3u);
  EXPECT_EQ(out.size(), kFullUpdate + 4 + 12 + 64 * 32 * 2 + 2 * 13 + 11);
}

TEST_F(SessionTest, JpegAreasAreRefreshedLosslesslyOnceStill) {
  make();
  handshake();
  Viewer v;
  feed(rfb::SetEncodings{{rfb::encoding::kTight, rfb::encoding::kQualityLevel0 + 8}});
  desktop.paint_pattern();  // Every pixel different: photo-like, so it goes as JPEG.
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  v.read(*transport);
  ASSERT_EQ(v.client.updates, 1);
  EXPECT_FALSE(v.shows(desktop));
  // Nothing changes; the client keeps a request outstanding. Once the area has been still for
  // the refresh delay it comes again, exact.
  const auto sent = EventLoop::Clock::now();
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  EXPECT_EQ(transport->output_size(), 0u);
  ASSERT_TRUE(run_until([&] { return session->updates_sent() == 2; }));
  EXPECT_GE(EventLoop::Clock::now() - sent, QualityPolicy::kRefreshDelay - milliseconds(5));
  v.read(*transport);
  EXPECT_TRUE(v.shows(desktop));
  // And only once.
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  loop->run_once(milliseconds(400));
  EXPECT_EQ(session->updates_sent(), 2u);
}

TEST_F(SessionTest, JpegPixelsMovedByCopyRectAreRefreshedWhereTheyLand) {
  // A CopyRect copies the client's picture: JPEG approximations it moves stay approximations at
  // the destination, although the server's frame there is exact, so the refresh must cover them.
  desktop.resize(rfb::Size{256, 128});
  make();
  handshake();
  Viewer v;
  v.client.fb = test::ClientFramebuffer(256, 128, rfb::PixelFormat::rgb888());
  feed(rfb::SetEncodings{
      {rfb::encoding::kTight, rfb::encoding::kCopyRect, rfb::encoding::kQualityLevel0 + 8}});
  desktop.paint_pattern();
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 256, 128});
  v.read(*transport);
  ASSERT_EQ(v.client.updates, 1);
  ASSERT_FALSE(v.shows(desktop));
  // Scrolled before the refresh is due: the rows come as one CopyRect of the lossy picture plus
  // the exposed strip.
  desktop.scroll_up(16, 0x00FF00);
  capture();
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 256, 128});
  v.read(*transport);
  ASSERT_EQ(v.client.updates, 2);
  EXPECT_EQ(v.client.copy_rects, 1);
  EXPECT_FALSE(v.shows(desktop));
  // Still from now on: the refresh comes, and the client's picture is exact everywhere.
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 256, 128});
  ASSERT_TRUE(run_until([&] { return session->updates_sent() == 3; }));
  v.read(*transport);
  EXPECT_TRUE(v.shows(desktop));
}

TEST_F(SessionTest, UpdatesPerSecondAreCappedAtMaxFpsAfterABurst) {
  config.max_fps = 20;
  make();
  handshake();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw}});
  // A client that asks again the moment an update arrives, on a desktop that always changes.
  uint32_t colour = 1;
  desktop.fill(rfb::Rect{0, 0, 4, 4}, colour++);
  capture();
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  const auto start = EventLoop::Clock::now();
  std::vector<EventLoop::Clock::duration> at;  // When each update went out.
  while (EventLoop::Clock::now() - start < milliseconds(500)) {
    if (transport->output_size() > 0) {
      transport->take_output();
      at.push_back(EventLoop::Clock::now() - start);
      desktop.fill(rfb::Rect{0, 0, 4, 4}, colour++);
      capture();
      feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
    }
    loop->run_once(milliseconds(1));
  }
  // The burst of kUpdateBurst goes at once, then one every 50 ms: 3 + 500 / 50 at most.
  ASSERT_GE(at.size(), 3u);
  EXPECT_LT(at[2], milliseconds(40));
  EXPECT_LE(at.size(), 3u + 10u);
  EXPECT_GE(at.size(), 3u + 7u);
  // The bucket's promise, whatever the loop's jitter: no span of time holds more updates than
  // the burst plus what the rate refilled in it. (One update the loop ran late leaves credit,
  // so the next may follow it sooner than 50 ms; a gap between neighbours says nothing.)
  for (size_t j = 0; j < at.size(); ++j) {
    for (size_t i = j + 1; i < at.size(); ++i) {
      const double refilled = std::chrono::duration<double>(at[i] - at[j]).count() * 20;
      EXPECT_LE(static_cast<double>(i - j + 1), ClientSession::kUpdateBurst + refilled + 0.25)
          << "updates " << j << " to " << i;
    }
  }
}

TEST_F(SessionTest, UpdatesWaitForARequestAndAFrame) {
  make();
  handshake();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw}});
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  // No frame yet: the host is asked for one, nothing is sent.
  EXPECT_GE(host.wants, 1);
  EXPECT_EQ(transport->output_size(), 0u);
  desktop.paint_pattern();
  capture();
  session->try_send_update();
  EXPECT_EQ(transport->take_output().size(), kFullUpdate);
  EXPECT_EQ(session->updates_sent(), 1u);
  // No request outstanding: a change is remembered, not sent.
  desktop.fill(rfb::Rect{1, 2, 3, 4}, 0xFF0000);
  capture();
  session->try_send_update();
  EXPECT_EQ(transport->output_size(), 0u);
  // The incremental request gets exactly the changed rectangle.
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  auto out = transport->take_output();
  ASSERT_EQ(out.size(), 4 + 12 + 3 * 4 * 4u);
  rfb::Reader r(out);
  r.skip(4);
  EXPECT_EQ(r.u16(), 1);
  EXPECT_EQ(r.u16(), 2);
  EXPECT_EQ(r.u16(), 3);
  EXPECT_EQ(r.u16(), 4);
}

TEST_F(SessionTest, IncrementalRequestOutsideTheDamageWaits) {
  make();
  handshake();
  desktop.paint_pattern();
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  ASSERT_EQ(transport->take_output().size(), kFullUpdate);
  desktop.fill(rfb::Rect{40, 0, 4, 4}, 0x00FF00);
  capture();
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 16, 16});
  EXPECT_EQ(transport->output_size(), 0u);
  EXPECT_TRUE(session->has_request());
  // A change inside the requested area answers it.
  desktop.fill(rfb::Rect{2, 2, 2, 2}, 0x0000FF);
  capture();
  session->try_send_update();
  EXPECT_EQ(transport->take_output().size(), 4 + 12 + 2 * 2 * 4u);
}

TEST_F(SessionTest, SlowClientGetsOneCoalescedUpdateAtATime) {
  make();
  handshake();
  desktop.paint_pattern();
  capture();
  transport->set_write_capacity(100);
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  EXPECT_EQ(session->updates_sent(), 1u);
  size_t queued = session->queued_bytes();
  EXPECT_EQ(queued, kFullUpdate - 100);
  EXPECT_TRUE(session->congested());
  // The client keeps asking and the desktop keeps changing; nothing more is encoded.
  for (int i = 0; i < 20; ++i) {
    desktop.fill(rfb::Rect{i, 0, 1, 1}, static_cast<uint32_t>(i + 1));
    capture();
    feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
    session->try_send_update();
  }
  EXPECT_EQ(session->updates_sent(), 1u);
  EXPECT_EQ(session->queued_bytes(), queued);
  EXPECT_FALSE(session->wants_frames());
  // The client catches up: the rest of the first update, then one update with all 20 changes.
  transport->set_write_capacity(SIZE_MAX);
  session->on_writable();
  EXPECT_EQ(session->updates_sent(), 2u);
  EXPECT_EQ(transport->take_output().size(), kFullUpdate + 4 + 12 + 20 * 4);
}

TEST_F(SessionTest, ColourMapClientGetsTheFixedMap) {
  make();
  handshake();
  feed(rfb::SetPixelFormat{rfb::PixelFormat::colour_map8()});
  auto out = transport->take_output();
  // SetColourMapEntries: type, padding, first colour, count, 256 x 6 bytes.
  ASSERT_EQ(out.size(), 6 + 256 * 6u);
  EXPECT_EQ(out[0], rfb::server_msg::kSetColourMapEntries);
  EXPECT_EQ(out[4] << 8 | out[5], 256);
  desktop.paint_pattern();
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  EXPECT_EQ(transport->take_output().size(), 4 + 12 + 64 * 32u);  // One byte per pixel.
}

TEST_F(SessionTest, InputReachesTheDesktopUnlessViewOnly) {
  make();
  handshake();
  feed(rfb::KeyEvent{true, 0x61});
  feed(rfb::PointerEvent{1, 10, 500});  // y clipped to the screen.
  feed(rfb::ClientCutText{"copied", 0});
  ASSERT_EQ(desktop.keys.size(), 1u);
  EXPECT_EQ(desktop.keys[0], (std::pair<uint32_t, bool>{0x61, true}));
  ASSERT_EQ(desktop.pointers.size(), 1u);
  EXPECT_EQ(desktop.pointers[0], (TestDesktop::Pointer{10, 31, 1}));
  EXPECT_GE(desktop.flushes, 2);
  EXPECT_EQ(desktop.clipboard, "copied");
  // The desktop reporting the client's own text back is not echoed; a new text is sent.
  session->send_cut_text("copied");
  EXPECT_EQ(transport->output_size(), 0u);
  session->send_cut_text("other");
  auto out = transport->take_output();
  ASSERT_EQ(out.size(), 8 + 5u);
  EXPECT_EQ(out[0], rfb::server_msg::kServerCutText);
  EXPECT_EQ(std::string(out.begin() + 8, out.end()), "other");
}

TEST_F(SessionTest, ViewOnlyIgnoresInputAndClipboard) {
  config.view_only = true;
  make();
  handshake();
  feed(rfb::KeyEvent{true, 0x61});
  feed(rfb::PointerEvent{1, 10, 10});
  feed(rfb::ClientCutText{"copied", 0});
  EXPECT_TRUE(desktop.keys.empty());
  EXPECT_TRUE(desktop.pointers.empty());
  EXPECT_EQ(desktop.clipboard, "");
  EXPECT_TRUE(session->normal());
}

TEST_F(SessionTest, ResizeGoesToDesktopSizeClients) {
  make();
  handshake();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw, rfb::encoding::kDesktopSize}});
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  transport->take_output();
  desktop.resize(rfb::Size{16, 8});
  capture();
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  auto out = transport->take_output();
  // Two rectangles: DesktopSize 16x8, then the whole new screen.
  ASSERT_EQ(out.size(), 4 + 12 + 12 + 16 * 8 * 4u);
  rfb::Reader r(out);
  r.skip(2);
  EXPECT_EQ(r.u16(), 2);
  r.skip(4);
  EXPECT_EQ(r.u16(), 16);
  EXPECT_EQ(r.u16(), 8);
  EXPECT_EQ(r.s32(), rfb::encoding::kDesktopSize);
}

TEST_F(SessionTest, ResizeDisconnectsAClientWithoutDesktopSize) {
  make();
  handshake();
  feed(rfb::SetEncodings{{rfb::encoding::kRaw}});
  capture();
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  desktop.resize(rfb::Size{16, 8});
  capture();
  feed(rfb::FramebufferUpdateRequest{true, 0, 0, 64, 32});
  EXPECT_TRUE(session->finished());
  EXPECT_EQ(session->finish_reason(),
            "the desktop was resized to 16x8 and the client does not support DesktopSize");
}

TEST_F(SessionTest, ProtocolViolationClosesWithItsReason) {
  make();
  handshake();
  const uint8_t junk[] = {0xFE, 0, 0, 0};
  feed(junk);
  EXPECT_TRUE(session->finished());
  EXPECT_FALSE(session->finish_reason().empty());
  EXPECT_TRUE(transport->closed());
}

TEST_F(SessionTest, ClientClosingItsEndFinishesTheSession) {
  make();
  handshake();
  transport->close_input();
  session->on_readable();
  EXPECT_TRUE(session->finished());
  EXPECT_EQ(session->finish_reason(), "connection closed by client");
  EXPECT_EQ(host.finished, 1);
}

TEST_F(SessionTest, ServerCloseFlushesQueuedOutputFirst) {
  make();
  handshake();
  capture();
  transport->set_write_capacity(10);
  feed(rfb::FramebufferUpdateRequest{false, 0, 0, 64, 32});
  session->close("shutting down");
  EXPECT_TRUE(session->closing());
  EXPECT_FALSE(session->finished());
  transport->set_write_capacity(SIZE_MAX);
  session->on_writable();
  EXPECT_TRUE(session->finished());
  EXPECT_EQ(session->finish_reason(), "shutting down");
  EXPECT_EQ(transport->take_output().size(), kFullUpdate);
}

}  // namespace
}  // namespace vncd::server
