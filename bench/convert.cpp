// bench_convert: PixelConverter throughput, one line per conversion (and so per kernel), on a
// 1920x1080 frame: 3 warm-up runs, then the median, min and max of 15 timed runs in MPix/s.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "rfb/pixel_converter.h"

namespace {

using vncd::rfb::PixelConverter;
using vncd::rfb::PixelFormat;

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;
constexpr int kWarmups = 3;
constexpr int kRuns = 15;

struct Case {
  const char* name;
  PixelFormat src;
  PixelFormat dst;
};

PixelFormat big_endian(PixelFormat pf) {
  pf.big_endian = true;
  return pf;
}

PixelFormat bgr888() {
  PixelFormat pf = PixelFormat::rgb888();
  pf.red_shift = 0;
  pf.blue_shift = 16;
  return pf;
}

}  // namespace

int main() {
  const PixelFormat rgb888 = PixelFormat::rgb888();
  const PixelFormat rgb565 = PixelFormat::rgb565();
  const std::vector<Case> cases = {
      {"rgb888 -> rgb888", rgb888, rgb888},
      {"rgb888 -> bgr888 BE", rgb888, big_endian(bgr888())},
      {"rgb888 -> rgb888 BE", rgb888, big_endian(rgb888)},
      {"rgb888 -> rgb565", rgb888, rgb565},
      {"rgb888 -> rgb565 BE", rgb888, big_endian(rgb565)},
      {"rgb888 -> bgr233", rgb888, PixelFormat::bgr233()},
      {"rgb888 -> colour-map", rgb888, PixelFormat::colour_map8()},
      {"rgb565 -> rgb565", rgb565, rgb565},  // the plain memcpy kernel
      {"rgb565 -> rgb888", rgb565, rgb888},
  };

  // A captured frame is noise as far as the kernels care: none of them branches on pixel values.
  std::vector<uint8_t> in(size_t{kWidth} * 4 * kHeight);
  std::mt19937 rng(1);
  for (auto& b : in) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> out(size_t{kWidth} * 4 * kHeight);

  std::printf("# %dx%d frame, %d warm-ups, %d runs; MPix/s\n", kWidth, kHeight, kWarmups, kRuns);
  std::printf("%-24s %-11s %9s %9s %9s\n", "conversion", "kernel", "median", "min", "max");
  unsigned checksum = 0;
  for (const Case& c : cases) {
    const PixelConverter conv(c.src, c.dst);
    const size_t src_stride = size_t{kWidth} * static_cast<size_t>(c.src.bytes_per_pixel());
    const size_t dst_stride = size_t{kWidth} * static_cast<size_t>(c.dst.bytes_per_pixel());
    std::vector<double> mpix;
    for (int run = 0; run < kWarmups + kRuns; ++run) {
      const auto t0 = std::chrono::steady_clock::now();
      conv.convert(in.data(), src_stride, out.data(), dst_stride, kWidth, kHeight);
      const auto t1 = std::chrono::steady_clock::now();
      checksum += out[static_cast<size_t>(run) * 7919 % out.size()];  // keep the work observable
      if (run < kWarmups) continue;
      const double secs = std::chrono::duration<double>(t1 - t0).count();
      mpix.push_back(double{kWidth} * kHeight / secs / 1e6);
    }
    std::sort(mpix.begin(), mpix.end());
    std::printf("%-24s %-11s %9.0f %9.0f %9.0f\n", c.name, conv.kernel_name(),
                mpix[mpix.size() / 2], mpix.front(), mpix.back());
  }
  std::printf("# checksum %u\n", checksum);
  return 0;
}
