#include "platform/common/grab_plan.h"

#include <gtest/gtest.h>

#include <set>

namespace vncd::platform {
namespace {

using rfb::Rect;
using rfb::Region;

Region union_of(const std::vector<Rect>& rects) {
  Region r;
  for (const Rect& x : rects) r.add(x);
  return r;
}

bool covers(const std::vector<Rect>& plan, const Region& region) {
  Region rest = region;
  rest.subtract(union_of(plan));
  return rest.empty();
}

TEST(PlanGrabs, EmptyRegionNeedsNoRequest) {
  EXPECT_TRUE(plan_grabs(Region(), 1000).empty());
}

TEST(PlanGrabs, FarApartRectanglesStaySeparate) {
  Region r;
  r.add(Rect{0, 0, 10, 10});
  r.add(Rect{500, 400, 10, 10});
  auto plan = plan_grabs(r, 1000);
  EXPECT_EQ(plan.size(), 2u);
  EXPECT_TRUE(covers(plan, r));
  EXPECT_EQ(union_of(plan), r);
}

TEST(PlanGrabs, NearbyRectanglesMerge) {
  Region r;
  r.add(Rect{0, 0, 10, 10});
  r.add(Rect{12, 0, 10, 10});
  auto plan = plan_grabs(r, 1000);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0], (Rect{0, 0, 22, 10}));
}

TEST(PlanGrabs, ManyRectanglesStayInsideTheBoundingBoxAndCoverEverything) {
  Region r;
  for (int i = 0; i < 300; ++i) r.add(Rect{(i * 37) % 600 + 3, (i * 53) % 450 + 5, 2, 2});
  for (int64_t cost : {int64_t{0}, int64_t{100}, int64_t{20000}, int64_t{1} << 40}) {
    auto plan = plan_grabs(r, cost);
    EXPECT_TRUE(covers(plan, r)) << cost;
    EXPECT_LE(plan.size(), 64u) << cost;
    Region outside = union_of(plan);
    outside.subtract(r.bounds());
    EXPECT_TRUE(outside.empty()) << cost;
  }
  EXPECT_EQ(plan_grabs(r, int64_t{1} << 40), std::vector<Rect>{r.bounds()});
}

TEST(ScanRowOffset, EveryOffsetOncePerStep) {
  for (int step : {1, 2, 4, 16, 32}) {
    for (uint64_t start : {uint64_t{0}, uint64_t{5}, uint64_t{1000}}) {
      std::set<int> seen;
      for (uint64_t c = start; c < start + static_cast<uint64_t>(step); ++c) {
        const int o = scan_row_offset(c, step);
        EXPECT_GE(o, 0);
        EXPECT_LT(o, step);
        seen.insert(o);
      }
      EXPECT_EQ(seen.size(), static_cast<size_t>(step)) << step;
    }
  }
  // Spread early: the first two cycles of 16 sample rows 8 apart.
  EXPECT_EQ(scan_row_offset(0, 16), 0);
  EXPECT_EQ(scan_row_offset(1, 16), 8);
}

TEST(TilesAround, GrowsByOneTileAndClips) {
  EXPECT_EQ(tiles_around({{0, 0}}, rfb::Size{100, 100}, 32), Region(Rect{0, 0, 64, 64}));
  EXPECT_EQ(tiles_around({{2, 2}}, rfb::Size{100, 100}, 32), Region(Rect{32, 32, 68, 68}));
  EXPECT_TRUE(tiles_around({}, rfb::Size{100, 100}, 32).empty());
}

}  // namespace
}  // namespace vncd::platform
