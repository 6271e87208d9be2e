// WithXvfb: a GoogleTest fixture base giving a test suite one private Xvfb, started before its
// first test and stopped after its last. Separate from x11_test_support.h, which benchmarks use
// without GoogleTest.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "x11_test_support.h"

namespace vncd::platform::test_support {

template <class Base = ::testing::Test>
class WithXvfb : public Base {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    xvfb_ = Xvfb::start(&error);
    ASSERT_TRUE(xvfb_) << error;
  }
  static void TearDownTestSuite() { xvfb_.reset(); }

  // Suites run one after another, so suites sharing a Base share the slot, never the server.
  static inline std::unique_ptr<Xvfb> xvfb_;
};

}  // namespace vncd::platform::test_support
