// PoolRunner: a small fork-join rfb::TaskRunner over std::threads for the encodings tests
// (the server has its own worker pool). Owns its threads; run() from one thread at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "rfb/task_runner.h"

namespace vncd::test {

// threads - 1 workers plus the caller. Nested run() calls run inline.
class PoolRunner final : public rfb::TaskRunner {
 public:
  explicit PoolRunner(size_t threads) : threads_(std::max<size_t>(threads, 1)) {
    for (size_t i = 1; i < threads_; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~PoolRunner() override {
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  size_t concurrency() const override { return threads_; }
  void run(size_t count, const std::function<void(size_t)>& fn) override {
    std::unique_lock lk(m_);
    if (busy_ || threads_ == 1 || count <= 1) {
      lk.unlock();
      for (size_t i = 0; i < count; ++i) fn(i);
      return;
    }
    busy_ = true;
    fn_ = &fn;
    count_ = count;
    next_ = 0;
    ++generation_;
    lk.unlock();
    wake_.notify_all();
    work();
    lk.lock();
    idle_.wait(lk, [&] { return active_ == 0 && next_ >= count_; });
    fn_ = nullptr;
    busy_ = false;
  }

 private:
  void work() {
    for (size_t i; (i = next_.fetch_add(1)) < count_;) (*fn_)(i);
  }
  void loop() {
    uint64_t seen = 0;
    std::unique_lock lk(m_);
    for (;;) {
      wake_.wait(lk, [&] { return stop_ || (generation_ != seen && fn_ != nullptr); });
      if (stop_) return;
      seen = generation_;
      ++active_;
      lk.unlock();
      work();
      lk.lock();
      --active_;
      idle_.notify_all();
    }
  }

  const size_t threads_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable wake_, idle_;
  bool stop_ = false, busy_ = false;
  uint64_t generation_ = 0;
  int active_ = 0;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t count_ = 0;
  std::atomic<size_t> next_{0};
};

}  // namespace vncd::test
