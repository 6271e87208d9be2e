// Server: listens, accepts clients, applies the share policy and schedules captures and updates;
// the one place that wires connections, encoders, security and the platform together. Owns its
// sessions; borrows everything else. Loop thread only (post() to it from other threads).
#pragma once

#include <chrono>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "encodings/registry.h"
#include "rfb/connection.h"
#include "rfb/frame.h"
#include "rfb/platform.h"
#include "rfb/result.h"
#include "rfb/security.h"
#include "server/access_control.h"
#include "server/config.h"
#include "server/event_loop.h"
#include "server/session.h"
#include "server/tcp.h"
#include "server/worker_pool.h"

namespace vncd::server {

class Server final : private SessionHost {
 public:
  // Everything passed in must outlive the server. `bell` is optional (no bell forwarding).
  Server(const ServerConfig& config, EventLoop& loop, rfb::FrameSource& source,
         rfb::InputSink& input, rfb::Clipboard& clipboard, rfb::SecurityProvider& security,
         const enc::EncoderRegistry& encoders, rfb::BellSource* bell = nullptr);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on config.listen_address:config.port and watches the platform's event fds.
  // Returns the port actually bound (config.port, or the one picked for port 0).
  Result<int> start();
  // Runs the loop until stop(), SIGINT/SIGTERM (when handle_signals), --once or a fatal error
  // (the desktop went away), which is returned.
  Status run(bool handle_signals = true);
  // Closes every client and makes run() return.
  void stop();

  // Adopts an already connected client (tests with MemoryTransport; reverse connections).
  void add_client(std::unique_ptr<Transport> transport);

  // For tests and the log.
  struct ClientInfo {
    std::string peer;
    rfb::Connection::State state;
    size_t queued_bytes = 0;
    uint64_t updates_sent = 0;
  };
  std::vector<ClientInfo> clients();
  // Whether the capture timer runs (it runs only while some client waits for an update).
  bool capturing() const;
  uint64_t captures() const { return captures_; }

 private:
  // SessionHost.
  rfb::ServerInitInfo session_init(ClientSession& session, bool shared) override;
  void session_wants_frames(ClientSession& session) override;
  void session_finished(ClientSession& session) override;
  void session_authenticated(ClientSession& session, bool success) override;
  // Sessions from `address` still in their handshake (for the per-address limit).
  size_t unauthenticated_from(const std::string& address) const;

  void on_listener_readable();
  void capture_tick();
  void schedule_capture();
  void refill_capture_credit();
  void on_source_events();
  // Remembers when the first change since the last capture was reported (capture_settle_ms).
  void note_damage();
  bool frames_wanted() const;
  void reap();
  void fail(const std::string& why);

  const ServerConfig& config_;
  EventLoop& loop_;
  rfb::FrameSource& source_;
  rfb::InputSink& input_;
  rfb::Clipboard& clipboard_;
  rfb::BellSource* bell_;
  bool watching_bell_ = false;
  rfb::SecurityProvider& security_;
  const enc::EncoderRegistry& encoders_;

  std::optional<TcpListener> listener_;
  // Made by start() from the config; clients added before start() are not screened.
  std::unique_ptr<AccessControl> access_;
  // Declared before the sessions: their jobs may still run while they are destroyed.
  std::unique_ptr<WorkerPool> workers_;
  std::vector<std::unique_ptr<ClientSession>> sessions_;
  rfb::FramePtr frame_;  // The latest capture.
  EventLoop::TimerId capture_timer_ = 0;
  // Captures that may go at once (--max-fps token bucket; see schedule_capture()).
  static constexpr double kCaptureBurst = 3;
  // See capture_rate().
  static constexpr double kEventCaptureFactor = 2;
  double capture_rate() const;
  double capture_credit_ = kCaptureBurst;
  std::chrono::steady_clock::time_point credit_time_{};
  uint64_t captures_ = 0;
  // See ServerConfig::capture_settle_ms.
  bool large_changes_ = false;
  std::optional<std::chrono::steady_clock::time_point> first_damage_;
  std::chrono::steady_clock::time_point last_damage_{};  // The latest report since first_damage_.
  static constexpr int kMaxSettleFactor = 4;
  // When a capture of large changes may go (see server.cpp); nullopt: at once.
  std::optional<std::chrono::steady_clock::time_point> settle_time() const;
  bool reap_posted_ = false;
  bool once_done_ = false;
  bool watching_source_ = false;
  bool watching_clipboard_ = false;
  std::optional<Error> fatal_;
  // Posted tasks check this so one that runs after the server is gone does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vncd::server
