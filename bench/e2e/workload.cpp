// e2e_workload: reproducible screen activity for the end-to-end benchmark, drawn with Xlib on a
// full-screen window of the served display. Each step ends by drawing the latency marker (see
// marker.h), waiting for the X server (XSync) and writing that step's CLOCK_MONOTONIC stamp.
//
//   e2e_workload --mode static|scroll|photo|small|drag|click|fullframe [--display :N]
//                [--rate STEPS_PER_S] [--stamps FILE] [--frames K] [--content mixed|photo|ui]
//                [--dump FILE.ppm]
//
// click: the static desktop, answering each button press inside the click target (marker.h) by
// flashing the target and drawing the marker that names the press; no periodic steps.
// fullframe: one still screen for full-frame encode timing: --content photo (one plasma frame),
// ui (terminal text) or mixed (photo on the top half, terminal text below); no steps.
// --dump writes the first screen as a binary PPM, for bench_encode --image-file.
//
// Prints "READY" on stdout once the first screen is drawn; runs until SIGTERM/SIGINT, then prints
// "steps=N late=M" on stderr (late: steps that missed their slot by more than one period).
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "marker.h"

namespace {

using vncd::bench::kMarkerBits;
using vncd::bench::kMarkerBlock;
using vncd::bench::kStripHeight;

volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler only
void on_signal(int) {
  g_stop = 1;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "e2e_workload: %s\n", message.c_str());
  std::exit(1);
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Args {
  std::string mode;
  std::string display;
  double rate = -1;
  std::string stamps;
  int frames = 30;
  std::string content = "mixed";
  std::string dump;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(f + " needs a value");
      return argv[++i];
    };
    if (f == "--mode") {
      a.mode = value();
    } else if (f == "--display") {
      a.display = value();
    } else if (f == "--rate") {
      a.rate = std::atof(value().c_str());
    } else if (f == "--stamps") {
      a.stamps = value();
    } else if (f == "--frames") {
      a.frames = std::atoi(value().c_str());
    } else if (f == "--content") {
      a.content = value();
    } else if (f == "--dump") {
      a.dump = value();
    } else {
      die("unknown option " + f);
    }
  }
  if (a.mode != "static" && a.mode != "scroll" && a.mode != "photo" && a.mode != "small" &&
      a.mode != "drag" && a.mode != "click" && a.mode != "fullframe")
    die("--mode must be static, scroll, photo, small, drag, click or fullframe");
  if (a.content != "mixed" && a.content != "photo" && a.content != "ui")
    die("--content must be mixed, photo or ui");
  const bool still = a.mode == "static" || a.mode == "click" || a.mode == "fullframe";
  if (a.rate < 0) a.rate = a.mode == "small" ? 10 : still ? 0 : 30;
  if (a.mode == "click" && a.rate > 0) die("click mode has no periodic steps (--rate 0)");
  if (a.frames < 2 || a.frames > 240) die("--frames must be 2..240");
  return a;
}

// The stamp file, mapped shared so the client reads stamps without any I/O during a run.
class StampFile {
 public:
  explicit StampFile(const std::string& path) {
    if (path.empty()) return;
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0) die("cannot open " + path + ": " + std::strerror(errno));
    if (::ftruncate(fd, vncd::bench::kStampFileSize) != 0) die("cannot size " + path);
    void* p =
        ::mmap(nullptr, vncd::bench::kStampFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) die("cannot map " + path);
    stamps_ = static_cast<int64_t*>(p);
  }
  ~StampFile() {
    if (stamps_ != nullptr) ::munmap(stamps_, vncd::bench::kStampFileSize);
  }
  StampFile(const StampFile&) = delete;
  StampFile& operator=(const StampFile&) = delete;

  void stamp(uint16_t seq, int64_t t) {
    if (stamps_ != nullptr) __atomic_store_n(&stamps_[seq], t, __ATOMIC_RELEASE);
  }

 private:
  int64_t* stamps_ = nullptr;
};

struct DisplayCloser {
  void operator()(Display* d) const { XCloseDisplay(d); }
};
using DisplayPtr = std::unique_ptr<Display, DisplayCloser>;

// An XImage over pixels this program owns; the deleter detaches them so Xlib does not free them.
struct ImageDeleter {
  void operator()(XImage* image) const {
    image->data = nullptr;
    XDestroyImage(image);
  }
};
using ImagePtr = std::unique_ptr<XImage, ImageDeleter>;

// Small deterministic generator, so every run draws the same pixels.
class Lcg {
 public:
  explicit Lcg(uint32_t seed) : state_(seed) {}
  uint32_t next() {
    state_ = state_ * 1664525u + 1013904223u;
    return state_ >> 8;
  }
  uint32_t below(uint32_t n) { return next() % n; }

 private:
  uint32_t state_;
};

class Workload {
 public:
  Workload(Display* dpy, const Args& args) : dpy_(dpy), args_(args), stamps_(args.stamps) {
    const int screen = DefaultScreen(dpy_);
    width_ = DisplayWidth(dpy_, screen);
    height_ = DisplayHeight(dpy_, screen);
    area_h_ = height_ - kStripHeight;
    visual_ = DefaultVisual(dpy_, screen);
    depth_ = DefaultDepth(dpy_, screen);
    if (visual_->c_class != TrueColor || depth_ < 24) die("needs a 24-bit TrueColor display");
    root_ = RootWindow(dpy_, screen);

    desktop_ = make_desktop();
    XSetWindowAttributes attrs{};
    attrs.override_redirect = True;
    attrs.background_pixmap = desktop_;
    win_ = XCreateWindow(dpy_, root_, 0, 0, width_, height_, 0, CopyFromParent, InputOutput,
                         CopyFromParent, CWOverrideRedirect | CWBackPixmap, &attrs);
    gc_ = XCreateGC(dpy_, win_, 0, nullptr);
    black_gc_ = XCreateGC(dpy_, win_, 0, nullptr);
    white_gc_ = XCreateGC(dpy_, win_, 0, nullptr);
    XSetForeground(dpy_, black_gc_, 0x000000);
    XSetForeground(dpy_, white_gc_, 0xffffff);
    font_ = XLoadQueryFont(dpy_, "9x15");
    if (font_ == nullptr) font_ = XLoadQueryFont(dpy_, "fixed");
    if (font_ == nullptr) die("no fixed font on the display");
    XSetFont(dpy_, gc_, font_->fid);
    line_h_ = font_->ascent + font_->descent;
    char_w_ = font_->max_bounds.width;
    XMapRaised(dpy_, win_);
    XSync(dpy_, False);
  }
  ~Workload() {
    if (font_ != nullptr) XFreeFont(dpy_, font_);
    XFreeGC(dpy_, gc_);
    XFreeGC(dpy_, black_gc_);
    XFreeGC(dpy_, white_gc_);
    if (drag_win_ != 0) XDestroyWindow(dpy_, drag_win_);
    if (drag_pixmap_ != 0) XFreePixmap(dpy_, drag_pixmap_);
    XDestroyWindow(dpy_, win_);
    XFreePixmap(dpy_, desktop_);
    XSync(dpy_, False);
  }
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  void setup() {
    if (args_.mode == "scroll") {
      XSetForeground(dpy_, gc_, 0x101010);
      XFillRectangle(dpy_, win_, gc_, 0, 0, width_, area_h_);
      for (int y = 0; y + line_h_ <= area_h_; y += line_h_) draw_text_line(y);
    } else if (args_.mode == "photo") {
      make_photo_frames();
      XPutImage(dpy_, win_, gc_, frames_[0].get(), 0, 0, 0, 0, width_, area_h_);
    } else if (args_.mode == "small") {
      XSetForeground(dpy_, gc_, 0x202020);
      XFillRectangle(dpy_, win_, gc_, kTypeX - 8, kTypeY - 8, kTypeCols * char_w_ + 16,
                     kTypeRows * line_h_ + 16);
    } else if (args_.mode == "drag") {
      make_drag_window();
    } else if (args_.mode == "click") {
      XSelectInput(dpy_, win_, ButtonPressMask);
      draw_click_target();
    } else if (args_.mode == "fullframe") {
      draw_still();
    }
    draw_marker();
    XSync(dpy_, False);
  }

  // Click mode: answers the presses queued on the connection; returns how many it answered.
  long handle_clicks() {
    long answered = 0;
    while (XPending(dpy_) > 0) {
      XEvent ev{};
      XNextEvent(dpy_, &ev);
      if (ev.type != ButtonPress || ev.xbutton.window != win_) continue;
      const int cx = ev.xbutton.x - vncd::bench::kClickX;
      const int cy = ev.xbutton.y - vncd::bench::kClickY;
      if (cx < 0 || cy < 0 || cx >= vncd::bench::kClickSide || cy >= vncd::bench::kClickSide)
        continue;
      ++clicks_;
      draw_click_target();
      const uint16_t seq = vncd::bench::click_sequence(cy * vncd::bench::kClickSide + cx);
      draw_marker_for(seq);
      XSync(dpy_, False);
      stamps_.stamp(seq, now_ns());
      ++answered;
    }
    return answered;
  }

  // One step of the workload, then the marker with the next sequence number and its stamp.
  void step() {
    if (args_.mode == "scroll") {
      step_scroll();
    } else if (args_.mode == "photo") {
      const auto& frame = frames_[static_cast<size_t>(step_ % frames_.size())];
      XPutImage(dpy_, win_, gc_, frame.get(), 0, 0, 0, 0, width_, area_h_);
    } else if (args_.mode == "small") {
      step_small();
    } else if (args_.mode == "drag") {
      step_drag();
    }
    ++step_;
    draw_marker();
    XSync(dpy_, False);
    stamps_.stamp(seq_, now_ns());
  }

 private:
  static constexpr int kTypeX = 240, kTypeY = 300, kTypeCols = 64, kTypeRows = 4;
  static constexpr int kDragW = 600, kDragH = 400;

  void draw_marker() {
    seq_ = vncd::bench::next_sequence(seq_);
    draw_marker_for(seq_);
  }

  void draw_marker_for(uint16_t seq) {
    std::array<XRectangle, kMarkerBits> light{}, dark{};
    int nl = 0, nd = 0;
    for (int bit = 0; bit < kMarkerBits; ++bit) {
      const XRectangle r{static_cast<short>(bit * kMarkerBlock),
                         static_cast<short>(height_ - kStripHeight), kMarkerBlock, kMarkerBlock};
      if (vncd::bench::marker_bit(seq, bit)) {
        light[static_cast<size_t>(nl++)] = r;
      } else {
        dark[static_cast<size_t>(nd++)] = r;
      }
    }
    XFillRectangles(dpy_, win_, white_gc_, light.data(), nl);
    XFillRectangles(dpy_, win_, black_gc_, dark.data(), nd);
  }

  unsigned long rgb(int r, int g, int b) const {
    auto put = [](int v, unsigned long mask) {
      const int shift = __builtin_ctzl(mask);
      return (static_cast<unsigned long>(v & 0xff) << shift) & mask;
    };
    return put(r, visual_->red_mask) | put(g, visual_->green_mask) | put(b, visual_->blue_mask);
  }

  // A desktop: a vertical gradient with a few flat "windows" carrying title bars and text.
  Pixmap make_desktop() {
    Pixmap pm = XCreatePixmap(dpy_, root_, width_, height_, depth_);
    std::vector<uint32_t> pixels(static_cast<size_t>(width_) * height_);
    for (int y = 0; y < height_; ++y) {
      const unsigned long c =
          rgb(30 + y * 40 / height_, 60 + y * 50 / height_, 110 + y * 60 / height_);
      std::fill_n(pixels.begin() + static_cast<long>(y) * width_, width_, static_cast<uint32_t>(c));
    }
    ImagePtr image(XCreateImage(dpy_, visual_, depth_, ZPixmap, 0,
                                reinterpret_cast<char*>(pixels.data()), width_, height_, 32,
                                width_ * 4));
    GC gc = XCreateGC(dpy_, pm, 0, nullptr);
    XPutImage(dpy_, pm, gc, image.get(), 0, 0, 0, 0, width_, height_);
    XFontStruct* font = XLoadQueryFont(dpy_, "fixed");
    if (font != nullptr) XSetFont(dpy_, gc, font->fid);
    Lcg lcg(7);
    const int boxes[][4] = {{80, 60, 700, 460}, {900, 120, 820, 380}, {400, 600, 900, 360}};
    for (const auto& b : boxes) {
      XSetForeground(dpy_, gc, rgb(235, 235, 230));
      XFillRectangle(dpy_, pm, gc, b[0], b[1], b[2], b[3]);
      XSetForeground(dpy_, gc, rgb(60, 90, 150));
      XFillRectangle(dpy_, pm, gc, b[0], b[1], b[2], 24);
      XSetForeground(dpy_, gc, rgb(20, 20, 20));
      for (int y = b[1] + 44; y < b[1] + b[3] - 8; y += 16) {
        std::string line;
        while (static_cast<int>(line.size()) * 6 < b[2] - 40) line += word(lcg) + " ";
        XDrawString(dpy_, pm, gc, b[0] + 10, y, line.c_str(), static_cast<int>(line.size()));
      }
    }
    if (font != nullptr) XFreeFont(dpy_, font);
    XFreeGC(dpy_, gc);
    return pm;
  }

  static std::string word(Lcg& lcg) {
    static const char* const kWords[] = {
        "request", "worker", "INFO",  "DEBUG", "latency",     "frame", "update", "region", "encode",
        "socket",  "flush",  "12ms",  "ok",    "client",      "tile",  "damage", "x=1024", "id=42",
        "the",     "a",      "queue", "GET",   "/index.html", "200",   "WARN",   "retry",  "done"};
    return kWords[lcg.below(sizeof(kWords) / sizeof(kWords[0]))];
  }

  void draw_text_line(int y) {
    Lcg lcg(static_cast<uint32_t>(line_no_++) * 2654435761u + 1);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "2026-01-01 10:%02d:%02d.%03d [worker-%u] ",
                  (line_no_ / 3600) % 60, (line_no_ / 60) % 60, line_no_ % 1000, lcg.below(8));
    std::string line = stamp;
    const size_t cols = static_cast<size_t>(width_ / char_w_) - 1;
    while (line.size() < cols) line += word(lcg) + " ";
    line.resize(cols - lcg.below(static_cast<uint32_t>(cols / 2)));
    XSetForeground(dpy_, gc_, lcg.below(5) == 0 ? rgb(120, 220, 120) : rgb(210, 210, 210));
    XDrawString(dpy_, win_, gc_, 2, y + font_->ascent, line.c_str(), static_cast<int>(line.size()));
  }

  // A terminal scrolling by one line: copy everything up, clear and draw the new bottom line.
  void step_scroll() {
    const int rows = area_h_ / line_h_;
    const int text_h = rows * line_h_;
    XCopyArea(dpy_, win_, win_, gc_, 0, line_h_, width_, text_h - line_h_, 0, 0);
    XSetForeground(dpy_, gc_, 0x101010);
    XFillRectangle(dpy_, win_, gc_, 0, text_h - line_h_, width_, line_h_);
    draw_text_line(text_h - line_h_);
  }

  // Typing into a small text box plus a clock: a few glyphs change per step.
  void step_small() {
    static const char kText[] =
        "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ";
    const int pos = static_cast<int>(step_ % (kTypeCols * kTypeRows));
    if (pos == 0) {
      XSetForeground(dpy_, gc_, 0x202020);
      XFillRectangle(dpy_, win_, gc_, kTypeX, kTypeY, kTypeCols * char_w_, kTypeRows * line_h_);
    }
    const char c = kText[static_cast<size_t>(step_ % (sizeof kText - 1))];
    XSetForeground(dpy_, gc_, rgb(230, 230, 230));
    XSetBackground(dpy_, gc_, 0x202020);
    XDrawImageString(dpy_, win_, gc_, kTypeX + (pos % kTypeCols) * char_w_,
                     kTypeY + (pos / kTypeCols) * line_h_ + font_->ascent, &c, 1);
    char clock[32];
    const long tenths = step_;
    std::snprintf(clock, sizeof clock, " %02ld:%02ld:%02ld.%ld ", (tenths / 36000) % 24,
                  (tenths / 600) % 60, (tenths / 10) % 60, tenths % 10);
    XSetForeground(dpy_, gc_, rgb(255, 255, 255));
    XSetBackground(dpy_, gc_, rgb(60, 90, 150));
    XDrawImageString(dpy_, win_, gc_, width_ - 160, 20, clock,
                     static_cast<int>(std::strlen(clock)));
  }

  // A window with content, moved by the X server (as a window manager's drag does); the desktop
  // behind it is repainted from the background pixmap without a round trip to this program.
  void make_drag_window() {
    drag_pixmap_ = XCreatePixmap(dpy_, win_, kDragW, kDragH, depth_);
    std::vector<uint32_t> pixels(static_cast<size_t>(kDragW) * kDragH);
    for (int y = 0; y < kDragH; ++y) {
      for (int x = 0; x < kDragW; ++x) {
        const bool image = y > 40 && y < 220 && x > 20 && x < kDragW - 20;
        pixels[static_cast<size_t>(y) * kDragW + x] = static_cast<uint32_t>(
            image ? rgb(128 + 100 * std::sin(x * 0.03), 128 + 100 * std::sin(y * 0.05 + x * 0.01),
                        128 + 100 * std::cos((x + y) * 0.02))
                  : rgb(240, 240, 236));
      }
    }
    ImagePtr image(XCreateImage(dpy_, visual_, depth_, ZPixmap, 0,
                                reinterpret_cast<char*>(pixels.data()), kDragW, kDragH, 32,
                                kDragW * 4));
    XPutImage(dpy_, drag_pixmap_, gc_, image.get(), 0, 0, 0, 0, kDragW, kDragH);
    XSetForeground(dpy_, gc_, rgb(60, 90, 150));
    XFillRectangle(dpy_, drag_pixmap_, gc_, 0, 0, kDragW, 24);
    XSetForeground(dpy_, gc_, rgb(20, 20, 20));
    Lcg lcg(99);
    for (int y = 240; y < kDragH - 8; y += line_h_) {
      std::string line;
      while (static_cast<int>(line.size()) * char_w_ < kDragW - 60) line += word(lcg) + " ";
      XDrawString(dpy_, drag_pixmap_, gc_, 10, y, line.c_str(), static_cast<int>(line.size()));
    }
    XSetWindowAttributes attrs{};
    attrs.background_pixmap = drag_pixmap_;
    drag_win_ = XCreateWindow(dpy_, win_, drag_x_, drag_y_, kDragW, kDragH, 1, CopyFromParent,
                              InputOutput, CopyFromParent, CWBackPixmap, &attrs);
    XMapRaised(dpy_, drag_win_);
  }

  void step_drag() {
    drag_x_ += drag_dx_;
    drag_y_ += drag_dy_;
    const int max_x = width_ - kDragW - 2, max_y = area_h_ - kDragH - 2;
    if (drag_x_ < 0 || drag_x_ > max_x) {
      drag_dx_ = -drag_dx_;
      drag_x_ += 2 * drag_dx_;
    }
    if (drag_y_ < 0 || drag_y_ > max_y) {
      drag_dy_ = -drag_dy_;
      drag_y_ += 2 * drag_dy_;
    }
    XMoveWindow(dpy_, drag_win_, drag_x_, drag_y_);
  }

  // A button that changes colour with every press, as a toolkit's pressed state would.
  void draw_click_target() {
    XSetForeground(dpy_, gc_, (clicks_ & 1) != 0 ? rgb(200, 80, 60) : rgb(60, 140, 200));
    XFillRectangle(dpy_, win_, gc_, vncd::bench::kClickX, vncd::bench::kClickY,
                   vncd::bench::kClickSide, vncd::bench::kClickSide);
  }

  // The full-frame screen: photo rows from the top (all of them for "photo", half for "mixed"),
  // terminal text below.
  void draw_still() {
    const int photo_h = args_.content == "photo"   ? area_h_
                        : args_.content == "mixed" ? area_h_ / 2
                                                   : 0;
    if (photo_h > 0) {
      pixels_.push_back(photo_frame(0, args_.frames));
      ImagePtr image(XCreateImage(dpy_, visual_, depth_, ZPixmap, 0,
                                  reinterpret_cast<char*>(pixels_.back().data()), width_, area_h_,
                                  32, width_ * 4));
      XPutImage(dpy_, win_, gc_, image.get(), 0, 0, 0, 0, width_, photo_h);
    }
    XSetForeground(dpy_, gc_, 0x101010);
    XFillRectangle(dpy_, win_, gc_, 0, photo_h, width_, area_h_ - photo_h);
    for (int y = photo_h; y + line_h_ <= area_h_; y += line_h_) draw_text_line(y);
  }

  // Video-like frames: a smooth plasma that moves (not a rigid translation, so no scroll or move
  // detector can turn it into CopyRect) with per-frame grain like a camera's. The frame count is
  // one period of every term, so the loop is seamless.
  std::vector<uint32_t> photo_frame(int f, int k) const {
    constexpr int kTable = 1024;
    std::vector<float> sine(kTable);
    for (int i = 0; i < kTable; ++i) sine[static_cast<size_t>(i)] = std::sin(i * 2 * M_PI / kTable);
    auto s = [&](int i) { return sine[static_cast<size_t>(i & (kTable - 1))]; };
    std::vector<uint32_t> px(static_cast<size_t>(width_) * area_h_);
    const int t = f * kTable / k;
    Lcg grain(static_cast<uint32_t>(f) * 7919u + 3);
    for (int y = 0; y < area_h_; ++y) {
      for (int x = 0; x < width_; ++x) {
        const float v1 = s(x / 3 + t);
        const float v2 = s(y / 2 - 2 * t);
        const float v3 = s((x + y) / 5 + 3 * t);
        const float v4 = s(static_cast<int>(std::hypot(x - 960.0f, y - 540.0f)) / 4 - t);
        const float v = v1 + v2 + v3 + v4;  // -4..4
        const int n = static_cast<int>(grain.below(9)) - 4;
        const int r = std::clamp(static_cast<int>(128 + 30 * v + 40 * v1) + n, 0, 255);
        const int g = std::clamp(static_cast<int>(128 + 25 * v - 30 * v2) + n, 0, 255);
        const int b = std::clamp(static_cast<int>(128 - 20 * v + 45 * v4) + n, 0, 255);
        px[static_cast<size_t>(y) * width_ + x] = static_cast<uint32_t>(rgb(r, g, b));
      }
    }
    return px;
  }

  void make_photo_frames() {
    const int k = args_.frames;
    for (int f = 0; f < k; ++f) {
      pixels_.push_back(photo_frame(f, k));
      auto& px = pixels_.back();
      frames_.emplace_back(XCreateImage(dpy_, visual_, depth_, ZPixmap, 0,
                                        reinterpret_cast<char*>(px.data()), width_, area_h_, 32,
                                        width_ * 4));
    }
  }

  Display* dpy_;
  const Args& args_;
  StampFile stamps_;
  int width_ = 0, height_ = 0, area_h_ = 0, depth_ = 0;
  Visual* visual_ = nullptr;
  Window root_ = 0, win_ = 0, drag_win_ = 0;
  Pixmap desktop_ = 0, drag_pixmap_ = 0;
  GC gc_{}, black_gc_{}, white_gc_{};
  XFontStruct* font_ = nullptr;
  int line_h_ = 15, char_w_ = 9;
  int line_no_ = 0;
  long step_ = 0;
  long clicks_ = 0;
  uint16_t seq_ = 0;
  int drag_x_ = 40, drag_y_ = 40, drag_dx_ = 12, drag_dy_ = 7;
  std::vector<std::vector<uint32_t>> pixels_;
  std::vector<ImagePtr> frames_;
};

// The root window as a binary PPM (P6, 8 bits per channel).
void dump_screen(Display* dpy, const std::string& path) {
  const int screen = DefaultScreen(dpy);
  const int w = DisplayWidth(dpy, screen), h = DisplayHeight(dpy, screen);
  // Xlib owns these pixels: XDestroyImage frees them with the image.
  std::unique_ptr<XImage, int (*)(XImage*)> image(
      XGetImage(dpy, RootWindow(dpy, screen), 0, 0, static_cast<unsigned>(w),
                static_cast<unsigned>(h), AllPlanes, ZPixmap),
      [](XImage* i) { return XDestroyImage(i); });
  if (!image) die("cannot read the screen for --dump");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) die("cannot write " + path);
  std::fprintf(f, "P6\n%d %d\n255\n", w, h);
  std::vector<uint8_t> row(static_cast<size_t>(w) * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const unsigned long p = XGetPixel(image.get(), x, y);
      row[static_cast<size_t>(x) * 3] = static_cast<uint8_t>(p >> 16);
      row[static_cast<size_t>(x) * 3 + 1] = static_cast<uint8_t>(p >> 8);
      row[static_cast<size_t>(x) * 3 + 2] = static_cast<uint8_t>(p);
    }
    std::fwrite(row.data(), 1, row.size(), f);
  }
  if (std::fclose(f) != 0) die("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  DisplayPtr dpy(XOpenDisplay(args.display.empty() ? nullptr : args.display.c_str()));
  if (!dpy) die("cannot open display " + args.display);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  long steps = 0, late = 0;
  {
    Workload w(dpy.get(), args);
    w.setup();
    if (!args.dump.empty()) dump_screen(dpy.get(), args.dump);
    std::printf("READY\n");
    std::fflush(stdout);
    const int64_t period = args.rate > 0 ? static_cast<int64_t>(1e9 / args.rate) : 0;
    const int64_t start = now_ns();
    int64_t slot = 1;
    while (g_stop == 0) {
      if (args.mode == "click") {
        // Presses arrive on the X connection; SIGTERM interrupts poll.
        pollfd pfd{ConnectionNumber(dpy.get()), POLLIN, 0};
        if (XPending(dpy.get()) == 0 && ::poll(&pfd, 1, 200) <= 0) continue;
        steps += w.handle_clicks();
        continue;
      }
      if (period == 0) {
        pause();
        continue;
      }
      const int64_t due = start + slot * period;
      const timespec ts{static_cast<time_t>(due / 1000000000), static_cast<long>(due % 1000000000)};
      if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0) continue;
      w.step();
      ++steps;
      // A step that overran skips the slots it missed rather than bursting to catch up.
      const int64_t next = (now_ns() - start) / period + 1;
      if (next > slot + 1) late += next - slot - 1;
      slot = std::max(slot + 1, next);
    }
  }
  std::fprintf(stderr, "steps=%ld late=%ld\n", steps, late);
  return 0;
}
