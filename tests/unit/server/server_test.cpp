// The Server with an in-memory desktop and real TCP clients speaking RFB 3.8: pixels, incremental
// updates, input, clipboard both ways, the shared flag, slow and misbehaving clients, --once,
// capture scheduling and a desktop that goes away.
#include "server/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "encodings/registry.h"
#include "rfb/encoder.h"
#include "server_test_support.h"

namespace vncd::server {
namespace {

using std::chrono::milliseconds;
using testing::on_loop;
using testing::raw_pixel;
using testing::ServerMsg;
using testing::TestClient;
using testing::TestDesktop;
using testing::TestSecurity;

// A server on 127.0.0.1:0 running its loop on a thread of its own.
class ServerTest : public ::testing::Test {
 protected:
  void start_server() {
    config.listen_address = "127.0.0.1";
    config.port = 0;
    config.desktop_name = "test desktop";
    auto l = EventLoop::create();
    ASSERT_TRUE(l.ok());
    loop = std::move(*l);
    rfb::Clipboard& clipboard = separate_clipboard ? static_cast<rfb::Clipboard&>(quiet_clipboard)
                                                   : static_cast<rfb::Clipboard&>(desktop);
    server = std::make_unique<Server>(config, *loop, desktop, desktop, clipboard, security,
                                      registry, &bell);
    auto port_or = server->start();
    ASSERT_TRUE(port_or.ok()) << port_or.error().message();
    port = *port_or;
    thread = std::thread([this] { result = server->run(/*handle_signals=*/false); });
  }
  void TearDown() override {
    if (thread.joinable()) {
      loop->post([this] { server->stop(); });
      thread.join();
    }
    server.reset();
  }

  // A client in normal state with rgb888 and Raw.
  std::unique_ptr<TestClient> connect(bool shared = true,
                                      std::vector<int32_t> encodings = {rfb::encoding::kRaw}) {
    auto c = std::make_unique<TestClient>(port);
    EXPECT_TRUE(c->connected());
    auto init = c->handshake(shared);
    EXPECT_TRUE(init.has_value());
    if (!init) return c;
    c->set_pixel_format(rfb::PixelFormat::rgb888());
    c->send(rfb::SetEncodings{std::move(encodings)});
    return c;
  }
  size_t client_count() {
    return on_loop(*loop, [&] { return server->clients().size(); });
  }
  template <class Pred>
  bool eventually(Pred p, milliseconds limit = milliseconds(5000)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!p()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }
  // Checks every pixel of a Raw rectangle against the desktop.
  void expect_pixels_match(const testing::RectMsg& r) {
    on_loop(*loop, [&] {
      int mismatches = 0;
      for (int y = 0; y < r.rect.h; ++y)
        for (int x = 0; x < r.rect.w; ++x)
          if (raw_pixel(r, x, y) != desktop.pixel(r.rect.x + x, r.rect.y + y)) ++mismatches;
      EXPECT_EQ(mismatches, 0) << "in " << r.rect.str();
    });
  }
  // Settle tests: an event-driven desktop, a client that got the whole screen (so the next
  // capture settles) and has an incremental request outstanding.
  std::unique_ptr<TestClient> settling_client(int settle_ms) {
    config.capture_settle_ms = settle_ms;
    return event_driven_client();
  }
  // An event-driven desktop (imitating XDamage) and a client that got the whole screen and has
  // an incremental request outstanding.
  std::unique_ptr<TestClient> event_driven_client() {
    desktop.paint_pattern();
    desktop.make_event_driven();
    separate_clipboard = true;
    start_server();
    auto c = connect();
    c->request(false, 0, 0, 200, 120);
    EXPECT_TRUE(c->next_update().has_value());  // The whole screen: a large change.
    c->request(true, 0, 0, 200, 120);
    return c;
  }
  // The update covers `area` pixels once and shows the desktop as it is now.
  void expect_current_pixels(const testing::ServerMsg& u, int64_t area) {
    int64_t sent = 0;
    for (const testing::RectMsg& r : u.rects) {
      sent += r.rect.area();
      expect_pixels_match(r);
    }
    EXPECT_EQ(sent, area);
  }

  ServerConfig config;
  enc::EncoderRegistry registry = enc::EncoderRegistry::builtin();
  TestDesktop desktop{rfb::Size{200, 120}};
  TestSecurity security;
  // The desktop's bell, rung from the test through the callback the server registers.
  struct TestBell final : rfb::BellSource {
    void on_bell(std::function<void()> cb) override { ring = std::move(cb); }
    int event_fd() const override { return -1; }
    void process_events() override {}
    std::function<void()> ring;
  } bell;
  // The test desktop's event_fd() serves both its FrameSource and Clipboard sides; tests that
  // give the frame source an fd use this clipboard instead.
  struct QuietClipboard final : rfb::Clipboard {
    void set_text(const std::string&) override {}
    void on_change(std::function<void(const std::string&)>) override {}
  } quiet_clipboard;
  bool separate_clipboard = false;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<Server> server;
  int port = 0;
  std::thread thread;
  Status result;
};

TEST_F(ServerTest, ServesTheDesktopPixelsAndOnlyChangesIncrementally) {
  desktop.paint_pattern();
  start_server();
  TestClient c(port);
  auto init = c.handshake();
  ASSERT_TRUE(init.has_value());
  EXPECT_EQ(init->width, 200);
  EXPECT_EQ(init->height, 120);
  EXPECT_EQ(init->format, rfb::PixelFormat::rgb888());
  EXPECT_EQ(init->name, "test desktop");
  c.set_pixel_format(rfb::PixelFormat::rgb888());
  c.send(rfb::SetEncodings{{rfb::encoding::kRaw}});

  c.request(false, 0, 0, 200, 120);
  auto full = c.next_update();
  ASSERT_TRUE(full.has_value());
  int64_t area = 0;
  for (const auto& r : full->rects) {
    EXPECT_EQ(r.encoding, rfb::encoding::kRaw);
    area += r.rect.area();
    expect_pixels_match(r);
  }
  EXPECT_EQ(area, 200 * 120);

  on_loop(*loop, [&] { desktop.fill(rfb::Rect{10, 20, 30, 40}, 0x123456); });
  c.request(true, 0, 0, 200, 120);
  auto inc = c.next_update();
  ASSERT_TRUE(inc.has_value());
  ASSERT_EQ(inc->rects.size(), 1u);
  EXPECT_EQ(inc->rects[0].rect, (rfb::Rect{10, 20, 30, 40}));
  EXPECT_EQ(raw_pixel(inc->rects[0], 0, 0), 0x123456u);
  expect_pixels_match(inc->rects[0]);

  // A partial non-incremental request gets exactly its area.
  c.request(false, 5, 6, 7, 8);
  auto part = c.next_update();
  ASSERT_TRUE(part.has_value());
  ASSERT_EQ(part->rects.size(), 1u);
  EXPECT_EQ(part->rects[0].rect, (rfb::Rect{5, 6, 7, 8}));
  expect_pixels_match(part->rects[0]);
}

TEST_F(ServerTest, ANonIncrementalRequestAfterAScrollGetsPixelsNotCopies) {
  desktop.paint_pattern();
  start_server();
  auto c = connect(true, {rfb::encoding::kCopyRect, rfb::encoding::kRaw});
  c->request(false, 0, 0, 200, 120);
  ASSERT_TRUE(c->next_update().has_value());
  on_loop(*loop, [&] { desktop.scroll_up(10, 0x00FF00); });
  // A small incremental request makes the server capture the scroll (the rest stays damaged).
  c->request(true, 0, 0, 1, 1);
  ASSERT_TRUE(c->next_update().has_value());
  // rfbproto.rst "FramebufferUpdateRequest": non-incremental means the client lost the area; a
  // CopyRect from its framebuffer would copy garbage.
  c->request(false, 0, 0, 200, 120);
  auto u = c->next_update();
  ASSERT_TRUE(u.has_value());
  int64_t area = 0;
  for (const testing::RectMsg& r : u->rects) {
    EXPECT_NE(r.encoding, rfb::encoding::kCopyRect);
    area += r.rect.area();
    expect_pixels_match(r);
  }
  EXPECT_EQ(area, 200 * 120);
}

TEST_F(ServerTest, ScrolledContentIsSentAsCopyRectPlusTheExposedStrip) {
  desktop.paint_pattern();
  start_server();
  auto c = connect(true, {rfb::encoding::kCopyRect, rfb::encoding::kRaw});
  c->request(false, 0, 0, 200, 120);
  ASSERT_TRUE(c->next_update().has_value());

  on_loop(*loop, [&] { desktop.scroll_up(10, 0x00FF00); });
  c->request(true, 0, 0, 200, 120);
  auto u = c->next_update();
  ASSERT_TRUE(u.has_value());
  ASSERT_GE(u->rects.size(), 2u);
  const testing::RectMsg& copy = u->rects[0];
  ASSERT_EQ(copy.encoding, rfb::encoding::kCopyRect);
  EXPECT_EQ(copy.rect, (rfb::Rect{0, 0, 200, 110}));
  ASSERT_EQ(copy.pixels.size(), 4u);
  EXPECT_EQ(copy.pixels[0] << 8 | copy.pixels[1], 0);   // src-x
  EXPECT_EQ(copy.pixels[2] << 8 | copy.pixels[3], 10);  // src-y
  int64_t raw_area = 0;
  for (size_t i = 1; i < u->rects.size(); ++i) {
    EXPECT_EQ(u->rects[i].encoding, rfb::encoding::kRaw);
    raw_area += u->rects[i].rect.area();
    expect_pixels_match(u->rects[i]);
  }
  EXPECT_EQ(raw_area, 200 * 10);  // Only the exposed strip is re-sent.

  // A client without CopyRect gets the pixels.
  auto plain = connect(true, {rfb::encoding::kRaw});
  plain->request(false, 0, 0, 200, 120);
  auto p = plain->next_update();
  ASSERT_TRUE(p.has_value());
  for (const auto& r : p->rects) EXPECT_EQ(r.encoding, rfb::encoding::kRaw);
}

TEST_F(ServerTest, TheDesktopBellRingsOnEveryClient) {
  start_server();
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(eventually([&] { return client_count() == 2; }));
  on_loop(*loop, [&] {
    ASSERT_TRUE(bell.ring);
    bell.ring();
  });
  for (auto* c : {a.get(), b.get()}) {
    auto m = c->next();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->type, rfb::server_msg::kBell);
  }
}

TEST_F(ServerTest, EventDrivenSourceIsCapturedOnlyWhenItReportsAChange) {
  auto c = event_driven_client();
  // A waiting client and a quiet desktop: no periodic capture work (a timer would do ~12).
  const uint64_t before = on_loop(*loop, [&] { return server->captures(); });
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_LE(on_loop(*loop, [&] { return server->captures(); }), before + 1);
  EXPECT_FALSE(on_loop(*loop, [&] { return server->capturing(); }));
  // A reported change is captured and sent at once.
  const auto changed_at = std::chrono::steady_clock::now();
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{5, 5, 10, 10}, 0xABCDEF); });
  auto u = c->next_update();
  ASSERT_TRUE(u.has_value());
  ASSERT_EQ(u->rects.size(), 1u);
  EXPECT_EQ(u->rects[0].rect, (rfb::Rect{5, 5, 10, 10}));
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, milliseconds(1000));
}

// ServerConfig::capture_settle_ms: while changes are large, a frame drawn in two requests (a
// picture, then a small mark on it) goes out as one update; once changes are small they are
// captured at once again. The settle time is long here so a loaded machine cannot blur it. The
// pictures leave the bottom rows alone: a change across the whole screen is not held back.
TEST_F(ServerTest, LargeChangesSettleBeforeTheCaptureSmallOnesDoNot) {
  auto c = settling_client(400);
  const uint64_t before = on_loop(*loop, [&] { return server->captures(); });
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{0, 0, 200, 100}, 0x112233); });
  std::this_thread::sleep_for(milliseconds(50));
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{5, 5, 10, 10}, 0xABCDEF); });
  auto u = c->next_update();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(on_loop(*loop, [&] { return server->captures(); }), before + 1);
  expect_current_pixels(*u, 200 * 100);  // The mark is in it.

  // That capture changed the whole screen, so the next one settles too; after a small one, a
  // small change goes at once (well inside the settle time).
  c->request(true, 0, 0, 200, 120);
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{50, 50, 4, 4}, 0x445566); });
  ASSERT_TRUE(c->next_update().has_value());
  c->request(true, 0, 0, 200, 120);
  const auto changed_at = std::chrono::steady_clock::now();
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{60, 60, 4, 4}, 0x778899); });
  auto small = c->next_update();
  ASSERT_TRUE(small.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, milliseconds(300));
  ASSERT_EQ(small->rects.size(), 1u);
  EXPECT_EQ(small->rects[0].rect, (rfb::Rect{60, 60, 4, 4}));
}

// The settle waits for the drawing to stop (capture_settle_ms without a new damage report), not
// a fixed time after the first report; and never longer than kMaxSettleFactor times that, so
// drawing that never stops is still captured.
TEST_F(ServerTest, LargeChangesSettleUntilTheDrawingStopsButNotForever) {
  auto c = settling_client(150);
  const uint64_t before = on_loop(*loop, [&] { return server->captures(); });
  // A picture, then three marks 80 ms apart: 240 ms in all, longer than the settle time, but no
  // gap reaches it.
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{0, 0, 200, 100}, 0x112233); });
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(80));
    on_loop(*loop, [&] { desktop.fill(rfb::Rect{5 + 20 * i, 5, 10, 10}, 0xABCDEF); });
  }
  auto u = c->next_update();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(on_loop(*loop, [&] { return server->captures(); }), before + 1);
  expect_current_pixels(*u, 200 * 100);  // Every mark is in it.

  // Drawing every 50 ms without end: still captured within the cap (4 x 150 ms) of its start.
  c->request(true, 0, 0, 200, 120);
  std::atomic<bool> stop{false};
  const auto started = std::chrono::steady_clock::now();
  std::thread painter([&] {
    for (uint32_t colour = 1; !stop; ++colour) {
      on_loop(*loop, [&] { desktop.fill(rfb::Rect{0, 0, 200, 100}, colour); });
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  auto during = c->next_update();
  const auto waited = std::chrono::steady_clock::now() - started;
  stop = true;
  painter.join();
  ASSERT_TRUE(during.has_value());
  EXPECT_GE(waited, milliseconds(150));
  EXPECT_LT(waited, milliseconds(1500));
}

// Once the reported changes span the screen, the source can report nothing more (XDamage's
// bounding box cannot grow), so the capture does not wait for the drawing to settle; drawing
// after it goes in the next update.
TEST_F(ServerTest, ChangesAcrossTheWholeScreenAreNotHeldBack) {
  auto c = settling_client(400);
  const auto changed_at = std::chrono::steady_clock::now();
  // The top, then the bottom of a picture: the first waits, the second completes the screen.
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{0, 0, 200, 60}, 0x112233); });
  std::this_thread::sleep_for(milliseconds(50));
  on_loop(*loop, [&] { desktop.fill(rfb::Rect{0, 60, 200, 60}, 0x445566); });
  auto u = c->next_update();
  ASSERT_TRUE(u.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, milliseconds(350));
  expect_current_pixels(*u, 200 * 120);
}

TEST_F(ServerTest, NoCaptureWorkWithoutRequests) {
  start_server();
  auto c = connect();
  ASSERT_FALSE(c->failed());
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(on_loop(*loop, [&] { return desktop.captures; }), 0);
  c->request(false, 0, 0, 200, 120);
  ASSERT_TRUE(c->next_update().has_value());
  // Once nobody waits, the capture timer stops.
  EXPECT_TRUE(eventually([&] { return !on_loop(*loop, [&] { return server->capturing(); }); }));
  int captures = on_loop(*loop, [&] { return desktop.captures; });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(on_loop(*loop, [&] { return desktop.captures; }), captures);
}

TEST_F(ServerTest, CaptureRateIsBoundedByMaxFps) {
  config.max_fps = 20;
  start_server();
  auto c = connect();
  // A request that never gets answered (nothing changes) keeps the capture timer running.
  c->request(false, 0, 0, 200, 120);
  ASSERT_TRUE(c->next_update().has_value());
  c->request(true, 0, 0, 200, 120);
  int before = on_loop(*loop, [&] { return desktop.captures; });
  std::this_thread::sleep_for(milliseconds(500));
  int during = on_loop(*loop, [&] { return desktop.captures; }) - before;
  EXPECT_GE(during, 4);
  EXPECT_LE(during, 13);  // 10 expected at 20 fps.
}

TEST_F(ServerTest, InputAndClipboardReachTheDesktop) {
  start_server();
  auto c = connect();
  c->send(rfb::KeyEvent{true, 0xFF0D});
  c->send(rfb::KeyEvent{false, 0xFF0D});
  c->send(rfb::PointerEvent{0x05, 150, 100});
  c->send(rfb::ClientCutText{"from the client", 0});
  // A round trip orders everything before it.
  c->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(c->next_update().has_value());
  on_loop(*loop, [&] {
    ASSERT_EQ(desktop.keys.size(), 2u);
    EXPECT_EQ(desktop.keys[0], (std::pair<uint32_t, bool>{0xFF0D, true}));
    EXPECT_EQ(desktop.keys[1], (std::pair<uint32_t, bool>{0xFF0D, false}));
    ASSERT_EQ(desktop.pointers.size(), 1u);
    EXPECT_EQ(desktop.pointers[0], (TestDesktop::Pointer{150, 100, 0x05}));
    EXPECT_EQ(desktop.clipboard, "from the client");
  });

  on_loop(*loop, [&] { desktop.desktop_copies("from the desktop"); });
  auto m = c->next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->type, rfb::server_msg::kServerCutText);
  EXPECT_EQ(m->text, "from the desktop");
}

TEST_F(ServerTest, ClipboardGoesToEveryNormalClient) {
  start_server();
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(eventually([&] { return client_count() == 2; }));
  // Make sure both are past ServerInit on the server side.
  a->request(false, 0, 0, 1, 1);
  b->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
  ASSERT_TRUE(b->next_update().has_value());
  on_loop(*loop, [&] { desktop.desktop_copies("both"); });
  auto ma = a->next();
  auto mb = b->next();
  ASSERT_TRUE(ma && mb);
  EXPECT_EQ(ma->text, "both");
  EXPECT_EQ(mb->text, "both");
}

TEST_F(ServerTest, NonSharedClientDisconnectsTheOthers) {
  start_server();
  auto a = connect(/*shared=*/true);
  a->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
  auto b = connect(/*shared=*/false);
  ASSERT_FALSE(b->failed());
  EXPECT_TRUE(a->wait_closed());
  b->request(false, 0, 0, 10, 10);
  ASSERT_TRUE(b->next_update().has_value());
  EXPECT_TRUE(eventually([&] { return client_count() == 1; }));
}

TEST_F(ServerTest, SharedClientsCoexist) {
  start_server();
  auto a = connect(true);
  a->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
  auto b = connect(true);
  b->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(b->next_update().has_value());
  a->request(false, 0, 0, 2, 2);
  ASSERT_TRUE(a->next_update().has_value());
  EXPECT_EQ(client_count(), 2u);
}

TEST_F(ServerTest, DontDisconnectRefusesTheNonSharedNewcomer) {
  config.dont_disconnect = true;
  start_server();
  auto a = connect(true);
  a->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
  TestClient b(port);
  EXPECT_FALSE(b.handshake(/*shared=*/false).has_value());  // No ServerInit.
  EXPECT_TRUE(b.wait_closed());
  a->request(false, 0, 0, 3, 3);
  ASSERT_TRUE(a->next_update().has_value());
}

TEST_F(ServerTest, NeverSharedRefusesASecondClient) {
  config.share_policy = SharePolicy::kNeverShared;
  start_server();
  auto a = connect(true);
  a->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
  TestClient b(port);
  EXPECT_FALSE(b.handshake(/*shared=*/true).has_value());
  EXPECT_TRUE(b.wait_closed());
  a->request(false, 0, 0, 3, 3);
  ASSERT_TRUE(a->next_update().has_value());
}

TEST_F(ServerTest, AlwaysSharedIgnoresTheExclusiveRequest) {
  config.share_policy = SharePolicy::kAlwaysShared;
  start_server();
  auto a = connect(true);
  a->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
  auto b = connect(false);
  b->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(b->next_update().has_value());
  a->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
  EXPECT_EQ(client_count(), 2u);
}

TEST_F(ServerTest, ASlowClientDoesNotHoldUpOthersAndItsQueueStaysBounded) {
  // 400x300x4 = 480 kB per full update: a few of them would overflow the socket buffers.
  desktop.resize(rfb::Size{400, 300});
  start_server();
  // A tiny receive buffer that nobody reads.
  auto slow = std::make_unique<TestClient>(port, 4096);
  ASSERT_TRUE(slow->handshake().has_value());
  slow->set_pixel_format(rfb::PixelFormat::rgb888());
  slow->send(rfb::SetEncodings{{rfb::encoding::kRaw}});
  slow->request(false, 0, 0, 400, 300);
  auto fast = connect();
  fast->request(false, 0, 0, 400, 300);
  ASSERT_TRUE(fast->next_update().has_value());

  constexpr size_t kFullUpdate = 4 + 12 + 400 * 300 * 4;
  size_t max_queued = 0;
  for (int i = 0; i < 30; ++i) {
    uint32_t colour = 0x010101u * static_cast<uint32_t>(i + 1);
    on_loop(*loop, [&] { desktop.fill(rfb::Rect{0, 0, 400, 300}, colour); });
    slow->request(true, 0, 0, 400, 300);
    fast->request(true, 0, 0, 400, 300);
    auto u = fast->next_update();
    ASSERT_TRUE(u.has_value()) << "iteration " << i;
    ASSERT_FALSE(u->rects.empty());
    // The fast client sees this iteration's picture.
    EXPECT_EQ(raw_pixel(u->rects.back(), 0, 0), colour);
    on_loop(*loop, [&] {
      for (auto& info : server->clients()) max_queued = std::max(max_queued, info.queued_bytes);
    });
  }
  EXPECT_GT(max_queued, 0u);           // The slow client really was congested...
  EXPECT_LE(max_queued, kFullUpdate);  // ...with at most one update queued for it.
  auto infos = on_loop(*loop, [&] { return server->clients(); });
  ASSERT_EQ(infos.size(), 2u);
  uint64_t fewest = std::min(infos[0].updates_sent, infos[1].updates_sent);
  EXPECT_LT(fewest, 10u);  // The slow one got few, coalesced updates.
}

TEST_F(ServerTest, MisbehavingClientIsDisconnectedWhileAnotherKeepsWorking) {
  start_server();
  auto good = connect();
  auto bad = connect();
  const uint8_t unknown[] = {0xFA, 1, 2, 3, 4, 5, 6, 7};
  bad->send(unknown);
  EXPECT_TRUE(bad->wait_closed());
  good->request(false, 0, 0, 50, 50);
  auto u = good->next_update();
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(eventually([&] { return client_count() == 1; }));
}

TEST_F(ServerTest, ResizeReachesDesktopSizeClients) {
  start_server();
  auto c = connect(true, {rfb::encoding::kRaw, rfb::encoding::kDesktopSize});
  c->request(false, 0, 0, 200, 120);
  ASSERT_TRUE(c->next_update().has_value());
  on_loop(*loop, [&] {
    desktop.resize(rfb::Size{100, 50});
    desktop.paint_pattern();
  });
  c->request(true, 0, 0, 200, 120);
  auto u = c->next_update();
  ASSERT_TRUE(u.has_value());
  ASSERT_GE(u->rects.size(), 2u);
  EXPECT_EQ(u->rects[0].encoding, rfb::encoding::kDesktopSize);
  EXPECT_EQ(u->rects[0].rect.w, 100);
  EXPECT_EQ(u->rects[0].rect.h, 50);
  for (size_t i = 1; i < u->rects.size(); ++i) expect_pixels_match(u->rects[i]);
}

TEST_F(ServerTest, OnceStopsWhenTheFirstClientLeaves) {
  config.once = true;
  start_server();
  {
    auto c = connect();
    c->request(false, 0, 0, 1, 1);
    ASSERT_TRUE(c->next_update().has_value());
  }
  // The client closed its socket: run() returns by itself.
  ASSERT_TRUE(eventually([&] { return loop->stopped(); }));
  thread.join();
  EXPECT_TRUE(result.ok());
}

TEST_F(ServerTest, CaptureFailureStopsTheServerWithAnError) {
  start_server();
  auto c = connect();
  on_loop(*loop, [&] { desktop.fail_capture = true; });
  c->request(false, 0, 0, 10, 10);
  ASSERT_TRUE(eventually([&] { return loop->stopped(); }));
  thread.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "capture failed: the desktop went away");
  EXPECT_TRUE(c->wait_closed());
}

TEST_F(ServerTest, MaxClientsRefusesTheExtraConnection) {
  config.max_clients = 1;
  start_server();
  auto a = connect();
  ASSERT_FALSE(a->failed());
  TestClient b(port);
  EXPECT_TRUE(b.wait_closed());
  a->request(false, 0, 0, 1, 1);
  ASSERT_TRUE(a->next_update().has_value());
}

}  // namespace
}  // namespace vncd::server
