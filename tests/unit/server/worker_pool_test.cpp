#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace vncd::server {
namespace {

TEST(WorkerPool, RunsSubmittedJobs) {
  WorkerPool pool(2);
  std::atomic<int> sum{0};
  std::vector<std::promise<void>> done(50);
  for (int i = 0; i < 50; ++i)
    pool.submit([&, i] {
      sum += i;
      done[static_cast<size_t>(i)].set_value();
    });
  for (auto& d : done) d.get_future().wait();
  EXPECT_EQ(sum.load(), 49 * 50 / 2);
}

TEST(WorkerPool, RunCallsEveryIndexExactlyOnce) {
  WorkerPool pool(3);
  for (size_t count : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{100}}) {
    std::vector<std::atomic<int>> calls(count);
    pool.run(count, [&](size_t i) { calls[i]++; });
    for (size_t i = 0; i < count; ++i) EXPECT_EQ(calls[i].load(), 1) << "index " << i;
  }
}

TEST(WorkerPool, RunSpreadsOverThreads) {
  WorkerPool pool(2);
  std::mutex m;
  std::set<std::thread::id> ids;
  std::atomic<int> arrived{0};
  // Each piece waits (bounded) until both have started: only possible if two threads run them.
  pool.run(2, [&](size_t) {
    {
      std::lock_guard<std::mutex> lock(m);
      ids.insert(std::this_thread::get_id());
    }
    arrived++;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (arrived.load() < 2 && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
  });
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(arrived.load(), 2);
}

TEST(WorkerPool, RunFromInsideJobsOnEveryWorkerDoesNotDeadlock) {
  // Every worker is busy in a job that itself fans out: each caller must finish its own batch.
  WorkerPool pool(2);
  std::atomic<int> pieces{0};
  std::vector<std::promise<void>> done(4);
  for (size_t j = 0; j < done.size(); ++j)
    pool.submit([&, j] {
      pool.run(16, [&](size_t) { pieces++; });
      done[j].set_value();
    });
  for (auto& d : done) {
    auto f = d.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  }
  EXPECT_EQ(pieces.load(), 64);
}

TEST(WorkerPool, SingleThreadRunsInline) {
  WorkerPool pool(1);
  EXPECT_EQ(pool.concurrency(), 1u);
  const auto me = std::this_thread::get_id();
  int on_caller = 0;
  pool.run(5, [&](size_t) { on_caller += std::this_thread::get_id() == me; });
  EXPECT_EQ(on_caller, 5);
}

TEST(WorkerPool, DestructionDropsQueuedJobs) {
  std::atomic<int> ran{0};
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::thread releaser;
  {
    WorkerPool pool(1);
    std::promise<void> started;
    pool.submit([&, gate] {
      started.set_value();
      gate.wait();
      ran++;
    });
    for (int i = 0; i < 10; ++i) pool.submit([&] { ran++; });
    started.get_future().wait();
    // The destructor waits for the running job: release it once the destructor has had the
    // chance to clear the queue.
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      release.set_value();
    });
  }
  releaser.join();
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace vncd::server
