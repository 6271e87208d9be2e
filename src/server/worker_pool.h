// WorkerPool: the server's encoding threads. Runs submitted jobs (one client's update each) and the
// fork-join pieces of one update (rfb::TaskRunner) on a fixed set of threads; any thread may use
// it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "rfb/task_runner.h"

namespace vncd::server {

class WorkerPool final : public rfb::TaskRunner {
 public:
  using Job = std::function<void()>;

  // Starts `threads` (>= 1) worker threads.
  explicit WorkerPool(size_t threads);
  // Waits for running jobs and drops queued ones (their owners are going away too).
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `job` on a worker soon. Jobs must not throw; they report back by posting to the loop.
  void submit(Job job);

  size_t threads() const { return threads_.size(); }

  // rfb::TaskRunner. Pieces of a run() go ahead of queued jobs: the update they belong to is
  // already being encoded and holds its client back until it is done.
  size_t concurrency() const override { return threads_.size(); }
  void run(size_t count, const std::function<void(size_t)>& fn) override;

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vncd::server
