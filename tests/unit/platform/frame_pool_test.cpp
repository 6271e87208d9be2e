#include "platform/common/frame_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace vncd::platform {
namespace {

using rfb::Frame;
using rfb::Rect;
using rfb::Region;

constexpr rfb::Size kSize{64, 48};
const rfb::PixelFormat kFormat = rfb::PixelFormat::rgb888();

void paint(Frame& f, const Rect& r, uint8_t value) {
  for (int y = r.y; y < r.bottom(); ++y) {
    std::memset(f.mutable_row(y) + r.x * 4, value, static_cast<size_t>(r.w * 4));
  }
}

bool same_pixels(const Frame& a, const Frame& b) {
  return std::memcmp(a.data(), b.data(), a.stride() * static_cast<size_t>(a.size().height)) == 0;
}

TEST(FramePool, FirstFrameIsBlankAndBecomesCurrent) {
  FramePool pool;
  EXPECT_EQ(pool.current(), nullptr);
  auto w = pool.writable(kSize, kFormat);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->size(), kSize);
  paint(*w, {0, 0, 64, 48}, 7);
  rfb::FramePtr published = pool.publish(w, Region(Rect{0, 0, 64, 48}));
  EXPECT_EQ(pool.current(), published);
  EXPECT_EQ(published->data()[0], 7);
}

TEST(FramePool, WritableEqualsCurrentWhetherFreshOrRecycled) {
  FramePool pool;
  auto a = pool.writable(kSize, kFormat);
  paint(*a, {0, 0, 64, 48}, 1);
  pool.publish(std::move(a), Region(Rect{0, 0, 64, 48}));
  for (int i = 2; i < 12; ++i) {
    auto w = pool.writable(kSize, kFormat);
    ASSERT_TRUE(same_pixels(*w, *pool.current())) << "round " << i;
    const Rect r{(i * 7) % 50, (i * 5) % 40, 10, 6};
    paint(*w, r, static_cast<uint8_t>(i));
    pool.publish(std::move(w), Region(r));
  }
  // Once warm, only the changed areas were copied, not whole frames.
  EXPECT_LT(pool.pixels_copied(), 4 * kSize.width * kSize.height);
}

TEST(FramePool, AFrameSomeoneHoldsIsNeverRewritten) {
  FramePool pool;
  auto a = pool.writable(kSize, kFormat);
  paint(*a, {0, 0, 64, 48}, 1);
  rfb::FramePtr held = pool.publish(std::move(a), Region(Rect{0, 0, 64, 48}));
  const Frame snapshot = *held;
  for (int i = 2; i < 10; ++i) {
    auto w = pool.writable(kSize, kFormat);
    EXPECT_NE(static_cast<const Frame*>(w.get()), held.get());
    paint(*w, {0, 0, 64, 48}, static_cast<uint8_t>(i));
    pool.publish(std::move(w), Region(Rect{0, 0, 64, 48}));
  }
  EXPECT_TRUE(same_pixels(*held, snapshot));
}

TEST(FramePool, ReleasedFramesAreReused) {
  FramePool pool;
  pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 64, 48}));
  pool.publish(pool.writable(kSize, kFormat), Region());
  const Frame* first_spare = nullptr;
  {
    auto w = pool.writable(kSize, kFormat);  // The first frame, back from the pool.
    first_spare = w.get();
    pool.recycle(std::move(w), Region());
  }
  auto again = pool.writable(kSize, kFormat);
  EXPECT_EQ(again.get(), first_spare);
}

TEST(FramePool, RecycledFrameIsRepairedWhereItDiffers) {
  FramePool pool;
  pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 64, 48}));
  auto w = pool.writable(kSize, kFormat);
  paint(*w, {5, 5, 3, 3}, 9);  // Scribbled on, then given back unpublished.
  pool.recycle(std::move(w), Region(Rect{5, 5, 3, 3}));
  auto again = pool.writable(kSize, kFormat);
  EXPECT_TRUE(same_pixels(*again, *pool.current()));
}

TEST(FramePool, KeepsAtMostOneFrameNobodyHolds) {
  FramePool pool;
  pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 64, 48}));
  // Nobody holds the frames it hands out: each replaced current frame is a free spare, and only
  // one is kept for the next capture.
  for (int i = 0; i < 6; ++i) {
    pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 4, 4}));
    EXPECT_EQ(pool.free_spare_count(), 1u) << "round " << i;
    EXPECT_EQ(pool.spare_count(), 1u) << "round " << i;
  }
  // Frames a consumer still holds stay tracked (they come back when released) but are not free.
  std::vector<rfb::FramePtr> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 4, 4})));
  }
  EXPECT_EQ(pool.spare_count(), 2u);  // The two older held frames; current is the third.
  EXPECT_EQ(pool.free_spare_count(), 0u);
  held.clear();
  // Both become free; the next publish keeps only one of them.
  pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 4, 4}));
  EXPECT_EQ(pool.free_spare_count(), 1u);
}

TEST(FramePool, ThreeFramesServeAConsumerHoldingTheLatestTwo) {
  // A session holds the latest frame and the one it last sent (for CopyRect detection): the
  // pool then needs three frames in all, and allocates no more however long it runs.
  FramePool pool;
  rfb::FramePtr latest = pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 64, 48}));
  rfb::FramePtr shown;
  std::set<const Frame*> seen{latest.get()};
  for (int i = 0; i < 20; ++i) {
    auto w = pool.writable(kSize, kFormat);
    seen.insert(w.get());
    const Rect r{i % 60, i % 40, 4, 4};
    paint(*w, r, static_cast<uint8_t>(i));
    shown = latest;
    latest = pool.publish(std::move(w), Region(r));
    EXPECT_TRUE(same_pixels(*latest, *pool.current()));
  }
  EXPECT_EQ(seen.size(), 3u);
  // Warm, a capture copies only what changed since the frame it reuses was current.
  EXPECT_LT(pool.pixels_copied(), 2 * kSize.width * kSize.height + 20 * 3 * 16);
}

TEST(FramePool, LargeOverwriteIsAtLeastHalfTheFrame) {
  EXPECT_FALSE(FramePool::is_large_overwrite(0, 100));
  EXPECT_FALSE(FramePool::is_large_overwrite(49, 100));
  EXPECT_TRUE(FramePool::is_large_overwrite(50, 100));
  EXPECT_TRUE(FramePool::is_large_overwrite(100, 100));
  EXPECT_FALSE(FramePool::is_large_overwrite(0, 0));
}

TEST(FramePool, SmallChangesKeepTheSpareAndCopyOnlyWhatChanged) {
  // A typing desktop: the spare survives every capture, so no capture allocates or copies a
  // whole frame once the pool is warm.
  FramePool pool;
  pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 64, 48}));
  pool.publish(pool.writable(kSize, kFormat), Region());
  std::set<const Frame*> seen;
  const int64_t copied_before = pool.pixels_copied();
  for (int i = 0; i < 10; ++i) {
    const Rect r{(i * 11) % 56, (i * 7) % 40, 8, 8};
    auto w = pool.writable(kSize, kFormat, Region(r));
    seen.insert(w.get());
    paint(*w, r, static_cast<uint8_t>(i + 1));
    pool.publish(std::move(w), Region(r));
    EXPECT_EQ(pool.free_spare_count(), 1u) << "round " << i;
    EXPECT_EQ(pool.free_spares_kept(), 1u);
  }
  EXPECT_EQ(seen.size(), 2u);  // Two frames take turns.
  // Each capture after the first repairs the spare where the one before it changed: 64 pixels
  // (the first one's spare missed no change).
  EXPECT_EQ(pool.pixels_copied() - copied_before, 9 * 64);
}

TEST(FramePool, LargeOverwriteDropsTheFreeSpareAndPixelsStayRight) {
  FramePool pool;
  auto a = pool.writable(kSize, kFormat);
  paint(*a, {0, 0, 64, 48}, 1);
  pool.publish(std::move(a), Region(Rect{0, 0, 64, 48}));
  pool.publish(pool.writable(kSize, kFormat), Region());
  ASSERT_EQ(pool.free_spare_count(), 1u);

  // Video: each capture overwrites 64x30 of 64x48 (more than half). The reference is what the
  // screen should look like after every capture.
  Frame expected(kSize, kFormat);
  paint(expected, {0, 0, 64, 48}, 1);
  for (int i = 0; i < 5; ++i) {
    const Rect big{0, i % 2 == 0 ? 0 : 18, 64, 30};
    auto w = pool.writable(kSize, kFormat, Region(big));
    EXPECT_EQ(pool.free_spares_kept(), 0u);
    paint(*w, big, static_cast<uint8_t>(20 + i));
    paint(expected, big, static_cast<uint8_t>(20 + i));
    pool.publish(std::move(w), Region(big));
    EXPECT_EQ(pool.free_spare_count(), 0u) << "round " << i;
    EXPECT_TRUE(same_pixels(*pool.current(), expected)) << "round " << i;
  }

  // A consumer holding frames keeps them; once it lets go, the next capture reuses one and the
  // pool keeps no other free one.
  rfb::FramePtr held_old = pool.current();
  const Rect big{0, 0, 64, 40};
  auto w = pool.writable(kSize, kFormat, Region(big));
  paint(*w, big, 40);
  paint(expected, big, 40);
  rfb::FramePtr held_new = pool.publish(std::move(w), Region(big));
  EXPECT_EQ(pool.spare_count(), 1u);  // held_old, not free.
  held_old.reset();
  held_new.reset();
  w = pool.writable(kSize, kFormat, Region(big));
  EXPECT_EQ(pool.free_spare_count(), 0u);
  paint(*w, big, 41);
  paint(expected, big, 41);
  pool.publish(std::move(w), Region(big));
  EXPECT_TRUE(same_pixels(*pool.current(), expected));

  // A small change after the video: the spare comes back, pixels right throughout.
  for (int i = 0; i < 3; ++i) {
    const Rect small{i * 3, 44, 3, 3};
    w = pool.writable(kSize, kFormat, Region(small));
    EXPECT_EQ(pool.free_spares_kept(), 1u);
    paint(*w, small, static_cast<uint8_t>(60 + i));
    paint(expected, small, static_cast<uint8_t>(60 + i));
    EXPECT_TRUE(same_pixels(*w, expected)) << "round " << i;  // Brought up to date outside.
    pool.publish(std::move(w), Region(small));
    EXPECT_EQ(pool.free_spare_count(), 1u) << "round " << i;
    EXPECT_TRUE(same_pixels(*pool.current(), expected)) << "round " << i;
  }
}

TEST(FramePool, NewFrameCopiesOnlyWhatIsNotOverwritten) {
  FramePool pool;
  auto a = pool.writable(kSize, kFormat);
  paint(*a, {0, 0, 64, 48}, 3);
  rfb::FramePtr held = pool.publish(std::move(a), Region(Rect{0, 0, 64, 48}));
  const int64_t before = pool.pixels_copied();
  const Rect big{0, 8, 64, 40};
  auto w = pool.writable(kSize, kFormat, Region(big));  // Nothing free: a new frame.
  EXPECT_NE(static_cast<const Frame*>(w.get()), held.get());
  EXPECT_EQ(pool.pixels_copied() - before, 64 * 8);
  paint(*w, big, 4);
  pool.publish(std::move(w), Region(big));
  Frame expected(kSize, kFormat);
  paint(expected, {0, 0, 64, 8}, 3);
  paint(expected, big, 4);
  EXPECT_TRUE(same_pixels(*pool.current(), expected));
}

TEST(FramePool, ResetForgetsEverything) {
  FramePool pool;
  pool.publish(pool.writable(kSize, kFormat), Region(Rect{0, 0, 64, 48}));
  pool.reset();
  EXPECT_EQ(pool.current(), nullptr);
  EXPECT_EQ(pool.spare_count(), 0u);
  auto w = pool.writable(rfb::Size{32, 16}, kFormat);
  EXPECT_EQ(w->size(), (rfb::Size{32, 16}));
}

// Storage a test hands to frames through the allocator hook: counts what was made and released.
struct CountingStorage {
  std::atomic<int> made{0};
  std::atomic<int> released{0};

  FramePool::Allocator allocator(uint8_t fill) {
    return [this, fill](rfb::Size size, const rfb::PixelFormat& format) {
      const size_t bytes = static_cast<size_t>(size.width) * size.height *
                           static_cast<size_t>(format.bytes_per_pixel());
      auto buffer = std::make_unique<std::vector<uint8_t>>(bytes, fill);  // "Unset": garbage.
      uint8_t* pixels = buffer->data();
      ++made;
      return std::make_shared<Frame>(
          size, format, pixels,
          [this, owned = std::shared_ptr<std::vector<uint8_t>>(std::move(buffer))](uint8_t* p) {
            EXPECT_EQ(p, owned->data());
            ++released;
          });
    };
  }
};

TEST(FrameStorage, AdoptedStorageIsReleasedOnceAndCopiesGoToTheHeap) {
  std::vector<uint8_t> storage(static_cast<size_t>(kSize.width * kSize.height * 4), 9);
  int released = 0;
  {
    Frame f(kSize, kFormat, storage.data(), [&](uint8_t* p) {
      EXPECT_EQ(p, storage.data());
      ++released;
    });
    EXPECT_EQ(f.data(), storage.data());
    EXPECT_EQ(f.stride(), static_cast<size_t>(kSize.width * 4));
    EXPECT_EQ(f.view().at(3, 2), storage.data() + 2 * kSize.width * 4 + 3 * 4);
    Frame copy(f);
    EXPECT_NE(copy.data(), storage.data());
    EXPECT_TRUE(same_pixels(copy, f));
    Frame moved(std::move(f));
    EXPECT_EQ(moved.data(), storage.data());
    EXPECT_EQ(released, 0);
    Frame assigned(kSize, kFormat);
    assigned = std::move(moved);
    EXPECT_EQ(assigned.data(), storage.data());
    EXPECT_EQ(released, 0);
  }
  EXPECT_EQ(released, 1);
}

TEST(FramePool, NewFramesComeFromTheAllocator) {
  CountingStorage storage;
  FramePool pool;
  pool.set_allocator(storage.allocator(0xee));
  // No current frame: zeroed as promised, except what the caller overwrites.
  auto first = pool.writable(kSize, kFormat, Region(Rect{0, 0, 64, 8}));
  EXPECT_EQ(storage.made, 1);
  EXPECT_EQ(first->view().at(0, 0)[0], 0xee);  // Left for the caller: not zeroed.
  EXPECT_EQ(first->view().at(0, 8)[0], 0);
  EXPECT_EQ(first->view().at(63, 47)[3], 0);
  paint(*first, {0, 0, 64, 48}, 1);
  pool.publish(std::move(first), Region(Rect{0, 0, 64, 48}));

  // The current frame is held: a new frame is made, a copy of it outside what is overwritten.
  auto held = pool.current();
  auto w = pool.writable(kSize, kFormat, Region(Rect{0, 0, 10, 10}));
  EXPECT_EQ(storage.made, 2);
  EXPECT_EQ(w->view().at(0, 0)[0], 0xee);  // Left for the caller.
  for (int y = 10; y < kSize.height; ++y) {
    ASSERT_EQ(std::memcmp(w->view().row(y), held->view().row(y), w->stride()), 0) << y;
  }
  EXPECT_EQ(std::memcmp(w->view().at(10, 0), held->view().at(10, 0), 54 * 4), 0);
  paint(*w, {0, 0, 10, 10}, 2);
  pool.publish(std::move(w), Region(Rect{0, 0, 10, 10}));
  held.reset();
  auto again = pool.writable(kSize, kFormat, Region(Rect{20, 20, 4, 4}));
  EXPECT_EQ(storage.made, 2);               // The released one came back.
  EXPECT_EQ(again->view().at(0, 0)[0], 2);  // Brought up to date.
  pool.recycle(std::move(again), Region());

  pool.reset();
  EXPECT_EQ(storage.released, 2);  // Every frame it made went back to its storage.
}

TEST(FramePool, AllocatorMayDeclineThenFramesComeFromTheHeap) {
  int asked = 0;
  FramePool pool;
  pool.set_allocator([&](rfb::Size, const rfb::PixelFormat&) -> std::shared_ptr<Frame> {
    ++asked;
    return nullptr;
  });
  auto w = pool.writable(kSize, kFormat);
  EXPECT_EQ(asked, 1);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->view().at(63, 47)[0], 0);  // Zeroed heap frame.
  pool.publish(std::move(w), Region(Rect{0, 0, 64, 48}));
  pool.set_allocator(nullptr);
  auto held = pool.current();
  auto heap = pool.writable(kSize, kFormat);
  EXPECT_EQ(asked, 1);
  EXPECT_TRUE(same_pixels(*heap, *held));
}

TEST(FramePool, FramesReleasedOnAnotherThreadGoBackToTheirStorage) {
  CountingStorage storage;
  std::vector<rfb::FramePtr> held;
  {
    FramePool pool;
    pool.set_allocator(storage.allocator(0));
    for (int i = 0; i < 4; ++i) {
      auto w = pool.writable(kSize, kFormat);
      paint(*w, {0, 0, 64, 48}, static_cast<uint8_t>(i));
      held.push_back(pool.publish(std::move(w), Region(Rect{0, 0, 64, 48})));
    }
    EXPECT_EQ(storage.made, 4);
  }
  EXPECT_EQ(storage.released, 0);  // The pool is gone; the holders still have them.
  std::thread([frames = std::move(held)]() mutable { frames.clear(); }).join();
  EXPECT_EQ(storage.released, 4);
}

}  // namespace
}  // namespace vncd::platform
