// bench_capture: X11FrameSource::capture() cost on a private Xvfb at 1920x1080x24, with XDamage
// and with the polling fallback, for a static screen, a small (100x20) change and a full-screen
// change; plus the whole-screen grab and compare every capture did before change detection
// (baseline), and the per-request vs per-pixel cost that sets the grab-merging threshold.
// 5 warm-up runs, then the median, min and max of N timed runs (wall time of capture() only; the
// drawing that causes the change is done and synced on another connection before the clock
// starts). Needs /usr/bin/Xvfb. Last, diff_tiles alone on synthetic frames (no X; only that with
// `bench_capture N diff`). `bench_capture N heap` keeps frames on the heap (every grab through
// the MIT-SHM strip and copied out), for comparing with frames in shared memory (the default).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "platform/common/tile_diff.h"
#include "platform/x11/x11_frame_source.h"
#include "x11_test_support.h"

namespace {

using vncd::platform::X11CaptureStats;
using vncd::platform::X11Display;
using vncd::platform::X11FrameSource;
using vncd::platform::X11FrameSourceOptions;
using vncd::rfb::Rect;
using vncd::rfb::Region;

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;
constexpr int kWarmups = 5;

// CPU time of the calling thread: capture()'s own work, without the X server's (wall time has
// both).
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Timing {
  double median_us = 0, min_us = 0, max_us = 0;
  double cpu_median_us = 0;                                    // Our thread's CPU time.
  double grabbed = 0, compared = 0, copied = 0, requests = 0;  // Per capture.
  double direct = 0, made = 0;  // Grabs straight into the frame, frames made in MIT-SHM.
  double found = 0;             // Fraction of captures that reported a change.
};

class Painter {
 public:
  explicit Painter(X11Display display) : d_(std::move(display)) {
    gc_ = XCreateGC(d_.get(), d_.root(), 0, nullptr);
  }
  ~Painter() { XFreeGC(d_.get(), gc_); }
  void fill(const Rect& r) {
    colour_ = (colour_ + 0x030507) & 0xffffff;
    XSetForeground(d_.get(), gc_, colour_);
    XFillRectangle(d_.get(), d_.root(), gc_, r.x, r.y, static_cast<unsigned>(r.w),
                   static_cast<unsigned>(r.h));
    XSync(d_.get(), False);
  }

 private:
  X11Display d_;
  GC gc_;
  unsigned long colour_ = 0x102030;
};

// Times `runs` captures; `before` runs untimed ahead of each (drawing).
Timing measure(X11FrameSource& source, int runs, const std::function<void(int)>& before,
               const std::function<void()>& hint = {}) {
  std::vector<double> us;
  std::vector<double> cpu;
  vncd::rfb::FramePtr last;  // Held like the server holds its latest frame.
  X11CaptureStats start{};
  int found = 0;
  for (int i = -kWarmups; i < runs; ++i) {
    if (i == 0) start = source.stats();
    if (before) before(i);
    if (hint) hint();
    const double c0 = thread_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    auto c = source.capture();
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = thread_cpu_us();
    if (!c) {
      std::fprintf(stderr, "capture failed: %s\n", c.error().message().c_str());
      std::exit(1);
    }
    last = c->frame;
    if (i >= 0) {
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      cpu.push_back(c1 - c0);
      if (!c->changed.empty()) ++found;
    }
  }
  std::sort(us.begin(), us.end());
  std::sort(cpu.begin(), cpu.end());
  const X11CaptureStats end = source.stats();
  Timing t;
  t.median_us = us[us.size() / 2];
  t.min_us = us.front();
  t.max_us = us.back();
  t.cpu_median_us = cpu[cpu.size() / 2];
  const double n = runs;
  t.grabbed = static_cast<double>(end.pixels_grabbed - start.pixels_grabbed) / n;
  t.compared = static_cast<double>(end.pixels_compared - start.pixels_compared) / n;
  t.copied = static_cast<double>(end.pixels_copied - start.pixels_copied) / n;
  t.requests = static_cast<double>(end.grab_requests - start.grab_requests) / n;
  t.direct = static_cast<double>(end.grabs_into_frame - start.grabs_into_frame) / n;
  t.made = static_cast<double>(end.shm_frames_made - start.shm_frames_made) / n;
  t.found = found / n;
  return t;
}

void print_row(const char* mode, const char* scenario, const Timing& t) {
  std::printf("%-9s %-26s %10.1f %10.1f %10.1f %8.1f %11.0f %11.0f %9.0f %8.1f %6.1f %5.2f %6.2f\n",
              mode, scenario, t.median_us, t.min_us, t.max_us, t.cpu_median_us, t.grabbed,
              t.compared, t.copied, t.requests, t.direct, t.made, t.found);
}

std::unique_ptr<X11FrameSource> open_source(const std::string& display, bool damage,
                                            bool shm_frames) {
  X11FrameSourceOptions options;
  options.disable_damage = !damage;
  options.shm_frames = shm_frames;
  auto s = X11FrameSource::create(display, options);
  if (!s) {
    std::fprintf(stderr, "%s\n", s.error().message().c_str());
    std::exit(1);
  }
  if ((*s)->using_damage() != damage || !(*s)->using_shm()) {
    std::fprintf(stderr, "expected %s with MIT-SHM\n", damage ? "XDamage" : "polling");
    std::exit(1);
  }
  return std::move(s.value());
}

// diff_tiles alone on synthetic frames (no X): the change-detection cost inside capture().
void diff_only(int runs) {
  const vncd::rfb::PixelFormat pf = vncd::rfb::PixelFormat::rgb888();
  vncd::rfb::Frame before({kWidth, kHeight}, pf);
  for (size_t i = 0; i < before.stride() * kHeight; ++i) {
    before.mutable_data()[i] = static_cast<uint8_t>(i * 7 + i / 4096);
  }
  struct Case {
    const char* name;
    std::function<void(vncd::rfb::Frame&)> change;
  };
  const Case cases[] = {
      {"no change", [](vncd::rfb::Frame&) {}},
      {"glyph 9x15 + clock 60x15",
       [](vncd::rfb::Frame& f) {
         for (int y = 0; y < 15; ++y) {
           for (int x = 0; x < 9; ++x) f.mutable_row(500 + y)[(700 + x) * 4] ^= 0xff;
           for (int x = 0; x < 60; ++x) f.mutable_row(1060 + y)[(1850 + x) * 4 + 1] ^= 0xff;
         }
       }},
      {"full-screen change",
       [](vncd::rfb::Frame& f) {
         for (size_t i = 0; i < f.stride() * kHeight; ++i) f.mutable_data()[i] ^= 0x5a;
       }},
      // As X frames of depth 24 change: the fourth byte of each pixel is padding and stays.
      {"full-screen, padding kept",
       [](vncd::rfb::Frame& f) {
         for (size_t i = 0; i < f.stride() * kHeight; ++i)
           if (i % 4 != 3) f.mutable_data()[i] ^= 0x5a;
       }},
      {"terminal scrolled a line", [](vncd::rfb::Frame&) {}},
  };
  std::printf(
      "\ndiff_tiles alone, %dx%d 32 bpp, median of %d runs (us); rects in the result; exact "
      "boxes, then rows only (TileBox::kRows, what large captured areas use)\n",
      kWidth, kHeight, runs);
  const Region whole(vncd::rfb::Rect{0, 0, kWidth, kHeight});
  // A terminal scrolled by one 17-pixel line: ragged lines of 9x15 glyphs (a few pixels each) on
  // a dark background, before and after.
  auto terminal = [](int first_line) {
    vncd::rfb::Frame f({kWidth, kHeight}, vncd::rfb::PixelFormat::rgb888());
    std::memset(f.mutable_data(), 0x10, f.stride() * kHeight);
    for (int line = 0; line * 17 + 15 <= kHeight; ++line) {
      uint32_t seed = static_cast<uint32_t>(first_line + line) * 2654435761u + 1;
      auto next = [&seed] { return (seed = seed * 1103515245u + 12345u) >> 16; };
      const int cols = 40 + static_cast<int>(next() % 170);
      for (int col = 0; col < cols && col * 9 + 9 <= kWidth; ++col) {
        if (next() % 6 == 0) continue;  // A space.
        for (int dot = 0; dot < 14; ++dot) {
          const int x = col * 9 + static_cast<int>(next() % 8);
          const int y = line * 17 + 2 + static_cast<int>(next() % 12);
          std::memset(f.mutable_row(y) + x * 4, 0xd0, 3);
        }
      }
    }
    return f;
  };
  const vncd::rfb::Frame text_before = terminal(0);
  for (const Case& c : cases) {
    const bool text = std::string(c.name) == "terminal scrolled a line";
    const vncd::rfb::Frame& base = text ? text_before : before;
    vncd::rfb::Frame after = text ? terminal(1) : before;
    c.change(after);
    for (const auto boxes : {vncd::platform::TileBox::kExact, vncd::platform::TileBox::kRows}) {
      std::vector<double> us;
      size_t rects = 0;
      for (int i = -kWarmups; i < runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const Region changed = vncd::platform::diff_tiles(
            base, after, whole, vncd::platform::kDefaultTileSize, nullptr, boxes);
        const auto t1 = std::chrono::steady_clock::now();
        rects = changed.num_rects();
        if (i >= 0) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
      std::sort(us.begin(), us.end());
      const double median = us.at(us.size() / 2), least = us.at(0), most = us.at(us.size() - 1);
      std::printf("%-26s %-6s %10.1f %10.1f %10.1f %8zu rects\n", c.name,
                  boxes == vncd::platform::TileBox::kRows ? "rows" : "exact", median, least, most,
                  rects);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(5, std::atoi(argv[1])) : 101;
  if (argc > 2 && std::string(argv[2]) == "diff") {
    diff_only(runs);
    return 0;
  }
  const bool shm_frames = !(argc > 2 && std::string(argv[2]) == "heap");
  std::string error;
  auto xvfb = vncd::platform::test_support::Xvfb::start(
      &error, std::to_string(kWidth) + "x" + std::to_string(kHeight) + "x24");
  if (!xvfb) {
    std::fprintf(stderr, "cannot start Xvfb: %s\n", error.c_str());
    return 1;
  }
  auto painter_display = X11Display::open(xvfb->display());
  if (!painter_display) {
    std::fprintf(stderr, "%s\n", painter_display.error().message().c_str());
    return 1;
  }
  Painter painter(std::move(painter_display.value()));
  const Rect screen{0, 0, kWidth, kHeight};
  painter.fill(screen);

  std::printf(
      "capture() on Xvfb %dx%dx24, MIT-SHM, frames %s, median of %d runs (us; cpu: median\n"
      "of our thread's CPU time, without the X server's); per capture: pixels\n"
      "grabbed from X, compared, copied between frames; grab requests (ShmGetImage or\n"
      "CopyArea into the shared pixmap, batched); of those, grabs straight into the frame\n"
      "(direct); frames made in new MIT-SHM segments; fraction of captures that reported a\n"
      "change\n\n",
      kWidth, kHeight, shm_frames ? "in shared memory" : "on the heap", runs);
  std::printf("%-9s %-26s %10s %10s %10s %8s %11s %11s %9s %8s %6s %5s %6s\n", "mode", "scenario",
              "median", "min", "max", "cpu", "grabbed", "compared", "copied", "requests", "direct",
              "made", "found");

  for (bool damage : {true, false}) {
    auto source = open_source(xvfb->display(), damage, shm_frames);
    const char* mode = damage ? "xdamage" : "polling";
    (void)source->capture();
    print_row(mode, "static screen", measure(*source, runs, {}));
    // Different places so polling cannot rely on one lucky row; 20 rows always include a
    // sampled one (every 16th row), so each change is found in the capture right after it.
    print_row(mode, "small change 100x20", measure(*source, runs, [&](int i) {
                const int k = (i + kWarmups) % 50;
                painter.fill(Rect{(k * 337) % (kWidth - 100), (k * 151) % (kHeight - 20), 100, 20});
              }));
    print_row(mode, "full-screen change",
              measure(*source, runs, [&](int) { painter.fill(screen); }));
    if (!damage) continue;

    // What capture cost before change detection: one whole-screen grab, whole-screen compare.
    print_row("baseline", "static, whole-screen grab",
              measure(*source, runs, {}, [&] { source->add_change_hint(Region(screen)); }));
    print_row("baseline", "full change, whole grab",
              measure(
                  *source, runs, [&](int) { painter.fill(screen); },
                  [&] { source->add_change_hint(Region(screen)); }));

    // The grab-merging threshold: what one more request costs against what a pixel costs.
    const Timing none = measure(*source, runs, {});
    const Timing one = measure(*source, runs, {}, [&] {
      source->add_change_hint(Region(Rect{0, 0, 1, 1}));
    });
    const Timing many = measure(*source, runs, {}, [&] {
      Region r;
      // Far enough apart (240x135) that no two are merged into one grab.
      for (int k = 0; k < 8; ++k) r.add(Rect{k * 240, k * 135, 1, 1});
      source->add_change_hint(r);
    });
    const Timing big = measure(*source, runs, {}, [&] {
      source->add_change_hint(Region(Rect{0, 0, kWidth, 540}));
    });
    const double per_request = (many.median_us - none.median_us) / many.requests;
    const double per_pixel = (big.median_us - one.median_us) / (kWidth * 540.0);
    std::printf(
        "\ngrab cost: %.1f us per request (8 one-pixel grabs: %.1f requests, %.1f us), "
        "%.4f us per pixel (half screen: %.1f us)\n=> one request costs about %.0f "
        "pixels\n",
        per_request, many.requests, many.median_us - none.median_us, per_pixel,
        big.median_us - one.median_us, per_request / per_pixel);
  }
  diff_only(runs);
  return 0;
}
