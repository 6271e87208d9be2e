#include "platform/common/frame_pool.h"

#include <atomic>
#include <cassert>
#include <cstring>
#include <iterator>
#include <utility>

namespace vncd::platform {
namespace {

void copy_rect(const rfb::Frame& from, rfb::Frame& to, const rfb::Rect& r) {
  const size_t bpp = static_cast<size_t>(from.format().bytes_per_pixel());
  const size_t offset = static_cast<size_t>(r.x) * bpp;
  const size_t bytes = static_cast<size_t>(r.w) * bpp;
  for (int y = r.y; y < r.bottom(); ++y) {
    std::memcpy(to.mutable_row(y) + offset, from.view().row(y) + offset, bytes);
  }
}

}  // namespace

std::shared_ptr<rfb::Frame> FramePool::writable(rfb::Size size, const rfb::PixelFormat& format,
                                                const rfb::Region& overwrite) {
  const bool current_fits = current_ && current_->size() == size && current_->format() == format;
  large_overwrite_ = FramePool::is_large_overwrite(current_fits ? overwrite.area() : 0,
                                                   int64_t{size.width} * size.height);
  // Newest first: a newer spare is closer to current_, so bringing it up to date copies less.
  for (auto rit = spares_.rbegin(); rit != spares_.rend(); ++rit) {
    if (rit->frame.use_count() != 1 || !current_fits) continue;
    const auto it = std::next(rit).base();
    // Pairs with the release in the last holder's shared_ptr decrement: its reads of the pixels
    // happen before our writes below.
    std::atomic_thread_fence(std::memory_order_acquire);
    Spare spare = std::move(*it);
    spares_.erase(it);
    spare.stale.subtract(overwrite);
    for (const rfb::Rect& r : spare.stale.rects()) {
      copy_rect(*current_, *spare.frame, r);
      pixels_copied_ += r.area();
    }
    // Spares other holders let go of since the last call: not kept past a large overwrite.
    trim_free_spares(free_spares_kept());
    return std::move(spare.frame);
  }
  trim_free_spares(free_spares_kept());
  // Every pixel is about to be written (copied from current_ below, or grabbed by the caller
  // inside `overwrite`), so a new frame is not zeroed first; without a current frame to copy
  // from, it starts zeroed as promised.
  auto frame = make_frame(size, format, !current_fits, overwrite);
  if (current_fits) {
    rfb::Region keep(rfb::Rect{0, 0, size.width, size.height});
    keep.subtract(overwrite);
    for (const rfb::Rect& r : keep.rects()) {
      copy_rect(*current_, *frame, r);
      pixels_copied_ += r.area();
    }
  }
  return frame;
}

rfb::FramePtr FramePool::publish(std::shared_ptr<rfb::Frame> frame, const rfb::Region& changed) {
  assert(frame);
  for (Spare& s : spares_) s.stale.add(changed);
  if (current_) {
    if (current_->size() == frame->size() && current_->format() == frame->format()) {
      add_spare(std::move(current_), changed);
    } else {
      spares_.clear();
    }
  }
  current_ = std::move(frame);
  return current_;
}

void FramePool::recycle(std::shared_ptr<rfb::Frame> frame, const rfb::Region& differs) {
  assert(frame);
  if (!current_ || current_->size() != frame->size() || current_->format() != frame->format()) {
    return;
  }
  add_spare(std::move(frame), differs);
}

void FramePool::reset() {
  current_.reset();
  spares_.clear();
}

std::shared_ptr<rfb::Frame> FramePool::make_frame(rfb::Size size, const rfb::PixelFormat& format,
                                                  bool zeroed, const rfb::Region& overwrite) {
  std::shared_ptr<rfb::Frame> frame = allocator_ ? allocator_(size, format) : nullptr;
  if (!frame) {
    return zeroed ? std::make_shared<rfb::Frame>(size, format)
                  : std::make_shared<rfb::Frame>(size, format, rfb::Frame::kForOverwrite);
  }
  assert(frame->size() == size && frame->format() == format);
  if (zeroed) {
    // Only what the caller will not overwrite: a first full-screen grab then touches each page
    // once.
    rfb::Region zero(rfb::Rect{0, 0, size.width, size.height});
    zero.subtract(overwrite);
    const size_t bpp = static_cast<size_t>(format.bytes_per_pixel());
    for (const rfb::Rect& r : zero.rects()) {
      for (int y = r.y; y < r.bottom(); ++y) {
        std::memset(frame->mutable_row(y) + static_cast<size_t>(r.x) * bpp, 0,
                    static_cast<size_t>(r.w) * bpp);
      }
    }
  }
  return frame;
}

void FramePool::add_spare(std::shared_ptr<rfb::Frame> frame, rfb::Region stale) {
  spares_.push_back(Spare{std::move(frame), std::move(stale)});
  while (spares_.size() > max_spares_) spares_.erase(spares_.begin());
  trim_free_spares(free_spares_kept());
}

void FramePool::trim_free_spares(size_t keep) {
  // Newest first: a newer spare is closer to current_, so bringing it up to date copies less.
  size_t free_seen = 0;
  for (size_t i = spares_.size(); i-- > 0;) {
    if (spares_[i].frame.use_count() != 1) continue;
    if (++free_seen > keep) spares_.erase(spares_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

size_t FramePool::free_spare_count() const {
  size_t n = 0;
  for (const Spare& s : spares_) n += s.frame.use_count() == 1 ? 1 : 0;
  return n;
}

}  // namespace vncd::platform
