// bench_copy_detect: time of enc::detect_copies on 1920x1080 32bpp frames, one line per case
// (a full-screen scroll, a window move, changes that hold no copy): 3 warm-ups, then the median,
// min and max of 15 timed runs in ms (wall, and this thread's CPU time, which other load on a
// shared machine disturbs less), with what was found. An argument runs only the cases naming it.
// Then a scrolling terminal as a sequence of frames, each step's `after` the next step's `before`:
// per step through detect_copies and through a CopyDetector (which reuses the row hashes); also
// with the scroll amount changing now and then, and with damage alternating between two column
// ranges (as a marker at the screen's edge makes it in bench/e2e's scroll workload).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "encodings/copy_detector.h"

namespace {

using vncd::enc::DetectedCopies;
using vncd::rfb::Frame;
using vncd::rfb::PixelFormat;
using vncd::rfb::Rect;
using vncd::rfb::Region;

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;
constexpr int kWarmups = 3;
constexpr int kRuns = 15;

void fill(Frame& f, const Rect& r, uint32_t v) {
  for (int y = r.y; y < r.bottom(); ++y) {
    for (int x = r.x; x < r.right(); ++x) std::memcpy(f.mutable_row(y) + x * 4, &v, 4);
  }
}

void paste(Frame& dst, int x, int y, const Frame& src, const Rect& r) {
  for (int i = 0; i < r.h; ++i) {
    std::memcpy(
        dst.mutable_row(y + i) + static_cast<size_t>(x) * 4,
        src.data() + static_cast<size_t>(r.y + i) * src.stride() + static_cast<size_t>(r.x) * 4,
        static_cast<size_t>(r.w) * 4);
  }
}

// Terminal-like text: 8x16 glyphs of random bits on a dark background, most lines full. With
// `terminal`, like bench/e2e's scroll workload: no blank lines, each at least half the width.
Frame make_text(int w, int h, uint32_t seed, bool terminal = false) {
  Frame f({w, h}, PixelFormat::rgb888());
  fill(f, Rect{0, 0, w, h}, 0x00202830);
  std::mt19937 rng(seed);
  for (int line = 0; line * 16 < h; ++line) {
    if (!terminal && rng() % 5 == 0) continue;
    const int cols = w / 8;
    const int chars = terminal ? cols - static_cast<int>(rng() % static_cast<unsigned>(cols / 2))
                               : 4 + static_cast<int>(rng() % static_cast<unsigned>(cols - 4));
    for (int c = 0; c < chars; ++c) {
      if (rng() % 6 == 0) continue;
      for (int gy = 2; gy < 14 && line * 16 + gy < h; ++gy) {
        const uint32_t bits = rng();
        for (int gx = 1; gx < 7; ++gx) {
          if (bits & (1u << gx)) fill(f, Rect{c * 8 + gx, line * 16 + gy, 1, 1}, 0x00e0e0d0);
        }
      }
    }
  }
  return f;
}

Frame make_noise(int w, int h, uint32_t seed) {
  Frame f({w, h}, PixelFormat::rgb888());
  std::mt19937 rng(seed);
  for (size_t i = 0; i < f.stride() * static_cast<size_t>(h); i += 4) {
    const uint32_t v = rng();
    std::memcpy(f.mutable_data() + i, &v, 4);
  }
  return f;
}

// Like bench/e2e's drag workload window: a title bar, a smooth image, dark text on a light page,
// and a 1-pixel black border (the X window's).
Frame make_window(int w, int h, uint32_t seed) {
  Frame f({w, h}, PixelFormat::rgb888());
  fill(f, Rect{0, 0, w, h}, 0x00000000);
  fill(f, Rect{1, 1, w - 2, h - 2}, 0x00f0f0ec);
  fill(f, Rect{1, 1, w - 2, 24}, 0x003c5a96);
  for (int y = 41; y < std::min(h - 1, 220); ++y) {
    for (int x = 21; x < w - 20; ++x) {
      const uint32_t r = static_cast<uint32_t>(128 + 100 * std::sin(x * 0.03));
      const uint32_t g = static_cast<uint32_t>(128 + 100 * std::sin(y * 0.05 + x * 0.01));
      const uint32_t b = static_cast<uint32_t>(128 + 100 * std::cos((x + y) * 0.02));
      fill(f, Rect{x, y, 1, 1}, r << 16 | g << 8 | b);
    }
  }
  std::mt19937 rng(seed);
  for (int line = 240; line + 15 < h - 8; line += 15) {
    for (int c = 0; c * 9 + 19 < w - 60; ++c) {
      if (rng() % 7 == 0) continue;  // Spaces.
      for (int gy = 2; gy < 13; ++gy) {
        const uint32_t bits = rng();
        for (int gx = 1; gx < 8; ++gx) {
          if (bits & (1u << gx)) fill(f, Rect{10 + c * 9 + gx, line + gy, 1, 1}, 0x00141414);
        }
      }
    }
  }
  return f;
}

// Like bench/e2e's desktop: rows of one colour, a vertical gradient.
Frame make_gradient(int w, int h) {
  Frame f({w, h}, PixelFormat::rgb888());
  for (int y = 0; y < h; ++y) {
    const uint32_t c = static_cast<uint32_t>((30 + y * 40 / h) << 16 | (60 + y * 50 / h) << 8 |
                                             (110 + y * 60 / h));
    fill(f, Rect{0, y, w, 1}, c);
  }
  return f;
}

Frame crop(const Frame& src, const Rect& r) {
  Frame f({r.w, r.h}, src.format());
  paste(f, 0, 0, src, r);
  return f;
}

// The 16x16 tiles where the frames differ: what verified damage looks like.
Region tile_diff(const Frame& a, const Frame& b) {
  Region out;
  for (int ty = 0; ty < kHeight; ty += 16) {
    for (int tx = 0; tx < kWidth; tx += 16) {
      const Rect t = Rect{tx, ty, 16, 16}.intersect(Rect{0, 0, kWidth, kHeight});
      for (int y = t.y; y < t.bottom(); ++y) {
        const size_t off = static_cast<size_t>(y) * a.stride() + static_cast<size_t>(t.x) * 4;
        if (std::memcmp(a.data() + off, b.data() + off, static_cast<size_t>(t.w) * 4) != 0) {
          out.add(t);
          break;
        }
      }
    }
  }
  return out;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Case {
  std::string name;
  Frame before;
  Frame after;
  Region changed;
};

// One table row: wall time median/min/max and CPU median over the timed runs, and what the last
// detection found.
void print_row(const std::string& name, std::vector<double> ms, std::vector<double> cpu,
               const DetectedCopies& d) {
  std::sort(ms.begin(), ms.end());
  std::sort(cpu.begin(), cpu.end());
  int64_t copied = 0;
  for (const auto& op : d.copies) copied += op.dst.area();
  std::printf("%-34s %8.2f %8.2f %8.2f %8.2f %6zu %10lld %10lld\n", name.c_str(), ms[ms.size() / 2],
              ms.front(), ms.back(), cpu[cpu.size() / 2], d.copies.size(),
              static_cast<long long>(copied), static_cast<long long>(d.remaining.area()));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";  // Runs only the cases naming this.
  std::vector<Case> cases;
  {
    const Frame tall = make_text(kWidth, kHeight + 16, 1);
    Frame before = crop(tall, Rect{0, 0, kWidth, kHeight});
    Frame after = crop(tall, Rect{0, 16, kWidth, kHeight});
    Region all(Rect{0, 0, kWidth, kHeight});
    Region tiles = tile_diff(before, after);
    cases.push_back({"scroll 16 rows, damage = screen", crop(before, Rect{0, 0, kWidth, kHeight}),
                     crop(after, Rect{0, 0, kWidth, kHeight}), all});
    cases.push_back(
        {"scroll 16 rows, damage = tiles", std::move(before), std::move(after), std::move(tiles)});
  }
  {
    const Frame tall = make_text(kWidth, kHeight + 3, 2);
    cases.push_back({"scroll 3 rows, damage = screen", crop(tall, Rect{0, 0, kWidth, kHeight}),
                     crop(tall, Rect{0, 3, kWidth, kHeight}), Region(Rect{0, 0, kWidth, kHeight})});
  }
  {
    const Frame desktop = make_text(kWidth, kHeight, 3);
    const Frame window = make_noise(800, 600, 4);
    Frame before = crop(desktop, Rect{0, 0, kWidth, kHeight});
    Frame after = crop(desktop, Rect{0, 0, kWidth, kHeight});
    paste(before, 400, 200, window, Rect{0, 0, 800, 600});
    paste(after, 437, 221, window, Rect{0, 0, 800, 600});
    Region tiles = tile_diff(before, after);
    cases.push_back(
        {"800x600 window moved, tiles", std::move(before), std::move(after), std::move(tiles)});
  }
  for (const bool textured : {false, true}) {
    // bench/e2e's drag workload: a 600x400 window moved by (12, 7) over the desktop.
    const Frame desktop =
        textured ? make_text(kWidth, kHeight, 12) : make_gradient(kWidth, kHeight);
    const Frame window = make_window(600, 400, 13);
    Frame before = crop(desktop, Rect{0, 0, kWidth, kHeight});
    Frame after = crop(desktop, Rect{0, 0, kWidth, kHeight});
    paste(before, 640, 300, window, Rect{0, 0, 600, 400});
    paste(after, 652, 307, window, Rect{0, 0, 600, 400});
    Region tiles = tile_diff(before, after);
    cases.push_back(
        {textured ? "600x400 moved (12,7), text desktop" : "600x400 moved (12,7), gradient",
         std::move(before), std::move(after), std::move(tiles)});
  }
  {
    Frame before = make_noise(kWidth, kHeight, 5);
    Frame after = make_noise(kWidth, kHeight, 6);
    cases.push_back({"noise -> noise, damage = screen", std::move(before), std::move(after),
                     Region(Rect{0, 0, kWidth, kHeight})});
  }
  {
    Frame before = make_text(kWidth, kHeight, 7);
    Frame after = crop(before, Rect{0, 0, kWidth, kHeight});
    std::mt19937 rng(8);
    for (int i = 0; i < 40; ++i) {
      const int w = 16 + static_cast<int>(rng() % 400), h = 8 + static_cast<int>(rng() % 300);
      const Frame n = make_noise(w, h, rng());
      paste(after, static_cast<int>(rng() % static_cast<unsigned>(kWidth - w)),
            static_cast<int>(rng() % static_cast<unsigned>(kHeight - h)), n, Rect{0, 0, w, h});
    }
    Region tiles = tile_diff(before, after);
    cases.push_back(
        {"40 random noise rects, tiles", std::move(before), std::move(after), std::move(tiles)});
  }
  {
    const Frame text = make_text(kWidth, kHeight, 9);
    cases.push_back({"text -> other text, screen", crop(text, Rect{0, 0, kWidth, kHeight}),
                     make_text(kWidth, kHeight, 10), Region(Rect{0, 0, kWidth, kHeight})});
  }

  std::printf("# %dx%d rgb888, %d warm-ups, %d runs; ms per call\n", kWidth, kHeight, kWarmups,
              kRuns);
  std::printf("%-34s %8s %8s %8s %8s %6s %10s %10s\n", "case", "median", "min", "max", "cpu med",
              "copies", "copied px", "remain px");
  for (const Case& c : cases) {
    if (c.name.find(only) == std::string::npos) continue;
    std::vector<double> ms, cpu;
    DetectedCopies d;
    for (int run = 0; run < kWarmups + kRuns; ++run) {
      const double c0 = thread_cpu_ms();
      const auto t0 = std::chrono::steady_clock::now();
      d = vncd::enc::detect_copies(c.before, c.after, c.changed);
      const auto t1 = std::chrono::steady_clock::now();
      const double c1 = thread_cpu_ms();
      if (run < kWarmups) continue;
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      cpu.push_back(c1 - c0);
    }
    print_row(c.name, std::move(ms), std::move(cpu), d);
  }

  // Sequences: a 1920x1080 terminal scrolling, each step's `after` the next step's `before`,
  // through detect_copies and through a CopyDetector (which reuses row hashes).
  constexpr int kSteps = kWarmups + kRuns;
  struct Sequence {
    std::string name;
    int step_rows;   // Rows scrolled per step; every 4th step scrolls twice as far if `uneven`.
    bool uneven;     // Two steps captured as one now and then.
    bool alternate;  // Damage alternates between the screen and the screen minus its margin.
  };
  const Sequence sequences[] = {
      {"sequence: terminal scroll 16 rows/step, tiles", 16, false, false},
      {"sequence: 16 rows/step, every 4th step 32, tiles", 16, true, false},
      {"sequence: 16 rows/step, damage alternates ranges", 16, false, true},
  };
  for (const Sequence& seq : sequences) {
    if (seq.name.find(only) == std::string::npos) continue;
    std::printf("%s\n", seq.name.c_str());
    std::vector<int> tops{0};
    for (int i = 0; i < kSteps; ++i) {
      tops.push_back(tops.back() + (seq.uneven && i % 4 == 3 ? 2 : 1) * seq.step_rows);
    }
    Frame tall = make_text(kWidth, kHeight + tops.back(), 11, true);
    // The margin never changes, so damage without it is still a superset of the change.
    fill(tall, Rect{0, 0, 8, kHeight + tops.back()}, 0x00202830);
    std::vector<vncd::rfb::FramePtr> frames;
    std::vector<Region> damage;
    for (int i = 0; i <= kSteps; ++i) {
      frames.push_back(std::make_shared<const Frame>(
          crop(tall, Rect{0, tops[static_cast<size_t>(i)], kWidth, kHeight})));
      if (i == 0) continue;
      if (seq.alternate) {
        damage.emplace_back(i % 2 == 0 ? Rect{0, 0, kWidth, kHeight}
                                       : Rect{8, 0, kWidth - 8, kHeight});
      } else {
        damage.push_back(tile_diff(*frames[frames.size() - 2], *frames.back()));
      }
    }
    for (const bool kept : {false, true}) {
      vncd::enc::CopyDetector detector;
      std::vector<double> ms, cpu;
      DetectedCopies d;
      int64_t hashed = 0;
      for (int i = 0; i < kSteps; ++i) {
        const auto at = static_cast<size_t>(i);
        const int64_t rows0 = detector.rows_hashed();
        const double c0 = thread_cpu_ms();
        const auto t0 = std::chrono::steady_clock::now();
        d = kept ? detector.detect(frames[at], frames[at + 1], damage[at])
                 : vncd::enc::detect_copies(*frames[at], *frames[at + 1], damage[at]);
        const auto t1 = std::chrono::steady_clock::now();
        const double c1 = thread_cpu_ms();
        if (i < kWarmups) continue;
        hashed += detector.rows_hashed() - rows0;
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        cpu.push_back(c1 - c0);
      }
      print_row(kept ? "  CopyDetector, rows hashed/step " + std::to_string(hashed / kRuns)
                     : "  detect_copies",
                std::move(ms), std::move(cpu), d);
    }
  }
  // Sequences: bench/e2e's drag workload, a 600x400 window moved by (12, 7) per step and bounced
  // off the screen's edges, over a gradient and over a text desktop; damage = the changed tiles
  // and the e2e marker's.
  for (const bool textured : {false, true}) {
    const std::string name =
        std::string("sequence: drag 600x400 by (12,7)/step, ") + (textured ? "text" : "gradient");
    if (name.find(only) == std::string::npos) continue;
    std::printf("%s\n", name.c_str());
    const Frame desktop =
        textured ? make_text(kWidth, kHeight, 14) : make_gradient(kWidth, kHeight);
    const Frame window = make_window(600, 400, 15);
    std::vector<vncd::rfb::FramePtr> frames;
    std::vector<Region> damage;
    int x = 580, y = 348, dx = 12, dy = 7;
    for (int i = 0; i <= kSteps; ++i) {
      Frame f = crop(desktop, Rect{0, 0, kWidth, kHeight});
      paste(f, x, y, window, Rect{0, 0, 600, 400});
      frames.push_back(std::make_shared<const Frame>(std::move(f)));
      if (i > 0) {
        // bench/e2e's frame marker at the bottom left changes every step too, which stretches
        // the damage's bounds over the screen.
        damage.push_back(tile_diff(*frames[frames.size() - 2], *frames.back()));
        damage.back().add(Rect{0, kHeight - 16, 16, 16});
        damage.back().add(Rect{256, kHeight - 16, 16, 16});
      }
      if (x + dx < 0 || x + dx + 600 > kWidth) dx = -dx;
      if (y + dy < 0 || y + dy + 400 > kHeight) dy = -dy;
      x += dx, y += dy;
    }
    for (const bool kept : {false, true}) {
      vncd::enc::CopyDetector detector;
      std::vector<double> ms, cpu;
      DetectedCopies d;
      for (int i = 0; i < kSteps; ++i) {
        const auto at = static_cast<size_t>(i);
        const double c0 = thread_cpu_ms();
        const auto t0 = std::chrono::steady_clock::now();
        d = kept ? detector.detect(frames[at], frames[at + 1], damage[at])
                 : vncd::enc::detect_copies(*frames[at], *frames[at + 1], damage[at]);
        const auto t1 = std::chrono::steady_clock::now();
        const double c1 = thread_cpu_ms();
        if (i < kWarmups) continue;
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        cpu.push_back(c1 - c0);
      }
      print_row(kept ? "  CopyDetector" : "  detect_copies", std::move(ms), std::move(cpu), d);
    }
  }
  return 0;
}
