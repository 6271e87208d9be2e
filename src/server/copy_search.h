// CopySearchBackoff: decides when a session looks for scrolls and moves (enc::CopyDetector) in an
// update. Pure logic, one per session, used by one thread at a time.
#pragma once

#include <cstdint>

namespace vncd::server {

// Searching a large change for copies costs a pass over both pictures (hashing, voting), about
// 0.7 ms per 1080p update; on a scrolling terminal or a dragged window it saves far more than
// that, but on video or a photo slideshow it never finds anything. So after two large searches in
// a row found nothing, the next large updates go unsearched, 1, then 2, then at most kMaxSkip at
// a time between searches: on video, four searches in five are saved, and a scroll that starts
// afterwards is still found within kMaxSkip + 1 updates (a sixth of a second at 30 updates/s).
// Small changes are always searched: they cost little, and they must not feed the backoff (a
// typed character finding no copy says nothing about the next window drag).
class CopySearchBackoff {
 public:
  // Changes smaller than 1/kLargeShare of the screen are always searched.
  static constexpr int64_t kLargeShare = 8;
  static constexpr int kMaxSkip = 4;

  // Whether to search an update whose changed area is `area` pixels of a `screen`-pixel screen.
  // A false answer counts as one update skipped.
  bool should_search(int64_t area, int64_t screen);
  // The outcome of a search should_search() allowed.
  void searched(int64_t area, int64_t screen, bool found_copies);

  int skipping() const { return skip_; }

 private:
  static bool large(int64_t area, int64_t screen) { return area * kLargeShare >= screen; }

  int fruitless_ = 0;  // Large searches in a row that found nothing.
  int skip_ = 0;       // Large updates still to go unsearched.
};

}  // namespace vncd::server
