// EventLoop: the server's one loop thread on epoll: fd watches, timers, tasks posted from other
// threads and SIGINT/SIGTERM through signalfd. Everything but post() and stop() is loop-thread
// only.
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rfb/result.h"

namespace vncd::server {

// Sole owner of a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = std::function<void()>;
  using TimerId = uint64_t;

  // Interest and readiness bits for fd watches.
  static constexpr uint32_t kReadable = 1u << 0;
  static constexpr uint32_t kWritable = 1u << 1;
  static constexpr uint32_t kHangup = 1u << 2;  // Readiness only: error or hang-up on the fd.
  using FdCallback = std::function<void(uint32_t ready)>;

  // Creates the epoll instance and the wake-up eventfd; ignores SIGPIPE for the process (sends
  // also use MSG_NOSIGNAL, this covers everything else).
  static Result<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` (not owned) for `interest`; the callback gets the ready bits (kHangup included
  // whenever the kernel reports it). Level-triggered. A callback may add, modify or remove any
  // watch, its own included: a removed watch gets no further calls, even within one wait.
  Status watch(int fd, uint32_t interest, FdCallback callback);
  Status modify(int fd, uint32_t interest);
  void unwatch(int fd);
  bool watching(int fd) const { return fds_.count(fd) != 0; }

  // Runs `task` once after `delay`, then every `period` if period > 0. Returns an id for
  // cancel_timer(); ids are never reused. A timer task may cancel itself or others.
  TimerId add_timer(std::chrono::milliseconds delay, Task task,
                    std::chrono::milliseconds period = std::chrono::milliseconds(0));
  void cancel_timer(TimerId id);
  bool timer_active(TimerId id) const { return timers_.count(id) != 0; }

  // Any thread: runs `task` on the loop thread soon, after the current callback returns.
  void post(Task task);

  // Blocks `signals` for the calling thread (call before starting other threads, which inherit
  // the mask) and reports them through a signalfd: `handler` runs on the loop thread. The
  // previous mask is restored when the loop is destroyed.
  Status handle_signals(std::vector<int> signals, std::function<void(int signal)> handler);

  // Runs until stop(). Returns at once if stop() was called before.
  void run();
  // Waits at most `timeout` for events and dispatches them once; for tests and for callers that
  // drive the loop step by step. Returns false after stop().
  bool run_once(std::chrono::milliseconds timeout);
  // Any thread: makes run() return after the current dispatch.
  void stop();
  bool stopped() const;

  // Debug builds assert that loop-thread-only calls come from the thread running the loop (any
  // thread may set things up before run() and tear down after it returns).
  void assert_loop_thread() const {
    assert(loop_thread_.load() == std::thread::id() ||
           loop_thread_.load() == std::this_thread::get_id());
  }

 private:
  EventLoop(UniqueFd epoll, UniqueFd wake);

  struct Watch {
    int fd;
    uint64_t id;  // Stored in epoll_event.data, so an event for a removed watch is recognised.
    FdCallback callback;
  };
  struct Timer {
    Clock::time_point deadline;
    std::chrono::milliseconds period;
    std::shared_ptr<Task> task;
  };

  void dispatch_timers();
  void dispatch_posted();
  void on_signal_fd();
  int next_timeout_ms(std::chrono::milliseconds cap) const;

  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: post() and stop() from other threads.
  UniqueFd signal_fd_;
  bool signals_blocked_ = false;
  sigset_t old_mask_{};
  std::function<void(int)> signal_handler_;

  uint64_t next_watch_id_ = 1;
  std::unordered_map<int, std::shared_ptr<Watch>> fds_;
  std::unordered_map<uint64_t, std::shared_ptr<Watch>> watch_ids_;

  TimerId next_timer_id_ = 1;
  std::unordered_map<TimerId, Timer> timers_;
  std::set<std::pair<Clock::time_point, TimerId>> deadlines_;

  mutable std::mutex mutex_;  // Guards posted_ and stop_ (the only state other threads touch).
  std::vector<Task> posted_;
  bool stop_ = false;
  std::atomic<std::thread::id> loop_thread_{};
};

}  // namespace vncd::server
