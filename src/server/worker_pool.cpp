#include "server/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

namespace vncd::server {

WorkerPool::WorkerPool(size_t threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void WorkerPool::work() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

namespace {

// One run(): indexes are claimed one at a time by whichever thread is free, so a slow piece
// does not hold back the others, and the caller finishes the batch alone if no worker comes.
struct Batch {
  explicit Batch(size_t n, const std::function<void(size_t)>& f) : count(n), fn(&f) {}
  const size_t count;
  const std::function<void(size_t)>* fn;  // Valid while done < count: run() waits for that.
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::condition_variable finished;
  size_t done = 0;  // Guarded by mutex.

  // Runs pieces until none is left to claim.
  void help() {
    while (true) {
      const size_t i = next.fetch_add(1);
      if (i >= count) return;
      (*fn)(i);
      std::lock_guard<std::mutex> lock(mutex);
      if (++done == count) finished.notify_all();
    }
  }
};

}  // namespace

void WorkerPool::run(size_t count, const std::function<void(size_t)>& fn) {
  if (count == 0) return;
  if (count == 1 || threads_.size() == 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  auto batch = std::make_shared<Batch>(count, fn);
  const size_t helpers = std::min(count, threads_.size()) - 1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A helper that starts after the batch is done finds nothing to claim and returns; it only
    // touches the batch, which it keeps alive.
    for (size_t i = 0; i < helpers; ++i) queue_.emplace_front([batch] { batch->help(); });
  }
  if (helpers == 1)
    wake_.notify_one();
  else
    wake_.notify_all();
  batch->help();
  std::unique_lock<std::mutex> lock(batch->mutex);
  batch->finished.wait(lock, [&] { return batch->done == batch->count; });
}

}  // namespace vncd::server
