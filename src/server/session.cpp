#include "server/session.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "encodings/copy_detector.h"
#include "rfb/encoder.h"
#include "rfb/log.h"
#include "rfb/messages.h"
#include "rfb/pixel_format.h"
#include "server/copy_search.h"

namespace vncd::server {

namespace {

rfb::ConnectionConfig connection_config(const ServerConfig& config) {
  rfb::ConnectionConfig c;
  c.limits = config.limits;
  return c;
}

rfb::Rect whole(rfb::Size size) {
  return rfb::Rect{0, 0, size.width, size.height};
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Scrolls and moves inside `area` become CopyRect when the client's picture of the source is
// known: it is `shown` outside `stale`.
enc::UpdateContent plan_copies(const enc::UpdatePlanner& planner, enc::CopyDetector& detector,
                               CopySearchBackoff& backoff, const rfb::FramePtr& shown,
                               const rfb::FramePtr& frame, const rfb::Region& area,
                               const rfb::Region& stale) {
  enc::UpdateContent content;
  content.changed = area;
  const int64_t screen = static_cast<int64_t>(frame->size().width) * frame->size().height;
  if (!shown || !planner.client_supports(rfb::encoding::kCopyRect) ||
      shown->size() != frame->size() || shown->format() != frame->format() ||
      area.area() < enc::kMinCopyArea || !backoff.should_search(area.area(), screen)) {
    // The detector's frame would not be the next `shown`: let it go rather than hold a screen.
    detector.forget();
    return content;
  }
  // The detector keeps `frame`'s row hashes: the next update's `shown` is this `frame`.
  enc::DetectedCopies d = detector.detect(shown, frame, area);
  backoff.searched(area.area(), screen, !d.copies.empty());
  content.changed = std::move(d.remaining);
  for (const enc::CopyOp& c : d.copies) {
    const rfb::Rect src{c.src_x, c.src_y, c.dst.w, c.dst.h};
    if (stale.intersected(src).empty()) {
      content.copies.push_back(c);
    } else {
      content.changed.add(c.dst);
    }
  }
  // A later copy may read what an earlier one wrote; if an earlier copy was dropped, the
  // detector's ordering no longer holds for the rest, so keep copies only if none was dropped.
  if (content.copies.size() != d.copies.size()) {
    for (const enc::CopyOp& c : content.copies) content.changed.add(c.dst);
    content.copies.clear();
  }
  return content;
}

}  // namespace

struct ClientSession::Encoding {
  explicit Encoding(const enc::EncoderRegistry& registry) : planner(registry) {}

  // Worker (or loop) thread: the first call plans CopyRects and begins the update; each call
  // appends about `budget` more bytes of it to `out`, and `done` says when it is complete.
  void run(size_t budget) {
    const auto started = std::chrono::steady_clock::now();
    if (!begun) {
      begun = true;
      enc::UpdateContent content;
      if (job.resize) {
        // rfbproto.rst "DesktopSize Pseudo-encoding": the client's picture is gone; all of
        // the new one follows the new size, and nothing can be copied.
        content.resize = job.resize;
        content.changed = job.area;
      } else {
        // rfbproto.rst "FramebufferUpdateRequest": a non-incremental request says the client
        // lost that area, so no CopyRect goes there and none reads from there.
        rfb::Region incremental = job.area;
        incremental.subtract(job.full);
        rfb::Region unknown = stale;
        unknown.add(job.full);
        content =
            plan_copies(planner, copy_detector, copy_backoff, shown, frame, incremental, unknown);
        copies = content.copies;
      }
      // The previous picture is not needed any more: back to the frame pool now, so a capture
      // during a long encode does not need yet another screen-sized buffer.
      shown.reset();
      content.changed.add(job.full);
      content.changed.add(job.refresh);
      content.lossless = job.refresh;
      content.jpeg_quality_cap = job.plan.quality_cap;
      content.jpeg_subsampling = job.plan.subsampling;
      planner.begin_update(*frame, content, out);
    }
    done = planner.continue_update(out, budget);
    if (done) result = planner.result();
    ms += ms_since(started);
  }

  enc::UpdatePlanner planner;
  enc::CopyDetector copy_detector;
  CopySearchBackoff copy_backoff;
  // Set on the loop thread before the job starts.
  rfb::FramePtr frame;
  rfb::FramePtr shown;  // The client's picture before this update...
  rfb::Region stale;    // ...except here.
  Job job;
  bool begun = false;
  std::vector<enc::CopyOp> copies;  // The update's CopyRects (set by the first run()).
  // Results: `out` is the next installment of the update.
  rfb::ByteBuffer out;
  bool done = false;
  enc::UpdateResult result;
  double ms = 0;
};

ClientSession::ClientSession(SessionServices services, std::unique_ptr<Transport> transport,
                             rfb::FramePtr frame)
    : s_(services),
      transport_(std::move(transport)),
      peer_(transport_->peer()),
      conn_(s_.security, *this, connection_config(s_.config)),
      encoding_(std::make_shared<Encoding>(s_.encoders)),
      read_buf_(kReadChunk),
      frame_(std::move(frame)) {
  encoding_->planner.set_task_runner(s_.workers);
}

ClientSession::~ClientSession() {
  s_.loop.cancel_timer(handshake_timer_);
  s_.loop.cancel_timer(failure_timer_);
  s_.loop.cancel_timer(close_timer_);
  s_.loop.cancel_timer(read_again_timer_);
  s_.loop.cancel_timer(idle_timer_);
  s_.loop.cancel_timer(wake_timer_);
  if (transport_->fd() >= 0) s_.loop.unwatch(transport_->fd());
}

Status ClientSession::start() {
  started_ = true;
  if (int fd = transport_->fd(); fd >= 0) {
    interest_ = EventLoop::kReadable;
    Status st = s_.loop.watch(fd, interest_, [this](uint32_t ready) {
      // Writable first: a hang-up with output queued still lets us learn the write failed.
      if (ready & EventLoop::kWritable) on_writable();
      if (finished_) return;
      if (closing_) {
        // Only flushing is left; a hang-up means it never will finish (and, level-triggered,
        // would otherwise be reported again and again until the close timer).
        if (ready & EventLoop::kHangup) finish(conn_.close_reason());
        return;
      }
      if (ready & (EventLoop::kReadable | EventLoop::kHangup)) on_readable();
    });
    if (!st) return st;
  }
  if (s_.config.handshake_timeout_s > 0) {
    handshake_timer_ =
        s_.loop.add_timer(std::chrono::seconds(s_.config.handshake_timeout_s), [this] {
          handshake_timer_ = 0;
          if (conn_.state() != rfb::Connection::State::kNormal && !closing_)
            close("handshake not completed within " +
                  std::to_string(s_.config.handshake_timeout_s) + " s");
        });
  }
  flush();  // The ProtocolVersion the Connection wrote when it was made.
  return {};
}

void ClientSession::on_readable() {
  if (finished_ || closing_) return;
  // One bounded read per wake-up: the fd is level-triggered, so a busy client cannot keep the
  // loop from serving the others.
  Result<size_t> r = transport_->read(read_buf_);
  if (!r) {
    finish(r.error().message());
    return;
  }
  if (*r == 0) {
    // A decorator may have made progress of its own (a TLS handshake step): output held back
    // for it may go now, and what it waits for decides the interest.
    flush();
    return;
  }
  last_input_ = EventLoop::Clock::now();
  in_feed_ = true;
  conn_.feed(std::span<const uint8_t>(read_buf_.data(), *r));
  in_feed_ = false;
  after_connection_activity();
  schedule_buffered_read();
}

void ClientSession::schedule_buffered_read() {
  if (finished_ || closing_ || read_again_timer_ != 0 || !transport_->has_buffered_input()) return;
  read_again_timer_ = s_.loop.add_timer(std::chrono::milliseconds(0), [this] {
    read_again_timer_ = 0;
    on_readable();
  });
}

void ClientSession::on_writable() {
  if (finished_) return;
  flush();
  if (finished_) return;
  if (closing_) {
    if (conn_.output().empty()) finish(conn_.close_reason());
    return;
  }
  // The previous update has left the queue: this client may take the next one.
  if (conn_.output().empty()) {
    try_send_update();
    if (wants_frames()) s_.host.session_wants_frames(*this);
  }
}

void ClientSession::after_connection_activity() {
  if (finished_) return;
  if (input_pending_) {
    input_pending_ = false;
    s_.input.flush();
  }
  using State = rfb::Connection::State;
  State st = conn_.state();
  if (!auth_logged_ && (st == State::kClientInit || st == State::kNormal)) {
    auth_logged_ = true;
    const rfb::AuthInfo& a = conn_.auth();
    log::info("client ", peer_, " authenticated (RFB ", rfb::to_string(conn_.version()),
              ", security type ", int{conn_.security_type()}, a.user.empty() ? "" : ", user ",
              a.user, a.view_only ? ", view-only" : "", ")");
    s_.host.session_authenticated(*this, true);
  }
  if (conn_.failure_pending() && failure_timer_ == 0) {
    log::info("client ", peer_, " failed authentication");
    s_.host.session_authenticated(*this, false);
    // The delay is a deterrent to password guessing; the client hears nothing until it ends.
    failure_timer_ = s_.loop.add_timer(
        std::chrono::milliseconds(std::max(0, s_.config.auth_failure_delay_ms)), [this] {
          failure_timer_ = 0;
          if (finished_) return;
          conn_.release_failure();
          after_connection_activity();
        });
  }
  if (st == State::kNormal && !was_normal_) {
    was_normal_ = true;
    s_.loop.cancel_timer(handshake_timer_);
    handshake_timer_ = 0;
    if (s_.config.idle_timeout_ms > 0)
      arm_idle_timer(std::chrono::milliseconds(s_.config.idle_timeout_ms));
  }
  if (conn_.closed()) {
    begin_closing();
    return;
  }
  flush();
  if (finished_) return;
  if (normal()) {
    try_send_update();
    if (!finished_ && wants_frames()) s_.host.session_wants_frames(*this);
  }
}

void ClientSession::arm_idle_timer(std::chrono::milliseconds delay) {
  idle_timer_ = s_.loop.add_timer(delay, [this] {
    idle_timer_ = 0;
    if (finished_ || closing_) return;
    const std::chrono::milliseconds limit(s_.config.idle_timeout_ms);
    const auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(
        EventLoop::Clock::now() - last_input_);
    if (quiet >= limit) {
      const int ms = s_.config.idle_timeout_ms;
      close("no input for " +
            (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
            " (--idle-timeout)");
      return;
    }
    // Input came since the timer was set: wait for what is left of the limit.
    arm_idle_timer(limit - quiet);
  });
}

void ClientSession::flush() {
  rfb::ByteBuffer& out = conn_.output();
  while (true) {
    // A pending layer (VeNCrypt's TLS) starts once the bytes before it have gone as they are.
    if (pending_layer_ && layer_clear_bytes_ == 0) {
      transport_ = pending_layer_->wrap(std::move(transport_));
      pending_layer_.reset();
      log::debug("client ", peer_, ": security layer started");
    }
    if (out.empty()) break;
    std::span<const uint8_t> chunk = out.span();
    if (pending_layer_) chunk = chunk.first(layer_clear_bytes_);
    Result<size_t> n = transport_->write(chunk);
    if (!n) {
      finish(n.error().message());
      return;
    }
    if (*n == 0) break;
    out.consume(*n);
    if (pending_layer_) layer_clear_bytes_ -= *n;
  }
  congestion_.queued(out.size());
  update_interest();
  if (installment_waits_ && out.size() <= kInstallment) {
    installment_waits_ = false;
    encode_installment();
  }
}

void ClientSession::update_interest() {
  int fd = transport_->fd();
  if (fd < 0 || finished_) return;
  uint32_t want = closing_ ? 0 : EventLoop::kReadable;
  if (transport_->wants_writable(!conn_.output().empty())) want |= EventLoop::kWritable;
  if (want == interest_) return;
  interest_ = want;
  if (Status st = s_.loop.modify(fd, want); !st) finish(st.error().message());
}

void ClientSession::close(std::string reason) {
  if (finished_ || closing_) return;
  conn_.close(std::move(reason));
  // Inside feed() the session finishes its work after feed() returns.
  if (!in_feed_) after_connection_activity();
}

void ClientSession::begin_closing() {
  if (closing_ || finished_) return;
  closing_ = true;
  s_.loop.cancel_timer(handshake_timer_);
  s_.loop.cancel_timer(failure_timer_);
  handshake_timer_ = failure_timer_ = 0;
  flush();
  if (finished_) return;
  if (conn_.output().empty()) {
    finish(conn_.close_reason());
    return;
  }
  close_timer_ = s_.loop.add_timer(kCloseFlushTimeout, [this] {
    close_timer_ = 0;
    finish(conn_.close_reason());
  });
}

void ClientSession::finish(const std::string& reason) {
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  finish_reason_ = reason.empty() ? "connection closed" : reason;
  s_.loop.cancel_timer(handshake_timer_);
  s_.loop.cancel_timer(failure_timer_);
  s_.loop.cancel_timer(close_timer_);
  s_.loop.cancel_timer(read_again_timer_);
  s_.loop.cancel_timer(idle_timer_);
  s_.loop.cancel_timer(wake_timer_);
  handshake_timer_ = failure_timer_ = close_timer_ = read_again_timer_ = idle_timer_ = 0;
  wake_timer_ = 0;
  if (int fd = transport_->fd(); fd >= 0) s_.loop.unwatch(fd);
  transport_->close();
  log::info("client ", peer_, " disconnected: ", finish_reason_);
  s_.host.session_finished(*this);
}

bool ClientSession::view_only() const {
  return s_.config.view_only || conn_.auth().view_only;
}

bool ClientSession::congested() {
  // One update in the queue at a time: while the previous one is still being encoded or written,
  // damage keeps accumulating (coalesced), so a slow client gets fewer, fresher updates and its
  // queue stays at most one update long. With fences, also about one update in the network.
  return encoding_busy_ || !conn_.output().empty() ||
         !congestion_.can_send(EventLoop::Clock::now());
}

bool ClientSession::wants_frames() {
  return normal() && has_request() && !congested() && update_credit(EventLoop::Clock::now());
}

bool ClientSession::update_credit(EventLoop::Clock::time_point now) {
  const double fps = std::clamp(s_.config.max_fps, 1, 1000);
  if (now > credit_time_) {
    update_credit_ =
        std::min(kUpdateBurst,
                 update_credit_ + std::chrono::duration<double>(now - credit_time_).count() * fps);
    credit_time_ = now;
  }
  if (update_credit_ >= 1) return true;
  wake_at(now + std::chrono::duration_cast<EventLoop::Clock::duration>(
                    std::chrono::duration<double>((1 - update_credit_) / fps)));
  return false;
}

// ---- ConnectionDelegate -------------------------------------------------------------------

rfb::ServerInitInfo ClientSession::on_client_init(bool shared) {
  rfb::ServerInitInfo info = s_.host.session_init(*this, shared);
  conn_.set_framebuffer_size(info.size);
  client_format_ = info.format;
  formats_dirty_ = true;
  // The client has no picture yet: everything counts as changed, so even an incremental first
  // request gets the whole screen.
  damage_ = rfb::Region(whole(info.size));
  quality_.resize(info.size);
  return info;
}

// Answers to client messages (colour maps, empty updates) are queued without waiting for the
// socket. A client that keeps asking and never reads would grow the queue without bound: beyond
// one whole-screen update plus max_output_queue it is not a slow client but a hostile one.
bool ClientSession::refuse_if_not_reading() {
  const rfb::Size size = frame_ ? frame_->size() : conn_.framebuffer_size();
  const size_t one_update = static_cast<size_t>(size.width) * static_cast<size_t>(size.height) *
                            static_cast<size_t>(std::max(client_format_.bytes_per_pixel(), 4));
  if (conn_.output().size() <= s_.config.max_output_queue + one_update) return false;
  close("client does not read what it asks for (" + std::to_string(conn_.output().size()) +
        " bytes queued)");
  return true;
}

void ClientSession::on_set_pixel_format(const rfb::PixelFormat& format) {
  if (refuse_if_not_reading()) return;
  if (encoding_busy_) {
    defer([this, format] { on_set_pixel_format(format); });
    return;
  }
  client_format_ = format;
  formats_dirty_ = true;
  if (!format.true_colour) {
    // rfbproto.rst "SetColourMapEntries": colour-map clients get vncd's fixed map once, before
    // any pixel in the new format.
    const auto& map = rfb::fixed_colour_map();
    rfb::write_set_colour_map_entries(conn_.output(), 0,
                                      std::span<const rfb::Colour16>(map.data(), map.size()));
  }
}

void ClientSession::on_set_encodings(const std::vector<int32_t>& encodings) {
  if (encoding_busy_) {
    defer([this, encodings] { on_set_encodings(encodings); });
    return;
  }
  enc::UpdatePlanner& planner = encoding_->planner;
  planner.set_encodings(encodings);
  log::debug("client ", peer_, ": ", encodings.size(), " encodings, preferred ",
             s_.encoders.name(planner.preferred_encoding()));
  const bool fences = planner.client_supports(rfb::encoding::kFence);
  congestion_.set_fences_supported(fences);
  if (fences && !fence_announced_) {
    // rfbproto.rst "Fence Pseudo-encoding": a fence of ours tells the client we support them;
    // its answer is also the first round-trip sample.
    fence_announced_ = true;
    send_fence();
  }
  if (planner.client_supports(rfb::encoding::kContinuousUpdates) && !cu_announced_) {
    // rfbproto.rst "ContinuousUpdates Pseudo-encoding": an EndOfContinuousUpdates says we
    // support them.
    cu_announced_ = true;
    rfb::write_end_of_continuous_updates(conn_.output());
  }
}

void ClientSession::send_fence() {
  const uint32_t id = next_fence_id_++;
  const uint8_t payload[4] = {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                              static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
  // BlockBefore: the answer means everything before the fence has been received and processed.
  rfb::write_fence(conn_.output(), rfb::fence::kBlockBefore | rfb::fence::kRequest, payload);
  congestion_.fence_sent(id, EventLoop::Clock::now());
}

void ClientSession::on_enable_continuous_updates(bool enable, const rfb::Rect& area) {
  if (!cu_announced_) {
    // The client may only use the extension after our EndOfContinuousUpdates announced it.
    log::debug("client ", peer_, ": EnableContinuousUpdates without the pseudo-encoding ignored");
    return;
  }
  if (enable) {
    if (!cu_enabled_) log::debug("client ", peer_, ": continuous updates on for ", area.str());
    cu_enabled_ = true;
    cu_area_ = area;
    return;
  }
  cu_enabled_ = false;
  cu_area_ = rfb::Rect{};
  // rfbproto.rst "EnableContinuousUpdates": every disable is answered, after the last update.
  auto answer = [this] { rfb::write_end_of_continuous_updates(conn_.output()); };
  if (encoding_busy_)
    defer(answer);
  else
    answer();
}

void ClientSession::on_fence(uint32_t flags, std::span<const uint8_t> payload) {
  if (flags & rfb::fence::kRequest) {
    // rfbproto.rst "ClientFence": answered with Request and unknown bits cleared. Messages before
    // it that wait for the update being encoded take effect first (BlockBefore), and the message
    // after it waits behind the answer (SyncNext, BlockAfter): the deferred queue keeps order.
    auto answer = [this, flags, data = std::vector<uint8_t>(payload.begin(), payload.end())] {
      rfb::write_fence(conn_.output(), rfb::fence::response_flags(flags), data);
    };
    if (encoding_busy_)
      defer(std::move(answer));
    else
      answer();
    return;
  }
  // The answer to one of ours.
  if (payload.size() != 4) return;
  const uint32_t id = (uint32_t{payload[0]} << 24) | (uint32_t{payload[1]} << 16) |
                      (uint32_t{payload[2]} << 8) | uint32_t{payload[3]};
  const bool first = !congestion_.has_rtt();
  congestion_.fence_answered(id, EventLoop::Clock::now());
  if (first && congestion_.has_rtt())
    log::debug("client ", peer_, ": answers fences; round trip ",
               std::chrono::duration<double, std::milli>(congestion_.rtt()).count(), " ms");
}

void ClientSession::defer(std::function<void()> action) {
  if (deferred_.size() >= kMaxDeferred) {
    close("client sent more than " + std::to_string(kMaxDeferred) +
          " settings changes and fences during one update");
    return;
  }
  deferred_.push_back(std::move(action));
}

void ClientSession::run_deferred() {
  std::vector<std::function<void()>> actions;
  actions.swap(deferred_);
  for (auto& a : actions) {
    if (finished_ || closing_) return;
    a();
  }
}

void ClientSession::note_lossy(const rfb::Region& painted, const std::vector<enc::CopyOp>& copies,
                               const rfb::Region& lossy) {
  // Copies read the picture as it was before the update (no source overlaps an earlier
  // destination), so each carries the lossy part of its source along.
  rfb::Region moved;
  for (const enc::CopyOp& c : copies) {
    rfb::Region part = client_lossy_.intersected(rfb::Rect{c.src_x, c.src_y, c.dst.w, c.dst.h});
    if (part.empty()) continue;
    part.translate(c.dst.x - c.src_x, c.dst.y - c.src_y);
    moved.add(part);
  }
  moved.add(lossy);
  client_lossy_.subtract(painted);
  client_lossy_.add(moved);
  rfb::Region lossless = painted;
  lossless.subtract(moved);
  quality_.sent(moved, lossless, EventLoop::Clock::now());
}

bool ClientSession::lossy_client() const {
  const enc::UpdatePlanner& planner = encoding_->planner;
  const rfb::EncodeSettings& st = planner.settings();
  return planner.preferred_encoding() == rfb::encoding::kTight &&
         (st.quality_level >= 0 || st.fine_quality >= 0);
}

void ClientSession::wake_at(EventLoop::Clock::time_point when) {
  if (wake_timer_ != 0) {
    if (wake_time_ <= when) return;
    s_.loop.cancel_timer(wake_timer_);
  }
  wake_time_ = when;
  const auto delay = std::max(EventLoop::Clock::duration::zero(), when - EventLoop::Clock::now());
  wake_timer_ = s_.loop.add_timer(std::chrono::ceil<std::chrono::milliseconds>(delay), [this] {
    wake_timer_ = 0;
    if (finished_ || closing_) return;
    try_send_update();
    if (!finished_ && wants_frames()) s_.host.session_wants_frames(*this);
  });
}

void ClientSession::on_update_request(const rfb::Rect& area, bool incremental) {
  if (area.empty()) {
    // Nothing to send in an empty area; a non-incremental request still gets its (empty)
    // answer so a client waiting for it is not left hanging.
    if (!incremental && !refuse_if_not_reading())
      rfb::write_framebuffer_update_header(conn_.output(), 0);
    return;
  }
  // rfbproto.rst "EnableContinuousUpdates": while they are on, incremental requests are ignored.
  if (incremental && cu_enabled_) return;
  requested_.add(area);
  if (!incremental) full_.add(area);
}

void ClientSession::on_key(uint32_t keysym, bool down) {
  if (view_only()) return;
  s_.input.key(keysym, down);
  input_pending_ = true;
}

void ClientSession::on_pointer(int x, int y, uint8_t button_mask) {
  if (view_only()) return;
  s_.input.pointer(x, y, button_mask);
  input_pending_ = true;
}

void ClientSession::on_cut_text(const std::string& latin1) {
  if (view_only()) return;
  last_cut_from_client_ = latin1;
  s_.clipboard.set_text(latin1);
}

void ClientSession::on_cut_text_dropped(uint32_t length) {
  log::warn("client ", peer_, ": clipboard text of ", length, " bytes ignored (limit ",
            s_.config.limits.max_cut_text, ")");
}

bool ClientSession::on_transport_layer(std::unique_ptr<rfb::TransportLayer> layer) {
  if (pending_layer_) return false;  // One layer at a time.
  // Everything queued so far (VeNCrypt's ack) goes out in the clear; flush() adds the layer
  // right after it. The transport's fd stays the same, so the loop's watch stays valid.
  pending_layer_ = std::move(layer);
  layer_clear_bytes_ = conn_.output().size();
  return true;
}

// ---- Updates ------------------------------------------------------------------------------

void ClientSession::on_capture(const rfb::Capture& capture) {
  if (!capture.frame || finished_) return;
  frame_ = capture.frame;
  if (capture.size_changed || frame_->size() != conn_.framebuffer_size()) {
    damage_.add(whole(frame_->size()));
  } else {
    damage_.add(capture.changed);
    if (lossy_client()) quality_.changed(capture.changed, EventLoop::Clock::now());
  }
}

void ClientSession::start_resize() {
  const rfb::Size size = frame_->size();
  if (!encoding_->planner.client_supports(rfb::encoding::kDesktopSize)) {
    // TigerVNC does the same: a client that cannot follow a resize would show garbage.
    close("the desktop was resized to " + std::to_string(size.width) + "x" +
          std::to_string(size.height) + " and the client does not support DesktopSize");
    return;
  }
  log::debug("client ", peer_, ": resize to ", size.width, "x", size.height);
  // From here on the client's requests are read against the new size; the old picture's
  // damage, lossy areas and change rates mean nothing any more.
  conn_.set_framebuffer_size(size);
  quality_.resize(size);
  client_lossy_.clear();
  shown_frame_.reset();
  damage_.clear();
  Job job;
  job.area = rfb::Region(whole(size));
  job.resize = size;
  start_encoding(std::move(job));
}

void ClientSession::try_send_update() {
  if (!normal() || !frame_ || !has_request() || encoding_busy_ || !conn_.output().empty()) return;
  const auto now = EventLoop::Clock::now();
  if (!congestion_.can_send(now)) {
    if (std::optional<EventLoop::Clock::time_point> t = congestion_.wake_time()) wake_at(*t);
    return;  // Otherwise a fence answer or a flush brings us back.
  }
  if (!update_credit(now)) return;
  if (formats_dirty_ || frame_->format() != planner_native_) {
    encoding_->planner.set_formats(frame_->format(), client_format_);
    planner_native_ = frame_->format();
    formats_dirty_ = false;
  }
  if (frame_->size() != conn_.framebuffer_size()) {
    start_resize();
    return;
  }
  // rfbproto.rst "FramebufferUpdateRequest": incremental requests get what changed inside them,
  // non-incremental ones all of their area; "EnableContinuousUpdates": the continuous area is
  // always requested.
  rfb::Region wanted = requested_;
  if (cu_enabled_) wanted.add(cu_area_);
  wanted.add(full_);
  rfb::Region area = damage_.intersected(wanted);
  area.add(full_);
  area.intersect(whole(frame_->size()));
  Job job;
  if (lossy_client()) {
    // Automatic lossless refresh: what went as JPEG and has been still since is sent again
    // without loss, when the client asks for updates there.
    job.refresh = quality_.refresh_due(now, congestion_.bandwidth());
    job.refresh.intersect(wanted);
    job.refresh.subtract(area);
    if (area.empty() && job.refresh.empty()) {
      const auto next = quality_.next_refresh_time();
      if (next != EventLoop::Clock::time_point::max()) wake_at(next);
      return;
    }
    job.plan = quality_.plan(now, congestion_.bandwidth());
  }
  if (area.empty() && job.refresh.empty()) return;
  job.area = std::move(area);
  job.full = full_.intersected(whole(frame_->size()));
  start_encoding(std::move(job));
}

void ClientSession::start_encoding(Job job) {
  Encoding& e = *encoding_;
  e.frame = frame_;
  e.shown = shown_frame_;
  e.stale = stale_;
  e.job = std::move(job);
  e.out.clear();
  e.copies.clear();
  e.begun = false;
  e.done = false;
  e.ms = 0;
  update_bytes_ = 0;
  // The requests are answered by this update. Once it arrives the client shows frame_ except
  // where damage older than frame_ remains unsent; damage from later captures is relative to
  // frame_ and is sent by the next update.
  update_credit_ -= 1;
  requested_.clear();
  full_.clear();
  damage_.subtract(e.job.area);
  shown_frame_ = frame_;
  stale_ = damage_;
  encoding_busy_ = true;
  installment_budget_ = kFirstInstallment;
  encode_installment();
}

void ClientSession::encode_installment() {
  if (!s_.workers) {
    encoding_->run(std::numeric_limits<size_t>::max());
    finish_installment();
    return;
  }
  // The job keeps what it uses alive; it reports back only if the session still exists.
  std::weak_ptr<bool> alive = alive_;
  EventLoop& loop = s_.loop;
  const size_t budget = installment_budget_;
  installment_budget_ = std::min(2 * installment_budget_, kInstallment);
  s_.workers->submit([job = encoding_, alive, &loop, this, budget] {
    job->run(budget);
    loop.post([alive, this] {
      if (alive.lock()) finish_installment();
    });
  });
}

void ClientSession::finish_installment() {
  Encoding& e = *encoding_;
  if (finished_ || closing_) {
    // The rest of the update will never be wanted.
    encoding_busy_ = false;
    e.frame.reset();
    e.shown.reset();
    return;
  }
  update_bytes_ += e.out.size();
  // Usually the queue is empty: the buffers swap, nothing is copied.
  conn_.output().take(e.out);
  if (!e.done) {
    // The next installment is encoded while this one goes out, but no further ahead: a slow
    // client holds at most about two installments here, not a whole update.
    flush();
    if (finished_) return;
    if (conn_.output().size() <= kInstallment)
      encode_installment();
    else
      installment_waits_ = true;  // flush() starts it once the socket has taken enough.
    return;
  }
  encoding_busy_ = false;
  e.frame.reset();
  e.shown.reset();
  const auto now = EventLoop::Clock::now();
  const size_t bytes = update_bytes_;
  ++updates_sent_;
  congestion_.update_sent(bytes, now);
  if (congestion_.fences_supported()) send_fence();
  if (lossy_client()) {
    rfb::Region painted = e.job.area;
    painted.add(e.job.refresh);
    note_lossy(painted, e.copies, e.result.lossy);
  }
  if (log::enabled(log::Level::kDebug)) {
    log::debug("client ", peer_, ": update ", e.job.area.bounds().str(), " (", e.job.area.area(),
               " px", e.job.refresh.empty() ? "" : ", lossless refresh ",
               e.job.refresh.empty() ? "" : std::to_string(e.job.refresh.area()) + " px", "), ",
               e.result.rects, " rects, ", bytes, " bytes, ", e.ms, " ms");
  }
  run_deferred();
  if (finished_ || closing_) return;
  flush();
  if (finished_) return;
  try_send_update();
  if (!finished_ && wants_frames()) s_.host.session_wants_frames(*this);
}

void ClientSession::send_bell() {
  if (!normal() || refuse_if_not_reading()) return;
  rfb::write_bell(conn_.output());
  flush();
}

void ClientSession::send_cut_text(const std::string& latin1) {
  if (!normal()) return;
  bool echo = latin1 == last_cut_from_client_;
  last_cut_from_client_.clear();
  if (echo) return;  // The client's own text coming back from the desktop.
  std::string_view text = latin1;
  if (text.size() > s_.config.limits.max_cut_text)
    text = text.substr(0, s_.config.limits.max_cut_text);
  if (conn_.output().size() + text.size() > s_.config.max_output_queue) {
    log::debug("client ", peer_, ": output queue full, clipboard change not sent");
    return;
  }
  rfb::write_server_cut_text(conn_.output(), text);
  flush();
}

}  // namespace vncd::server
