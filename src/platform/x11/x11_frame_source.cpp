#include "platform/x11/x11_frame_source.h"

#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xrandr.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>
#include <utility>

#include "platform/common/grab_plan.h"
#include "platform/x11/x11_damage.h"
#include "rfb/log.h"

namespace vncd::platform {
namespace {

// What one more grab request costs, in pixels grabbed, copied and compared: rectangles whose
// bounding box wastes less than this are fetched as one. Measured on Xvfb 1920x1080 (2 cores):
// an XShmGetImage round trip costs 50-80 us and a pixel (grab, copy, compare) about 0.8-1 ns, so
// a request is worth ~64k pixels. Batched copies into the shared pixmap share one round trip and
// cost only their processing, 2.5-6 us (bench_capture's "grab cost" line): ~4k pixels.
constexpr int64_t kGrabRequestCostPixels = 65536;
constexpr int64_t kBatchedGrabCostPixels = 4096;

// Areas at least this fraction of the screen wide are widened to the full width when frames live
// in shared memory, so the X server writes them straight into the frame in one request. Widening
// a w-pixel-wide area to the screen's W costs comparing W - w more pixels per row and saves
// copying w out of the strip (about as dear per pixel) plus the strip's round trips: even for us
// at w = W/2; 2/3 leaves room for the extra writing the X server does. Narrower areas keep the
// strip, and only what they cover is compared.
constexpr int kWidenNumerator = 2;
constexpr int kWidenDenominator = 3;

// Where the damaged (or polled) area is at least this many pixels (a 512x512 square, 1/8 of a
// 1080p screen; about 0.25 ms of comparing), the grab is compared for changed rows only
// (TileBox::kRows): a scroll or a moved window, where the copy detector finds the content's
// motion. Smaller changes (typing, a clock, a caret, scattered ones a merged grab covers) keep
// exact boxes, which are what they send.
constexpr int64_t kRowBoxesMinArea = int64_t{1} << 18;

// `plan` with its wide rectangles widened to full-width bands and the rest, minus those bands,
// planned again. Each band is a round trip of its own (no batching into the strip), so bands
// closer than a round trip's worth of pixels are fetched as one.
std::vector<rfb::Rect> widen_to_rows(const std::vector<rfb::Rect>& plan, int width,
                                     int64_t request_cost) {
  rfb::Region rows;
  rfb::Region rest;
  for (const rfb::Rect& r : plan) {
    if (int64_t{kWidenDenominator} * r.w >= int64_t{kWidenNumerator} * width) {
      rows.add(rfb::Rect{0, r.y, width, r.h});
    } else {
      rest.add(r);
    }
  }
  if (rows.empty()) return plan;
  std::vector<rfb::Rect> out;
  for (const rfb::Rect& band : rows.rects()) {  // Top to bottom.
    if (!out.empty() && int64_t{band.y - out.back().bottom()} * width < kGrabRequestCostPixels) {
      out.back().h = band.bottom() - out.back().y;
      rows.add(out.back());
    } else {
      out.push_back(band);
    }
  }
  rest.subtract(rows);
  if (!rest.empty()) {
    const std::vector<rfb::Rect> more = plan_grabs(rest, request_cost);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

struct XImageDeleter {
  void operator()(XImage* image) const { XDestroyImage(image); }
};
using XImagePtr = std::unique_ptr<XImage, XImageDeleter>;

// A SysV shared memory segment attached to this process. Move-only.
class ShmSegment {
 public:
  static Result<ShmSegment> create(size_t bytes) {
    const int id = shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
    if (id < 0) return Error(std::string("shmget failed: ") + std::strerror(errno));
    void* addr = shmat(id, nullptr, 0);
    if (addr == reinterpret_cast<void*>(-1)) {
      const int err = errno;
      shmctl(id, IPC_RMID, nullptr);
      return Error(std::string("shmat failed: ") + std::strerror(err));
    }
    return ShmSegment(id, addr);
  }
  ShmSegment(ShmSegment&& o) noexcept
      : id_(std::exchange(o.id_, -1)), addr_(std::exchange(o.addr_, nullptr)) {}
  ShmSegment& operator=(ShmSegment&&) = delete;
  ~ShmSegment() {
    if (addr_ != nullptr) shmdt(addr_);
    mark_removed();
  }

  // Marks the segment for removal once every process has detached, so a crash leaks nothing.
  // Only after the X server attached: a removed segment cannot be attached any more.
  void mark_removed() {
    if (id_ >= 0) shmctl(id_, IPC_RMID, nullptr);
    id_ = -1;
  }
  int id() const { return id_; }
  char* addr() const { return static_cast<char*>(addr_); }
  // Hands the process's mapping to the caller, who must shmdt() it.
  char* release_mapping() { return static_cast<char*>(std::exchange(addr_, nullptr)); }

 private:
  ShmSegment(int id, void* addr) : id_(id), addr_(addr) {}
  int id_;
  void* addr_;
};

Result<rfb::PixelFormat> format_from_visual(Display* dpy, const Visual* visual, int depth) {
  if (visual->c_class != TrueColor && visual->c_class != DirectColor) {
    return Error(
        "the X display's default visual is not true colour (colour-map visuals are not "
        "supported)");
  }
  int bpp = 0;
  int count = 0;
  XPixmapFormatValues* formats = XListPixmapFormats(dpy, &count);
  for (int i = 0; i < count; ++i) {
    if (formats[i].depth == depth) bpp = formats[i].bits_per_pixel;
  }
  if (formats != nullptr) XFree(formats);
  if (bpp != 8 && bpp != 16 && bpp != 32) {
    return Error("unsupported X pixmap format: depth " + std::to_string(depth) + " at " +
                 std::to_string(bpp) + " bits per pixel");
  }

  rfb::PixelFormat pf;
  pf.bpp = static_cast<uint8_t>(bpp);
  pf.depth = static_cast<uint8_t>(depth);
  pf.big_endian = ImageByteOrder(dpy) == MSBFirst;
  pf.true_colour = true;
  const unsigned long masks[3] = {visual->red_mask, visual->green_mask, visual->blue_mask};
  uint16_t* maxes[3] = {&pf.red_max, &pf.green_max, &pf.blue_max};
  uint8_t* shifts[3] = {&pf.red_shift, &pf.green_shift, &pf.blue_shift};
  for (int c = 0; c < 3; ++c) {
    const unsigned long mask = masks[c];
    if (mask == 0) return Error("X visual has an empty colour mask");
    const int shift = std::countr_zero(mask);
    const unsigned long max = mask >> shift;
    if ((max & (max + 1)) != 0 || max > 255) {
      return Error("unsupported X visual: colour masks must be contiguous and at most 8 bits");
    }
    *maxes[c] = static_cast<uint16_t>(max);
    *shifts[c] = static_cast<uint8_t>(shift);
  }
  if (Result<void> st = pf.validate(); !st) {
    return Error("unsupported X pixel format " + pf.str() + ": " + st.error().message());
  }
  return pf;
}

}  // namespace

// One XShm image a screen wide and a strip high (see kDefaultShmStripBytes): the segment, the
// XImage describing it, and the server's attachment. Torn down in the reverse order.
class ShmImage {
 public:
  static Result<std::unique_ptr<ShmImage>> create(X11Display& display, Visual* visual, int depth,
                                                  rfb::Size size) {  // The strip's size.
    Display* dpy = display.get();
    auto info = std::make_unique<XShmSegmentInfo>();
    XImagePtr image(XShmCreateImage(dpy, visual, static_cast<unsigned>(depth), ZPixmap, nullptr,
                                    info.get(), static_cast<unsigned>(size.width),
                                    static_cast<unsigned>(size.height)));
    if (!image) return Error("XShmCreateImage failed");
    auto segment = ShmSegment::create(static_cast<size_t>(image->bytes_per_line) *
                                      static_cast<size_t>(image->height));
    if (!segment) return segment.error();
    info->shmid = segment->id();
    info->shmaddr = segment->addr();
    info->readOnly = False;
    image->data = segment->addr();

    std::optional<XErrorRecord> err;
    {
      X11ErrorTrap trap(display);
      XShmAttach(dpy, info.get());
      err = trap.sync();
    }
    segment->mark_removed();  // The server has attached (or failed to): nobody else needs the id.
    if (err || display.lost()) {
      image->data = nullptr;
      return Error("XShmAttach failed: " + (err ? err->text : std::string("connection lost")));
    }
    auto shm = std::unique_ptr<ShmImage>(
        new ShmImage(dpy, std::move(info), std::move(segment.value()), std::move(image)));
    shm->setup_pixmap(display, depth);
    return shm;
  }

  ~ShmImage() {
    if (gc_ != nullptr) XFreeGC(dpy_, gc_);
    if (pixmap_ != 0) XFreePixmap(dpy_, pixmap_);
    XShmDetach(dpy_, info_.get());
    image_->data = nullptr;  // The segment is not Xlib's to free.
    image_.reset();
    // segment_ detaches last, after the server was told to let go.
  }
  ShmImage(const ShmImage&) = delete;
  ShmImage& operator=(const ShmImage&) = delete;

  XImage& image() { return *image_; }
  rfb::Size size() const { return {image_->width, image_->height}; }
  // A pixmap over the same segment (0 when the server cannot share pixmaps): copying the root
  // window into it is a request without a reply, so many rectangles cost one round trip.
  Pixmap pixmap() const { return pixmap_; }
  // For copies from the root into pixmap(): includes child windows, no expose events.
  GC gc() const { return gc_; }

 private:
  void setup_pixmap(X11Display& display, int depth) {
    int major = 0, minor = 0;
    Bool shared_pixmaps = False;
    if (!XShmQueryVersion(dpy_, &major, &minor, &shared_pixmaps) || !shared_pixmaps ||
        XShmPixmapFormat(dpy_) != ZPixmap) {
      return;
    }
    std::optional<XErrorRecord> err;
    Pixmap pixmap = 0;
    {
      X11ErrorTrap trap(display);
      pixmap = XShmCreatePixmap(
          dpy_, display.root(), image_->data, info_.get(), static_cast<unsigned>(image_->width),
          static_cast<unsigned>(image_->height), static_cast<unsigned>(depth));
      err = trap.sync();
    }
    if (err || display.lost()) return;  // Per-rectangle XShmGetImage still works.
    XGCValues values;
    values.subwindow_mode = IncludeInferiors;
    values.graphics_exposures = False;
    pixmap_ = pixmap;
    gc_ = XCreateGC(dpy_, pixmap_, GCSubwindowMode | GCGraphicsExposures, &values);
  }

  ShmImage(Display* dpy, std::unique_ptr<XShmSegmentInfo> info, ShmSegment segment, XImagePtr image)
      : dpy_(dpy), info_(std::move(info)), segment_(std::move(segment)), image_(std::move(image)) {}

  Display* dpy_;
  std::unique_ptr<XShmSegmentInfo> info_;  // XShmCreateImage keeps a pointer to it.
  ShmSegment segment_;
  XImagePtr image_;
  Pixmap pixmap_ = 0;
  GC gc_ = nullptr;
};

// Segments whose frames were released, handed from whichever thread dropped a frame to the loop
// thread, which detaches (XShmDetach is an Xlib call) or reuses them. Once the source has gone
// (closed), a release unmaps its segment itself: closing the X connection detached the rest.
struct ReleasedShmSegments {
  std::mutex mutex;
  std::vector<char*> addresses;  // Still mapped and attached.
  bool closed = false;
};

// Frames whose pixels are MIT-SHM segments the X server has attached, so one XShmGetImage of a
// full-width area writes straight into the frame at y * stride. Loop thread only, except each
// frame's release, which runs wherever the frame dies and only queues its segment.
// Reuse: a new segment costs an attach round trip and a screen's worth of page faults on both
// sides, while recycling frames (FramePool) frees spares after large overwrites; so drain() keeps
// one released segment for the next allocation in this capture, and end_capture() unmaps it when
// nothing wanted it: no more memory lives between captures than heap frames would keep.
class ShmFrames {
 public:
  // Null when a frame of `size` cannot take a direct grab: the X image's row for the full width
  // must be exactly the frame's packed row (the server pads rows to bitmap_pad, e.g. 16 bpp at an
  // odd width), and the image must have the frame's pixel layout.
  static std::unique_ptr<ShmFrames> create(X11Display& display, Visual* visual, int depth,
                                           rfb::Size size, const rfb::PixelFormat& format) {
    if (size.width <= 0 || size.height <= 0) return nullptr;
    auto info = std::make_unique<XShmSegmentInfo>();
    XImagePtr header(XShmCreateImage(display.get(), visual, static_cast<unsigned>(depth), ZPixmap,
                                     nullptr, info.get(), static_cast<unsigned>(size.width), 1));
    if (!header) return nullptr;
    const int64_t packed = int64_t{size.width} * format.bytes_per_pixel();
    if (header->bytes_per_line != packed || header->bits_per_pixel != format.bpp ||
        (header->byte_order == MSBFirst) != format.big_endian) {
      log::info("display ", display.name(), ": X rows are padded (", header->bytes_per_line,
                " bytes for ", packed, "); grabbing through the strip");
      return nullptr;
    }
    return std::unique_ptr<ShmFrames>(
        new ShmFrames(display, size, format, std::move(info), std::move(header)));
  }
  ~ShmFrames() {
    std::vector<char*> released;
    {
      std::lock_guard lock(released_->mutex);
      released_->closed = true;  // Frames still held elsewhere unmap their own segments.
      released.swap(released_->addresses);
    }
    for (Segment& seg : segments_) {
      if (!display_.lost()) XShmDetach(display_.get(), &seg.info);
      const bool queued =
          std::find(released.begin(), released.end(), seg.info.shmaddr) != released.end();
      if (!seg.in_frame || queued) shmdt(seg.info.shmaddr);
    }
  }
  ShmFrames(const ShmFrames&) = delete;
  ShmFrames& operator=(const ShmFrames&) = delete;

  // A frame (pixels unset) in a released segment kept by drain(), else a new one; null when it is
  // not of our size and format or something failed (then failed() is set).
  std::shared_ptr<rfb::Frame> allocate(rfb::Size size, const rfb::PixelFormat& format,
                                       X11CaptureStats& stats) {
    if (failed_ || size != size_ || format != format_) return nullptr;
    for (Segment& seg : segments_) {
      if (seg.in_frame) continue;
      seg.in_frame = true;
      ++stats.shm_frames_reused;
      return make_frame(seg);
    }
    const size_t bytes =
        static_cast<size_t>(header_->bytes_per_line) * static_cast<size_t>(size.height);
    auto segment = ShmSegment::create(bytes);
    if (!segment) return fail(segment.error().message());
    XShmSegmentInfo info{};
    info.shmid = segment->id();
    info.shmaddr = segment->addr();
    info.readOnly = False;
    std::optional<XErrorRecord> err;
    {
      X11ErrorTrap trap(display_);
      XShmAttach(display_.get(), &info);  // Sets info.shmseg.
      err = trap.sync();
    }
    segment->mark_removed();  // Attached (or not): a crash from here on leaks nothing.
    if (err || display_.lost()) {
      return fail("XShmAttach failed: " + (err ? err->text : std::string("connection lost")));
    }
    segment->release_mapping();  // Ours until detach() unmaps it.
    segments_.push_back(Segment{info, true});
    ++stats.shm_frames_made;
    return make_frame(segments_.back());
  }

  // The segment a frame's pixels live in, when they are in one of ours.
  std::optional<XShmSegmentInfo> find(const rfb::Frame& frame) const {
    // A segment's address cannot be reused (by a heap frame or another segment) before detach()
    // unmaps it on this thread, which also forgets it.
    for (const Segment& seg : segments_) {
      if (seg.in_frame && reinterpret_cast<const uint8_t*>(seg.info.shmaddr) == frame.data()) {
        return seg.info;
      }
    }
    return std::nullopt;
  }

  // Takes the segments of frames released since the last call (on any thread): one is kept for
  // reuse, the others are detached and unmapped. Returns how many were released.
  int drain(X11CaptureStats& stats) {
    std::vector<char*> released;
    {
      std::lock_guard lock(released_->mutex);
      released.swap(released_->addresses);
    }
    bool keep = std::none_of(segments_.begin(), segments_.end(),
                             [](const Segment& s) { return !s.in_frame; });
    for (char* addr : released) {
      auto it = std::find_if(segments_.begin(), segments_.end(),
                             [&](const Segment& s) { return s.info.shmaddr == addr; });
      assert(it != segments_.end() && it->in_frame);
      it->in_frame = false;
      if (keep) {
        keep = false;
      } else {
        detach(it, stats);
      }
    }
    stats.shm_frames_released += static_cast<int64_t>(released.size());
    return static_cast<int>(released.size());
  }

  // Detaches and unmaps the released segment no allocation took in this capture.
  void end_capture(X11CaptureStats& stats) {
    for (auto it = segments_.begin(); it != segments_.end();) {
      it = it->in_frame ? std::next(it) : detach(it, stats);
    }
  }

  // An image header for a direct grab: the full width, `rows` high, written at `pixels`.
  XImage header(char* pixels, int rows, XShmSegmentInfo* info) const {
    XImage image = *header_;
    image.data = pixels;
    image.height = rows;
    image.obdata = reinterpret_cast<char*>(info);
    return image;
  }

  bool failed() const { return failed_; }

 private:
  struct Segment {
    XShmSegmentInfo info;  // shmaddr: our mapping (the frame's pixels).
    bool in_frame;         // False: released, kept for reuse.
  };

  ShmFrames(X11Display& display, rfb::Size size, const rfb::PixelFormat& format,
            std::unique_ptr<XShmSegmentInfo> header_info, XImagePtr header)
      : display_(display),
        size_(size),
        format_(format),
        header_info_(std::move(header_info)),
        header_(std::move(header)),
        released_(std::make_shared<ReleasedShmSegments>()) {}

  std::shared_ptr<rfb::Frame> make_frame(const Segment& seg) {
    // The release may run on any thread and after we are gone: it only queues (or, once we are
    // closed, unmaps) the segment.
    return std::make_shared<rfb::Frame>(
        size_, format_, reinterpret_cast<uint8_t*>(seg.info.shmaddr),
        [released = released_](uint8_t* pixels) {
          std::lock_guard lock(released->mutex);
          if (released->closed) {
            shmdt(pixels);
          } else {
            released->addresses.push_back(reinterpret_cast<char*>(pixels));
          }
        });
  }

  std::vector<Segment>::iterator detach(std::vector<Segment>::iterator it, X11CaptureStats& stats) {
    if (!display_.lost()) XShmDetach(display_.get(), &it->info);
    shmdt(it->info.shmaddr);
    ++stats.shm_frames_detached;
    return segments_.erase(it);
  }

  std::shared_ptr<rfb::Frame> fail(const std::string& why) {
    log::warn("display ", display_.name(), ": ", why, "; frames stay on the heap");
    failed_ = true;
    return nullptr;
  }

  X11Display& display_;  // The source's; outlives us.
  rfb::Size size_;
  rfb::PixelFormat format_;
  std::unique_ptr<XShmSegmentInfo> header_info_;  // header_ points at it (unused: no data).
  XImagePtr header_;                              // One full-width row; data stays null.
  std::vector<Segment> segments_;                 // Every segment the X server has attached.
  std::shared_ptr<ReleasedShmSegments> released_;
  bool failed_ = false;
};

Result<std::unique_ptr<X11FrameSource>> X11FrameSource::create(
    const std::string& display_name, const X11FrameSourceOptions& options) {
  if (options.tile_size <= 0) return Error("tile size must be positive");
  if (options.poll_row_step <= 0 ||
      !std::has_single_bit(static_cast<unsigned>(options.poll_row_step))) {
    return Error("the polling row step must be a power of two");
  }
  auto display = X11Display::open(display_name);
  if (!display) return display.error();
  Display* dpy = display->get();
  const int screen = DefaultScreen(dpy);
  Visual* visual = DefaultVisual(dpy, screen);
  const int depth = DefaultDepth(dpy, screen);
  auto format = format_from_visual(dpy, visual, depth);
  if (!format) return Error("display " + display->name() + ": " + format.error().message());

  std::unique_ptr<X11FrameSource> source(
      new X11FrameSource(std::move(display.value()), options, *format, visual, depth));
  return source;
}

X11FrameSource::X11FrameSource(X11Display display, const X11FrameSourceOptions& options,
                               rfb::PixelFormat format, Visual* visual, int depth)
    : display_(std::move(display)),
      options_(options),
      format_(format),
      visual_(visual),
      depth_(depth) {
  Display* dpy = display_.get();
  const int screen = DefaultScreen(dpy);
  size_ = {DisplayWidth(dpy, screen), DisplayHeight(dpy, screen)};
  int error_base = 0;
  if (XRRQueryExtension(dpy, &randr_event_base_, &error_base)) {
    XRRSelectInput(dpy, display_.root(), RRScreenChangeNotifyMask);
  } else {
    randr_event_base_ = -1;
  }
  pool_.set_allocator(
      [this](rfb::Size s, const rfb::PixelFormat& f) { return make_shm_frame(s, f); });
  setup_shm();
  setup_damage();
}

X11FrameSource::~X11FrameSource() = default;

void X11FrameSource::setup_shm() {
  shm_.reset();
  shm_frames_.reset();
  shm_usable_ = false;
  if (options_.force_get_image || shm_failed_) return;
  Display* dpy = display_.get();
  if (!display_.is_local()) {
    log::info("display ", display_.name(), " is not local: capturing with XGetImage");
    shm_failed_ = true;
    return;
  }
  if (!XShmQueryExtension(dpy)) {
    log::info("display ", display_.name(), " has no MIT-SHM: capturing with XGetImage");
    shm_failed_ = true;
    return;
  }
  shm_usable_ = true;
  if (options_.shm_frames && !shm_frames_failed_) {
    shm_frames_ = ShmFrames::create(display_, visual_, depth_, size_, format_);
  }
}

ShmImage* X11FrameSource::strip() {
  if (shm_ || !shm_usable_) return shm_.get();
  auto image = ShmImage::create(display_, visual_, depth_, rfb::Size{size_.width, piece_rows(0)});
  if (!image) {
    log::warn("display ", display_.name(), ": ", image.error().message(),
              "; capturing with XGetImage");
    give_up_shm();
    return nullptr;
  }
  shm_ = std::move(image.value());
  return shm_.get();
}

void X11FrameSource::give_up_shm() {
  shm_failed_ = true;
  shm_usable_ = false;
  shm_.reset();
  shm_frames_.reset();
}

std::shared_ptr<rfb::Frame> X11FrameSource::make_shm_frame(rfb::Size size,
                                                           const rfb::PixelFormat& format) {
  if (!shm_frames_) return nullptr;
  std::shared_ptr<rfb::Frame> frame = shm_frames_->allocate(size, format, stats_);
  if (!frame && shm_frames_->failed()) {
    shm_frames_failed_ = true;
    shm_frames_.reset();
  }
  return frame;
}

void X11FrameSource::setup_damage() {
  if (options_.disable_damage) return;
  auto damage = X11Damage::create(display_);
  if (!damage) {
    log::info(damage.error().message(), ": polling for changes");
    return;
  }
  damage_ = std::move(damage.value());
}

X11CaptureStats X11FrameSource::stats() const {
  X11CaptureStats s = stats_;
  s.pixels_copied = pool_.pixels_copied();
  return s;
}

void X11FrameSource::process_events() {
  Display* dpy = display_.get();
  if (display_.lost()) return;
  while (XPending(dpy) > 0) {
    XEvent ev;
    XNextEvent(dpy, &ev);
    if (damage_ && damage_->handle_event(ev)) continue;
    // Keeps Xlib's idea of the screen size current; capture() checks the root geometry itself.
    if (randr_event_base_ >= 0 && ev.type == randr_event_base_ + RRScreenChangeNotify) {
      XRRUpdateConfiguration(&ev);
      screen_changed_ = true;
    }
  }
}

bool X11FrameSource::changes_pending() const {
  return !damage_ || damage_->pending() || !damaged_.empty() || screen_changed_;
}

bool X11FrameSource::changes_cover_screen() const {
  return damage_ && damage_->pending() &&
         damage_->reported_bounds().contains(rfb::Rect{0, 0, size_.width, size_.height});
}

void X11FrameSource::add_change_hint(const rfb::Region& region) {
  damaged_.add(region);
}

Result<void> X11FrameSource::copy_image(const XImage& image, const Grab& g,
                                        rfb::Frame& frame) const {
  const rfb::Rect& r = g.area;
  if (image.bits_per_pixel != format_.bpp || image.width < r.w || image.height < r.h ||
      (image.byte_order == MSBFirst) != format_.big_endian) {
    return Error("X image layout does not match the screen format");
  }
  const size_t bpp = static_cast<size_t>(format_.bytes_per_pixel());
  assert((rfb::Rect{0, 0, frame.size().width, frame.size().height})
             .contains(rfb::Rect{g.dst_x, g.dst_y, r.w, r.h}));
  const size_t offset = static_cast<size_t>(g.dst_x) * bpp;
  const size_t row_bytes = static_cast<size_t>(r.w) * bpp;
  for (int y = 0; y < r.h; ++y) {
    std::memcpy(frame.mutable_row(g.dst_y + y) + offset,
                image.data + static_cast<size_t>(y) * static_cast<size_t>(image.bytes_per_line),
                row_bytes);
  }
  return {};
}

bool X11FrameSource::can_grab_direct(const Grab& g, const rfb::Frame& frame) const {
  return shm_frames_ && g.area.x == 0 && g.dst_x == 0 && g.area.w == size_.width &&
         frame.size() == size_ && g.dst_y >= 0 && g.dst_y + g.area.h <= size_.height;
}

Result<void> X11FrameSource::grab_direct(const Grab& g, rfb::Frame& frame,
                                         XShmSegmentInfo segment) {
  const rfb::Rect& r = g.area;
  ++stats_.grab_requests;
  ++stats_.grab_round_trips;
  ++stats_.grabs_into_frame;
  stats_.pixels_grabbed += r.area();
  // ShmGetImage writes a packed image of the full width at the request's offset in the segment:
  // with the frame's rows exactly that wide (checked by ShmFrames), that is row dst_y onwards.
  XImage image =
      shm_frames_->header(reinterpret_cast<char*>(frame.mutable_row(g.dst_y)), r.h, &segment);
  std::optional<XErrorRecord> err;
  bool ok = false;
  {
    X11ErrorTrap trap(display_);
    ok = XShmGetImage(display_.get(), display_.root(), &image, r.x, r.y, AllPlanes) != 0;
    err = trap.caught();
  }
  if (ok && !err) return {};
  if (display_.lost()) return Error("lost the connection to X display " + display_.name());
  // As in grab_piece: probably the screen shrank; the caller re-reads the geometry.
  if (err && err->error_code == BadMatch) return Error("XShmGetImage failed: " + err->text);
  log::warn("display ", display_.name(), ": XShmGetImage into a frame failed",
            err ? ": " + err->text : std::string(), "; grabbing through the strip from now on");
  shm_frames_failed_ = true;
  shm_frames_.reset();
  // The frame's own mapping stays valid: the strip path copies into it.
  return grab_rect(g, frame);
}

int X11FrameSource::piece_rows(int width) const {
  if (shm_) return shm_->size().height;  // A screen wide: any area fits across it.
  // Sizing the strip (width 0: a screen wide), or bounding XGetImage's buffer for this area.
  const int w = width > 0 ? width : size_.width;
  const size_t row_bytes =
      std::max<size_t>(static_cast<size_t>(w) * static_cast<size_t>(format_.bytes_per_pixel()), 1);
  const size_t rows = options_.shm_strip_bytes / row_bytes;
  return static_cast<int>(
      std::clamp<size_t>(rows, 1, static_cast<size_t>(std::max(size_.height, 1))));
}

Result<void> X11FrameSource::grab_rect(const Grab& g, rfb::Frame& frame) {
  const rfb::Rect& r = g.area;
  (void)strip();  // Sizes the pieces; null: XGetImage.
  for (int y = 0; y < r.h;) {
    // Asked each time: a failing XShmGetImage switches to XGetImage half way.
    const int rows = std::min(piece_rows(r.w), r.h - y);
    const Grab piece{rfb::Rect{r.x, r.y + y, r.w, rows}, g.dst_x, g.dst_y + y};
    if (Result<void> st = grab_piece(piece, frame); !st) return st;
    y += rows;
  }
  return {};
}

Result<void> X11FrameSource::grab_piece(const Grab& g, rfb::Frame& frame) {
  const rfb::Rect& r = g.area;
  Display* dpy = display_.get();
  ++stats_.grab_requests;
  ++stats_.grab_round_trips;
  stats_.pixels_grabbed += r.area();
  if (shm_) {  // grab_rect made it when it could.
    assert(r.w <= shm_->size().width && r.h <= shm_->size().height);
    // A sub-image header over the start of the strip's segment: the server writes the w x h
    // block there with its own scanline padding (which XShmCreateImage put in bitmap_pad).
    XImage sub = shm_->image();
    sub.width = r.w;
    sub.height = r.h;
    sub.bytes_per_line =
        (r.w * sub.bits_per_pixel + sub.bitmap_pad - 1) / sub.bitmap_pad * (sub.bitmap_pad / 8);
    std::optional<XErrorRecord> err;
    bool ok = false;
    {
      X11ErrorTrap trap(display_);
      ok = XShmGetImage(dpy, display_.root(), &sub, r.x, r.y, AllPlanes) != 0;
      err = trap.caught();
    }
    if (ok && !err) return copy_image(sub, g, frame);
    if (display_.lost()) return Error("lost the connection to X display " + display_.name());
    // A BadMatch here usually means the screen shrank under us; the caller re-reads the geometry
    // and retries, and XGetImage would fail the same way.
    if (err && err->error_code == BadMatch) return Error("XShmGetImage failed: " + err->text);
    log::warn("display ", display_.name(), ": XShmGetImage failed",
              err ? ": " + err->text : std::string(), "; capturing with XGetImage from now on");
    give_up_shm();
  }

  XImagePtr image;
  std::optional<XErrorRecord> err;
  {
    X11ErrorTrap trap(display_);
    image.reset(XGetImage(dpy, display_.root(), r.x, r.y, static_cast<unsigned>(r.w),
                          static_cast<unsigned>(r.h), AllPlanes, ZPixmap));
    err = trap.caught();
  }
  if (display_.lost()) return Error("lost the connection to X display " + display_.name());
  if (!image || err) {
    return Error("XGetImage of the root window failed" + (err ? ": " + err->text : std::string()));
  }
  return copy_image(*image, g, frame);
}

Result<void> X11FrameSource::grab_rects(const std::vector<Grab>& all, rfb::Frame& frame,
                                        const std::optional<XShmSegmentInfo>& segment) {
  std::vector<Grab> grabs;
  for (const Grab& g : all) {
    if (segment && can_grab_direct(g, frame)) {
      if (Result<void> st = grab_direct(g, frame, *segment); !st) return st;
    } else {
      grabs.push_back(g);
    }
  }
  if (grabs.size() < 2 || !strip() || shm_->pixmap() == 0) {
    for (const Grab& g : grabs) {
      if (Result<void> st = grab_rect(g, frame); !st) return st;
    }
    return {};
  }
  // Pieces are packed into the strip in shelves (left to right, then a new shelf below the
  // tallest piece of the last one); when the next piece does not fit, what is there is fetched
  // (one round trip) and copied out, and packing starts again at the top.
  struct Placed {
    Grab grab;
    int x, y;  // In the strip.
  };
  Display* dpy = display_.get();
  const rfb::Size strip = shm_->size();
  std::vector<Placed> batch;
  int shelf_y = 0, shelf_h = 0, cursor_x = 0;
  const auto flush = [&]() -> Result<void> {
    if (batch.empty()) return {};
    std::optional<XErrorRecord> err;
    {
      X11ErrorTrap trap(display_);
      for (const Placed& p : batch) {
        const rfb::Rect& r = p.grab.area;
        XCopyArea(dpy, display_.root(), shm_->pixmap(), shm_->gc(), r.x, r.y,
                  static_cast<unsigned>(r.w), static_cast<unsigned>(r.h), p.x, p.y);
        ++stats_.grab_requests;
        stats_.pixels_grabbed += r.area();
      }
      ++stats_.grab_round_trips;
      err = trap.sync();  // The one round trip: every copy is in the segment after it.
    }
    if (display_.lost()) return Error("lost the connection to X display " + display_.name());
    if (err) return Error("copying the root window failed: " + err->text);
    const XImage& image = shm_->image();
    for (const Placed& p : batch) {
      XImage at = image;
      at.data = image.data + static_cast<size_t>(p.y) * static_cast<size_t>(image.bytes_per_line) +
                static_cast<size_t>(p.x) * static_cast<size_t>(format_.bytes_per_pixel());
      at.width = image.width - p.x;
      at.height = image.height - p.y;
      if (Result<void> st = copy_image(at, p.grab, frame); !st) return st;
    }
    batch.clear();
    shelf_y = shelf_h = cursor_x = 0;
    return {};
  };
  for (const Grab& g : grabs) {
    const rfb::Rect& r = g.area;
    for (int y = 0; y < r.h;) {
      const int rows = std::min(strip.height, r.h - y);
      const Grab piece{rfb::Rect{r.x, r.y + y, r.w, rows}, g.dst_x, g.dst_y + y};
      y += rows;
      if (cursor_x + r.w > strip.width) {  // A new shelf.
        shelf_y += shelf_h;
        shelf_h = cursor_x = 0;
      }
      if (shelf_y + rows > strip.height) {
        if (Result<void> st = flush(); !st) return st;
      }
      batch.push_back(Placed{piece, cursor_x, shelf_y});
      cursor_x += r.w;
      shelf_h = std::max(shelf_h, rows);
    }
  }
  return flush();
}

Result<rfb::Region> X11FrameSource::damage_candidates() {
  damage_->take(damaged_);
  if (display_.lost()) return Error("lost the connection to X display " + display_.name());
  rfb::Region out = std::move(damaged_);
  damaged_.clear();
  return out;
}

Result<rfb::Region> X11FrameSource::poll_candidates() {
  const rfb::FramePtr previous = pool_.current();
  const int tile = options_.tile_size;
  const int tiles_x = (size_.width + tile - 1) / tile;
  const size_t bpp = static_cast<size_t>(format_.bytes_per_pixel());
  std::vector<std::pair<int, int>> hits;
  const int step = options_.poll_row_step;
  const int first = scan_row_offset(poll_cycle_++, step);
  // The sample rows go into a small frame of their own, packed, so nothing full-screen is
  // touched until something is found.
  const int count = (size_.height - first + step - 1) / step;
  if (!scan_rows_ || scan_rows_->size() != rfb::Size{size_.width, count}) {
    scan_rows_ = std::make_unique<rfb::Frame>(rfb::Size{size_.width, count}, format_);
  }
  std::vector<Grab> rows;
  for (int i = 0; i < count; ++i) rows.push_back(Grab{{0, first + i * step, size_.width, 1}, 0, i});
  if (Result<void> st = grab_rects(rows, *scan_rows_); !st) return st.error();
  for (int i = 0; i < count; ++i) {
    const int y = first + i * step;
    stats_.pixels_compared += size_.width;
    const uint8_t* now = scan_rows_->view().row(i);
    const uint8_t* before = previous->view().row(y);
    if (std::memcmp(now, before, scan_rows_->stride()) == 0) continue;
    for (int tx = 0; tx < tiles_x; ++tx) {
      const size_t x = static_cast<size_t>(tx) * static_cast<size_t>(tile);
      const size_t w = std::min(static_cast<size_t>(tile), static_cast<size_t>(size_.width) - x);
      if (std::memcmp(now + x * bpp, before + x * bpp, w * bpp) != 0)
        hits.emplace_back(tx, y / tile);
    }
  }
  rfb::Region out = tiles_around(hits, size_, tile);
  out.add(damaged_);  // Hints.
  damaged_.clear();
  return out;
}

Result<rfb::Capture> X11FrameSource::capture() {
  if (display_.lost()) return Error("lost the connection to X display " + display_.name());
  ++stats_.captures;
  // Segments of frames released since the last capture (on any thread): one may be reused now.
  if (shm_frames_) shm_frames_->drain(stats_);
  Result<rfb::Capture> result = capture_frame();
  if (shm_frames_) shm_frames_->end_capture(stats_);
  return result;
}

Result<rfb::Capture> X11FrameSource::capture_frame() {
  Display* dpy = display_.get();

  bool size_changed = false;
  for (int attempt = 0;; ++attempt) {
    // The root window's geometry is the screen size; RandR changes show up here too. The round
    // trip also brings in every damage event for drawing the server did before it.
    // Screen changes reported from here on are newer than the geometry read below.
    screen_changed_ = false;
    Window root_ret = 0;
    int x = 0, y = 0;
    unsigned w = 0, h = 0, border = 0, depth = 0;
    if (!XGetGeometry(dpy, display_.root(), &root_ret, &x, &y, &w, &h, &border, &depth) ||
        display_.lost()) {
      return Error("lost the connection to X display " + display_.name());
    }
    const rfb::Size now{static_cast<int>(w), static_cast<int>(h)};
    if (now != size_) {
      log::info("display ", display_.name(), ": screen is now ", now.width, "x", now.height);
      size_changed = true;
      size_ = now;
      pool_.reset();
      setup_shm();
    }
    process_events();

    const rfb::Rect screen{0, 0, size_.width, size_.height};
    const rfb::FramePtr previous = pool_.current();
    rfb::Capture result;
    result.size_changed = size_changed;

    if (!previous) {
      // Everything is new: what was damaged so far is in this grab.
      if (damage_) damage_->discard();
      damaged_.clear();
      std::shared_ptr<rfb::Frame> frame = pool_.writable(size_, format_, rfb::Region(screen));
      const auto segment = shm_frames_ ? shm_frames_->find(*frame) : std::nullopt;
      if (Result<void> st = grab_rects({Grab{screen, 0, 0}}, *frame, segment); !st) {
        if (attempt == 0 && !display_.lost()) continue;  // Resized between query and grab?
        return st.error();
      }
      result.changed = rfb::Region(screen);
      result.frame = pool_.publish(std::move(frame), result.changed);
      return result;
    }

    // A quiet screen costs no full-screen work: the frame is only acquired (and brought up to
    // date) once there is something to grab.
    Result<rfb::Region> candidates = damage_ ? damage_candidates() : poll_candidates();
    if (!candidates) {
      if (attempt == 0 && !display_.lost()) continue;
      return candidates.error();
    }
    candidates->intersect(screen);
    if (candidates->empty()) {
      result.frame = previous;
      return result;
    }
    // The strip's shared pixmap batches requests (assumed when MIT-SHM works and the strip is
    // not made yet: it is made with one whenever the server can).
    const bool batched = shm_ ? shm_->pixmap() != 0 : shm_usable_;
    const int64_t request_cost = batched ? kBatchedGrabCostPixels : kGrabRequestCostPixels;
    std::vector<rfb::Rect> plan = plan_grabs(*candidates, request_cost);
    if (shm_frames_) plan = widen_to_rows(plan, size_.width, request_cost);
    rfb::Region grabbed;
    std::vector<Grab> grabs;
    for (const rfb::Rect& r : plan) {
      grabbed.add(r);
      grabs.push_back(Grab{r, r.x, r.y});
    }
    // What the grab overwrites need not be brought up to date first (a full-screen change then
    // costs no copy between frames).
    std::shared_ptr<rfb::Frame> frame = pool_.writable(size_, format_, grabbed);
    const auto segment = shm_frames_ ? shm_frames_->find(*frame) : std::nullopt;
    bool failed = false;
    if (Result<void> st = grab_rects(grabs, *frame, segment); !st) {
      if (attempt > 0 || display_.lost()) return st.error();
      failed = true;
    }
    if (failed) {
      // The area may still be damaged; keep it for the retry (the partly written frame is
      // dropped, never recycled).
      damaged_.add(*candidates);
      continue;
    }
    // Damage over-reports (a redraw of the same pixels, an expose): keep only real changes.
    // Everything grabbed is compared, not just the damage, so drawing that raced the grab is
    // reported now rather than lost. Over a large change (a scroll, a moved window) the exact
    // columns of each tile's change would cost a full read of every sparse text tile, and the
    // copy detector and the encoders' own tiles make them matter little: rows only, there.
    const TileBox box = candidates->area() >= kRowBoxesMinArea ? TileBox::kRows : TileBox::kExact;
    result.changed =
        diff_tiles(*previous, *frame, grabbed, options_.tile_size, &stats_.pixels_compared, box);
    if (result.changed.empty()) {
      pool_.recycle(std::move(frame), rfb::Region());
      result.frame = previous;
    } else {
      result.frame = pool_.publish(std::move(frame), result.changed);
    }
    return result;
  }
}

}  // namespace vncd::platform
