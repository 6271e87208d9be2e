// Log: levelled, timestamped lines to stderr, safe from any thread.
// The level is the one process-wide setting (set once from --log-level); everything else is local.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace vncd::log {

enum class Level : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_level(Level level);
Level level();
bool enabled(Level level);
// Parses "error", "warn", "info", "debug" (or 0..3).
bool parse_level(std::string_view text, Level& out);
// Writes one line: "vncd: <time> <LEVEL> <message>".
void write(Level level, std::string_view message);

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}
}  // namespace detail

template <class... Args>
void error(const Args&... args) {
  if (enabled(Level::kError)) write(Level::kError, detail::concat(args...));
}
template <class... Args>
void warn(const Args&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, detail::concat(args...));
}
template <class... Args>
void info(const Args&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, detail::concat(args...));
}
template <class... Args>
void debug(const Args&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, detail::concat(args...));
}

}  // namespace vncd::log
