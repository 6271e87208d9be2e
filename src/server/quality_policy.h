// QualityPolicy: adaptive JPEG quality and automatic lossless refresh for one client that allows
// JPEG. Pure logic, one per session, loop thread only; time is passed in, state is one small cell
// per 64x64 pixels of the framebuffer plus the region the client shows lossy.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "rfb/geometry.h"

namespace vncd::server {

// Watches how often each part of the screen changes: when the bandwidth cannot carry the parts
// that change often (video, animation) at good quality, the JPEG quality is capped for them; and
// what went lossy is sent again losslessly once it has stayed still for kRefreshDelay. Which
// rectangles go as JPEG at all is the encoder's choice from their content (Tight sends text and
// UI with palettes, losslessly), as TigerVNC does; still areas are not forced lossless, since
// that costs a full-screen photo several times the bytes and CPU of JPEG, and the refresh soon
// brings the exact picture anyway.
//
// The session calls changed() for each capture, plan() before each update, sent() after it, and
// refresh_due() when next_refresh_time() has come (the refresh is then passed to sent() as
// lossless).
class QualityPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Clock::duration;

  // Cell edge in pixels: coarse enough that the grid of an 8K screen is ~8,000 cells (cheap to
  // scan per update), fine enough that a video window's edges add little to its area.
  static constexpr int kCellSize = 64;
  // Time constant of a cell's change rate (changes/s, decaying exponentially): one second reacts
  // to a video starting within ~0.5 s, and a few isolated changes (typing, a blinking caret) stay
  // far below the video threshold.
  static constexpr Duration kRateTimeConstant = std::chrono::seconds(1);
  // A cell becomes video-like at this rate and stops being so below kVideoRateOff: 10/s is beyond
  // what typing or UI interaction sustains in one 64x64 cell, while video and scrolling run at
  // 24-60/s. The gap keeps a cell near the threshold from flipping in and out.
  static constexpr double kVideoRateOn = 10;
  static constexpr double kVideoRateOff = 5;
  // How long an area sent lossy must stay unchanged before it is refreshed losslessly: longer
  // than a frame or two of a paused video or a scroll step (so moving content is not refreshed
  // over and over), short enough that the user sees sharp text a moment after it stops.
  static constexpr Duration kRefreshDelay = std::chrono::milliseconds(150);
  // A refresh is limited to what the link carries in this time at the estimated bandwidth, so
  // it never holds up interactive updates for longer than a few frames.
  static constexpr Duration kRefreshBudgetTime = std::chrono::milliseconds(100);
  // Bytes per pixel assumed for lossless encodings of photo-like content (Tight/ZRLE on what
  // was worth sending as JPEG): about 2 at 32 bpp.
  static constexpr double kLosslessBytesPerPixel = 2;
  // Share of the bandwidth the changing (lossy) area may use; the rest is left for lossless
  // parts, the cursor and refreshes.
  static constexpr double kVideoBandwidthShare = 0.8;
  // Quality only rises after it has been stable this long and the bandwidth beats the next
  // level's need by kRaiseMargin: drops are immediate (a stall is worse than blur), rises are
  // slow, so a bandwidth estimate jittering around a threshold cannot make quality oscillate.
  static constexpr Duration kRaiseHold = std::chrono::seconds(2);
  static constexpr double kRaiseMargin = 1.5;

  // TurboVNC subsampling numbering (its subsampling pseudo-encodings): 0 = 1X, 1 = 4X, 2 = 2X,
  // 3 = gray; -1 = the client's choice.
  static constexpr int kSubsampling4X = 1;

  // One quality level: used when the bandwidth gives the changing area at least
  // `min_bytes_per_pixel` per changed pixel. Assumed JPEG sizes on photo-like content (rough
  // estimates, not yet measured here: bench/ should confirm them): q95 4:4:4 ~0.6 B/px, q80
  // ~0.25, q60 4:2:0 ~0.12, q40 ~0.08, q20 4:2:0 ~0.05; each level asks for ~1.5x its own size
  // so the link keeps headroom.
  struct Level {
    double min_bytes_per_pixel;
    int quality_cap;
  };
  static constexpr Level kLevels[] = {
      {0.8, -1},   // Plenty: the client's own quality.
      {0.35, 80},  // Good: barely visible loss.
      {0.18, 60},  // Fair.
      {0.10, 40},  // Low.
      {0.0, 20},   // Scarce: small and blurry beats stalled.
  };
  // While part of the screen is video-like, JPEG goes at least 4:2:0: video is 4:2:0 at its
  // source (MPEG, H.264), so 4:4:4 spends CPU and bytes on chroma detail it never had; 4:2:0
  // has half the 8x8 blocks to transform and code (6 per 16x16 area instead of 12).
  static constexpr int kVideoSubsampling = kSubsampling4X;
  static constexpr int kLevelCount = static_cast<int>(std::size(kLevels));

  struct Plan {
    int quality_cap = -1;  // 0..100 upper bound on JPEG quality; -1 = no cap.
    int subsampling = -1;  // TurboVNC numbering, -1 = the client's.
  };

  QualityPolicy() = default;
  explicit QualityPolicy(rfb::Size size) { resize(size); }

  // A new framebuffer size: forgets everything (rates, lossy area, quality level).
  void resize(rfb::Size size);
  rfb::Size size() const { return size_; }

  // A capture changed `region` at `now`. Parts of the lossy area it covers are no longer shown
  // (they will be sent again), and every cell it touches restarts its refresh wait. Several
  // calls with the same `now` count as one change per cell.
  void changed(const rfb::Region& region, Clock::time_point now);

  // The JPEG limits for the next update. `bandwidth` in bytes/s, 0 = unknown (no cap then).
  Plan plan(Clock::time_point now, double bandwidth);

  // What an update actually sent: `lossy` the rectangles that went as JPEG, `lossless` the rest
  // (including a refresh).
  void sent(const rfb::Region& lossy, const rfb::Region& lossless, Clock::time_point now);

  // The part of the lossy area whose cells have not changed (nor been sent lossy) for
  // kRefreshDelay. With a known `bandwidth` (bytes/s) it is limited to about what the link
  // carries in kRefreshBudgetTime (at least one cell, oldest cells first in turn). It stays due
  // until sent() reports it sent losslessly or it changes.
  rfb::Region refresh_due(Clock::time_point now, double bandwidth = 0);
  // When refresh_due() will next return something; Clock::time_point::max() if nothing is lossy.
  Clock::time_point next_refresh_time() const;

  // For tests and logs.
  const rfb::Region& lossy_area() const { return lossy_; }
  double change_rate(int x, int y, Clock::time_point now) const;
  bool video_like(int x, int y) const;
  int level() const { return level_; }
  size_t cell_count() const { return cells_.size(); }

 private:
  struct Cell {
    double rate = 0;                // Changes/s as of rate_at.
    Clock::time_point rate_at{};    //
    Clock::time_point wait_from{};  // Last change or lossy send: the refresh counts from here.
    bool video = false;
    bool lossy = false;  // lossy_ may intersect this cell.
  };
  double rate_at(const Cell& c, Clock::time_point now) const;
  rfb::Rect cell_rect(size_t index) const;
  // Calls fn(index) for each cell that `region` touches, once per cell.
  template <class Fn>
  void for_cells(const rfb::Region& region, Fn&& fn);
  void drop_lossy(const rfb::Region& region);
  void update_level(double affordable, Clock::time_point now);

  rfb::Size size_;
  int cols_ = 0;
  int rows_ = 0;
  std::vector<Cell> cells_;
  uint32_t visit_ = 0;
  std::vector<uint32_t> visited_;  // Per cell: the for_cells() call that last visited it.
  rfb::Region lossy_;
  size_t refresh_cursor_ = 0;
  int level_ = 0;
  Clock::time_point level_since_{};
};

}  // namespace vncd::server
