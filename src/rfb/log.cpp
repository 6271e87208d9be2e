#include "rfb/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace vncd::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

const char* name(Level l) {
  switch (l) {
    case Level::kError:
      return "error";
    case Level::kWarn:
      return "warn";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "?";
}

}  // namespace

void set_level(Level l) {
  g_level.store(static_cast<int>(l), std::memory_order_relaxed);
}
Level level() {
  return static_cast<Level>(g_level.load(std::memory_order_relaxed));
}
bool enabled(Level l) {
  return static_cast<int>(l) <= g_level.load(std::memory_order_relaxed);
}

bool parse_level(std::string_view text, Level& out) {
  static constexpr std::string_view names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; ++i) {
    if (text == names[i] || (text.size() == 1 && text[0] == '0' + i)) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  if (text == "warning") {
    out = Level::kWarn;
    return true;
  }
  return false;
}

void write(Level l, std::string_view message) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  localtime_r(&ts.tv_sec, &t);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03ld", t.tm_hour, t.tm_min, t.tm_sec,
                ts.tv_nsec / 1000000);
  std::string line = std::string("vncd: ") + stamp + " " + name(l) + ": ";
  line.append(message);
  line.push_back('\n');
  // One write() per line so lines from different threads never interleave.
  ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

}  // namespace vncd::log
