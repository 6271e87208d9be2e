#include "server/event_loop.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "rfb/log.h"

namespace vncd::server {

namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

uint32_t to_epoll(uint32_t interest) {
  uint32_t e = 0;
  if (interest & EventLoop::kReadable) e |= EPOLLIN | EPOLLRDHUP;
  if (interest & EventLoop::kWritable) e |= EPOLLOUT;
  return e;
}

uint32_t from_epoll(uint32_t events) {
  uint32_t r = 0;
  if (events & EPOLLIN) r |= EventLoop::kReadable;
  if (events & EPOLLOUT) r |= EventLoop::kWritable;
  if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) r |= EventLoop::kHangup;
  return r;
}

// Epoll data tags for the loop's own fds; watch ids start above them.
constexpr uint64_t kWakeTag = 0;
constexpr uint64_t kSignalTag = UINT64_MAX;

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  // A peer closing its socket must not kill the process; every send also passes MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return Error(errno_text("epoll_create1"));
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) return Error(errno_text("eventfd"));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0)
    return Error(errno_text("epoll_ctl"));
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(ep), std::move(wake)));
}

EventLoop::EventLoop(UniqueFd epoll, UniqueFd wake)
    : epoll_(std::move(epoll)), wake_(std::move(wake)) {}

EventLoop::~EventLoop() {
  if (signals_blocked_) {
    signal_fd_.reset();
    // Signals that arrived after the last dispatch stay pending and are delivered as usual
    // once unblocked, which is what a process that is still shutting down wants.
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
}

Status EventLoop::watch(int fd, uint32_t interest, FdCallback callback) {
  assert_loop_thread();
  if (fds_.count(fd) != 0) return Error("fd " + std::to_string(fd) + " is already watched");
  auto w = std::make_shared<Watch>(Watch{fd, next_watch_id_++, std::move(callback)});
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = w->id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return Error(errno_text("epoll_ctl"));
  fds_[fd] = w;
  watch_ids_[w->id] = w;
  return {};
}

Status EventLoop::modify(int fd, uint32_t interest) {
  assert_loop_thread();
  auto it = fds_.find(fd);
  if (it == fds_.end()) return Error("fd " + std::to_string(fd) + " is not watched");
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = it->second->id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return Error(errno_text("epoll_ctl"));
  return {};
}

void EventLoop::unwatch(int fd) {
  assert_loop_thread();
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  watch_ids_.erase(it->second->id);
  fds_.erase(it);
}

EventLoop::TimerId EventLoop::add_timer(std::chrono::milliseconds delay, Task task,
                                        std::chrono::milliseconds period) {
  assert_loop_thread();
  TimerId id = next_timer_id_++;
  auto deadline = Clock::now() + delay;
  timers_[id] = Timer{deadline, period, std::make_shared<Task>(std::move(task))};
  deadlines_.emplace(deadline, id);
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  assert_loop_thread();
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  deadlines_.erase({it->second.deadline, id});
  timers_.erase(it);
}

void EventLoop::post(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    posted_.push_back(std::move(task));
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void EventLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

bool EventLoop::stopped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stop_;
}

Status EventLoop::handle_signals(std::vector<int> signals, std::function<void(int)> handler) {
  if (signal_fd_) return Error("signals are already handled");
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, &old_mask_); rc != 0)
    return Error(std::string("pthread_sigmask: ") + std::strerror(rc));
  signals_blocked_ = true;
  UniqueFd sfd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sfd) return Error(errno_text("signalfd"));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kSignalTag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, sfd.get(), &ev) != 0)
    return Error(errno_text("epoll_ctl"));
  signal_fd_ = std::move(sfd);
  signal_handler_ = std::move(handler);
  return {};
}

void EventLoop::on_signal_fd() {
  signalfd_siginfo info{};
  while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (signal_handler_) signal_handler_(static_cast<int>(info.ssi_signo));
  }
}

int EventLoop::next_timeout_ms(std::chrono::milliseconds cap) const {
  auto timeout = cap;
  if (!deadlines_.empty()) {
    auto until = deadlines_.begin()->first - Clock::now();
    // Round up: waking a little early would spin until the deadline.
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(until);
    if (ms < timeout) timeout = ms;
  }
  if (timeout.count() < 0) return 0;
  return static_cast<int>(timeout.count());
}

void EventLoop::dispatch_timers() {
  auto now = Clock::now();
  // Only timers due now; a repeating timer re-armed below is not run twice in one pass.
  std::vector<TimerId> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // Cancelled by an earlier timer in this pass.
    std::shared_ptr<Task> task = it->second.task;
    deadlines_.erase({it->second.deadline, id});
    if (it->second.period.count() > 0) {
      // Re-arm from the old deadline so the rate holds, but never schedule into the past.
      auto next = it->second.deadline + it->second.period;
      if (next < now) next = now + it->second.period;
      it->second.deadline = next;
      deadlines_.emplace(next, id);
    } else {
      timers_.erase(it);
    }
    (*task)();
  }
}

void EventLoop::dispatch_posted() {
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

bool EventLoop::run_once(std::chrono::milliseconds timeout) {
  if (stopped()) return false;
  loop_thread_ = std::this_thread::get_id();
  std::array<epoll_event, 64> events{};
  int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                       next_timeout_ms(timeout));
  if (n < 0 && errno != EINTR) {
    log::error("epoll_wait: ", std::strerror(errno));
    stop();
    return false;
  }
  for (int i = 0; i < n; ++i) {
    uint64_t tag = events[static_cast<size_t>(i)].data.u64;
    if (tag == kWakeTag) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
      continue;
    }
    if (tag == kSignalTag) {
      on_signal_fd();
      continue;
    }
    auto it = watch_ids_.find(tag);
    if (it == watch_ids_.end()) continue;   // Removed by an earlier callback in this batch.
    std::shared_ptr<Watch> w = it->second;  // Keeps the callback alive if it unwatches itself.
    w->callback(from_epoll(events[static_cast<size_t>(i)].events));
  }
  dispatch_timers();
  // Posted tasks run even without a wake-up event: callbacks above may have posted some.
  dispatch_posted();
  return !stopped();
}

void EventLoop::run() {
  while (run_once(std::chrono::milliseconds(60'000))) {
  }
  loop_thread_ = std::thread::id();
}

}  // namespace vncd::server
