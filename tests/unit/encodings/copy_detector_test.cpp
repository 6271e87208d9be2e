// The copy detector on synthetic frames: scrolls are found with their exact offset, moves as best
// effort, noise never; and on any input, applying the ops then `remaining` rebuilds `after`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "encodings/copy_detector.h"
#include "support/test_images.h"

namespace vncd::enc {
namespace {

using rfb::Frame;
using rfb::PixelFormat;
using rfb::Rect;
using rfb::Region;

void put_pixel(Frame& f, int x, int y, uint32_t v) {
  std::memcpy(f.mutable_row(y) + static_cast<size_t>(x) * 4, &v, 4);
}

void fill(Frame& f, const Rect& r, uint32_t v) {
  for (int y = r.y; y < r.bottom(); ++y) {
    for (int x = r.x; x < r.right(); ++x) put_pixel(f, x, y, v);
  }
}

// Terminal-like text: 16-pixel lines, each holding text with probability `density`, of 8x16
// glyphs whose middle rows are random bits; the rest is background.
Frame make_text(int w, int h, uint32_t seed, double density = 0.8) {
  Frame f({w, h}, PixelFormat::rgb888());
  const uint32_t bg = 0x00202830, fg = 0x00e0e0d0;
  fill(f, Rect{0, 0, w, h}, bg);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (int line = 0; line * 16 < h; ++line) {
    if (u(rng) >= density) continue;
    const int chars = 4 + static_cast<int>(rng() % static_cast<unsigned>(w / 8 - 4));
    for (int c = 0; c < chars; ++c) {
      if (rng() % 6 == 0) continue;  // a space
      for (int gy = 2; gy < 14 && line * 16 + gy < h; ++gy) {
        const uint32_t bits = rng();
        for (int gx = 1; gx < 7; ++gx) {
          if (bits & (1u << gx)) put_pixel(f, c * 8 + gx, line * 16 + gy, fg);
        }
      }
    }
  }
  return f;
}

// Copies `r` of `src` to (x, y) of `dst` (same format).
void paste(Frame& dst, int x, int y, const Frame& src, const Rect& r) {
  const size_t bpp = static_cast<size_t>(src.format().bytes_per_pixel());
  for (int i = 0; i < r.h; ++i) {
    std::memcpy(
        dst.mutable_row(y + i) + static_cast<size_t>(x) * bpp,
        src.data() + static_cast<size_t>(r.y + i) * src.stride() + static_cast<size_t>(r.x) * bpp,
        static_cast<size_t>(r.w) * bpp);
  }
}

Frame crop(const Frame& src, const Rect& r) {
  Frame f({r.w, r.h}, src.format());
  paste(f, 0, 0, src, r);
  return f;
}

Frame copy_of(const Frame& f) {
  return crop(f, Rect{0, 0, f.size().width, f.size().height});
}

// Unions a list of regions pairwise, so building a region of many small pieces stays fast.
Region union_all(std::vector<Region> parts) {
  if (parts.empty()) return Region();
  while (parts.size() > 1) {
    std::vector<Region> next;
    for (size_t i = 0; i + 1 < parts.size(); i += 2) {
      next.push_back(parts[i]);
      next.back().add(parts[i + 1]);
    }
    if (parts.size() % 2) next.push_back(parts.back());
    parts = std::move(next);
  }
  return parts[0];
}

// Exactly the pixels where a and b differ.
Region diff(const Frame& a, const Frame& b) {
  const size_t bpp = static_cast<size_t>(a.format().bytes_per_pixel());
  std::vector<Region> rows;
  for (int y = 0; y < a.size().height; ++y) {
    Region& out = rows.emplace_back();
    const uint8_t* pa = a.data() + static_cast<size_t>(y) * a.stride();
    const uint8_t* pb = b.data() + static_cast<size_t>(y) * b.stride();
    int start = -1;
    for (int x = 0; x <= a.size().width; ++x) {
      const bool d = x < a.size().width && std::memcmp(pa + static_cast<size_t>(x) * bpp,
                                                       pb + static_cast<size_t>(x) * bpp, bpp) != 0;
      if (d && start < 0) start = x;
      if (!d && start >= 0) {
        out.add(Rect{start, y, x - start, 1});
        start = -1;
      }
    }
  }
  return union_all(std::move(rows));
}

// What the client shows: `before`, then each CopyRect in order (reading the framebuffer as it
// is at that point), then `remaining` from `after`.
Frame apply(const Frame& before, const Frame& after, const DetectedCopies& d) {
  Frame out = copy_of(before);
  for (const CopyOp& op : d.copies) {
    const Frame src = crop(out, Rect{op.src_x, op.src_y, op.dst.w, op.dst.h});
    paste(out, op.dst.x, op.dst.y, src, Rect{0, 0, op.dst.w, op.dst.h});
  }
  for (const Rect& r : d.remaining.rects()) paste(out, r.x, r.y, after, r);
  return out;
}

bool frames_equal(const Frame& a, const Frame& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.stride() * static_cast<size_t>(a.size().height)) == 0;
}

// The oracle. `changed` covers every difference, so the whole picture must come out equal.
void check_invariant(const Frame& before, const Frame& after, const Region& changed,
                     const DetectedCopies& d) {
  const Rect screen{0, 0, after.size().width, after.size().height};
  Region expected = changed;
  Region written;
  for (const CopyOp& op : d.copies) {
    const Rect src{op.src_x, op.src_y, op.dst.w, op.dst.h};
    EXPECT_TRUE(screen.contains(op.dst)) << op.dst.str();
    EXPECT_TRUE(screen.contains(src)) << src.str();
    EXPECT_TRUE(written.intersected(src).empty()) << "source overwritten: " << src.str();
    EXPECT_GE(op.dst.w, kMinCopyWidth);
    EXPECT_GE(op.dst.h, kMinCopyRows);
    written.add(op.dst);
    expected.subtract(op.dst);
  }
  EXPECT_TRUE(d.remaining == expected);
  EXPECT_TRUE(frames_equal(apply(before, after, d), after));
}

// A tall text image seen through a window that moved by n rows: after[y] == before[y + n].
struct Scrolled {
  Frame before;
  Frame after;
};
Scrolled scrolled_text(int w, int h, int n, uint32_t seed, double density = 0.8) {
  const Frame tall = make_text(w, h + std::abs(n), seed, density);
  const int b0 = n >= 0 ? 0 : -n;
  return {crop(tall, Rect{0, b0, w, h}), crop(tall, Rect{0, b0 + n, w, h})};
}

class ScrollTest : public ::testing::TestWithParam<int> {};

TEST_P(ScrollTest, FullScreenScrollIsOneCopyWithTheExactOffset) {
  const int n = GetParam();
  const int w = 640, h = 480;
  const Scrolled s = scrolled_text(w, h, n, 7);
  const Region changed = diff(s.before, s.after);
  ASSERT_FALSE(changed.empty());
  const DetectedCopies d = detect_copies(s.before, s.after, changed);
  // One op carries the scroll; with a large offset the new text may by chance also contain
  // runs found elsewhere in the old picture (verified copies, so allowed).
  ASSERT_GE(d.copies.size(), 1u);
  EXPECT_LE(d.copies.size(), n > 200 ? 3u : 1u);
  const CopyOp& op = d.copies[0];
  EXPECT_EQ(op.src_x, op.dst.x);
  EXPECT_EQ(op.src_y - op.dst.y, n);
  // Only the newly exposed strip (and a line of slack where text ends) is left to encode.
  EXPECT_GE(op.dst.h, h - std::abs(n) - 16);
  EXPECT_LE(d.remaining.area(), int64_t{w} * (std::abs(n) + 16));
  check_invariant(s.before, s.after, changed, d);
}

TEST_P(ScrollTest, OverReportedDamageGivesTheWholeScrolledArea) {
  const int n = GetParam();
  const int w = 640, h = 480;
  const Scrolled s = scrolled_text(w, h, n, 11);
  const Region changed(Rect{0, 0, w, h});
  const DetectedCopies d = detect_copies(s.before, s.after, changed);
  ASSERT_EQ(d.copies.size(), 1u);
  const Rect dst = n > 0 ? Rect{0, 0, w, h - n} : Rect{0, -n, w, h + n};
  EXPECT_EQ(d.copies[0], (CopyOp{dst, 0, dst.y + n}));
  EXPECT_TRUE(d.remaining == Region(n > 0 ? Rect{0, h - n, w, n} : Rect{0, 0, w, -n}));
  check_invariant(s.before, s.after, changed, d);
}

INSTANTIATE_TEST_SUITE_P(Offsets, ScrollTest, ::testing::Values(1, 13, 100, -7, -1, 300),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param < 0 ? "minus" + std::to_string(-p.param)
                                              : std::to_string(p.param);
                         });

TEST(CopyDetector, RunsOfOneScrollAreOrderedSoNoSourceIsOverwritten) {
  // Content moves down by 20 but one row in between also changed otherwise, so there are two
  // runs, and the lower run's source lies in the upper run's destination: it must go first.
  for (const int n : {-20, 20}) {
    Scrolled s = scrolled_text(640, 480, n, 31);
    fill(s.after, Rect{0, 250, 640, 1}, 0x00ff00ff);
    const Region changed(Rect{0, 0, 640, 480});
    const DetectedCopies d = detect_copies(s.before, s.after, changed);
    ASSERT_EQ(d.copies.size(), 2u) << n;
    for (const CopyOp& op : d.copies) EXPECT_EQ(op.src_y - op.dst.y, n);
    if (n < 0) {
      EXPECT_GT(d.copies[0].dst.y, d.copies[1].dst.y);  // moving down: the lower run first
    } else {
      EXPECT_LT(d.copies[0].dst.y, d.copies[1].dst.y);
    }
    check_invariant(s.before, s.after, changed, d);
  }
}

TEST(CopyDetector, ScrollInATerminalInTheMiddleOfADesktop) {
  const Rect term{200, 150, 560, 400};
  const Scrolled s = scrolled_text(term.w, term.h, 13, 3);
  Frame before = test::make_ui_image(1024, 768, 5);
  Frame after = copy_of(before);
  paste(before, term.x, term.y, s.before, Rect{0, 0, term.w, term.h});
  paste(after, term.x, term.y, s.after, Rect{0, 0, term.w, term.h});
  fill(after, Rect{940, 740, 60, 16}, 0x00ff0000);  // a clock elsewhere changes too
  const Region changed = diff(before, after);
  const DetectedCopies d = detect_copies(before, after, changed);
  ASSERT_EQ(d.copies.size(), 1u);
  const CopyOp& op = d.copies[0];
  EXPECT_EQ(op.src_x, op.dst.x);
  EXPECT_EQ(op.src_y - op.dst.y, 13);
  EXPECT_TRUE(term.contains(op.dst)) << op.dst.str();
  EXPECT_GE(op.dst.h, term.h - 13 - 16);
  EXPECT_TRUE(d.remaining.contains(950, 745));
  check_invariant(before, after, changed, d);
}

TEST(CopyDetector, BlankLineHeavyContentScrollsWithTheRightOffset) {
  for (const int n : {1, 5, 37, -20}) {
    const Scrolled s = scrolled_text(800, 600, n, 21, 0.15);
    for (const Region& changed : {diff(s.before, s.after), Region(Rect{0, 0, 800, 600})}) {
      const DetectedCopies d = detect_copies(s.before, s.after, changed);
      ASSERT_FALSE(d.copies.empty()) << n;
      int64_t copied = 0;
      for (const CopyOp& op : d.copies) {
        EXPECT_EQ(op.src_x, op.dst.x);
        EXPECT_EQ(op.src_y - op.dst.y, n);
        copied += op.dst.area();
      }
      // Most of what changed travels as CopyRect.
      EXPECT_GT(copied, 0);
      EXPECT_LT(d.remaining.area(), changed.area() / 2) << n;
      EXPECT_LE(d.remaining.area(), int64_t{800} * (std::abs(n) + 32)) << n;
      check_invariant(s.before, s.after, changed, d);
    }
  }
}

TEST(CopyDetector, IdenticalRowsYieldNoWrongOp) {
  const Frame blank = test::make_solid(640, 480, 0x20, 0x28, 0x30);
  const Region all(Rect{0, 0, 640, 480});
  const DetectedCopies same = detect_copies(blank, blank, all);
  EXPECT_TRUE(same.copies.empty());
  EXPECT_TRUE(same.remaining == all);

  const Frame other = test::make_solid(640, 480, 0xff, 0x28, 0x30);
  const DetectedCopies recolour = detect_copies(blank, other, all);
  EXPECT_TRUE(recolour.copies.empty());
  check_invariant(blank, other, all, recolour);

  // Text appearing on a blank screen: blank rows match everywhere, text rows nowhere.
  Frame text = copy_of(blank);
  paste(text, 100, 200, make_text(400, 48, 9, 1.0), Rect{0, 0, 400, 48});
  const Frame* const pairs[2][2] = {{&blank, &text}, {&text, &blank}};
  for (const auto& [b, a] : pairs) {
    const DetectedCopies d = detect_copies(*b, *a, all);
    check_invariant(*b, *a, all, d);
    const DetectedCopies exact = detect_copies(*b, *a, diff(*b, *a));
    EXPECT_TRUE(exact.copies.empty());
    check_invariant(*b, *a, diff(*b, *a), exact);
  }

  // Stripes repeating every 2 rows: every even offset fits; whatever is sent must be right.
  Frame stripes = copy_of(blank);
  for (int y = 0; y < 480; y += 2) fill(stripes, Rect{0, y, 640, 1}, 0x00ffffff);
  Frame shifted = copy_of(blank);
  for (int y = 1; y < 480; y += 2) fill(shifted, Rect{0, y, 640, 1}, 0x00ffffff);
  const DetectedCopies d = detect_copies(stripes, shifted, all);
  check_invariant(stripes, shifted, all, d);
}

TEST(CopyDetector, RandomChangesAreNotScrolls) {
  Frame before = test::make_ui_image(1024, 768, 3);
  Frame after = copy_of(before);
  std::mt19937 rng(17);
  for (int i = 0; i < 20; ++i) {
    const int w = 16 + static_cast<int>(rng() % 300), h = 8 + static_cast<int>(rng() % 200);
    const int x = static_cast<int>(rng() % static_cast<unsigned>(1024 - w));
    const int y = static_cast<int>(rng() % static_cast<unsigned>(768 - h));
    paste(after, x, y, test::make_noise(w, h, static_cast<uint32_t>(i + 1)), Rect{0, 0, w, h});
  }
  const Region changed = diff(before, after);
  const DetectedCopies d = detect_copies(before, after, changed);
  EXPECT_TRUE(d.copies.empty());
  EXPECT_TRUE(d.remaining == changed);
  // A noise frame replaced by another is not a scroll either.
  const Frame n1 = test::make_noise(800, 600, 1), n2 = test::make_noise(800, 600, 2);
  const DetectedCopies noise = detect_copies(n1, n2, Region(Rect{0, 0, 800, 600}));
  EXPECT_TRUE(noise.copies.empty());
}

TEST(CopyDetector, MovedWindowIsOneCopy) {
  const Frame desktop = test::make_ui_image(1024, 768, 8);
  const Frame window = make_text(300, 200, 4, 1.0);
  const Rect from{200, 150, 300, 200}, to{263, 191, 300, 200};
  Frame before = copy_of(desktop), after = copy_of(desktop);
  paste(before, from.x, from.y, window, Rect{0, 0, 300, 200});
  paste(after, to.x, to.y, window, Rect{0, 0, 300, 200});
  const Region changed = diff(before, after);
  const DetectedCopies d = detect_copies(before, after, changed);
  ASSERT_FALSE(d.copies.empty());
  const CopyOp& op = d.copies[0];
  EXPECT_EQ(op.dst.x - op.src_x, to.x - from.x);
  EXPECT_EQ(op.dst.y - op.src_y, to.y - from.y);
  EXPECT_GE(op.dst.intersect(to).area(), to.area() * 9 / 10) << op.dst.str();
  check_invariant(before, after, changed, d);
}

TEST(CopyDetector, WindowMovedFarAwayIsOneCopy) {
  const Frame desktop = test::make_ui_image(1024, 768, 8);
  const Frame window = make_text(240, 160, 6, 1.0);
  const Rect from{40, 60, 240, 160}, to{700, 500, 240, 160};
  Frame before = copy_of(desktop), after = copy_of(desktop);
  paste(before, from.x, from.y, window, Rect{0, 0, 240, 160});
  paste(after, to.x, to.y, window, Rect{0, 0, 240, 160});
  const Region changed = diff(before, after);
  const DetectedCopies d = detect_copies(before, after, changed);
  ASSERT_FALSE(d.copies.empty());
  EXPECT_EQ(d.copies[0].src_x - d.copies[0].dst.x, from.x - to.x);
  EXPECT_EQ(d.copies[0].src_y - d.copies[0].dst.y, from.y - to.y);
  EXPECT_GE(d.copies[0].dst.intersect(to).area(), to.area() * 9 / 10);
  check_invariant(before, after, changed, d);
}

// A window with a title bar, text on a light page and a black border, as bench/e2e's drag
// workload draws it.
Frame make_window(int w, int h, uint32_t seed) {
  Frame f({w, h}, PixelFormat::rgb888());
  fill(f, Rect{0, 0, w, h}, 0x00000000);
  fill(f, Rect{1, 1, w - 2, h - 2}, 0x00f0f0ec);
  fill(f, Rect{1, 1, w - 2, 20}, 0x003c5a96);
  const Frame text = make_text(w - 20, h - 40, seed, 1.0);
  paste(f, 10, 30, text, Rect{0, 0, w - 20, h - 40});
  return f;
}

// Moves compare whole pixels of each size.
TEST(CopyDetector, MovedWindowInOtherPixelFormats) {
  for (const PixelFormat& pf : {PixelFormat::rgb565(), PixelFormat::bgr233()}) {
    const Frame desktop = test::make_ui_image(800, 600, 8);
    const Frame window = make_window(300, 200, 63);
    const Rect from{100, 120, 300, 200}, to{171, 93, 300, 200};
    Frame before = copy_of(desktop), after = copy_of(desktop);
    paste(before, from.x, from.y, window, Rect{0, 0, 300, 200});
    paste(after, to.x, to.y, window, Rect{0, 0, 300, 200});
    const Frame b = test::convert_frame(before, pf), a = test::convert_frame(after, pf);
    const Region changed = diff(b, a);
    const DetectedCopies d = detect_copies(b, a, changed);
    ASSERT_FALSE(d.copies.empty());
    EXPECT_EQ(d.copies[0].dst.x - d.copies[0].src_x, to.x - from.x);
    EXPECT_EQ(d.copies[0].dst.y - d.copies[0].src_y, to.y - from.y);
    EXPECT_GE(d.copies[0].dst.intersect(to).area(), to.area() * 9 / 10);
    check_invariant(b, a, changed, d);
  }
}

TEST(CopyDetector, MovesAreNotSearchedWhenMostOfTheScreenChanged) {
  // A big window moved while everything else changed too (video behind it): scrolls are still
  // looked for, moves are not (the search would cost more than it saves on such frames).
  Frame before = test::make_photo_image(640, 480, 3);
  Frame after = test::make_photo_image(640, 480, 4);
  const Frame window = make_text(200, 150, 4, 1.0);
  paste(before, 40, 40, window, Rect{0, 0, 200, 150});
  paste(after, 300, 200, window, Rect{0, 0, 200, 150});
  const Region changed = diff(before, after);
  ASSERT_GT(changed.area(), int64_t{640} * 480 * kMaxMoveSearchPercent / 100);
  const DetectedCopies d = detect_copies(before, after, changed);
  EXPECT_TRUE(d.copies.empty());
  check_invariant(before, after, changed, d);
}

TEST(CopyDetector, HorizontalScrollInsideARectangle) {
  const Rect area{100, 80, 600, 300};
  const Frame wide = make_text(area.w + 40, area.h, 12, 1.0);
  Frame before = test::make_ui_image(800, 480, 2);
  Frame after = copy_of(before);
  paste(before, area.x, area.y, wide, Rect{0, 0, area.w, area.h});
  paste(after, area.x, area.y, wide, Rect{40, 0, area.w, area.h});  // content moved left by 40
  const Region changed = diff(before, after);
  const DetectedCopies d = detect_copies(before, after, changed);
  ASSERT_FALSE(d.copies.empty());
  EXPECT_EQ(d.copies[0].src_x - d.copies[0].dst.x, 40);
  EXPECT_EQ(d.copies[0].src_y, d.copies[0].dst.y);
  EXPECT_GE(d.copies[0].dst.area(), int64_t{area.w - 40} * area.h * 8 / 10);
  check_invariant(before, after, changed, d);
}

TEST(CopyDetector, OtherPixelFormats) {
  for (const PixelFormat& pf : {PixelFormat::rgb565(), PixelFormat::bgr233()}) {
    const Scrolled s = scrolled_text(320, 240, 9, 2);
    const Frame before = test::convert_frame(s.before, pf);
    const Frame after = test::convert_frame(s.after, pf);
    const Region changed = diff(before, after);
    const DetectedCopies d = detect_copies(before, after, changed);
    ASSERT_EQ(d.copies.size(), 1u);
    EXPECT_EQ(d.copies[0].src_y - d.copies[0].dst.y, 9);
    check_invariant(before, after, changed, d);
  }
}

TEST(CopyDetector, MismatchedFramesYieldNoCopies) {
  const Frame a = make_text(320, 240, 1), b = make_text(320, 200, 1);
  const Region changed(Rect{0, 0, 320, 240});
  const DetectedCopies d = detect_copies(a, b, changed);
  EXPECT_TRUE(d.copies.empty());
  EXPECT_TRUE(d.remaining == changed);
}

void expect_same(const DetectedCopies& got, const DetectedCopies& want) {
  EXPECT_EQ(got.copies, want.copies);
  EXPECT_TRUE(got.remaining == want.remaining);
}

rfb::FramePtr shared(Frame f) {
  return std::make_shared<const Frame>(std::move(f));
}

// A terminal scrolling 13 rows per step: each step's `after` is the next step's `before`, so
// after the first step only the new frame's rows are hashed, and the results are those of
// detect_copies.
TEST(CopyDetectorSequence, ReusesTheRowHashesOfTheLastFrame) {
  const int w = 640, h = 480, n = 13, steps = 5;
  const Frame tall = make_text(w, h + n * steps, 41);
  std::vector<rfb::FramePtr> frames;
  for (int i = 0; i <= steps; ++i) frames.push_back(shared(crop(tall, Rect{0, n * i, w, h})));
  const Region all(Rect{0, 0, w, h});
  CopyDetector detector;
  for (int i = 0; i < steps; ++i) {
    const int64_t hashed = detector.rows_hashed();
    const DetectedCopies d =
        detector.detect(frames[static_cast<size_t>(i)], frames[static_cast<size_t>(i) + 1], all);
    // The whole screen is one group: all rows of both frames are needed. Rows of `after` that
    // equal `before`'s at the scroll's offset take their hash from there: only the top n (no
    // row n above them) and the exposed bottom n rows (unless equal by chance, like blank
    // lines, or like no row of `before` even in their fingerprint) are hashed, and before's
    // rows only on the first step.
    const int64_t step = detector.rows_hashed() - hashed;
    if (i == 0) {
      // No earlier scroll: a sample of 16 rows of `after` votes for the offset first.
      EXPECT_GE(step, h);
      EXPECT_LE(step, h + 16 + 2 * n);
    } else {
      EXPECT_GE(step, n / 2) << i;
      EXPECT_LE(step, 2 * n) << i;
    }
    ASSERT_EQ(d.copies.size(), 1u);
    EXPECT_EQ(d.copies[0], (CopyOp{Rect{0, 0, w, h - n}, 0, n}));
    expect_same(d, detect_copies(*frames[static_cast<size_t>(i)],
                                 *frames[static_cast<size_t>(i) + 1], all));
    check_invariant(*frames[static_cast<size_t>(i)], *frames[static_cast<size_t>(i) + 1], all, d);
  }
}

// The offset of the last scroll is tried first (compared while rows are hashed); when the
// terminal scrolls by another amount, or the other way, the results still equal detect_copies.
TEST(CopyDetectorSequence, ChangingScrollOffsetsGiveTheSameResults) {
  const int w = 640, h = 480;
  const Frame tall = make_text(w, 3 * h, 47, 0.9);
  int top = h;  // Row of `tall` shown at the top.
  CopyDetector detector;
  rfb::FramePtr current = shared(crop(tall, Rect{0, top, w, h}));
  const Region all(Rect{0, 0, w, h});
  for (const int n : {13, 13, 13, 7, -5, -5, 13, 40, 1}) {
    top += n;
    const rfb::FramePtr after = shared(crop(tall, Rect{0, top, w, h}));
    const DetectedCopies d = detector.detect(current, after, all);
    ASSERT_FALSE(d.copies.empty()) << n;
    EXPECT_EQ(d.copies[0].src_y - d.copies[0].dst.y, n);
    expect_same(d, detect_copies(*current, *after, all));
    check_invariant(*current, *after, all, d);
    current = after;
  }
}

// When the scroll amount changes (two steps captured as one, then one again), a sample of rows
// finds the new offset before hashing: only the sample, the top rows (nothing above them at
// that offset) and the exposed rows are hashed, not the whole frame again.
TEST(CopyDetectorSequence, ANewScrollAmountIsFoundWithoutHashingEveryRow) {
  const int w = 640, h = 480;
  const Frame tall = make_text(w, 2 * h, 53, 0.9);
  int top = 0;
  CopyDetector detector;
  rfb::FramePtr current = shared(crop(tall, Rect{0, top, w, h}));
  const Region all(Rect{0, 0, w, h});
  bool first = true;
  int last_n = 0;
  for (const int n : {13, 26, 13, 13, 39, -13}) {
    top += n;
    const rfb::FramePtr after = shared(crop(tall, Rect{0, top, w, h}));
    const int64_t hashed = detector.rows_hashed();
    const DetectedCopies d = detector.detect(current, after, all);
    // Plus rows of `before` not hashed on the last step because no row of that step's `before`
    // had their fingerprint: at most the rows that step exposed.
    if (!first) {
      EXPECT_LE(detector.rows_hashed() - hashed, 16 + 2 * std::abs(n) + std::abs(last_n)) << n;
    }
    first = false;
    last_n = n;
    ASSERT_FALSE(d.copies.empty()) << n;
    EXPECT_EQ(d.copies[0].src_y - d.copies[0].dst.y, n);
    expect_same(d, detect_copies(*current, *after, all));
    check_invariant(*current, *after, all, d);
    current = after;
  }
}

// The changed area of a scrolling terminal can alternate between column ranges (here: the left
// margin is reported changed on every other step). Each range needs its own row hashes; they
// are carried from frame to frame for the rows that scrolled, so once both are known a step
// hashes only the few rows that are new, not a whole frame per switch.
TEST(CopyDetectorSequence, AlternatingColumnRangesKeepTheirHashes) {
  const int w = 640, h = 480, n = 13, steps = 8;
  Frame tall = make_text(w, h + n * steps, 59);
  fill(tall, Rect{0, 0, 8, h + n * steps}, 0x00202830);  // The margin never changes.
  CopyDetector detector;
  rfb::FramePtr current = shared(crop(tall, Rect{0, 0, w, h}));
  for (int i = 0; i < steps; ++i) {
    const rfb::FramePtr after = shared(crop(tall, Rect{0, n * (i + 1), w, h}));
    const Region changed(i % 2 == 0 ? Rect{0, 0, w, h} : Rect{8, 0, w - 8, h});
    const int64_t hashed = detector.rows_hashed();
    const DetectedCopies d = detector.detect(current, after, changed);
    if (i >= 2) {
      EXPECT_LE(detector.rows_hashed() - hashed, 3 * n) << i;
    }
    ASSERT_FALSE(d.copies.empty()) << i;
    EXPECT_EQ(d.copies[0].src_y - d.copies[0].dst.y, n);
    expect_same(d, detect_copies(*current, *after, changed));
    check_invariant(*current, *after, changed, d);
    current = after;
  }
}

// Hashes are reused only for the very frame object they were computed from: a different frame
// with the same picture but one changed row (what a recycled frame would look like) is hashed
// again, so the change is seen.
TEST(CopyDetectorSequence, AnotherBeforeFrameIsHashedAgain) {
  const int w = 640, h = 480, n = 7;
  const Scrolled s = scrolled_text(w, h, n, 43);
  const rfb::FramePtr a = shared(copy_of(s.before)), b = shared(copy_of(s.after));
  const Region all(Rect{0, 0, w, h});
  CopyDetector detector;
  detector.detect(a, b, all);
  // b's content, scrolled again, with a row of b changed in the copy used as `before`.
  Frame b2 = copy_of(*b);
  fill(b2, Rect{0, 100, w, 1}, 0x00ff00ff);
  Frame c = copy_of(*b);
  paste(c, 0, 0, *b, Rect{0, n, w, h - n});
  fill(c, Rect{0, h - n, w, n}, 0x00101010);
  const rfb::FramePtr before = shared(std::move(b2)), after = shared(std::move(c));
  const int64_t hashed = detector.rows_hashed();
  const DetectedCopies d = detector.detect(before, after, all);
  // Every row of `before` that a row of `after` may equal (all but about the n scrolled out) is
  // hashed (reused hashes would leave at most the 2n rows of `after` that do not equal
  // `before`'s at the last offset).
  EXPECT_GE(detector.rows_hashed() - hashed, h - n);
  EXPECT_LE(detector.rows_hashed() - hashed, 2 * h);
  expect_same(d, detect_copies(*before, *after, all));
  check_invariant(*before, *after, all, d);
}

// Holding the last `after` is what makes the reuse safe: a FramePool recycles only frames nobody
// else holds.
TEST(CopyDetectorSequence, HoldsTheLastFrameUntilForgotten) {
  const Scrolled s = scrolled_text(320, 240, 5, 45);
  const rfb::FramePtr a = shared(copy_of(s.before)), b = shared(copy_of(s.after));
  CopyDetector detector;
  detector.detect(a, b, Region(Rect{0, 0, 320, 240}));
  EXPECT_EQ(a.use_count(), 1);
  EXPECT_EQ(b.use_count(), 2);
  detector.forget();
  EXPECT_EQ(b.use_count(), 1);
  // After forget() nothing is reused.
  const int64_t hashed = detector.rows_hashed();
  detector.detect(b, a, Region(Rect{0, 0, 320, 240}));
  // All of `before` (b) is hashed again, and `after`'s rows unless equal at the last offset.
  EXPECT_GE(detector.rows_hashed() - hashed, 240);
  EXPECT_LE(detector.rows_hashed() - hashed, 2 * 240);
}

// Random scenes through one detector in sequence (each scene's `after` becoming the next
// `before`, with varying damage so spans and rows differ between calls) give what
// detect_copies gives.
TEST(CopyDetectorSequence, RandomSequenceMatchesDetectCopies) {
  std::mt19937 rng(77);
  auto rnd = [&](int lo, int hi) {
    return lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1));
  };
  const int w = 320, h = 240;
  CopyDetector detector;
  rfb::FramePtr current = shared(make_text(w, h, 5, 0.6));
  for (int iter = 0; iter < 60; ++iter) {
    Frame next = copy_of(*current);
    const Rect r{rnd(0, w - 120), rnd(0, h - 60), rnd(64, 120), rnd(16, 60)};
    const int dy = rnd(-r.h / 2, r.h / 2);
    for (int y = r.y; y < r.bottom(); ++y) {
      paste(next, r.x, y, *current, Rect{r.x, std::clamp(y - dy, 0, h - 1), r.w, 1});
    }
    if (rng() % 3 == 0) fill(next, Rect{rnd(0, w - 20), rnd(0, h - 20), 20, 20}, rng() & 0xffffff);
    const rfb::FramePtr after = shared(std::move(next));
    const Region changed = rng() % 2 ? diff(*current, *after) : Region(Rect{0, 0, w, h});
    const DetectedCopies d = detector.detect(current, after, changed);
    expect_same(d, detect_copies(*current, *after, changed));
    check_invariant(*current, *after, changed, d);
    if (HasFailure()) FAIL() << "iteration " << iter;
    current = after;
  }
}

// A window dragged over a textured desktop, through one detector as the server uses it, its
// offset changing at the screen's edge: every step is one copy with the exact offset that covers
// the window's new place, even though scattered desktop pixels match under the offset too and
// damage far away (a clock) stretches the changed area's bounds.
TEST(CopyDetectorSequence, DraggedWindowIsFoundEveryStep) {
  const int w = 960, h = 640;
  const Frame desktop = make_text(w, h, 61, 1.0);
  const Frame window = make_window(300, 200, 62);
  CopyDetector detector;
  int x = 560, y = 300, dx = 12, dy = 7;
  const auto frame_at = [&](int wx, int wy) {
    Frame f = copy_of(desktop);
    paste(f, wx, wy, window, Rect{0, 0, 300, 200});
    return shared(std::move(f));
  };
  rfb::FramePtr current = frame_at(x, y);
  for (int step = 0; step < 12; ++step) {
    if (x + dx + 300 > w) dx = -dx;
    if (y + dy + 200 > h) dy = -dy;
    x += dx, y += dy;
    const rfb::FramePtr after = frame_at(x, y);
    Region changed = diff(*current, *after);
    changed.add(Rect{0, h - 16, 16, 16});
    const DetectedCopies d = detector.detect(current, after, changed);
    ASSERT_FALSE(d.copies.empty()) << step;
    const CopyOp& op = d.copies[0];
    EXPECT_EQ(op.dst.x - op.src_x, dx) << step;
    EXPECT_EQ(op.dst.y - op.src_y, dy) << step;
    const Rect to{x, y, 300, 200};
    EXPECT_GE(op.dst.intersect(to).area(), to.area() * 95 / 100) << step << " " << op.dst.str();
    expect_same(d, detect_copies(*current, *after, changed));
    check_invariant(*current, *after, changed, d);
    current = after;
  }
}

// Random scenes: scrolls of random sub-rectangles, moved blocks, noise and solid fills, with
// exact, tile-rounded and whole-screen damage. Whatever is found must rebuild `after`.
TEST(CopyDetector, InvariantHoldsOnRandomInputs) {
  std::mt19937 rng(99);
  auto rnd = [&](int lo, int hi) {
    return lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1));
  };
  const int w = 320, h = 240;
  int total_copies = 0;
  for (int iter = 0; iter < 150; ++iter) {
    const Frame before = rng() % 2 ? make_text(w, h, rng(), 0.5)
                                   : test::make_ui_image(w, h, static_cast<uint32_t>(iter));
    Frame after = copy_of(before);
    const int ops = rnd(1, 4);
    for (int k = 0; k < ops; ++k) {
      const Rect r{rnd(0, w - 80), rnd(0, h - 40), rnd(16, 80), rnd(8, 40)};
      switch (rng() % 4) {
        case 0: {  // vertical scroll of r (from the current picture)
          const int dy = rnd(-r.h + 1, r.h - 1);
          const Frame snap = copy_of(after);
          for (int y = r.y; y < r.bottom(); ++y) {
            const int sy = std::clamp(y - dy, 0, h - 1);
            paste(after, r.x, y, snap, Rect{r.x, sy, r.w, 1});
          }
          break;
        }
        case 1: {  // block moved
          const int x = rnd(0, w - r.w), y = rnd(0, h - r.h);
          const Frame snap = copy_of(after);
          paste(after, x, y, snap, r);
          break;
        }
        case 2:
          paste(after, r.x, r.y, test::make_noise(r.w, r.h, rng()), Rect{0, 0, r.w, r.h});
          break;
        default:
          fill(after, r, rng() & 0xffffff);
          break;
      }
    }
    const Region exact = diff(before, after);
    Region tiles;
    for (const Rect& r : exact.rects()) {
      const int x0 = r.x / 16 * 16, y0 = r.y / 16 * 16;
      tiles.add(Rect{x0, y0, (r.right() + 15) / 16 * 16 - x0, (r.bottom() + 15) / 16 * 16 - y0});
    }
    tiles.intersect(Rect{0, 0, w, h});
    for (const Region& changed : {exact, tiles, Region(Rect{0, 0, w, h})}) {
      const DetectedCopies d = detect_copies(before, after, changed);
      total_copies += static_cast<int>(d.copies.size());
      check_invariant(before, after, changed, d);
      if (HasFailure()) FAIL() << "iteration " << iter;
    }
  }
  EXPECT_GT(total_copies, 0);  // The scenes do contain moves; some must be found.
}

}  // namespace
}  // namespace vncd::enc
