// Fuzz target: VeNCrypt's Plain authentication handler alone (user name and password lengths,
// the allow-list, the checker). Byte 0 picks the allow-list and the chunk size; the rest is what
// the client sends. Checks the incremental-parser contract (need-more consumes nothing) and that
// success always means the checker accepted an allowed user.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_security_support.h"
#include "rfb/wire.h"
#include "security/plain_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  vncd::fuzz::quiet_logs();
  static const std::vector<std::vector<std::string>> kAllowLists = {
      {vncd::fuzz::kFuzzUser}, {"*"}, {}, {"bob", vncd::fuzz::kFuzzUser}};
  const auto& allowed = kAllowLists[data[0] % kAllowLists.size()];
  const size_t chunk = 1 + (data[0] >> 2);
  vncd::fuzz::CountingChecker counting;
  const vncd::security::PasswordChecker checker = counting.fn();
  vncd::security::PlainAuthHandler handler(allowed, checker);
  vncd::rfb::ByteBuffer out;
  handler.start(out);
  if (!out.empty()) __builtin_trap();  // The client speaks first.

  std::span<const uint8_t> input(data + 1, size - 1);
  std::vector<uint8_t> pending;
  size_t offered = 0;
  while (true) {
    const size_t n = std::min(chunk, input.size() - offered);
    pending.insert(pending.end(), input.begin() + static_cast<std::ptrdiff_t>(offered),
                   input.begin() + static_cast<std::ptrdiff_t>(offered + n));
    offered += n;
    vncd::rfb::Reader r(pending);
    vncd::rfb::SecurityStep s = handler.step(r, out);
    using Kind = vncd::rfb::SecurityStep::Kind;
    if (s.kind == Kind::kNeedMore) {
      if (r.consumed() != 0) __builtin_trap();
      if (offered == input.size()) break;
      continue;
    }
    if (s.kind == Kind::kSuccess) {
      if (counting.accepted != 1 || s.auth.user != vncd::fuzz::kFuzzUser) __builtin_trap();
      if (!vncd::security::plain_user_allowed(allowed, s.auth.user)) __builtin_trap();
    } else if (s.kind == Kind::kFailure) {
      if (s.reason.empty()) __builtin_trap();
    } else {
      __builtin_trap();  // Plain neither continues nor starts a layer.
    }
    // One exchange per handler: anything after it is refused.
    vncd::rfb::Reader again(pending);
    if (handler.step(again, out).kind != Kind::kFailure) __builtin_trap();
    break;
  }
  if (!out.empty()) __builtin_trap();  // Plain never answers; the connection sends the result.
  return 0;
}
