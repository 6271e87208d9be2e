#include "server/quality_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vncd::server {

namespace {

using Seconds = std::chrono::duration<double>;

rfb::Region clipped(const rfb::Region& region, rfb::Size size) {
  return region.intersected(rfb::Rect{0, 0, size.width, size.height});
}

}  // namespace

void QualityPolicy::resize(rfb::Size size) {
  size_ = size.empty() ? rfb::Size{} : size;
  cols_ = size_.empty() ? 0 : (size_.width + kCellSize - 1) / kCellSize;
  rows_ = size_.empty() ? 0 : (size_.height + kCellSize - 1) / kCellSize;
  const size_t n = static_cast<size_t>(cols_) * static_cast<size_t>(rows_);
  cells_.assign(n, Cell{});
  visited_.assign(n, 0);
  visit_ = 0;
  lossy_.clear();
  refresh_cursor_ = 0;
  level_ = 0;
  level_since_ = {};
}

rfb::Rect QualityPolicy::cell_rect(size_t index) const {
  const int cx = static_cast<int>(index % static_cast<size_t>(cols_));
  const int cy = static_cast<int>(index / static_cast<size_t>(cols_));
  return rfb::Rect{cx * kCellSize, cy * kCellSize, kCellSize, kCellSize}.intersect(
      rfb::Rect{0, 0, size_.width, size_.height});
}

template <class Fn>
void QualityPolicy::for_cells(const rfb::Region& region, Fn&& fn) {
  if (cells_.empty()) return;
  if (++visit_ == 0) {  // Wrapped: stamps from 2^32 calls ago must not look current.
    std::fill(visited_.begin(), visited_.end(), 0);
    visit_ = 1;
  }
  for (const rfb::Rect& r : region.rects()) {
    const rfb::Rect c = r.intersect(rfb::Rect{0, 0, size_.width, size_.height});
    if (c.empty()) continue;
    const int x0 = c.x / kCellSize, x1 = (c.right() - 1) / kCellSize;
    const int y0 = c.y / kCellSize, y1 = (c.bottom() - 1) / kCellSize;
    for (int cy = y0; cy <= y1; ++cy) {
      for (int cx = x0; cx <= x1; ++cx) {
        const size_t i =
            static_cast<size_t>(cy) * static_cast<size_t>(cols_) + static_cast<size_t>(cx);
        if (visited_[i] == visit_) continue;
        visited_[i] = visit_;
        fn(i);
      }
    }
  }
}

double QualityPolicy::rate_at(const Cell& c, Clock::time_point now) const {
  if (c.rate <= 0 || now <= c.rate_at) return c.rate;
  return c.rate * std::exp(-Seconds(now - c.rate_at).count() / Seconds(kRateTimeConstant).count());
}

double QualityPolicy::change_rate(int x, int y, Clock::time_point now) const {
  if (x < 0 || y < 0 || x >= size_.width || y >= size_.height) return 0;
  return rate_at(cells_[static_cast<size_t>(y / kCellSize) * static_cast<size_t>(cols_) +
                        static_cast<size_t>(x / kCellSize)],
                 now);
}

bool QualityPolicy::video_like(int x, int y) const {
  if (x < 0 || y < 0 || x >= size_.width || y >= size_.height) return false;
  return cells_[static_cast<size_t>(y / kCellSize) * static_cast<size_t>(cols_) +
                static_cast<size_t>(x / kCellSize)]
      .video;
}

// Removes `region` from the lossy area and clears the flag of cells left with nothing lossy, so
// next_refresh_time() does not wake for them.
void QualityPolicy::drop_lossy(const rfb::Region& region) {
  if (lossy_.empty()) return;
  lossy_.subtract(region);
  for_cells(region, [&](size_t i) {
    Cell& c = cells_[i];
    if (c.lossy && lossy_.intersected(cell_rect(i)).empty()) c.lossy = false;
  });
}

void QualityPolicy::changed(const rfb::Region& region, Clock::time_point now) {
  const rfb::Region r = clipped(region, size_);
  if (r.empty()) return;
  drop_lossy(r);
  const double step = 1.0 / Seconds(kRateTimeConstant).count();
  for_cells(r, [&](size_t i) {
    Cell& c = cells_[i];
    c.wait_from = std::max(c.wait_from, now);
    if (c.rate_at == now && c.rate > 0) return;  // Already counted at this instant.
    c.rate = rate_at(c, now) + step;
    c.rate_at = std::max(c.rate_at, now);
  });
}

QualityPolicy::Plan QualityPolicy::plan(Clock::time_point now, double bandwidth) {
  Plan p;
  // Classify every cell (hysteresis between the on and off rates) and sum the pixels/s the
  // video-like area asks for.
  double video_pixels_per_s = 0;
  for (size_t i = 0; i < cells_.size(); ++i) {
    Cell& c = cells_[i];
    const double rate = rate_at(c, now);
    if (c.video && rate < kVideoRateOff) c.video = false;
    if (!c.video && rate >= kVideoRateOn) c.video = true;
    if (c.video) video_pixels_per_s += rate * static_cast<double>(cell_rect(i).area());
  }
  double affordable = std::numeric_limits<double>::infinity();
  if (bandwidth > 0 && video_pixels_per_s > 0)
    affordable = bandwidth * kVideoBandwidthShare / video_pixels_per_s;
  update_level(affordable, now);
  p.quality_cap = kLevels[level_].quality_cap;
  if (video_pixels_per_s > 0) p.subsampling = kVideoSubsampling;
  return p;
}

void QualityPolicy::update_level(double affordable, Clock::time_point now) {
  int target = kLevelCount - 1;
  for (int i = 0; i < kLevelCount; ++i) {
    if (affordable >= kLevels[i].min_bytes_per_pixel) {
      target = i;
      break;
    }
  }
  if (target > level_) {
    level_ = target;
    level_since_ = now;
    return;
  }
  if (target == level_ || now - level_since_ < kRaiseHold) return;
  // Rise to the best level the bandwidth beats with margin (possibly none).
  int best = level_;
  for (int i = level_ - 1; i >= 0; --i) {
    if (affordable >= kLevels[i].min_bytes_per_pixel * kRaiseMargin) best = i;
  }
  if (best != level_) {
    level_ = best;
    level_since_ = now;
  }
}

void QualityPolicy::sent(const rfb::Region& lossy, const rfb::Region& lossless,
                         Clock::time_point now) {
  const rfb::Region clean = clipped(lossless, size_);
  if (!clean.empty()) drop_lossy(clean);
  const rfb::Region blurred = clipped(lossy, size_);
  if (blurred.empty()) return;
  lossy_.add(blurred);
  for_cells(blurred, [&](size_t i) {
    Cell& c = cells_[i];
    c.lossy = true;
    c.wait_from = std::max(c.wait_from, now);
  });
}

rfb::Region QualityPolicy::refresh_due(Clock::time_point now, double bandwidth) {
  rfb::Region due;
  if (lossy_.empty() || cells_.empty()) return due;
  // Pixels that fit in kRefreshBudgetTime; unlimited when the bandwidth is unknown.
  double budget = std::numeric_limits<double>::infinity();
  if (bandwidth > 0)
    budget = bandwidth * Seconds(kRefreshBudgetTime).count() / kLosslessBytesPerPixel;
  // Start where the last limited refresh stopped, so every cell gets its turn.
  const size_t n = cells_.size();
  size_t k = 0;
  for (; k < n; ++k) {
    const size_t i = (refresh_cursor_ + k) % n;
    Cell& c = cells_[i];
    if (!c.lossy || now - c.wait_from < kRefreshDelay) continue;
    rfb::Region part = lossy_.intersected(cell_rect(i));
    if (part.empty()) {
      c.lossy = false;
      continue;
    }
    const double px = static_cast<double>(part.area());
    if (!due.empty() && px > budget) break;  // At least one cell always goes.
    due.add(part);
    budget -= px;
  }
  if (k < n) refresh_cursor_ = (refresh_cursor_ + k) % n;
  return due;
}

QualityPolicy::Clock::time_point QualityPolicy::next_refresh_time() const {
  Clock::time_point next = Clock::time_point::max();
  for (const Cell& c : cells_) {
    if (c.lossy) next = std::min(next, c.wait_from + kRefreshDelay);
  }
  return next;
}

}  // namespace vncd::server
