// Test-only helpers for the server tests: an in-memory desktop, a security provider offering
// None (or a type that always fails), and a blocking RFB 3.8 client over a real TCP socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rfb/frame.h"
#include "rfb/messages.h"
#include "rfb/pixel_format.h"
#include "rfb/platform.h"
#include "rfb/security.h"
#include "server/event_loop.h"

namespace vncd::server::testing {

// A desktop in memory: 32-bit rgb888 pixels the test paints; capture() reports what was painted
// since the previous capture. Also records input and holds a clipboard.
class TestDesktop final : public rfb::FrameSource, public rfb::InputSink, public rfb::Clipboard {
 public:
  explicit TestDesktop(rfb::Size size) { resize(size); }

  rfb::Size size() const override { return size_; }
  rfb::PixelFormat format() const override { return rfb::PixelFormat::rgb888(); }

  // Event-driven mode imitates XDamage: changes are announced on an eventfd, and without one
  // the source reports nothing pending. Call before the server starts.
  void make_event_driven() { events_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)); }
  int event_fd() const override { return events_.get(); }
  void process_events() override {
    uint64_t n = 0;
    if (events_.get() >= 0 && ::read(events_.get(), &n, sizeof n) == sizeof n) announced_ = true;
  }
  bool changes_pending() const override {
    return events_.get() < 0 || announced_ || first_ || size_changed_;
  }
  // As XDamage's bounding-box reports: what was announced spans the screen.
  bool changes_cover_screen() const override {
    return events_.get() >= 0 && announced_ &&
           pending_.bounds().contains(rfb::Rect{0, 0, size_.width, size_.height});
  }
  Result<rfb::Capture> capture() override {
    ++captures;
    if (fail_capture) return Error("the desktop went away");
    auto frame = std::make_shared<rfb::Frame>(size_, format());
    std::memcpy(frame->mutable_data(), pixels_.data(), pixels_.size() * 4);
    rfb::Capture c;
    c.frame = std::move(frame);
    c.size_changed = size_changed_;
    c.changed = (first_ || size_changed_) ? rfb::Region(rfb::Rect{0, 0, size_.width, size_.height})
                                          : pending_;
    first_ = false;
    size_changed_ = false;
    announced_ = false;
    pending_.clear();
    return c;
  }

  // Pixels are 0x00RRGGBB.
  uint32_t pixel(int x, int y) const {
    return pixels_[static_cast<size_t>(y) * static_cast<size_t>(size_.width) +
                   static_cast<size_t>(x)];
  }
  void fill(const rfb::Rect& r, uint32_t colour) {
    for (int y = r.y; y < r.bottom(); ++y)
      for (int x = r.x; x < r.right(); ++x)
        pixels_[static_cast<size_t>(y) * static_cast<size_t>(size_.width) +
                static_cast<size_t>(x)] = colour;
    pending_.add(r);
    if (events_.get() >= 0) {
      const uint64_t one = 1;
      (void)!::write(events_.get(), &one, sizeof one);
    }
  }
  // A recognisable picture: every pixel different.
  void paint_pattern() {
    for (int y = 0; y < size_.height; ++y)
      for (int x = 0; x < size_.width; ++x)
        pixels_[static_cast<size_t>(y) * static_cast<size_t>(size_.width) +
                static_cast<size_t>(x)] =
            static_cast<uint32_t>((x * 7) << 16 | (y * 5) << 8 | ((x + y) & 0xFF)) & 0xFFFFFF;
    pending_.add(rfb::Rect{0, 0, size_.width, size_.height});
  }
  // Moves the picture up by `rows` (a terminal scrolling) and fills the exposed strip.
  void scroll_up(int rows, uint32_t colour) {
    const size_t w = static_cast<size_t>(size_.width);
    std::memmove(pixels_.data(), pixels_.data() + static_cast<size_t>(rows) * w,
                 (static_cast<size_t>(size_.height - rows)) * w * 4);
    fill(rfb::Rect{0, size_.height - rows, size_.width, rows}, colour);
    pending_.add(rfb::Rect{0, 0, size_.width, size_.height});
  }
  void resize(rfb::Size size) {
    size_ = size;
    pixels_.assign(static_cast<size_t>(size.width) * static_cast<size_t>(size.height), 0);
    size_changed_ = true;
  }

  // InputSink.
  void key(uint32_t keysym, bool down) override { keys.emplace_back(keysym, down); }
  void pointer(int x, int y, uint8_t mask) override { pointers.push_back({x, y, mask}); }
  void flush() override { ++flushes; }

  // Clipboard.
  void set_text(const std::string& latin1) override { clipboard = latin1; }
  void on_change(std::function<void(const std::string&)> cb) override {
    on_change_ = std::move(cb);
  }
  // The desktop's own clipboard changed (a local application copied something).
  void desktop_copies(const std::string& text) {
    clipboard = text;
    if (on_change_) on_change_(text);
  }

  struct Pointer {
    int x, y;
    uint8_t mask;
    bool operator==(const Pointer&) const = default;
  };
  std::vector<std::pair<uint32_t, bool>> keys;
  std::vector<Pointer> pointers;
  int flushes = 0;
  std::string clipboard;
  int captures = 0;
  bool fail_capture = false;

 private:
  rfb::Size size_;
  std::vector<uint32_t> pixels_;
  rfb::Region pending_;
  UniqueFd events_;
  bool announced_ = false;
  bool first_ = true;
  bool size_changed_ = false;
  std::function<void(const std::string&)> on_change_;
};

// Offers one security type: None (succeeds at once), or a type that always refuses.
class TestSecurity final : public rfb::SecurityProvider {
 public:
  explicit TestSecurity(bool refuse = false) : refuse_(refuse) {}
  std::vector<uint8_t> offered() const override {
    return {refuse_ ? rfb::security::kVncAuth : rfb::security::kNone};
  }
  std::unique_ptr<rfb::SecurityHandler> create(uint8_t type) override {
    return std::make_unique<Handler>(type, refuse_);
  }

 private:
  class Handler final : public rfb::SecurityHandler {
   public:
    Handler(uint8_t type, bool refuse) : type_(type), refuse_(refuse) {}
    uint8_t type() const override { return type_; }
    void start(rfb::ByteBuffer&) override {}
    rfb::SecurityStep step(rfb::Reader& in, rfb::ByteBuffer&) override {
      if (!refuse_) return rfb::SecurityStep::success();
      // Refuses whatever one byte the client sends.
      if (!in.has(1)) return rfb::SecurityStep::need_more();
      in.skip(1);
      return rfb::SecurityStep::failure("wrong password");
    }

   private:
    uint8_t type_;
    bool refuse_;
  };
  bool refuse_;
};

// Runs `f` on the loop thread and waits for its result.
template <class F>
auto on_loop(EventLoop& loop, F f) -> decltype(f()) {
  using R = decltype(f());
  std::promise<R> p;
  auto fut = p.get_future();
  loop.post([&] {
    if constexpr (std::is_void_v<R>) {
      f();
      p.set_value();
    } else {
      p.set_value(f());
    }
  });
  return fut.get();
}

struct ServerInitMsg {
  uint16_t width = 0, height = 0;
  rfb::PixelFormat format;
  std::string name;
};

struct RectMsg {
  rfb::Rect rect;
  int32_t encoding = 0;
  std::vector<uint8_t> pixels;  // Raw payload.
};

// One server-to-client message, decoded.
struct ServerMsg {
  uint8_t type = 0xFF;
  std::vector<RectMsg> rects;  // FramebufferUpdate.
  std::string text;            // ServerCutText.
  uint16_t colours = 0;        // SetColourMapEntries count.
};

// A blocking RFB client on a real socket; every read has a timeout so a failing test ends.
class TestClient {
 public:
  explicit TestClient(int port, int recv_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (recv_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &recv_buffer, sizeof recv_buffer);
    // Small messages go out at once (otherwise Nagle and delayed ACKs add 40 ms per round trip).
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~TestClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }
  bool failed() const { return failed_; }

  // Reads exactly n bytes; on timeout or EOF sets failed() and returns what it got.
  std::vector<uint8_t> read(size_t n) {
    std::vector<uint8_t> out(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) {
        failed_ = true;
        out.resize(got);
        return out;
      }
      got += static_cast<size_t>(r);
    }
    return out;
  }
  // True when the server closes the connection (EOF or reset) within the timeout, after
  // discarding anything still queued.
  bool wait_closed() {
    uint8_t buf[65536];
    for (;;) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }
  void send(std::span<const uint8_t> bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t r = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (r <= 0) {
        failed_ = true;
        return;
      }
      off += static_cast<size_t>(r);
    }
  }
  void send(const rfb::ClientMessage& m) {
    rfb::ByteBuffer b;
    rfb::serialize(m, b);
    send(b.span());
  }

  // RFB 3.8 with security None up to ServerInit. Returns nothing on any deviation.
  std::optional<ServerInitMsg> handshake(bool shared = true) {
    auto version = read(12);
    if (std::string(version.begin(), version.end()) != "RFB 003.008\n") return std::nullopt;
    send(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("RFB 003.008\n"), 12));
    auto n = read(1);
    if (n.size() != 1 || n[0] == 0) return std::nullopt;
    auto types = read(n[0]);
    uint8_t choice = types.empty() ? 0 : types[0];
    send(std::span<const uint8_t>(&choice, 1));
    if (choice != rfb::security::kNone) return std::nullopt;
    auto result = read(4);
    if (result != std::vector<uint8_t>{0, 0, 0, 0}) return std::nullopt;
    uint8_t flag = shared ? 1 : 0;
    send(std::span<const uint8_t>(&flag, 1));
    return read_server_init();
  }

  std::optional<ServerInitMsg> read_server_init() {
    auto head = read(24);
    if (head.size() != 24) return std::nullopt;
    rfb::Reader r(head);
    ServerInitMsg m;
    m.width = r.u16();
    m.height = r.u16();
    m.format = rfb::PixelFormat::parse(r);
    uint32_t len = r.u32();
    if (len > 4096) return std::nullopt;
    auto name = read(len);
    m.name.assign(name.begin(), name.end());
    format_ = m.format;
    return m;
  }

  void set_pixel_format(const rfb::PixelFormat& f) {
    send(rfb::SetPixelFormat{f});
    format_ = f;
  }
  void request(bool incremental, uint16_t x, uint16_t y, uint16_t w, uint16_t h) {
    send(rfb::FramebufferUpdateRequest{incremental, x, y, w, h});
  }

  // Reads the next server message (Raw rectangles only).
  std::optional<ServerMsg> next() {
    auto t = read(1);
    if (t.size() != 1) return std::nullopt;
    ServerMsg m;
    m.type = t[0];
    switch (m.type) {
      case rfb::server_msg::kFramebufferUpdate: {
        auto h = read(3);
        if (h.size() != 3) return std::nullopt;
        size_t count = static_cast<size_t>(h[1] << 8 | h[2]);
        for (size_t i = 0; i < count; ++i) {
          auto rh = read(12);
          if (rh.size() != 12) return std::nullopt;
          rfb::Reader r(rh);
          RectMsg rect;
          rect.rect.x = r.u16();
          rect.rect.y = r.u16();
          rect.rect.w = r.u16();
          rect.rect.h = r.u16();
          rect.encoding = r.s32();
          if (rect.encoding == rfb::encoding::kRaw) {
            rect.pixels = read(static_cast<size_t>(rect.rect.w) * static_cast<size_t>(rect.rect.h) *
                               static_cast<size_t>(format_.bytes_per_pixel()));
          } else if (rect.encoding == rfb::encoding::kCopyRect) {
            rect.pixels = read(4);  // U16 src-x, U16 src-y.
          } else if (rect.encoding == rfb::encoding::kDesktopSize) {
            // No payload.
          } else {
            return std::nullopt;
          }
          if (failed_) return std::nullopt;
          m.rects.push_back(std::move(rect));
        }
        return m;
      }
      case rfb::server_msg::kSetColourMapEntries: {
        auto h = read(5);
        if (h.size() != 5) return std::nullopt;
        m.colours = static_cast<uint16_t>(h[3] << 8 | h[4]);
        read(static_cast<size_t>(m.colours) * 6);
        return failed_ ? std::nullopt : std::optional<ServerMsg>(m);
      }
      case rfb::server_msg::kBell:
        return m;
      case rfb::server_msg::kServerCutText: {
        auto h = read(7);
        if (h.size() != 7) return std::nullopt;
        rfb::Reader r(h);
        r.skip(3);
        uint32_t len = r.u32();
        if (len > (1u << 20)) return std::nullopt;
        auto text = read(len);
        m.text.assign(text.begin(), text.end());
        return failed_ ? std::nullopt : std::optional<ServerMsg>(m);
      }
      default:
        return std::nullopt;
    }
  }

  // The next FramebufferUpdate, skipping other messages.
  std::optional<ServerMsg> next_update() {
    for (int i = 0; i < 16; ++i) {
      auto m = next();
      if (!m) return std::nullopt;
      if (m->type == rfb::server_msg::kFramebufferUpdate) return m;
    }
    return std::nullopt;
  }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool failed_ = false;
  rfb::PixelFormat format_;
};

// A 32-bit little-endian Raw pixel as 0x00RRGGBB (rgb888 client format).
inline uint32_t raw_pixel(const RectMsg& r, int x, int y) {
  size_t off =
      (static_cast<size_t>(y) * static_cast<size_t>(r.rect.w) + static_cast<size_t>(x)) * 4;
  return (uint32_t{r.pixels[off]} | uint32_t{r.pixels[off + 1]} << 8 |
          uint32_t{r.pixels[off + 2]} << 16) &
         0xFFFFFF;
}

}  // namespace vncd::server::testing
