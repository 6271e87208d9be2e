// Two passes. Scrolls: per group of changed cells, hash each row of the group's x range in both
// frames, vote for the vertical offset over rows whose hash is rare among the source rows, then
// copy the maximal runs of rows that compare equal. Moves: anchors (short row segments of
// `after` on a sparse grid) are looked up in a rolling hash of `before` over every x on every
// few rows; the most voted (dx, dy) is grown from its anchors into the largest matching rectangle.
// Hashes only choose candidates: every row, column and segment of an op is compared with memcmp.
#include "encodings/copy_detector.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <utility>

namespace vncd::enc {
namespace {

using rfb::Frame;
using rfb::Rect;
using rfb::Region;

// Changed areas are grouped on a grid of cells this size; a gap of less than a cell joins groups.
constexpr int kCell = 16;

// Scrolls. A row whose hash occurs more often than this among the candidate source rows
// (blank lines, rules) says nothing about the offset, so it does not vote.
constexpr int kMaxRowRepeats = 4;
constexpr int kMinRowVotes = 2;
constexpr int kMaxScrollCandidates = 3;
// Column ranges whose row hashes a CopyDetector keeps per frame (one per group of changes; a
// scrolling terminal needs one).
constexpr size_t kMaxHashSpans = 16;
// A span of `before` searched in one of this many latest calls (about a second of updates) has
// its hashes carried over to `after` (see carry_spans): a terminal's changed area often
// alternates between a few column ranges (a prompt, the cursor, a marker at the edge), and each
// range needs its own hashes. Carrying costs a copy per row and a compare of the columns the
// span has beyond the box.
constexpr int64_t kSpanMemory = 32;

// Moves. Anchors are kSegment-pixel row segments of `after` every kAnchorStepX pixels on every
// kAnchorStepY-th row; `before` is hashed at every x on every kScanRowStep-th row. The two row
// steps are coprime, so whatever the offset, one anchor row in kScanRowStep finds its source
// (every row was anchored before: a third of the anchors finds a 600x400 window as surely, and
// building and checking them was a fifth of the search).
constexpr int kSegment = 32;
constexpr int kAnchorStepX = 64;
constexpr int kAnchorStepY = 3;
constexpr int kScanRowStep = 4;
static_assert(std::gcd(kAnchorStepY, kScanRowStep) == 1);
static_assert(kSegment < kMinCopyWidth);
constexpr int kMaxAnchorRepeats = 4;
constexpr int kMinMoveVotes = 3;
constexpr int kMaxMoveCandidates = 6;
// Supporting anchors thinner than 1 per kSparseSupport rows of an anchor column are coincidence.
constexpr int kSparseSupport = 64;
constexpr size_t kMaxMoveVotes = size_t{1} << 18;  // Bounds the time spent on repetitive content.
// The bloom filter has about kBloomBitsPerAnchor bits per anchor (~3% false hits), at most
// 2^kMaxBloomBits (128 KiB: stays in L2 while scanning); a small one stays in L1.
constexpr int kBloomBitsPerAnchor = 64;
constexpr int kMinBloomBits = 12;
constexpr int kMaxBloomBits = 20;
constexpr uint64_t kRollBase = 0x100000001b3ULL;
constexpr uint64_t kMix = 0x9E3779B97F4A7C15ULL;

struct Context {
  const Frame& before;
  const Frame& after;
  int width;
  int height;
  size_t bpp;
  size_t stride;
  Rect limit;  // Destinations stay inside the changed area's bounds.
  std::vector<CopyOp> copies;
  Region written;  // Union of the destinations emitted so far.
  // Row hashes of `before` from an earlier call (or null), and where to keep those of `after`
  // (or null); rows hashed here are counted in `rows_hashed`.
  const detail::RowHashes* before_hashes = nullptr;
  detail::RowHashes* after_hashes = nullptr;
  int64_t rows_hashed = 0;
  int64_t call = 0;  // CopyDetector's call number, for the spans' `used`.
  // The vertical offset (after row - before row) expected from earlier calls, or 0: rows are
  // compared at this offset right after hashing, while the row is still in the L1 cache.
  int predicted_dy = 0;
  int found_dy = 0;  // The offset of the largest scroll found.
  int64_t found_area = 0;

  const uint8_t* a_px(int x, int y) const {
    return after.data() + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * bpp;
  }
  const uint8_t* b_px(int x, int y) const {
    return before.data() + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * bpp;
  }
  // after's row y over [x, x+w) against before's pixels displaced by (-dx, -dy).
  bool row_equal(int x, int y, int w, int dx, int dy) const {
    return std::memcmp(a_px(x, y), b_px(x - dx, y - dy), static_cast<size_t>(w) * bpp) == 0;
  }
  bool column_equal(int x, int y, int h, int dx, int dy) const {
    for (int i = 0; i < h; ++i) {
      if (std::memcmp(a_px(x, y + i), b_px(x - dx, y + i - dy), bpp) != 0) return false;
    }
    return true;
  }
  bool unwritten(const Rect& r) const { return written.intersected(r).empty(); }

  // Emits dst <- (dst - (dx, dy)) if big enough and its source was not overwritten by an
  // earlier op. The caller has verified the pixels.
  bool emit(const Rect& dst, int dx, int dy) {
    if (dst.h < kMinCopyRows || dst.w < kMinCopyWidth || dst.area() < kMinCopyArea) return false;
    const Rect src{dst.x - dx, dst.y - dy, dst.w, dst.h};
    const Rect screen{0, 0, width, height};
    if (!screen.contains(dst) || !screen.contains(src)) return false;
    if (!unwritten(src) || !unwritten(dst)) return false;
    copies.push_back(CopyOp{dst, src.x, src.y});
    written.add(dst);
    return true;
  }
};

// A fast 64-bit hash of a byte range: four independent multiply-xorshift lanes (so the CPU
// overlaps them), then a murmur finaliser. Quality only matters for voting; memcmp decides.
uint64_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t l0 = 0x243F6A8885A308D3ULL ^ n, l1 = 0x13198A2E03707344ULL, l2 = 0xA4093822299F31D0ULL,
           l3 = 0x082EFA98EC4E6C89ULL;
  // Each step is a bijection of the lane for a given word, so a change in one word always
  // changes the lane; the finaliser spreads the high bits the multiplies accumulate.
  auto step = [](uint64_t l, uint64_t v) { return (l ^ v) * kMix; };
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t v[4];
    std::memcpy(v, p + i, sizeof v);
    l0 = step(l0, v[0]);
    l1 = step(l1, v[1]);
    l2 = step(l2, v[2]);
    l3 = step(l3, v[3]);
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, sizeof v);
    l0 = step(l0, v);
  }
  if (i < n) {
    uint64_t v = 0;
    std::memcpy(&v, p + i, n - i);
    l1 = step(l1, v);
  }
  uint64_t h = l0 ^ (l1 * 0xC2B2AE3D27D4EB4FULL) ^ (l2 * 0x165667B19E3779F9ULL) ^
               (l3 * 0xD6E8FEB86659FD93ULL);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  return h ^ (h >> 33);
}

// A cheap key of a row of n >= 64 bytes: 16 bytes at five places across it. Rows with different
// fingerprints differ; reading five cache lines of a row costs far less than hashing it.
uint64_t fingerprint(const uint8_t* p, size_t n) {
  uint64_t h = n;
  for (size_t i = 0; i < 5; ++i) {
    uint64_t v[2];
    std::memcpy(v, p + i * (n - 16) / 4, sizeof v);
    h = ((h ^ v[0]) * kMix ^ v[1]) * kMix;
  }
  return h ^ (h >> 29);
}

// A set of fingerprints: open addressing at most half full (0 marks a free slot and is kept
// apart).
class FingerprintSet {
 public:
  void build(const std::vector<uint64_t>& keys) {
    size_t cap = 16;
    while (cap < 2 * keys.size()) cap *= 2;
    slots_.assign(cap, 0);
    for (const uint64_t k : keys) {
      if (k == 0) {
        has_zero_ = true;
        continue;
      }
      size_t i = slot(k);
      while (slots_[i] != 0 && slots_[i] != k) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = k;
    }
  }
  bool contains(uint64_t k) const {
    if (k == 0) return has_zero_;
    for (size_t i = slot(k);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i] == k) return true;
      if (slots_[i] == 0) return false;
    }
  }

 private:
  size_t slot(uint64_t k) const { return static_cast<size_t>(k >> 32) & (slots_.size() - 1); }
  std::vector<uint64_t> slots_;
  bool has_zero_ = false;
};

// One byte per kCell x kCell cell of the screen: 1 where `region` touches the cell.
std::vector<uint8_t> cell_grid(const Region& region, int width, int height) {
  const int cw = (width + kCell - 1) / kCell;
  const int ch = (height + kCell - 1) / kCell;
  std::vector<uint8_t> grid(static_cast<size_t>(cw) * static_cast<size_t>(ch), 0);
  for (const Rect& r : region.rects()) {
    for (int cy = r.y / kCell; cy <= (r.bottom() - 1) / kCell; ++cy) {
      std::fill(grid.begin() + cy * cw + r.x / kCell,
                grid.begin() + cy * cw + (r.right() - 1) / kCell + 1, uint8_t{1});
    }
  }
  return grid;
}

// Connected groups of the grid cells `region` touches (8-neighbourhood), as the bounds of the
// region inside each group. Groups too small to hold a copy are dropped.
std::vector<Rect> groups(const Region& region, int width, int height) {
  const int cw = (width + kCell - 1) / kCell;
  const int ch = (height + kCell - 1) / kCell;
  std::vector<uint8_t> grid = cell_grid(region, width, height);
  std::vector<Rect> out;
  std::vector<int> stack;
  for (int start = 0; start < cw * ch; ++start) {
    if (grid[static_cast<size_t>(start)] != 1) continue;
    grid[static_cast<size_t>(start)] = 2;
    stack.push_back(start);
    int x0 = cw, y0 = ch, x1 = -1, y1 = -1;
    while (!stack.empty()) {
      const int c = stack.back();
      stack.pop_back();
      const int cx = c % cw, cy = c / cw;
      x0 = std::min(x0, cx), y0 = std::min(y0, cy), x1 = std::max(x1, cx), y1 = std::max(y1, cy);
      for (int ny = std::max(0, cy - 1); ny <= std::min(ch - 1, cy + 1); ++ny) {
        for (int nx = std::max(0, cx - 1); nx <= std::min(cw - 1, cx + 1); ++nx) {
          const size_t n =
              static_cast<size_t>(ny) * static_cast<size_t>(cw) + static_cast<size_t>(nx);
          if (grid[n] == 1) {
            grid[n] = 2;
            stack.push_back(static_cast<int>(n));
          }
        }
      }
    }
    const Rect cells =
        Rect{x0 * kCell, y0 * kCell, (x1 - x0 + 1) * kCell, (y1 - y0 + 1) * kCell}.intersect(
            Rect{0, 0, width, height});
    if (cells.w < kMinCopyWidth || cells.h < kMinCopyRows || cells.area() < kMinCopyArea) continue;
    const Rect box = region.intersected(cells).bounds();
    if (box.w < kMinCopyWidth || box.h < kMinCopyRows || box.area() < kMinCopyArea) continue;
    out.push_back(box);
  }
  return out;
}

const detail::RowHashes::Span* find_span(const detail::RowHashes* hashes, int x, int w) {
  if (hashes == nullptr) return nullptr;
  for (const auto& span : hashes->spans) {
    if (span.x == x && span.w == w) return &span;
  }
  return nullptr;
}

// Where to keep the hashes of `after` over [x, x + w), or null when no more spans are kept.
detail::RowHashes::Span* keep_span(detail::RowHashes* hashes, int x, int w, int height) {
  if (hashes == nullptr) return nullptr;
  for (auto& span : hashes->spans) {
    if (span.x == x && span.w == w) return &span;
  }
  if (hashes->spans.size() >= kMaxHashSpans) return nullptr;
  auto& span = hashes->spans.emplace_back();
  span.x = x;
  span.w = w;
  span.hash.assign(static_cast<size_t>(height), 0);
  span.known.assign(static_cast<size_t>(height), 0);
  return &span;
}

// Rows of `after` sampled to check or find the offset of a scroll before the rows are hashed.
constexpr int kOffsetSamples = 16;

// The vertical offset at which detect_scroll compares `after`'s rows to `before`'s while it
// hashes them, or 0 for none. The last scroll's offset, if most sampled rows still match at it
// (a terminal scrolls by the same amount again); else the offset most of the sampled rows' rare
// hashes point to (the amount changed, two steps were captured as one, or there was no earlier
// scroll): each wrong guess would cost hashing every row. The sampled rows' hashes are left in
// ha, flagged in `hashed`. `index` holds (hash, row) of before's rows [sy0, sy1), sorted.
int scroll_offset(Context& c, const Rect& box, int sy0, int sy1,
                  const std::vector<std::pair<uint64_t, int>>& index, std::vector<uint64_t>& ha,
                  std::vector<uint8_t>& hashed) {
  const int h = box.h;
  const int samples = std::min(h, kOffsetSamples);
  const auto sample_row = [&](int k) {
    return static_cast<int>((2 * int64_t{k} + 1) * h / (2 * int64_t{samples}));
  };
  const int predicted = std::abs(c.predicted_dy) < h ? c.predicted_dy : 0;
  if (predicted != 0) {
    int tried = 0, equal = 0;
    for (int k = 0; k < samples; ++k) {
      const int y = box.y + sample_row(k);
      if (y - predicted < sy0 || y - predicted >= sy1) continue;
      ++tried;
      if (c.row_equal(box.x, y, box.w, 0, predicted)) ++equal;
    }
    if (equal > 0 && 2 * equal >= tried) return predicted;
  }
  const size_t len = static_cast<size_t>(box.w) * c.bpp;
  std::vector<std::pair<int, int>> tally;  // (dy, votes), few entries.
  for (int k = 0; k < samples; ++k) {
    const int i = sample_row(k);
    const int y = box.y + i;
    const uint64_t hash = hash_bytes(c.a_px(box.x, y), len);
    ++c.rows_hashed;
    ha[static_cast<size_t>(i)] = hash;
    hashed[static_cast<size_t>(i)] = 1;
    const auto [lo, hi] =
        std::equal_range(index.begin(), index.end(), std::pair<uint64_t, int>{hash, 0},
                         [](const auto& a, const auto& b) { return a.first < b.first; });
    if (hi - lo == 0 || hi - lo > kMaxRowRepeats) continue;
    for (auto it = lo; it != hi; ++it) {
      const int dy = y - it->second;
      if (dy == 0 || std::abs(dy) >= h) continue;
      auto t =
          std::find_if(tally.begin(), tally.end(), [&](const auto& e) { return e.first == dy; });
      if (t == tally.end()) {
        tally.emplace_back(dy, 1);
      } else {
        ++t->second;
      }
    }
  }
  int best = 0, best_votes = 1;  // At least two sampled rows must agree.
  for (const auto& [dy, votes] : tally) {
    if (votes > best_votes || (votes == best_votes && best != 0 && std::abs(dy) < std::abs(best))) {
      best = dy;
      best_votes = votes;
    }
  }
  return best;
}

// Gives `after` the hashes of before's other recently searched spans, for the rows of `box`
// that equal before's rows at offset p (equal_at_p) over the span too: the box's columns are
// known equal, the span's other columns are compared. The hash is a function of the bytes, so a
// carried hash is exactly what hashing the row would give; rows not carried are hashed if a
// later call needs them.
void carry_spans(Context& c, const Rect& box, int p, const std::vector<uint8_t>& equal_at_p) {
  if (p == 0 || c.before_hashes == nullptr || c.after_hashes == nullptr) return;
  for (const auto& s : c.before_hashes->spans) {
    if ((s.x == box.x && s.w == box.w) || s.used + kSpanMemory < c.call) continue;
    if (std::max(s.x, box.x) >= std::min(s.x + s.w, box.right())) continue;  // No overlap.
    detail::RowHashes::Span* t = keep_span(c.after_hashes, s.x, s.w, c.height);
    if (t == nullptr) return;
    t->used = std::max(t->used, s.used);
    for (int i = 0; i < box.h; ++i) {
      if (!equal_at_p[static_cast<size_t>(i)]) continue;
      const int y = box.y + i;
      const size_t yb = static_cast<size_t>(y - p);  // Inside the frame: equal_at_p says so.
      if (!s.known[yb] || t->known[static_cast<size_t>(y)]) continue;
      if (s.x < box.x && !c.row_equal(s.x, y, box.x - s.x, 0, p)) continue;
      if (s.x + s.w > box.right() && !c.row_equal(box.right(), y, s.x + s.w - box.right(), 0, p)) {
        continue;
      }
      t->hash[static_cast<size_t>(y)] = s.hash[yb];
      t->known[static_cast<size_t>(y)] = 1;
    }
  }
}

// Vertical scrolls of the full width of `box`.
void detect_scroll(Context& c, const Rect& box) {
  const int h = box.h;
  // Rows an earlier op wrote to (in part) are out: a run's destination must be unwritten. When
  // that is every row (a small group beside a scroll already found), nothing can be found here
  // and nothing is hashed.
  std::vector<uint8_t> covered(static_cast<size_t>(h), 0);
  for (const Rect& r : c.written.intersected(box).rects()) {
    std::fill(covered.begin() + (r.y - box.y), covered.begin() + (r.bottom() - box.y), uint8_t{1});
  }
  if (std::find(covered.begin(), covered.end(), uint8_t{0}) == covered.end()) return;
  const int sy0 = std::max(0, box.y - (h - 1));
  const int sy1 = std::min(c.height, box.bottom() + h - 1);
  const size_t len = static_cast<size_t>(box.w) * c.bpp;

  // Rows of `before` hashed when it was an earlier call's `after` are not hashed again.
  const detail::RowHashes::Span* known = find_span(c.before_hashes, box.x, box.w);

  // A row is hashed only if a row of the other frame has its fingerprint: rows with different
  // fingerprints differ, so a row without one can neither vote nor match, and leaving it out of
  // `index` changes no count of equal hashes. A moved window's rows (the box spans its old and
  // new place) match nothing whole, and this saves hashing some thousand rows of both frames.
  // Only when some of before's rows are not known: on a steady scroll through a CopyDetector
  // they all are and few rows of `after` are hashed, so fingerprints would cost more than they
  // save.
  bool filter = known == nullptr;
  for (int y = sy0; y < sy1 && !filter; ++y) filter = !known->known[static_cast<size_t>(y)];
  std::vector<uint64_t> fa, fb;
  FingerprintSet fa_set, fb_set;
  if (filter) {
    fa.resize(static_cast<size_t>(h));
    fb.resize(static_cast<size_t>(sy1 - sy0));
    for (int i = 0; i < h; ++i) {
      fa[static_cast<size_t>(i)] = fingerprint(c.a_px(box.x, box.y + i), len);
    }
    for (int y = sy0; y < sy1; ++y) {
      fb[static_cast<size_t>(y - sy0)] = fingerprint(c.b_px(box.x, y), len);
    }
    fa_set.build(fa);
    fb_set.build(fb);
  }
  std::vector<uint64_t> hb(static_cast<size_t>(sy1 - sy0));
  std::vector<uint8_t> hb_known(hb.size(), 0);
  std::vector<std::pair<uint64_t, int>> index;  // (hash, row of before), sorted by hash.
  index.reserve(hb.size());
  for (int y = sy0; y < sy1; ++y) {
    const size_t k = static_cast<size_t>(y - sy0);
    if (known != nullptr && known->known[static_cast<size_t>(y)]) {
      hb[k] = known->hash[static_cast<size_t>(y)];
    } else if (!filter || fa_set.contains(fb[k])) {
      hb[k] = hash_bytes(c.b_px(box.x, y), len);
      ++c.rows_hashed;
    } else {
      continue;
    }
    hb_known[k] = 1;
    index.emplace_back(hb[k], y);
  }
  std::sort(index.begin(), index.end());

  detail::RowHashes::Span* kept = keep_span(c.after_hashes, box.x, box.w, c.height);
  std::vector<uint64_t> ha(static_cast<size_t>(h));
  std::vector<uint8_t> rare(static_cast<size_t>(h), 0);       // The row's hash may vote.
  std::vector<int> votes(static_cast<size_t>(2 * h - 1), 0);  // Index dy + h - 1.
  // equal_at_p[i]: after's row box.y + i equals before's row box.y + i - p over the box. Such a
  // row has the hash of the row it equals (the hash is a function of the bytes), so it is not
  // hashed: on a steady scroll only the exposed rows are, and each row of `after` is read once,
  // by the comparison, instead of once to hash it and once more to verify it. p only decides
  // which rows are hashed, never what is found.
  std::vector<uint8_t> hashed(static_cast<size_t>(h), 0);  // ha[i] is set.
  const int p = scroll_offset(c, box, sy0, sy1, index, ha, hashed);
  const std::vector<uint8_t> sampled = hashed;
  if (kept != nullptr) kept->used = c.call;  // Searched now, even if no row of it is hashed.
  std::vector<uint8_t> equal_at_p(p != 0 ? static_cast<size_t>(h) : 0, 0);
  for (int i = 0; i < h; ++i) {
    const int y = box.y + i;
    const bool in_range = p != 0 && y - p >= sy0 && y - p < sy1;
    const size_t at_p = static_cast<size_t>(y - p - sy0);  // Used only when in_range.
    if (sampled[static_cast<size_t>(i)]) {
      // A sample row: compared only when the hashes say it may be equal.
      if (in_range && hb_known[at_p] && ha[static_cast<size_t>(i)] == hb[at_p]) {
        equal_at_p[static_cast<size_t>(i)] = c.row_equal(box.x, y, box.w, 0, p) ? 1 : 0;
      }
    } else if (in_range && hb_known[at_p] && (!filter || fa[static_cast<size_t>(i)] == fb[at_p]) &&
               c.row_equal(box.x, y, box.w, 0, p)) {
      equal_at_p[static_cast<size_t>(i)] = 1;
      ha[static_cast<size_t>(i)] = hb[at_p];
      hashed[static_cast<size_t>(i)] = 1;
    } else if (!filter || fb_set.contains(fa[static_cast<size_t>(i)])) {
      ha[static_cast<size_t>(i)] = hash_bytes(c.a_px(box.x, y), len);
      hashed[static_cast<size_t>(i)] = 1;
      ++c.rows_hashed;
    } else {
      continue;  // Equals no row of `before`: neither kept nor voting.
    }
    if (kept != nullptr) {
      kept->hash[static_cast<size_t>(y)] = ha[static_cast<size_t>(i)];
      kept->known[static_cast<size_t>(y)] = 1;
    }
    const auto [lo, hi] = std::equal_range(
        index.begin(), index.end(), std::pair<uint64_t, int>{ha[static_cast<size_t>(i)], 0},
        [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto n = hi - lo;
    if (n == 0 || n > kMaxRowRepeats) continue;
    rare[static_cast<size_t>(i)] = 1;
    for (auto it = lo; it != hi; ++it) {
      const int dy = y - it->second;
      if (dy != 0 && std::abs(dy) < h) ++votes[static_cast<size_t>(dy + h - 1)];
    }
  }

  carry_spans(c, box, p, equal_at_p);

  std::vector<std::pair<int, int>> candidates;  // (votes, dy)
  for (int k = 0; k < 2 * h - 1; ++k) {
    if (votes[static_cast<size_t>(k)] >= kMinRowVotes) {
      candidates.emplace_back(votes[static_cast<size_t>(k)], k - (h - 1));
    }
  }
  const size_t keep = std::min<size_t>(candidates.size(), kMaxScrollCandidates);
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(keep),
                    candidates.end(), [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first
                                                : std::abs(a.second) < std::abs(b.second);
                    });
  candidates.resize(keep);

  for (const auto& [count, dy] : candidates) {
    std::vector<std::pair<int, int>> runs;  // [first, last) row indices into the box.
    int start = -1;
    bool voted = false;  // A run of blank rows alone is no evidence of a scroll.
    for (int i = 0; i <= h; ++i) {
      bool match = false;
      if (i < h && !covered[static_cast<size_t>(i)]) {
        const int yb = box.y + i - dy;
        if (dy == p) {
          match = equal_at_p[static_cast<size_t>(i)] != 0;
        } else {
          match = yb >= sy0 && yb < sy1 && hashed[static_cast<size_t>(i)] &&
                  hb_known[static_cast<size_t>(yb - sy0)] &&
                  ha[static_cast<size_t>(i)] == hb[static_cast<size_t>(yb - sy0)] &&
                  c.row_equal(box.x, box.y + i, box.w, 0, dy);
        }
      }
      if (match) {
        if (start < 0) start = i;
        voted = voted || rare[static_cast<size_t>(i)] != 0;
      } else if (start >= 0) {
        if (voted) runs.emplace_back(start, i);
        start = -1;
        voted = false;
      }
    }
    // A run at the edge of the box continues beyond it while rows still match: blank lines can
    // split one scrolled area into several groups, which should still be one op.
    if (!runs.empty() && runs.front().first == 0) {
      int& first = runs.front().first;
      while (box.y + first > c.limit.y && box.y + first - 1 - dy >= 0 &&
             box.y + first - 1 - dy < c.height &&
             c.row_equal(box.x, box.y + first - 1, box.w, 0, dy) &&
             c.unwritten(Rect{box.x, box.y + first - 1, box.w, 1})) {
        --first;
      }
    }
    if (!runs.empty() && runs.back().second == h) {
      int& last = runs.back().second;
      while (box.y + last < c.limit.bottom() && box.y + last - dy >= 0 &&
             box.y + last - dy < c.height && c.row_equal(box.x, box.y + last, box.w, 0, dy) &&
             c.unwritten(Rect{box.x, box.y + last, box.w, 1})) {
        ++last;
      }
    }
    // Content moving down reads from above: emit the lowest run first so no run's source has
    // been overwritten by an earlier run (and the reverse for content moving up).
    if (dy > 0) std::reverse(runs.begin(), runs.end());
    for (const auto& [first, last] : runs) {
      const Rect dst{box.x, box.y + first, box.w, last - first};
      if (c.emit(dst, 0, dy)) {
        if (dst.area() > c.found_area) c.found_area = dst.area(), c.found_dy = dy;
        std::fill(covered.begin() + std::clamp(first, 0, h),
                  covered.begin() + std::clamp(last, 0, h), uint8_t{1});
      }
    }
  }
}

// Grows a verified rectangle r (after[p] == before[p - (dx, dy)]) one pixel per side per round
// while the new row or column still matches, stays in the limit and overlaps no earlier op.
Rect grow(const Context& c, Rect r, int dx, int dy) {
  const Rect& lim = c.limit;
  bool progress = true;
  while (progress) {
    progress = false;
    if (r.y > lim.y && r.y - 1 - dy >= 0 && c.row_equal(r.x, r.y - 1, r.w, dx, dy) &&
        c.unwritten(Rect{r.x, r.y - 1, r.w, 1})) {
      --r.y, ++r.h, progress = true;
    }
    if (r.bottom() < lim.bottom() && r.bottom() - dy < c.height &&
        c.row_equal(r.x, r.bottom(), r.w, dx, dy) && c.unwritten(Rect{r.x, r.bottom(), r.w, 1})) {
      ++r.h, progress = true;
    }
    if (r.x > lim.x && r.x - 1 - dx >= 0 && c.column_equal(r.x - 1, r.y, r.h, dx, dy) &&
        c.unwritten(Rect{r.x - 1, r.y, 1, r.h})) {
      --r.x, ++r.w, progress = true;
    }
    if (r.right() < lim.right() && r.right() - dx < c.width &&
        c.column_equal(r.right(), r.y, r.h, dx, dy) && c.unwritten(Rect{r.right(), r.y, 1, r.h})) {
      ++r.w, progress = true;
    }
  }
  return r;
}

// Counts per (dx, dy) key: open addressing (a slot is free while its count is 0), grown at half
// load.
struct VoteTable {
  struct Entry {
    uint64_t key = 0;
    int count = 0;
  };
  std::vector<Entry> entries = std::vector<Entry>(4096);
  size_t used = 0;

  void add(uint64_t key) {
    if (2 * (used + 1) > entries.size()) {
      std::vector<Entry> old = std::move(entries);
      entries.assign(old.size() * 2, Entry{});
      for (const Entry& e : old) {
        if (e.count > 0) slot(e.key) = e;
      }
    }
    Entry& e = slot(key);
    if (e.count == 0) ++used;
    e.key = key;
    ++e.count;
  }
  Entry& slot(uint64_t key) {
    size_t i = static_cast<size_t>((key * kMix) >> 32) & (entries.size() - 1);
    while (entries[i].count > 0 && entries[i].key != key) i = (i + 1) & (entries.size() - 1);
    return entries[i];
  }
};

struct Anchor {
  uint64_t hash;
  int x;
  int y;
};

template <typename P>
P load(const uint8_t* p) {
  P v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

constexpr uint64_t power(uint64_t base, int n) {
  uint64_t r = 1;
  for (int i = 0; i < n; ++i) r *= base;
  return r;
}

// The rolling hash of kSegment pixels, sum of p[i] * kRollBase^(kSegment - 1 - i) (mod 2^64),
// as four interleaved chains so the multiplies overlap instead of waiting on each other.
template <typename P>
uint64_t segment_hash(const uint8_t* p) {
  static_assert(kSegment % 4 == 0);
  constexpr uint64_t kBase4 = power(kRollBase, 4);
  uint64_t h[4] = {0, 0, 0, 0};
  for (int i = 0; i < kSegment; i += 4) {
    for (int r = 0; r < 4; ++r) h[r] = h[r] * kBase4 + load<P>(p + (i + r) * sizeof(P));
  }
  return ((h[0] * kRollBase + h[1]) * kRollBase + h[2]) * kRollBase + h[3];
}

// [l, r): a run of columns.
struct Run {
  int l;
  int r;
};

// Calls f(l, r) for each run of the columns in `from` that no run of `minus` covers (both
// sorted and disjoint).
template <typename F>
void each_difference(const std::vector<Run>& from, const std::vector<Run>& minus, F f) {
  for (const Run& run : from) {
    int x = run.l;
    for (const Run& m : minus) {
      if (m.l >= run.r) break;
      if (m.r <= x) continue;
      if (m.l > x) f(x, m.l);
      x = std::max(x, m.r);
    }
    if (x < run.r) f(x, run.r);
  }
}

// Pixels compared at once while looking for runs of matching pixels.
constexpr int kChunk = 8;
// A run of at least kMinCopyWidth pixels holds this many whole chunks wherever it starts.
constexpr int kMinChunks = (kMinCopyWidth - 2 * (kChunk - 1) + kChunk - 1) / kChunk;
static_assert(kMinChunks >= 1 && (kMinChunks + 2) * kChunk - 2 >= kMinCopyWidth);

// The runs of at least kMinCopyWidth columns of row y of `area` where after[p] ==
// before[p - (dx, dy)] and no rectangle of `blocked` lies, into `out`. Compares whole chunks,
// and pixel by pixel only around runs of kMinChunks equal chunks (shorter runs cannot hold a
// copy), so a row costs about area.w / kChunk compares however it matches.
template <typename P>
void match_runs(const Context& c, const Rect& area, int y, int dx, int dy,
                const std::vector<Rect>& blocked, std::vector<Run>& out) {
  out.clear();
  const uint8_t* a = c.a_px(area.x, y);
  const uint8_t* b = c.b_px(area.x - dx, y - dy);
  const auto same = [&](int i) {
    return load<P>(a + static_cast<size_t>(i) * sizeof(P)) ==
           load<P>(b + static_cast<size_t>(i) * sizeof(P));
  };
  constexpr size_t kChunkBytes = kChunk * sizeof(P);
  static_assert(kChunkBytes % 8 == 0);
  // Inline word compares: a memcmp call per chunk was most of this function's time.
  const auto chunk_equal = [&](int k) {
    const uint8_t* pa = a + static_cast<size_t>(k) * kChunkBytes;
    const uint8_t* pb = b + static_cast<size_t>(k) * kChunkBytes;
    uint64_t d = 0;
    for (size_t i = 0; i < kChunkBytes; i += 8)
      d |= load<uint64_t>(pa + i) ^ load<uint64_t>(pb + i);
    return d == 0;
  };
  const int chunks = area.w / kChunk;
  int done = 0;  // Columns before this are in `out` or known not to be.
  for (int k = 0; k < chunks;) {
    if (!chunk_equal(k)) {
      ++k;
      continue;
    }
    int end = k + 1;
    while (end < chunks && chunk_equal(end)) ++end;
    if (end - k >= kMinChunks) {
      int l = k * kChunk, r = end * kChunk;
      while (l > done && same(l - 1)) --l;
      while (r < area.w && same(r)) ++r;
      out.push_back(Run{l, r});
      done = r;
    }
    k = end;
  }
  if (!blocked.empty()) {
    std::vector<Run> cut;
    for (const Rect& rect : blocked) {
      if (y >= rect.y && y < rect.bottom())
        cut.push_back(Run{rect.x - area.x, rect.right() - area.x});
    }
    if (!cut.empty()) {
      std::sort(cut.begin(), cut.end(), [](const Run& p, const Run& q) { return p.l < q.l; });
      std::vector<Run> merged;  // Disjoint, for each_difference.
      for (const Run& r : cut) {
        if (!merged.empty() && r.l <= merged.back().r) {
          merged.back().r = std::max(merged.back().r, r.r);
        } else {
          merged.push_back(r);
        }
      }
      std::vector<Run> kept;
      each_difference(out, merged, [&](int l, int r) { kept.push_back(Run{l, r}); });
      out = std::move(kept);
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(),
                           [](const Run& r) { return r.r - r.l < kMinCopyWidth; }),
            out.end());
}

// Columns [l, r) that have matched since row `start`: one bar of the histogram.
struct Bar {
  int l;
  int r;
  int start;
};

// The largest rectangle at least kMinCopyWidth wide inside `area` where after[p] ==
// before[p - (dx, dy)] and no earlier op wrote (a narrower one is no copy): row by row, how many
// rows each column has matched for, and the largest rectangle under that histogram (the stack
// method). Rows are kept as runs of matching columns (match_runs) and the histogram as bars of
// columns whose match began on the same row, so a moved window is one bar however wide, and a
// row that matches like the one before costs nothing beyond finding its runs. The stack method
// runs only on a row with a column that does not match on the next row (otherwise every
// rectangle ending there extends one row down, so none is the largest), and only on runs wide
// and tall enough to beat the best so far.
template <typename P>
Rect largest_match(const Context& c, const Rect& area, int dx, int dy) {
  Rect best;
  if (area.w < kMinCopyWidth || area.h < 1) return best;
  const std::vector<Rect> blocked = c.written.intersected(area).rects();
  std::vector<Run> cur, next;    // Runs of rows y and y + 1.
  std::vector<Bar> bars, nbars;  // Row y's histogram (sorted, within `cur`'s runs).
  struct Open {
    int l;
    int height;
  };
  std::vector<Open> stack;
  const auto add_bar = [&](int l, int r, int start) {
    if (!nbars.empty() && nbars.back().r == l && nbars.back().start == start) {
      nbars.back().r = r;
    } else {
      nbars.push_back(Bar{l, r, start});
    }
  };
  match_runs<P>(c, area, area.y, dx, dy, blocked, next);
  for (int y = area.y; y < area.bottom(); ++y) {
    std::swap(cur, next);
    const bool last = y + 1 == area.bottom();
    if (last) {
      next.clear();
    } else {
      match_runs<P>(c, area, y + 1, dx, dy, blocked, next);
    }
    // Columns that matched on the row above keep their bar's start; the others start here.
    nbars.clear();
    size_t j = 0;
    for (const Run& run : cur) {
      int x = run.l;
      while (j < bars.size() && bars[j].r <= run.l) ++j;
      for (size_t k = j; k < bars.size() && bars[k].l < run.r; ++k) {
        const int l = std::max(bars[k].l, run.l), r = std::min(bars[k].r, run.r);
        if (l > x) add_bar(x, l, y);
        add_bar(l, r, bars[k].start);
        x = r;
      }
      if (x < run.r) add_bar(x, run.r, y);
    }
    std::swap(bars, nbars);
    bool lost = false;  // Some column of `cur` is not in `next`.
    each_difference(cur, next, [&](int, int) { lost = true; });
    if (!lost) continue;
    const int rows = y - area.y + 1;
    size_t b = 0;
    for (const Run& run : cur) {
      while (b < bars.size() && bars[b].r <= run.l) ++b;
      size_t e = b;
      while (e < bars.size() && bars[e].l < run.r) ++e;
      if (int64_t{run.r - run.l} * rows > best.area()) {
        // The stack method over bars: each pops the taller open ones, whose rectangles end at
        // its left edge; the run's end (height 0) pops the rest.
        stack.clear();
        for (size_t k = b; k <= e; ++k) {
          const int x = k < e ? bars[k].l : run.r;
          const int height = k < e ? y - bars[k].start + 1 : 0;
          int l = x;
          while (!stack.empty() && stack.back().height >= height) {
            const Open top = stack.back();
            stack.pop_back();
            if (int64_t{top.height} * (x - top.l) > best.area()) {
              best = Rect{area.x + top.l, y - top.height + 1, x - top.l, top.height};
            }
            l = top.l;
          }
          stack.push_back(Open{l, height});
        }
      }
      b = e;
    }
  }
  return best;
}

size_t bloom_index(uint64_t h, int bits) {
  return static_cast<size_t>((h * kMix) >> (64 - bits));
}

// 2-D moves (and horizontal scrolls) whose destination lies in `remaining`; sources are searched
// in `sources`.
template <typename P>
void detect_moves(Context& c, const Region& remaining, const Region& sources) {
  // Anchors: segments of `after` in cells that `remaining` touches, skipping flat ones (they
  // match anywhere).
  const Rect rb = remaining.bounds();
  const int cw = (c.width + kCell - 1) / kCell;
  const std::vector<uint8_t> cells = cell_grid(remaining, c.width, c.height);
  std::vector<Anchor> anchors;
  const int ax0 = (rb.x + kAnchorStepX - 1) / kAnchorStepX * kAnchorStepX;
  for (int y = (rb.y + kAnchorStepY - 1) / kAnchorStepY * kAnchorStepY; y < rb.bottom();
       y += kAnchorStepY) {
    for (int x = ax0; x + kSegment <= std::min(rb.right(), c.width); x += kAnchorStepX) {
      if (!cells[static_cast<size_t>(y / kCell) * static_cast<size_t>(cw) +
                 static_cast<size_t>(x / kCell)]) {
        continue;
      }
      const uint8_t* p = c.a_px(x, y);
      const P first = load<P>(p);
      bool flat = true;
      for (int i = 1; i < kSegment && flat; ++i) flat = load<P>(p + i * sizeof(P)) == first;
      if (!flat) anchors.push_back(Anchor{segment_hash<P>(p), x, y});
    }
  }
  if (anchors.size() < static_cast<size_t>(kMinMoveVotes)) return;

  // Open-addressed table hash -> chain of anchors; hashes shared by many anchors are dropped.
  size_t cap = 16;
  while (cap < anchors.size() * 2) cap *= 2;
  struct Slot {
    uint64_t hash = 0;
    int head = -1;
    int count = 0;
  };
  std::vector<Slot> table(cap);
  std::vector<int> next(anchors.size(), -1);
  auto find_slot = [&](uint64_t h) -> Slot& {
    size_t i = static_cast<size_t>((h * kMix) >> 20) & (cap - 1);
    while (table[i].head >= 0 && table[i].hash != h) i = (i + 1) & (cap - 1);
    return table[i];
  };
  for (size_t i = 0; i < anchors.size(); ++i) {
    Slot& s = find_slot(anchors[i].hash);
    s.hash = anchors[i].hash;
    next[i] = s.head;
    s.head = static_cast<int>(i);
    ++s.count;
  }
  const int bloom_bits =
      std::clamp(static_cast<int>(std::bit_width(anchors.size() * kBloomBitsPerAnchor)),
                 kMinBloomBits, kMaxBloomBits);
  std::vector<uint64_t> bloom(size_t{1} << (bloom_bits - 6), 0);
  for (const Slot& s : table) {
    if (s.head >= 0 && s.count <= kMaxAnchorRepeats) {
      const size_t b = bloom_index(s.hash, bloom_bits);
      bloom[b >> 6] |= uint64_t{1} << (b & 63);
    }
  }

  // Rolling hash of `before` at every x of every kScanRowStep-th row, in the cells `sources`
  // touches (a moved window's old place changed too); each hit votes.
  // Rolling on: h * kRollBase + new - kRollBase^kSegment * old, the same value as
  // segment_hash; the product with `old` is off the chain of dependent multiplies.
  constexpr uint64_t kDrop = power(kRollBase, kSegment);
  const std::vector<uint8_t> source_cells = cell_grid(sources, c.width, c.height);
  const Rect search = sources.bounds();
  VoteTable votes;
  size_t total = 0;
  for (int y = search.y; y < search.bottom() && total < kMaxMoveVotes; y += kScanRowStep) {
    const uint8_t* cell_row =
        source_cells.data() + static_cast<size_t>(y / kCell) * static_cast<size_t>(cw);
    for (int cx = search.x / kCell; cx < cw;) {
      if (!cell_row[cx]) {
        ++cx;
        continue;
      }
      const int run_x = cx * kCell;
      while (cx < cw && cell_row[cx]) ++cx;
      const int run_w = std::min(cx * kCell, c.width) - run_x;
      if (run_w < kSegment) continue;
      const uint8_t* row = c.b_px(run_x, y);
      const auto probe = [&](uint64_t h, int i) {
        const size_t b = bloom_index(h, bloom_bits);
        if (!(bloom[b >> 6] & (uint64_t{1} << (b & 63)))) return;
        const Slot& s = find_slot(h);
        if (s.head < 0 || s.count > kMaxAnchorRepeats) return;
        for (int a = s.head; a >= 0; a = next[static_cast<size_t>(a)]) {
          const int dx = anchors[static_cast<size_t>(a)].x - (run_x + i);
          const int dy = anchors[static_cast<size_t>(a)].y - y;
          if (dx == 0 && dy == 0) continue;
          votes.add((static_cast<uint64_t>(static_cast<uint32_t>(dx)) << 32) |
                    static_cast<uint32_t>(dy));
          ++total;
        }
      };
      // The hash at position i + 1 from that at i.
      const auto roll = [&](uint64_t h, int i) {
        return h * kRollBase + load<P>(row + static_cast<size_t>(i + kSegment) * sizeof(P)) -
               kDrop * load<P>(row + static_cast<size_t>(i) * sizeof(P));
      };
      // Positions [0, n) as two halves rolled side by side: each roll waits on the one before,
      // so two independent chains go about twice as fast as one.
      const int n = run_w - kSegment + 1;
      const int half = n / 2;
      uint64_t h0 = segment_hash<P>(row);
      uint64_t h1 = segment_hash<P>(row + static_cast<size_t>(half) * sizeof(P));
      for (int k = 0; k < half; ++k) {
        probe(h0, k);
        probe(h1, half + k);
        if (k + 1 < half) h0 = roll(h0, k);
        if (half + k + 1 < n) h1 = roll(h1, half + k);
      }
      if (n % 2 != 0) probe(h1, n - 1);
    }
  }

  std::vector<std::pair<int, uint64_t>> candidates;
  for (const VoteTable::Entry& e : votes.entries) {
    if (e.count >= kMinMoveVotes) candidates.emplace_back(e.count, e.key);
  }
  const size_t keep = std::min<size_t>(candidates.size(), kMaxMoveCandidates);
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(keep),
                    candidates.end(), [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  candidates.resize(keep);

  const size_t seg_bytes = kSegment * sizeof(P);
  for (const auto& [n, key] : candidates) {
    const int dx = static_cast<int32_t>(static_cast<uint32_t>(key >> 32));
    const int dy = static_cast<int32_t>(static_cast<uint32_t>(key));
    // The anchors this offset explains, and their bounds.
    std::vector<const Anchor*> support;
    int x0 = c.width, y0 = c.height, x1 = 0, y1 = 0;
    for (const Anchor& a : anchors) {
      const int sx = a.x - dx, sy = a.y - dy;
      if (sx < 0 || sy < 0 || sx + kSegment > c.width || sy >= c.height) continue;
      // An anchor partly written by an earlier op is no evidence any more (copies are wider
      // than a segment, so one that touches it holds one of its ends).
      if (c.written.contains(a.x, a.y) || c.written.contains(a.x + kSegment - 1, a.y)) continue;
      if (std::memcmp(c.a_px(a.x, a.y), c.b_px(sx, sy), seg_bytes) != 0) continue;
      support.push_back(&a);
      x0 = std::min(x0, a.x), y0 = std::min(y0, a.y);
      x1 = std::max(x1, a.x + kSegment), y1 = std::max(y1, a.y + 1);
    }
    if (support.size() < static_cast<size_t>(kMinMoveVotes)) continue;

    // Anchors sit at least kAnchorStepX apart, so the moved area's side edges lie within that
    // (plus a segment) of the outermost ones. Blank areas match under any offset, so growing
    // greedily from an anchor can run off sideways along a blank row; the largest matching
    // rectangle in the neighbourhood is the robust answer, then grown in case it reaches the
    // margin. Above and below, growing adds whole rows of the rectangle's width, which cannot
    // run off sideways: the margin there is only a few anchor rows, and growing finds the rest
    // (a title bar without anchors) at the cost of one row compare per row, not a search of
    // every pixel of a band as high as the side margin is wide.
    constexpr int kMargin = kAnchorStepX + kSegment;
    constexpr int kRowMargin = 2 * kAnchorStepY;
    // A few coincidental anchors spread over the screen would make that search costly for
    // nothing: a real moved area has a supporting anchor on most anchor rows of each anchor
    // column.
    if (int64_t{x1 - x0} * (y1 - y0) >
        int64_t{kSparseSupport} * kAnchorStepX * static_cast<int64_t>(support.size())) {
      continue;
    }
    const Rect around =
        Rect{x0 - kMargin, y0 - kRowMargin, x1 - x0 + 2 * kMargin, y1 - y0 + 2 * kRowMargin}
            .intersect(c.limit)
            .intersect(Rect{dx, dy, c.width, c.height});
    Rect best = largest_match<P>(c, around, dx, dy);
    if (best.empty()) continue;
    best = grow(c, best, dx, dy);
    c.emit(best, dx, dy);
  }
}

// detect_copies, reading `before`'s row hashes from `before_hashes` where known and keeping
// `after`'s in `after_hashes` (either may be null); adds the rows it hashed to *rows_hashed.
// `scroll_dy` holds the offset to try first and receives that of the largest scroll found (0 if
// none); null: none. `call` numbers the calls of one CopyDetector (spans' `used`).
DetectedCopies detect(const rfb::Frame& before, const rfb::Frame& after, const rfb::Region& changed,
                      const detail::RowHashes* before_hashes, detail::RowHashes* after_hashes,
                      int64_t* rows_hashed, int* scroll_dy, int64_t call) {
  DetectedCopies out;
  out.remaining = changed;
  if (before.size() != after.size() || before.format() != after.format() || before.size().empty() ||
      after.format().bytes_per_pixel() <= 0) {
    return out;
  }
  Context c{before,
            after,
            before.size().width,
            before.size().height,
            static_cast<size_t>(after.format().bytes_per_pixel()),
            after.stride(),
            {},
            {},
            {}};
  if (before.stride() != c.stride) return out;
  c.before_hashes = before_hashes;
  c.after_hashes = after_hashes;
  c.predicted_dy = scroll_dy != nullptr ? *scroll_dy : 0;
  c.call = call;
  const Region work = changed.intersected(Rect{0, 0, c.width, c.height});
  if (work.area() < kMinCopyArea) return out;
  c.limit = work.bounds();

  // Widest groups first: one scrolled area split by blank lines into groups of different widths
  // is then one op across the full width, which the narrower groups' rows are part of.
  std::vector<Rect> boxes = groups(work, c.width, c.height);
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const Rect& a, const Rect& b) { return a.w > b.w; });
  for (const Rect& box : boxes) detect_scroll(c, box);

  Region rest = work;
  rest.subtract(c.written);
  // A moved window changes its old and its new place, rarely most of the screen; when most of
  // the screen changed (video, a full-screen redraw) the search for moves costs milliseconds per
  // frame (a quarter of vncd's CPU on full-screen video) and finds nothing.
  // After a scroll that explains most of the change (a terminal, a browser), what is left is
  // the exposed strip: searching the whole changed area for its source was most of the CPU of
  // a scrolling terminal.
  const int64_t screen = int64_t{c.width} * c.height;
  if (rest.area() >= kMinCopyArea && rest.area() <= screen * kMaxMoveSearchPercent / 100 &&
      rest.area() * 2 >= work.area()) {
    switch (c.bpp) {
      case 1:
        detect_moves<uint8_t>(c, rest, work);
        break;
      case 2:
        detect_moves<uint16_t>(c, rest, work);
        break;
      case 4:
        detect_moves<uint32_t>(c, rest, work);
        break;
      default:
        break;  // Scrolls only: moves hash whole pixels.
    }
  }

  out.copies = std::move(c.copies);
  out.remaining.subtract(c.written);
  if (rows_hashed != nullptr) *rows_hashed += c.rows_hashed;
  if (scroll_dy != nullptr) *scroll_dy = c.found_dy;
  return out;
}

}  // namespace

DetectedCopies detect_copies(const rfb::Frame& before, const rfb::Frame& after,
                             const rfb::Region& changed) {
  return detect(before, after, changed, nullptr, nullptr, nullptr, nullptr, 0);
}

DetectedCopies CopyDetector::detect(const rfb::FramePtr& before, const rfb::FramePtr& after,
                                    const rfb::Region& changed) {
  if (!before || !after) {
    forget();
    DetectedCopies out;
    out.remaining = changed;
    return out;
  }
  // Held frames cannot change (see the header), so the same object means the same pixels.
  const detail::RowHashes* known = before == frame_ ? &hashes_ : nullptr;
  detail::RowHashes fresh;
  if (after == frame_) {
    // `after` is the held frame: its kept hashes stay right and may be completed.
    fresh = hashes_;
  }
  DetectedCopies out = vncd::enc::detect(*before, *after, changed, known, &fresh, &rows_hashed_,
                                         &scroll_dy_, ++calls_);
  frame_ = after;
  hashes_ = std::move(fresh);
  return out;
}

void CopyDetector::forget() {
  frame_.reset();
  hashes_ = detail::RowHashes();
}

}  // namespace vncd::enc
