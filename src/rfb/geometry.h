// Geometry: Rect and Region, the value types every module uses for areas of the framebuffer.
// Region wraps pixman's region32 (a well-kept band-based region library); both are plain values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <pixman.h>

namespace vncd::rfb {

struct Size {
  int width = 0;
  int height = 0;
  bool operator==(const Size&) const = default;
  bool empty() const { return width <= 0 || height <= 0; }
};

// Half-open rectangle [x, x+w) x [y, y+h). Coordinates are int so clipping arithmetic on
// 16-bit wire values cannot overflow.
struct Rect {
  int x = 0;
  int y = 0;
  int w = 0;
  int h = 0;

  bool operator==(const Rect&) const = default;
  bool empty() const { return w <= 0 || h <= 0; }
  int right() const { return x + w; }
  int bottom() const { return y + h; }
  int64_t area() const { return empty() ? 0 : int64_t{w} * h; }
  Rect intersect(const Rect& o) const;
  bool contains(const Rect& o) const {
    return o.x >= x && o.y >= y && o.right() <= right() && o.bottom() <= bottom();
  }
  std::string str() const;
};

class Region {
 public:
  Region();
  explicit Region(const Rect& r);
  Region(const Region& o);
  Region(Region&& o) noexcept;
  Region& operator=(const Region& o);
  Region& operator=(Region&& o) noexcept;
  ~Region();

  // The union of `rects` (they may overlap), built at once: adding many rectangles one by one
  // costs time quadratic in their number (each add walks every band already there).
  static Region from_rects(std::span<const Rect> rects);

  bool empty() const;
  Rect bounds() const;
  int64_t area() const;
  std::vector<Rect> rects() const;
  size_t num_rects() const;
  bool contains(int x, int y) const;

  void clear();
  void add(const Rect& r);
  void add(const Region& o);
  void subtract(const Rect& r);
  void subtract(const Region& o);
  void intersect(const Rect& r);
  void intersect(const Region& o);
  void translate(int dx, int dy);

  Region intersected(const Region& o) const;
  Region intersected(const Rect& r) const;

  bool operator==(const Region& o) const;

 private:
  pixman_region32_t r_;
};

}  // namespace vncd::rfb
