#include "server/server.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <thread>
#include <utility>

#include "rfb/log.h"

namespace vncd::server {

Server::Server(const ServerConfig& config, EventLoop& loop, rfb::FrameSource& source,
               rfb::InputSink& input, rfb::Clipboard& clipboard, rfb::SecurityProvider& security,
               const enc::EncoderRegistry& encoders, rfb::BellSource* bell)
    : config_(config),
      loop_(loop),
      source_(source),
      input_(input),
      clipboard_(clipboard),
      bell_(bell),
      security_(security),
      encoders_(encoders),
      workers_(std::make_unique<WorkerPool>(
          config.threads > 0 ? static_cast<size_t>(config.threads)
                             : std::max<size_t>(1, std::thread::hardware_concurrency()))) {}

Server::~Server() {
  *alive_ = false;
  loop_.cancel_timer(capture_timer_);
  if (listener_) loop_.unwatch(listener_->fd());
  if (watching_source_) loop_.unwatch(source_.event_fd());
  if (watching_clipboard_) loop_.unwatch(clipboard_.event_fd());
  clipboard_.on_change(nullptr);
  if (bell_) {
    if (watching_bell_) loop_.unwatch(bell_->event_fd());
    bell_->on_bell(nullptr);
  }
  sessions_.clear();
}

Result<int> Server::start() {
  Result<std::unique_ptr<AccessControl>> access = AccessControl::create(config_, loop_);
  if (!access) return access.error();
  access_ = std::move(*access);
  Result<TcpListener> l = TcpListener::listen(config_.listen_address, config_.port);
  if (!l) return l.error();
  listener_.emplace(std::move(*l));
  if (Status st = loop_.watch(listener_->fd(), EventLoop::kReadable,
                              [this](uint32_t) { on_listener_readable(); });
      !st)
    return st.error();

  if (int fd = source_.event_fd(); fd >= 0) {
    if (Status st = loop_.watch(fd, EventLoop::kReadable, [this](uint32_t) { on_source_events(); });
        !st)
      return st.error();
    watching_source_ = true;
  }
  if (int fd = clipboard_.event_fd(); fd >= 0) {
    if (Status st = loop_.watch(fd, EventLoop::kReadable,
                                [this](uint32_t) { clipboard_.process_events(); });
        !st)
      return st.error();
    watching_clipboard_ = true;
  }
  clipboard_.on_change([this](const std::string& text) {
    for (auto& s : sessions_) s->send_cut_text(text);
  });
  if (bell_) {
    if (int fd = bell_->event_fd(); fd >= 0) {
      if (Status st =
              loop_.watch(fd, EventLoop::kReadable, [this](uint32_t) { bell_->process_events(); });
          !st)
        return st.error();
      watching_bell_ = true;
    }
    // rfbproto.rst "Bell": rung on every client that has finished its handshake.
    bell_->on_bell([this] {
      for (auto& s : sessions_) s->send_bell();
    });
  }
  log::info("listening on ", listener_->address());
  return listener_->port();
}

Status Server::run(bool handle_signals) {
  if (handle_signals) {
    Status st = loop_.handle_signals({SIGINT, SIGTERM}, [this](int sig) {
      log::info("caught ", sig == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down");
      stop();
    });
    if (!st) return st;
  }
  loop_.run();
  if (fatal_) return *fatal_;
  return {};
}

void Server::stop() {
  for (auto& s : sessions_) s->close("server is shutting down");
  loop_.cancel_timer(capture_timer_);
  capture_timer_ = 0;
  loop_.stop();
}

void Server::fail(const std::string& why) {
  log::error(why);
  if (!fatal_) fatal_ = Error(why);
  stop();
}

void Server::on_listener_readable() {
  // Bounded per wake-up so a connection flood cannot starve the clients already connected.
  for (int i = 0; i < 16; ++i) {
    Result<std::unique_ptr<Transport>> t = listener_->accept();
    if (!t) {
      // Typically EMFILE: keep serving; the pending connection is retried on the next wake-up.
      log::warn(t.error().message());
      return;
    }
    if (!*t) return;
    add_client(std::move(*t));
  }
}

void Server::add_client(std::unique_ptr<Transport> transport) {
  if (access_) {
    const size_t pending = unauthenticated_from(peer_address(transport->peer()));
    transport = access_->screen(std::move(transport), pending);
    if (!transport) return;
  }
  size_t active = static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                                    [](const auto& s) { return !s->finished(); }));
  if (config_.max_clients > 0 && active >= static_cast<size_t>(config_.max_clients)) {
    log::warn("client ", transport->peer(), " refused: ", config_.max_clients,
              " clients already connected");
    transport->close();
    return;
  }
  log::info("client ", transport->peer(), " connected");
  SessionServices services{loop_,  config_,    security_, encoders_,
                           input_, clipboard_, *this,     workers_.get()};
  sessions_.push_back(std::make_unique<ClientSession>(services, std::move(transport), frame_));
  ClientSession& s = *sessions_.back();
  if (Status st = s.start(); !st) {
    log::warn("client ", s.peer(), ": ", st.error().message());
    s.close(st.error().message());
  }
}

rfb::ServerInitInfo Server::session_init(ClientSession& session, bool shared) {
  if (config_.share_policy == SharePolicy::kAlwaysShared) shared = true;
  if (config_.share_policy == SharePolicy::kNeverShared) shared = false;
  if (!shared) {
    std::vector<ClientSession*> others;
    for (auto& s : sessions_)
      if (s.get() != &session && s->normal()) others.push_back(s.get());
    if (!others.empty()) {
      // TigerVNC's semantics: a non-shared client disconnects the others, unless the server is
      // told never to do that, in which case the newcomer is the one refused.
      if (config_.dont_disconnect || config_.share_policy == SharePolicy::kNeverShared) {
        session.close("the server is already in use by another client");
      } else {
        for (ClientSession* o : others) o->close("another client connected exclusively");
      }
    }
  }
  rfb::ServerInitInfo info;
  info.size = frame_ ? frame_->size() : source_.size();
  info.format = frame_ ? frame_->format() : source_.format();
  info.name = config_.desktop_name.empty() ? "vncd" : config_.desktop_name;
  return info;
}

void Server::session_wants_frames(ClientSession&) {
  schedule_capture();
}

// Captures are one-shot timers, re-armed only while there is reason to: a client waiting and
// (for event-driven sources) a change reported. So a static desktop costs no periodic work, and
// a change is captured as soon as its event arrives. The rate is held by a token bucket: a short
// burst goes at once (a click moves the cursor and, a moment later, the application draws; a
// strict one-per-slot limit would hold the second for a whole frame time).
// max_fps caps each client's updates (the sessions enforce it). A polled source is captured at
// that rate; an event-driven one may be captured up to twice as often, since one frame's drawing
// often reports damage twice (a window moves, then the application paints in it): capturing
// both as they come costs little and keeps the second from waiting a whole frame time for credit
// while the client is idle. The bucket is then only a guard against damage storms.
double Server::capture_rate() const {
  const double fps = std::clamp(config_.max_fps, 1, 1000);
  return source_.event_fd() >= 0 ? kEventCaptureFactor * fps : fps;
}

void Server::refill_capture_credit() {
  const auto now = std::chrono::steady_clock::now();
  const double fps = capture_rate();
  capture_credit_ =
      std::min(kCaptureBurst,
               capture_credit_ + std::chrono::duration<double>(now - credit_time_).count() * fps);
  credit_time_ = now;
}

void Server::schedule_capture() {
  if (capture_timer_ != 0 || loop_.stopped()) return;
  refill_capture_credit();
  const double fps = capture_rate();
  auto delay = capture_credit_ >= 1
                   ? std::chrono::milliseconds(0)
                   : std::chrono::ceil<std::chrono::milliseconds>(
                         std::chrono::duration<double>((1 - capture_credit_) / fps));
  if (const auto settled = settle_time()) {
    const auto now = std::chrono::steady_clock::now();
    if (*settled > now)
      delay = std::max(delay, std::chrono::ceil<std::chrono::milliseconds>(*settled - now));
  }
  capture_timer_ = loop_.add_timer(delay, [this] {
    capture_timer_ = 0;
    capture_tick();
  });
}

// While changes are large, the capture waits until the desktop has reported no new damage for
// capture_settle_ms (the application has finished drawing the frame: a big image arrives as
// several requests, then the rest of the frame), but never more than kMaxSettleFactor times that
// after the first report, so continuous drawing is still captured at a steady pace.
std::optional<std::chrono::steady_clock::time_point> Server::settle_time() const {
  if (!large_changes_ || !first_damage_) return std::nullopt;
  // Drawing usually proceeds from the top down: once the changes reach across the whole screen
  // the frame is complete, and the source could not say otherwise anyway (see
  // FrameSource::changes_cover_screen).
  if (source_.changes_cover_screen()) return std::nullopt;
  const auto settle = std::chrono::milliseconds(config_.capture_settle_ms);
  return std::min(last_damage_ + settle, *first_damage_ + kMaxSettleFactor * settle);
}

bool Server::frames_wanted() const {
  return std::any_of(sessions_.begin(), sessions_.end(),
                     [](const auto& s) { return s->wants_frames(); });
}

void Server::on_source_events() {
  source_.process_events();
  note_damage();
  // Each readiness of the source's fd is a new report (the X11 source asks for one whenever the
  // damaged area grows).
  if (first_damage_) last_damage_ = std::chrono::steady_clock::now();
  if (capture_timer_ != 0 && source_.changes_cover_screen()) {
    // The timer may be waiting for the drawing to settle, which is over now.
    loop_.cancel_timer(capture_timer_);
    capture_timer_ = 0;
  }
  if (source_.changes_pending() && frames_wanted()) schedule_capture();
}

void Server::note_damage() {
  // Only event-driven sources say when a change happened; polled ones are never held back.
  if (source_.event_fd() >= 0 && source_.changes_pending() && !first_damage_) {
    first_damage_ = std::chrono::steady_clock::now();
    last_damage_ = *first_damage_;
  }
}

void Server::capture_tick() {
  // Nobody waits for an update: no capture work at all until someone asks again.
  if (!frames_wanted()) return;
  // Damage reported since the timer was set may push the settle further out.
  if (const auto settled = settle_time(); settled && *settled > std::chrono::steady_clock::now()) {
    schedule_capture();
    return;
  }
  refill_capture_credit();
  capture_credit_ = std::max(0.0, capture_credit_ - 1);
  Result<rfb::Capture> c = source_.capture();
  ++captures_;
  if (!c) {
    fail("capture failed: " + c.error().message());
    return;
  }
  frame_ = c->frame;
  const int64_t screen = static_cast<int64_t>(c->frame->size().width) * c->frame->size().height;
  // A capture that found nothing says nothing about the size of changes.
  if (!c->changed.empty()) large_changes_ = c->changed.area() * 4 >= screen;
  first_damage_.reset();
  for (auto& s : sessions_) s->on_capture(*c);
  for (auto& s : sessions_) s->try_send_update();
  // Events read into the display library's queue during the capture never wake the fd watch.
  source_.process_events();
  note_damage();
  if (source_.changes_pending() && frames_wanted()) schedule_capture();
}

void Server::session_finished(ClientSession& session) {
  if (config_.once && session.was_normal() && !once_done_) {
    once_done_ = true;
    log::info("first client has gone (--once), exiting");
    stop();
  }
  if (reap_posted_) return;
  reap_posted_ = true;
  std::weak_ptr<bool> alive = alive_;
  loop_.post([this, alive] {
    if (auto a = alive.lock(); a && *a) reap();
  });
}

void Server::session_authenticated(ClientSession& session, bool success) {
  if (!access_) return;
  const std::string address = peer_address(session.peer());
  if (success)
    access_->authentication_succeeded(address);
  else
    access_->authentication_failed(address);
}

size_t Server::unauthenticated_from(const std::string& address) const {
  using State = rfb::Connection::State;
  return static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(), [&](const auto& s) {
    const State st = s->state();
    return !s->closing() && st != State::kClientInit && st != State::kNormal &&
           st != State::kClosed && peer_address(s->peer()) == address;
  }));
}

void Server::reap() {
  reap_posted_ = false;
  std::erase_if(sessions_, [](const auto& s) { return s->finished(); });
}

std::vector<Server::ClientInfo> Server::clients() {
  std::vector<ClientInfo> out;
  for (auto& s : sessions_) {
    if (s->finished()) continue;
    out.push_back(ClientInfo{s->peer(), s->state(), s->queued_bytes(), s->updates_sent()});
  }
  return out;
}

bool Server::capturing() const {
  return capture_timer_ != 0;
}

}  // namespace vncd::server
