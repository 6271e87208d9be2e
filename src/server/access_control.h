// Access control: which client addresses may connect (--allow/--deny CIDR lists), throttling of
// addresses that fail authentication (--blacklist-threshold/--blacklist-timeout) and the limit on
// unauthenticated connections per address. Owned by the Server; loop thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rfb/result.h"
#include "server/config.h"
#include "server/event_loop.h"
#include "server/tcp.h"

namespace vncd::server {

class RefusedClient;

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as dual-stack sockets
// report IPv4 peers) are stored as IPv4, so one rule covers both spellings.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4.

  // A numeric address ("10.1.2.3", "fe80::1", "[::1]"); nothing else (no names, no ports).
  static std::optional<IpAddress> parse(std::string_view text);
  size_t bits() const { return v6 ? 128 : 32; }
  bool operator==(const IpAddress&) const = default;
};

// The address part of a Transport::peer() string: "1.2.3.4:5900" -> "1.2.3.4",
// "[::1]:5900" -> "::1"; anything else is returned as it is.
std::string peer_address(std::string_view peer);

// A network: an address and a prefix length ("192.168.0.0/16", "2001:db8::/32"; a bare address
// is the one host).
class Cidr {
 public:
  // Errors read "bad address range 'TEXT': why" (no "vncd: " prefix).
  static Result<Cidr> parse(std::string_view text);
  // False for an address of the other family.
  bool contains(const IpAddress& address) const;
  const std::string& text() const { return text_; }

 private:
  IpAddress network_;
  size_t prefix_ = 0;
  std::string text_;
};

// Longest --allow/--deny lists accepted (bounds the per-connection check).
inline constexpr size_t kMaxAddressRules = 256;

// Parses a comma-separated CIDR list ("10.0.0.0/8, ::1"); fails on an empty list or item.
Result<std::vector<Cidr>> parse_cidr_list(std::string_view list);

// --allow / --deny: an address is admitted when no deny rule matches it and, if there are allow
// rules, one of them does (deny wins). An address that cannot be parsed (a test transport's
// peer) is admitted only when there are no rules at all.
class AddressFilter {
 public:
  AddressFilter() = default;
  AddressFilter(std::vector<Cidr> allow, std::vector<Cidr> deny)
      : allow_(std::move(allow)), deny_(std::move(deny)) {}
  bool admits(std::string_view address) const;
  bool empty() const { return allow_.empty() && deny_.empty(); }

 private:
  std::vector<Cidr> allow_;
  std::vector<Cidr> deny_;
};

// Throttles addresses that fail authentication, with TigerVNC's BlacklistThreshold /
// BlacklistTimeout semantics: the threshold-th failure blocks the address for `timeout`; each
// further failure (the next attempt after a block expires, or one already in progress) blocks it
// again for twice as long as the time before; a success forgets the address. Time is passed in,
// so tests need no clock.
class Blacklist {
 public:
  using Clock = std::chrono::steady_clock;
  // Addresses remembered at once; beyond this the least harmful entries are forgotten first.
  static constexpr size_t kMaxAddresses = 4096;
  // The doubling stops here.
  static constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(24);

  // threshold 0 turns throttling off (for use behind a trusted proxy).
  Blacklist(int threshold, std::chrono::milliseconds timeout)
      : threshold_(threshold), timeout_(timeout) {}

  bool enabled() const { return threshold_ > 0; }
  // Whether connections from `address` are refused at `now`.
  bool blocked(const std::string& address, Clock::time_point now) const;
  // Time left on the block (0 when not blocked).
  std::chrono::milliseconds remaining(const std::string& address, Clock::time_point now) const;
  // Counts a failed authentication; returns how long the address is now blocked for (0: not).
  std::chrono::milliseconds record_failure(const std::string& address, Clock::time_point now);
  // A successful authentication: the address starts afresh.
  void record_success(const std::string& address);
  // Failures counted for `address` (0 when not remembered).
  int failures(const std::string& address) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point blocked_until{};
    std::chrono::milliseconds next_timeout{0};
  };
  void make_room(Clock::time_point now);

  int threshold_;
  std::chrono::milliseconds timeout_;
  std::unordered_map<std::string, Entry> entries_;
};

// Why a new connection is not served.
enum class Admission : uint8_t {
  kAdmit,
  kDenied,                  // --allow/--deny: closed at once, nothing sent.
  kBlacklisted,             // Too many failed authentications: told so in the RFB handshake.
  kTooManyUnauthenticated,  // Per-address limit on connections still authenticating.
};

// The server's door: decides for each new connection and deals with the refused ones (closes
// them, or tells an RFB client why through a RefusedClient it owns until that is done).
class AccessControl {
 public:
  using Clock = Blacklist::Clock;
  // Refused clients being told why at once; more are just closed.
  static constexpr size_t kMaxRefusing = 32;
  // How long a refused client may take to send its ProtocolVersion.
  static constexpr std::chrono::milliseconds kRefusalTimeout{5000};

  // Parses config.allow / config.deny. `loop` must outlive this.
  static Result<std::unique_ptr<AccessControl>> create(const ServerConfig& config, EventLoop& loop);
  ~AccessControl();
  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;

  // The decision for a connection from `address` while `unauthenticated` other connections from
  // it are still in their handshake.
  Admission decide(const std::string& address, size_t unauthenticated, Clock::time_point now) const;
  // Decides for `transport` (logging a refusal) and returns it when admitted; otherwise takes
  // care of it and returns nullptr.
  std::unique_ptr<Transport> screen(std::unique_ptr<Transport> transport, size_t unauthenticated);

  // Authentication outcomes, for the blacklist.
  void authentication_failed(const std::string& address);
  void authentication_succeeded(const std::string& address);

  const Blacklist& blacklist() const { return blacklist_; }
  // Refused clients still being answered.
  size_t refusing() const { return refused_.size(); }

 private:
  AccessControl(const ServerConfig& config, EventLoop& loop, AddressFilter filter);
  void refuse(std::unique_ptr<Transport> transport, std::string reason);
  void reap();

  const ServerConfig& config_;
  EventLoop& loop_;
  AddressFilter filter_;
  Blacklist blacklist_;
  std::vector<std::unique_ptr<RefusedClient>> refused_;
  bool reap_posted_ = false;
  // Posted tasks check this so one that runs after this is gone does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vncd::server
