#include "server/access_control.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

#include "rfb/log.h"
#include "server/refused_client.h"

namespace vncd::server {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

bool is_v4_mapped(const IpAddress& a) {
  return a.v6 && std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a.bytes.begin());
}

IpAddress unmap(const IpAddress& a) {
  IpAddress v4;
  std::memcpy(v4.bytes.data(), a.bytes.data() + 12, 4);
  return v4;
}

// Whether the first `bits` bits of a and b agree.
bool same_prefix(const IpAddress& a, const IpAddress& b, size_t bits) {
  const size_t whole = bits / 8;
  if (!std::equal(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(whole),
                  b.bytes.begin()))
    return false;
  const size_t rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

// Whole seconds, rounded up (a block has at least 1 s of granularity in the flags).
std::string seconds_text(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::ceil<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  IpAddress a;
  if (s.find(':') == std::string::npos) {
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  a.v6 = true;
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  return is_v4_mapped(a) ? unmap(a) : a;
}

std::string peer_address(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    const size_t close = peer.find(']');
    if (close != std::string_view::npos) return std::string(peer.substr(1, close - 1));
    return std::string(peer);
  }
  const size_t colon = peer.find(':');
  // Exactly one colon: IPv4 (or a name) with a port. More: a bare IPv6 address.
  if (colon != std::string_view::npos && peer.find(':', colon + 1) == std::string_view::npos)
    return std::string(peer.substr(0, colon));
  return std::string(peer);
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Error("bad address range '" + std::string(text) + "': " + why);
  };
  const size_t slash = text.find('/');
  std::optional<IpAddress> address = IpAddress::parse(text.substr(0, slash));
  if (!address) return bad("not an IPv4 or IPv6 address");
  // A mapped IPv6 range names IPv4 addresses: keep the prefix meaningful after unmapping.
  const bool written_v6 = text.substr(0, slash).find(':') != std::string_view::npos;
  const size_t written_bits = written_v6 ? 128 : 32;
  size_t prefix = written_bits;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || digits.size() > 3 || ec != std::errc() ||
        end != digits.data() + digits.size() || value > written_bits)
      return bad("the prefix length must be 0.." + std::to_string(written_bits));
    prefix = value;
  }
  Cidr c;
  c.network_ = *address;
  if (written_v6 && !address->v6) {
    // ::ffff:a.b.c.d/N: IPv4 with N - 96 bits (a shorter prefix also spans non-IPv4 space,
    // which no IPv4 client can come from: treat it as all of IPv4).
    prefix = prefix >= 96 ? prefix - 96 : 0;
  }
  c.prefix_ = prefix;
  c.text_ = std::string(text);
  return c;
}

bool Cidr::contains(const IpAddress& address) const {
  if (address.v6 != network_.v6) return false;
  return same_prefix(address, network_, prefix_);
}

Result<std::vector<Cidr>> parse_cidr_list(std::string_view list) {
  std::vector<Cidr> out;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    std::string_view item =
        list.substr(start, comma == std::string_view::npos ? comma : comma - start);
    const size_t b = item.find_first_not_of(" \t");
    const size_t e = item.find_last_not_of(" \t");
    if (b == std::string_view::npos)
      return Error("empty address range in '" + std::string(list) + "'");
    Result<Cidr> c = Cidr::parse(item.substr(b, e - b + 1));
    if (!c) return c.error();
    if (out.size() >= kMaxAddressRules)
      return Error("more than " + std::to_string(kMaxAddressRules) + " address ranges");
    out.push_back(std::move(*c));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool AddressFilter::admits(std::string_view address) const {
  if (empty()) return true;
  std::optional<IpAddress> a = IpAddress::parse(address);
  if (!a) return false;
  auto matches = [&](const Cidr& c) { return c.contains(*a); };
  if (std::any_of(deny_.begin(), deny_.end(), matches)) return false;
  return allow_.empty() || std::any_of(allow_.begin(), allow_.end(), matches);
}

// ---- Blacklist ----------------------------------------------------------------------------

bool Blacklist::blocked(const std::string& address, Clock::time_point now) const {
  return remaining(address, now).count() > 0;
}

std::chrono::milliseconds Blacklist::remaining(const std::string& address,
                                               Clock::time_point now) const {
  if (!enabled()) return std::chrono::milliseconds(0);
  auto it = entries_.find(address);
  if (it == entries_.end() || it->second.blocked_until <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(it->second.blocked_until - now);
}

std::chrono::milliseconds Blacklist::record_failure(const std::string& address,
                                                    Clock::time_point now) {
  if (!enabled()) return std::chrono::milliseconds(0);
  auto it = entries_.find(address);
  if (it == entries_.end()) {
    make_room(now);
    it = entries_.emplace(address, Entry{0, {}, timeout_}).first;
  }
  Entry& e = it->second;
  if (e.failures < std::numeric_limits<int>::max()) ++e.failures;
  if (e.failures < threshold_) return std::chrono::milliseconds(0);
  const std::chrono::milliseconds block = e.next_timeout;
  e.blocked_until = now + block;
  e.next_timeout = std::min(block * 2, std::chrono::milliseconds(kMaxTimeout));
  return block;
}

void Blacklist::record_success(const std::string& address) {
  entries_.erase(address);
}

int Blacklist::failures(const std::string& address) const {
  auto it = entries_.find(address);
  return it == entries_.end() ? 0 : it->second.failures;
}

void Blacklist::make_room(Clock::time_point now) {
  if (entries_.size() < kMaxAddresses) return;
  // Forget addresses that are not blocked now first (their count starts again), and only if
  // every remembered address is blocked, the one whose block ends first.
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.blocked_until <= now; });
  if (entries_.size() < kMaxAddresses) return;
  // Erased by key: GCC 12 sees a possible end() in erase(min_element(...)) and warns.
  std::string soonest;
  Clock::time_point soonest_until = Clock::time_point::max();
  for (const auto& [address, entry] : entries_) {
    if (entry.blocked_until < soonest_until) {
      soonest_until = entry.blocked_until;
      soonest = address;
    }
  }
  entries_.erase(soonest);
}

// ---- AccessControl ------------------------------------------------------------------------

Result<std::unique_ptr<AccessControl>> AccessControl::create(const ServerConfig& config,
                                                             EventLoop& loop) {
  std::vector<Cidr> allow, deny;
  for (const std::string& item : config.allow) {
    Result<Cidr> c = Cidr::parse(item);
    if (!c) return Error("--allow: " + c.error().message());
    allow.push_back(std::move(*c));
  }
  for (const std::string& item : config.deny) {
    Result<Cidr> c = Cidr::parse(item);
    if (!c) return Error("--deny: " + c.error().message());
    deny.push_back(std::move(*c));
  }
  return std::unique_ptr<AccessControl>(
      new AccessControl(config, loop, AddressFilter(std::move(allow), std::move(deny))));
}

AccessControl::AccessControl(const ServerConfig& config, EventLoop& loop, AddressFilter filter)
    : config_(config),
      loop_(loop),
      filter_(std::move(filter)),
      blacklist_(config.blacklist_threshold,
                 std::chrono::seconds(std::max(0, config.blacklist_timeout_s))) {}

AccessControl::~AccessControl() {
  *alive_ = false;
  refused_.clear();
}

Admission AccessControl::decide(const std::string& address, size_t unauthenticated,
                                Clock::time_point now) const {
  if (!filter_.admits(address)) return Admission::kDenied;
  if (blacklist_.blocked(address, now)) return Admission::kBlacklisted;
  if (config_.max_unauthenticated_per_address > 0 &&
      unauthenticated >= static_cast<size_t>(config_.max_unauthenticated_per_address))
    return Admission::kTooManyUnauthenticated;
  return Admission::kAdmit;
}

std::unique_ptr<Transport> AccessControl::screen(std::unique_ptr<Transport> transport,
                                                 size_t unauthenticated) {
  const std::string peer = transport->peer();
  const std::string address = peer_address(peer);
  const Clock::time_point now = Clock::now();
  switch (decide(address, unauthenticated, now)) {
    case Admission::kAdmit:
      return transport;
    case Admission::kDenied:
      log::warn("client ", peer, " refused: address not allowed (--allow/--deny)");
      transport->close();
      return nullptr;
    case Admission::kBlacklisted:
      log::warn("client ", peer, " refused: too many authentication failures from ", address,
                " (blocked for ", seconds_text(blacklist_.remaining(address, now)), " more)");
      refuse(std::move(transport), "too many authentication failures, try again later");
      return nullptr;
    case Admission::kTooManyUnauthenticated:
      log::warn("client ", peer, " refused: ", unauthenticated,
                " connections from this address are still authenticating");
      refuse(std::move(transport), "too many connections from this address, try again later");
      return nullptr;
  }
  return transport;
}

void AccessControl::refuse(std::unique_ptr<Transport> transport, std::string reason) {
  std::erase_if(refused_, [](const auto& r) { return r->finished(); });
  if (refused_.size() >= kMaxRefusing) {
    // A flood: explaining costs a socket and a timer each; closing costs nothing.
    transport->close();
    return;
  }
  const auto timeout = std::min<std::chrono::milliseconds>(
      kRefusalTimeout, std::chrono::seconds(std::max(1, config_.handshake_timeout_s)));
  std::weak_ptr<bool> alive = alive_;
  refused_.push_back(std::make_unique<RefusedClient>(loop_, std::move(transport), std::move(reason),
                                                     timeout, [this, alive] {
                                                       if (reap_posted_) return;
                                                       reap_posted_ = true;
                                                       loop_.post([this, alive] {
                                                         if (auto a = alive.lock(); a && *a) reap();
                                                       });
                                                     }));
}

void AccessControl::reap() {
  reap_posted_ = false;
  std::erase_if(refused_, [](const auto& r) { return r->finished(); });
}

void AccessControl::authentication_failed(const std::string& address) {
  const std::chrono::milliseconds blocked = blacklist_.record_failure(address, Clock::now());
  if (blocked.count() > 0) {
    log::warn("address ", address, " blocked for ", seconds_text(blocked), " after ",
              blacklist_.failures(address), " failed authentications");
  }
}

void AccessControl::authentication_succeeded(const std::string& address) {
  blacklist_.record_success(address);
}

}  // namespace vncd::server
