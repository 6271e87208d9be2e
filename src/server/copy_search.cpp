#include "server/copy_search.h"

#include <algorithm>

namespace vncd::server {

bool CopySearchBackoff::should_search(int64_t area, int64_t screen) {
  if (!large(area, screen) || skip_ == 0) return true;
  --skip_;
  return false;
}

void CopySearchBackoff::searched(int64_t area, int64_t screen, bool found_copies) {
  if (found_copies) {
    fruitless_ = 0;
    skip_ = 0;
    return;
  }
  if (!large(area, screen)) return;
  fruitless_ = std::min(fruitless_ + 1, 16);
  // 2 fruitless searches: skip 1; 3: skip 2; 4 and more: skip kMaxSkip.
  if (fruitless_ >= 2) skip_ = std::min(1 << (fruitless_ - 2), kMaxSkip);
}

}  // namespace vncd::server
