#include "server/copy_search.h"

#include <gtest/gtest.h>

#include <string>

namespace vncd::server {
namespace {

constexpr int64_t kScreen = 1920 * 1080;
constexpr int64_t kFull = kScreen;
constexpr int64_t kSmall = kScreen / 100;

// Runs `n` large updates where no search finds anything; returns 's' for searched, '.' skipped.
std::string run_fruitless(CopySearchBackoff& b, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (b.should_search(kFull, kScreen)) {
      out += 's';
      b.searched(kFull, kScreen, false);
    } else {
      out += '.';
    }
  }
  return out;
}

TEST(CopySearchBackoff, SearchesEveryUpdateWhileCopiesAreFound) {
  CopySearchBackoff b;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(b.should_search(kFull, kScreen)) << i;
    b.searched(kFull, kScreen, true);
  }
}

TEST(CopySearchBackoff, BacksOffOnVideoToOneSearchInFive) {
  CopySearchBackoff b;
  EXPECT_EQ(run_fruitless(b, 22), "ss.s..s....s....s....s");
}

TEST(CopySearchBackoff, ScrollAfterVideoIsSearchedWithinMaxSkipPlusOneUpdates) {
  CopySearchBackoff b;
  run_fruitless(b, 100);
  // Whatever the phase, a search comes within kMaxSkip + 1 updates; once it finds copies, every
  // update is searched again.
  int waited = 0;
  while (!b.should_search(kFull, kScreen)) ++waited;
  EXPECT_LE(waited, CopySearchBackoff::kMaxSkip);
  b.searched(kFull, kScreen, true);
  EXPECT_EQ(b.skipping(), 0);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(b.should_search(kFull, kScreen));
    b.searched(kFull, kScreen, true);
  }
}

TEST(CopySearchBackoff, SmallChangesAreAlwaysSearchedAndDoNotFeedTheBackoff) {
  CopySearchBackoff b;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(b.should_search(kSmall, kScreen));
    b.searched(kSmall, kScreen, false);
  }
  EXPECT_EQ(b.skipping(), 0);
  // Still the first large search's behaviour: two fruitless ones before any skip.
  EXPECT_EQ(run_fruitless(b, 4), "ss.s");
  // While large updates are being skipped, small ones are still searched and use no skip.
  ASSERT_GT(b.skipping(), 0);
  const int skip = b.skipping();
  EXPECT_TRUE(b.should_search(kSmall, kScreen));
  EXPECT_EQ(b.skipping(), skip);
}

TEST(CopySearchBackoff, ACopyFoundInASmallChangeEndsTheBackoff) {
  CopySearchBackoff b;
  run_fruitless(b, 10);
  ASSERT_GT(b.skipping(), 0);
  ASSERT_TRUE(b.should_search(kSmall, kScreen));
  b.searched(kSmall, kScreen, true);
  EXPECT_EQ(b.skipping(), 0);
  EXPECT_EQ(run_fruitless(b, 3), "ss.");
}

}  // namespace
}  // namespace vncd::server
