// TaskRunner: how code outside the server (the encoders' update planner) spreads independent
// pieces of one job over the server's worker threads without knowing about threads itself.
#pragma once

#include <cstddef>
#include <functional>

namespace vncd::rfb {

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;

  // How many calls of run()'s function may execute at the same time (1 = no parallelism). The
  // caller splits its work into about this many pieces.
  virtual size_t concurrency() const = 0;

  // Calls fn(0) .. fn(count - 1), possibly at the same time on several threads, and returns when
  // all have returned. The calling thread takes part, so run() completes even when every worker
  // is busy, and it may be called from a worker thread. fn must not throw; calls for different
  // indexes must not touch the same mutable state.
  virtual void run(size_t count, const std::function<void(size_t)>& fn) = 0;
};

// Runs everything on the calling thread, in order (tests, benchmarks, --threads 1).
class InlineTaskRunner final : public TaskRunner {
 public:
  size_t concurrency() const override { return 1; }
  void run(size_t count, const std::function<void(size_t)>& fn) override {
    for (size_t i = 0; i < count; ++i) fn(i);
  }
};

}  // namespace vncd::rfb
