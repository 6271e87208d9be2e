#include "rfb/geometry.h"

#include <algorithm>

namespace vncd::rfb {

Rect Rect::intersect(const Rect& o) const {
  int l = std::max(x, o.x), t = std::max(y, o.y);
  int r = std::min(right(), o.right()), b = std::min(bottom(), o.bottom());
  if (r <= l || b <= t) return Rect{};
  return Rect{l, t, r - l, b - t};
}

std::string Rect::str() const {
  return std::to_string(w) + "x" + std::to_string(h) + "+" + std::to_string(x) + "+" +
         std::to_string(y);
}

Region::Region() {
  pixman_region32_init(&r_);
}
Region::Region(const Rect& r) {
  if (r.empty())
    pixman_region32_init(&r_);
  else
    pixman_region32_init_rect(&r_, r.x, r.y, static_cast<unsigned>(r.w),
                              static_cast<unsigned>(r.h));
}
Region Region::from_rects(std::span<const Rect> rects) {
  std::vector<pixman_box32_t> boxes;
  boxes.reserve(rects.size());
  for (const Rect& r : rects)
    if (!r.empty()) boxes.push_back(pixman_box32_t{r.x, r.y, r.right(), r.bottom()});
  Region out;
  pixman_region32_fini(&out.r_);
  if (!pixman_region32_init_rects(&out.r_, boxes.data(), static_cast<int>(boxes.size()))) {
    // Only on allocation failure, which pixman leaves as an empty "broken" region: fall back to
    // adding one by one, which reports nothing either but stays a valid region.
    pixman_region32_fini(&out.r_);
    pixman_region32_init(&out.r_);
    for (const Rect& r : rects) out.add(r);
  }
  return out;
}

Region::Region(const Region& o) {
  pixman_region32_init(&r_);
  pixman_region32_copy(&r_, const_cast<pixman_region32_t*>(&o.r_));
}
Region::Region(Region&& o) noexcept {
  pixman_region32_init(&r_);
  std::swap(r_, o.r_);
}
Region& Region::operator=(const Region& o) {
  if (this != &o) pixman_region32_copy(&r_, const_cast<pixman_region32_t*>(&o.r_));
  return *this;
}
Region& Region::operator=(Region&& o) noexcept {
  std::swap(r_, o.r_);
  return *this;
}
Region::~Region() {
  pixman_region32_fini(&r_);
}

bool Region::empty() const {
  return !pixman_region32_not_empty(const_cast<pixman_region32_t*>(&r_));
}

Rect Region::bounds() const {
  if (empty()) return Rect{};
  const pixman_box32_t* b = pixman_region32_extents(const_cast<pixman_region32_t*>(&r_));
  return Rect{b->x1, b->y1, b->x2 - b->x1, b->y2 - b->y1};
}

std::vector<Rect> Region::rects() const {
  int n = 0;
  const pixman_box32_t* b = pixman_region32_rectangles(const_cast<pixman_region32_t*>(&r_), &n);
  std::vector<Rect> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    out.push_back(Rect{b[i].x1, b[i].y1, b[i].x2 - b[i].x1, b[i].y2 - b[i].y1});
  return out;
}

size_t Region::num_rects() const {
  return static_cast<size_t>(pixman_region32_n_rects(const_cast<pixman_region32_t*>(&r_)));
}

int64_t Region::area() const {
  int64_t a = 0;
  for (const Rect& r : rects()) a += r.area();
  return a;
}

bool Region::contains(int x, int y) const {
  return pixman_region32_contains_point(const_cast<pixman_region32_t*>(&r_), x, y, nullptr);
}

void Region::clear() {
  pixman_region32_fini(&r_);
  pixman_region32_init(&r_);
}

void Region::add(const Rect& r) {
  if (r.empty()) return;
  pixman_region32_union_rect(&r_, &r_, r.x, r.y, static_cast<unsigned>(r.w),
                             static_cast<unsigned>(r.h));
}
void Region::add(const Region& o) {
  pixman_region32_union(&r_, &r_, const_cast<pixman_region32_t*>(&o.r_));
}
void Region::subtract(const Rect& r) {
  subtract(Region(r));
}
void Region::subtract(const Region& o) {
  pixman_region32_subtract(&r_, &r_, const_cast<pixman_region32_t*>(&o.r_));
}
void Region::intersect(const Rect& r) {
  if (r.empty()) {
    clear();
    return;
  }
  pixman_region32_intersect_rect(&r_, &r_, r.x, r.y, static_cast<unsigned>(r.w),
                                 static_cast<unsigned>(r.h));
}
void Region::intersect(const Region& o) {
  pixman_region32_intersect(&r_, &r_, const_cast<pixman_region32_t*>(&o.r_));
}
void Region::translate(int dx, int dy) {
  pixman_region32_translate(&r_, dx, dy);
}

Region Region::intersected(const Region& o) const {
  Region out(*this);
  out.intersect(o);
  return out;
}
Region Region::intersected(const Rect& r) const {
  Region out(*this);
  out.intersect(r);
  return out;
}

bool Region::operator==(const Region& o) const {
  // pixman compares extents first, and an empty result of intersect() or subtract() can keep
  // stale extents: two empty regions would compare unequal.
  if (empty() || o.empty()) return empty() && o.empty();
  return pixman_region32_equal(const_cast<pixman_region32_t*>(&r_),
                               const_cast<pixman_region32_t*>(&o.r_));
}

}  // namespace vncd::rfb
