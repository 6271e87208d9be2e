// ClientSession: one connected client: its transport, its RFB Connection, its UpdatePlanner and
// what it has asked for. Owned by the Server, used on the loop thread only; never destroyed from
// inside its own callbacks (it reports itself finished and the server reaps it later).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "encodings/registry.h"
#include "encodings/update_planner.h"
#include "rfb/connection.h"
#include "rfb/frame.h"
#include "rfb/geometry.h"
#include "rfb/platform.h"
#include "rfb/security.h"
#include "server/config.h"
#include "server/congestion.h"
#include "server/event_loop.h"
#include "server/quality_policy.h"
#include "server/tcp.h"
#include "server/worker_pool.h"

namespace vncd::server {

class ClientSession;

// What a session needs from the server that owns it.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // ClientInit arrived: applies the share policy (it may close this or other sessions) and
  // returns what ServerInit says.
  virtual rfb::ServerInitInfo session_init(ClientSession& session, bool shared) = 0;
  // The session has an update request it cannot serve from the frames it has: the host should
  // capture soon and pass the result to on_capture().
  virtual void session_wants_frames(ClientSession& session) = 0;
  // The session's transport is closed; the host destroys it later, outside its callbacks.
  virtual void session_finished(ClientSession& session) = 0;
  // The client authenticated (success) or failed authentication; once per session at most.
  virtual void session_authenticated(ClientSession& session, bool success) {
    (void)session;
    (void)success;
  }
};

// The borrowed services a session works with; all outlive it.
struct SessionServices {
  EventLoop& loop;
  const ServerConfig& config;
  rfb::SecurityProvider& security;
  const enc::EncoderRegistry& encoders;
  rfb::InputSink& input;
  rfb::Clipboard& clipboard;
  SessionHost& host;
  // Where updates are encoded; null encodes them on the loop thread (tests).
  WorkerPool* workers = nullptr;
};

class ClientSession final : private rfb::ConnectionDelegate {
 public:
  // How long a closing session may take to flush what it still has queued.
  static constexpr std::chrono::milliseconds kCloseFlushTimeout{2000};
  // Bytes read from the transport at once.
  static constexpr size_t kReadChunk = 64 * 1024;

  // `frame` is the server's latest capture (may be null): a first full update is served from it.
  ClientSession(SessionServices services, std::unique_ptr<Transport> transport,
                rfb::FramePtr frame);
  ~ClientSession() override;
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Sends the ProtocolVersion, starts the handshake timer and watches the transport's fd
  // (transports without one are driven by calling on_readable()/on_writable()).
  Status start();

  // Transport readiness.
  void on_readable();
  void on_writable();

  // A new capture: its frame becomes this session's picture and its changed region is added to
  // the damage not yet sent. A frame of another size than the client's is sent as a resize.
  void on_capture(const rfb::Capture& capture);
  // Writes an update if the client has a request outstanding, something in the requested area
  // has changed (or a full refresh was asked for) and its previous update has left the queue.
  void try_send_update();
  // The desktop's clipboard changed: ServerCutText to a client in normal state (bounded, dropped
  // for a client whose queue is full, not echoed to the client that set it).
  void send_cut_text(const std::string& latin1);
  void send_bell();
  // Closes from the server side; `reason` goes to the log. Queued output is still flushed.
  void close(std::string reason);

  const std::string& peer() const { return peer_; }
  rfb::Connection::State state() const { return conn_.state(); }
  bool normal() const { return conn_.state() == rfb::Connection::State::kNormal && !closing_; }
  bool closing() const { return closing_; }
  bool finished() const { return finished_; }
  // Reached the normal state at some point (for --once).
  bool was_normal() const { return was_normal_; }
  // An update request is outstanding and the client can take an update now: new frames would
  // be used.
  bool wants_frames();
  // ServerConfig::max_fps for this client: a token bucket of kUpdateBurst updates refilled at
  // max_fps a second, so a click's update and the application's answer a moment later both go
  // at once, while over any longer time the client gets at most max_fps updates a second.
  static constexpr double kUpdateBurst = 3;
  bool has_request() const {
    return !requested_.empty() || !full_.empty() || (cu_enabled_ && !cu_area_.empty());
  }
  bool congested();
  bool refuse_if_not_reading();
  // Bytes queued for the client and not yet taken by the transport.
  size_t queued_bytes() { return conn_.output().size(); }
  // An update goes out in installments of about kInstallment bytes, each encoded while the
  // previous one is sent, so that neither the session nor the planner ever holds a whole
  // screen's worth of output (a full 1080p Raw or Hextile update is 8 MB).
  static constexpr size_t kInstallment = 1u << 20;
  // The first installment is smaller and each next one twice the last, up to kInstallment: the
  // client starts reading (and decoding) the top of the update while the rest is encoded, which
  // takes most of the encode time out of the latency of a large update.
  static constexpr size_t kFirstInstallment = 64u << 10;
  uint64_t updates_sent() const { return updates_sent_; }
  // Why the session ended (valid once finished()).
  const std::string& finish_reason() const { return finish_reason_; }

 private:
  // ConnectionDelegate.
  rfb::ServerInitInfo on_client_init(bool shared) override;
  void on_set_pixel_format(const rfb::PixelFormat& format) override;
  void on_set_encodings(const std::vector<int32_t>& encodings) override;
  void on_update_request(const rfb::Rect& area, bool incremental) override;
  void on_key(uint32_t keysym, bool down) override;
  void on_pointer(int x, int y, uint8_t button_mask) override;
  void on_cut_text(const std::string& latin1) override;
  void on_cut_text_dropped(uint32_t length) override;
  bool on_transport_layer(std::unique_ptr<rfb::TransportLayer> layer) override;
  void on_enable_continuous_updates(bool enable, const rfb::Rect& area) override;
  void on_fence(uint32_t flags, std::span<const uint8_t> payload) override;

  bool view_only() const;
  // Everything that follows a change of the connection's state (after feed(), a timer, close()).
  void after_connection_activity();
  void flush();
  void update_interest();
  void begin_closing();
  void finish(const std::string& reason);
  // The desktop changed size: the whole new screen goes out as an update that starts with a
  // DesktopSize rectangle, encoded like any other (off the loop thread, in installments).
  void start_resize();
  // Reads again soon when the transport holds input its fd will not announce (TLS records
  // already decrypted).
  void schedule_buffered_read();

  // An update being encoded on a worker: what it needs, and where it writes. The session and the
  // job share it; the job alone touches it until it reports back on the loop thread.
  struct Encoding;
  // What one update sends.
  struct Job {
    rfb::Region area;     // Changed (or asked for in full).
    rfb::Region full;     // The part asked for non-incrementally.
    rfb::Region refresh;  // Unchanged but shown with loss: sent again losslessly.
    QualityPolicy::Plan plan;
    std::optional<rfb::Size> resize;  // The update tells the client the framebuffer's new size.
  };
  // Starts encoding `job` from frame_ (on a worker when there is a pool).
  void start_encoding(Job job);
  void encode_installment();
  // Loop thread: an installment is ready to be queued (the last one completes the update).
  void finish_installment();
  // Messages whose effect must follow the update being encoded (SetPixelFormat, SetEncodings:
  // the planner is the job's until then and the update is in the old format; fence answers and
  // EndOfContinuousUpdates: they promise that what came before has taken effect) wait here, in
  // the order they came, while encoding_busy_.
  static constexpr size_t kMaxDeferred = 64;
  void defer(std::function<void()> action);
  void run_deferred();
  // The client allows lossy (JPEG) rectangles: the quality policy applies.
  bool lossy_client() const;
  // Refills the update bucket to `now`; true when an update may start. When it may not, a wake-up
  // is set for when it may, so a change that waits for the credit is not forgotten.
  bool update_credit(EventLoop::Clock::time_point now);
  // After an update that painted `painted` (copies first, then `lossy`, the part of the encoded
  // rectangles sent as JPEG): updates client_lossy_ and tells the quality policy what is lossy.
  void note_lossy(const rfb::Region& painted, const std::vector<enc::CopyOp>& copies,
                  const rfb::Region& lossy);
  // Wakes try_send_update() at `when` (congestion control or a lossless refresh waiting).
  void wake_at(EventLoop::Clock::time_point when);
  // A ServerFence request whose answer measures the round trip (and acknowledges bytes).
  void send_fence();

  SessionServices s_;
  std::unique_ptr<Transport> transport_;
  std::string peer_;
  rfb::Connection conn_;
  std::shared_ptr<Encoding> encoding_;  // Holds the planner.
  bool encoding_busy_ = false;          // A job owns encoding_, or an update is half sent.
  bool installment_waits_ = false;      // Until the socket takes the queued installment.
  size_t installment_budget_ = kFirstInstallment;  // The next installment's size.
  size_t update_bytes_ = 0;                        // Of the update being sent, so far.
  std::vector<std::function<void()>> deferred_;
  CongestionControl congestion_;
  QualityPolicy quality_;
  // Extensions (rfbproto.rst "ContinuousUpdates Pseudo-encoding", "Fence Pseudo-encoding").
  bool cu_announced_ = false;
  bool cu_enabled_ = false;
  rfb::Rect cu_area_;
  bool fence_announced_ = false;
  uint32_t next_fence_id_ = 1;
  double update_credit_ = kUpdateBurst;
  EventLoop::Clock::time_point credit_time_{};
  EventLoop::TimerId wake_timer_ = 0;
  EventLoop::Clock::time_point wake_time_{};
  // Posted completions check it: the session may be gone when a job reports back.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<uint8_t> read_buf_;
  // A layer (VeNCrypt's TLS) waiting for the first layer_clear_bytes_ of the output to be sent
  // as they are; then it wraps transport_.
  std::unique_ptr<rfb::TransportLayer> pending_layer_;
  size_t layer_clear_bytes_ = 0;

  // Update state.
  rfb::FramePtr frame_;
  rfb::Region damage_;         // Changed since the last update sent to this client.
  rfb::Region requested_;      // Union of the areas of outstanding requests.
  rfb::Region full_;           // Parts of requested_ asked for non-incrementally.
  rfb::FramePtr shown_frame_;  // The frame of the last update sent: the client's picture...
  rfb::Region stale_;          // ...except here (damage it has not been sent).
  // Where the client's picture holds JPEG approximations (lossy clients only). Unlike
  // QualityPolicy's lossy area it is not forgotten when the desktop changes there: CopyRect
  // reads the client's picture, so lossy pixels a copy moves stay lossy where they land.
  rfb::Region client_lossy_;
  rfb::PixelFormat client_format_;
  rfb::PixelFormat planner_native_;  // The native format last given to the planner.
  bool formats_dirty_ = true;
  uint64_t updates_sent_ = 0;

  std::string last_cut_from_client_;  // Not echoed back when the desktop reports it.
  bool input_pending_ = false;        // Input events not yet flushed to the InputSink.

  // Lifecycle.
  bool in_feed_ = false;
  bool started_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool was_normal_ = false;
  bool auth_logged_ = false;
  uint32_t interest_ = 0;
  std::string finish_reason_;
  EventLoop::TimerId handshake_timer_ = 0;
  EventLoop::TimerId failure_timer_ = 0;
  EventLoop::TimerId close_timer_ = 0;
  EventLoop::TimerId read_again_timer_ = 0;
  // --idle-timeout: armed in the normal state; re-armed for what is left when input came since.
  EventLoop::TimerId idle_timer_ = 0;
  EventLoop::Clock::time_point last_input_{};
  void arm_idle_timer(std::chrono::milliseconds delay);
};

}  // namespace vncd::server
