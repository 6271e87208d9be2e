#include "server/refused_client.h"

#include <algorithm>
#include <utility>

namespace vncd::server {
namespace {

constexpr size_t kVersionLength = 12;  // "RFB xxx.yyy\n"
constexpr std::string_view kServerVersion = "RFB 003.008\n";

// The minor version of a well-formed "RFB 003.yyy\n", or -1.
int minor_version(const std::string& v) {
  if (v.size() != kVersionLength || v.compare(0, 8, "RFB 003.") != 0 || v[11] != '\n') return -1;
  int minor = 0;
  for (size_t i = 8; i < 11; ++i) {
    if (v[i] < '0' || v[i] > '9') return -1;
    minor = minor * 10 + (v[i] - '0');
  }
  return minor;
}

}  // namespace

RefusalHandshake::RefusalHandshake(std::string reason) : reason_(std::move(reason)) {
  if (reason_.size() > kMaxReason) reason_.resize(kMaxReason);
  out_.append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kServerVersion.data()),
                                       kServerVersion.size()));
}

void RefusalHandshake::feed(std::span<const uint8_t> bytes) {
  if (done_) return;
  const size_t take = std::min(bytes.size(), kVersionLength - version_.size());
  version_.append(reinterpret_cast<const char*>(bytes.data()), take);
  if (version_.size() < kVersionLength) return;
  done_ = true;
  const int minor = minor_version(version_);
  if (minor < 0) return;  // Not an RFB 3.x client: nothing it would understand; just close.
  // rfbproto.rst "Security Handshake": 3.3 (and any 3.x below 3.7) gets the U32 security type 0,
  // 3.7 and later a security-type count of 0; both are followed by a reason string.
  if (minor < 7)
    out_.u32(0);
  else
    out_.u8(0);
  out_.u32(static_cast<uint32_t>(reason_.size()));
  out_.append(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(reason_.data()), reason_.size()));
}

RefusedClient::RefusedClient(EventLoop& loop, std::unique_ptr<Transport> transport,
                             std::string reason, std::chrono::milliseconds timeout,
                             std::function<void()> on_finished)
    : loop_(loop),
      transport_(std::move(transport)),
      handshake_(std::move(reason)),
      on_finished_(std::move(on_finished)) {
  const int fd = transport_->fd();
  if (fd < 0) {
    // Not fd-driven (an in-memory test transport): say what can be said at once and go.
    if (Result<size_t> n = transport_->write(handshake_.output().span()); n.ok())
      handshake_.output().consume(*n);
    finish();
    return;
  }
  interest_ = EventLoop::kReadable | EventLoop::kWritable;
  if (!loop_.watch(fd, interest_, [this](uint32_t ready) { on_ready(ready); }).ok()) {
    finish();
    return;
  }
  watching_ = true;
  timer_ = loop_.add_timer(timeout, [this] {
    timer_ = 0;
    finish();
  });
}

RefusedClient::~RefusedClient() {
  loop_.cancel_timer(timer_);
  if (watching_) loop_.unwatch(transport_->fd());
}

void RefusedClient::on_ready(uint32_t ready) {
  if (finished_) return;
  if (ready & EventLoop::kWritable) flush();
  if (finished_) return;
  if (ready & (EventLoop::kReadable | EventLoop::kHangup)) {
    uint8_t buf[64];
    Result<size_t> r = transport_->read(buf);
    if (!r) {
      finish();
      return;
    }
    handshake_.feed(std::span<const uint8_t>(buf, *r));
    flush();
  }
}

void RefusedClient::flush() {
  rfb::ByteBuffer& out = handshake_.output();
  while (!out.empty()) {
    Result<size_t> n = transport_->write(out.span());
    if (!n) {
      finish();
      return;
    }
    if (*n == 0) break;
    out.consume(*n);
  }
  if (handshake_.done() && out.empty()) {
    finish();
    return;
  }
  // Readable until the client's version is in; writable only while something waits to go.
  uint32_t want = handshake_.done() ? 0 : EventLoop::kReadable;
  if (!out.empty()) want |= EventLoop::kWritable;
  if (want != interest_ && watching_) {
    interest_ = want;
    if (!loop_.modify(transport_->fd(), want).ok()) finish();
  }
}

void RefusedClient::finish() {
  if (finished_) return;
  finished_ = true;
  loop_.cancel_timer(timer_);
  timer_ = 0;
  if (watching_) {
    loop_.unwatch(transport_->fd());
    watching_ = false;
  }
  transport_->close();
  if (on_finished_) on_finished_();
}

}  // namespace vncd::server
