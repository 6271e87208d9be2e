// CongestionControl: decides when one client may be sent another update, so that about one update
// is in flight and a slow client gets fewer, fresher updates. Pure logic, one per session, loop
// thread only; time is always passed in (no clock reads), and its state is fixed-size.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace vncd::server {

// Two modes, chosen by the session from the client's SetEncodings:
//  - without fences (most clients) the only signal is the socket: another update may go once the
//    previous one has left our output queue (queued() == 0);
//  - with fences (rfbproto.rst "Fence Pseudo-encoding"), the session sends a ServerFence with
//    BlockBefore|Request after each update, its payload carrying an id; the client's answer says
//    everything before it has been received and processed (rfbproto.rst "ClientFence",
//    **BlockBefore**). That gives round-trip times, the bytes really in flight and the link's
//    bandwidth, and updates are sent while the bytes in flight stay below
//    window = bandwidth x (base RTT + kWindowAllowance).
// The ideas follow TigerVNC's congestion control (pings carried by fences, a window from the
// measured RTT); the estimators here are our own.
class CongestionControl {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Clock::duration;

  // Unanswered fences remembered; older ones are dropped as lost. At one fence per update and
  // about one update in flight, more than a handful outstanding means the client is not
  // answering: 64 is ample and keeps the state a small fixed array.
  static constexpr size_t kMaxPendingFences = 64;
  // Extra time on top of the base RTT that the window allows in flight: enough to keep the link
  // busy across the gap between an answer and the next update being encoded, small enough that
  // the data queued in the network stays fresh (a fraction of a frame time at 30 fps).
  static constexpr Duration kWindowAllowance = std::chrono::milliseconds(25);
  // Window before any bandwidth is known (and its floor): a few hundred KiB lets the first
  // updates go without waiting, while one update is always allowed when nothing is in flight.
  static constexpr size_t kInitialWindow = 256 * 1024;
  static constexpr size_t kMinWindow = 16 * 1024;
  // No answer for this long (2 x smoothed RTT, clamped) while fences are pending: the fence is
  // presumed lost and one more update may go once our queue is empty, then the wait starts
  // again. So a lost fence costs one timeout, while a link whose answers are merely late (data
  // queued in the network) gets one update per timeout instead of a growing queue. The floor keeps
  // a short RTT from declaring fences lost during an ordinary big update; the ceiling is the
  // "1 s" at which a user notices a frozen screen.
  static constexpr Duration kMinFenceTimeout = std::chrono::milliseconds(100);
  static constexpr Duration kMaxFenceTimeout = std::chrono::seconds(1);
  // No answer at all for this long with fences pending: the client does not answer fences (it
  // announced the pseudo-encoding without implementing it): the socket-queue rule applies until
  // an answer comes.
  static constexpr Duration kFenceGiveUp = std::chrono::seconds(3);
  // The base RTT (the path's own delay) is the minimum over clean samples: fences whose data found
  // nothing else in flight, less the time to transfer their own update at the estimated
  // bandwidth. Samples of fences queued behind other data also carry network queueing, which the
  // window's allowance itself creates: taking them would let the base and the window grow each
  // other without end. The minimum covers the last two periods of this length, so it follows a
  // route that got slower; a client kept busy for a whole period without a clean sample is made
  // to drain once (no update until everything is answered, as BBR's ProbeRTT), which costs one
  // or two RTTs per period.
  static constexpr Duration kBaseRttPeriod = std::chrono::seconds(10);
  // A bandwidth sample needs at least this much transfer time behind it: shorter intervals are
  // dominated by RTT jitter and scheduling (samples accumulate until they reach it).
  static constexpr Duration kMinBandwidthInterval = std::chrono::milliseconds(20);
  // Answers accumulated at most into one bandwidth sample. On a link much faster than the data,
  // transfer times stay near zero: the sample is then taken anyway, its time floored at
  // kMinTransferTime, so it says "at least this fast" without being absurd (an absurd estimate
  // would take many samples to come down from when the link later slows). 32 answers at one per
  // update are about a second of a busy desktop.
  static constexpr int kMaxAnswersPerSample = 32;
  static constexpr Duration kMinTransferTime = std::chrono::milliseconds(1);
  // Upper bound of the estimate (and of the window it gives): 10 GB/s exceeds any link a VNC
  // client sits on, and keeps the window's arithmetic far from overflow.
  static constexpr double kMaxBandwidth = 10e9;
  // Exponential smoothing gains: 1/8 for the RTT as TCP's SRTT (RFC 6298); 1/4 for bandwidth,
  // whose samples are fewer and already averaged over kMinBandwidthInterval.
  static constexpr double kRttGain = 1.0 / 8;
  static constexpr double kBandwidthGain = 1.0 / 4;

  explicit CongestionControl(bool fences_supported = false) : fences_(fences_supported) {}

  // Whether the client answers fences; set when its SetEncodings lists the Fence
  // pseudo-encoding (each SetEncodings may repeat it: no change, no effect). A change forgets the
  // pending fences and what is in flight.
  void set_fences_supported(bool supported);
  bool fences_supported() const { return fences_; }

  // An update of `bytes` was appended to the output queue at `now`.
  void update_sent(size_t bytes, Clock::time_point now);
  // A fence with this id was queued right after the update(s) before it. Ignored without fence
  // support. Ids should be unique among the pending ones (a counter is fine).
  void fence_sent(uint32_t id, Clock::time_point now);
  // The client echoed fence `id`: everything queued before it has been received and processed,
  // so it also answers every earlier pending fence. Unknown ids (never sent, already answered
  // or older than an answered one) are ignored; returns whether the id was known.
  bool fence_answered(uint32_t id, Clock::time_point now);
  // Bytes still in our output queue, not yet written to the socket (call after each flush).
  void queued(size_t bytes_not_yet_written) { queued_ = bytes_not_yet_written; }

  // Whether another update may be sent now. Always true when nothing is in flight; never while
  // our own output queue is not empty (bytes written now would only wait behind it).
  bool can_send(Clock::time_point now) const;
  // When can_send() will become true by itself (a pending fence timing out), so the session can
  // arm a timer; nullopt when only an answer or a flush can change it.
  std::optional<Clock::time_point> wake_time() const;

  // Smoothed round-trip time of fence answers (includes the time to transfer the update before
  // the fence) and the minimum recent one (the path's own delay); zero until measured.
  Duration rtt() const { return srtt_; }
  Duration base_rtt() const;
  // Estimated bytes/s the client takes, 0 until measured.
  double bandwidth() const { return bandwidth_; }
  // A fence answer has measured a round trip.
  bool has_rtt() const { return have_rtt_; }
  // Bytes queued since the last answered fence (all of them without fence support: nothing
  // acknowledges them, so this is then only our queue).
  size_t in_flight_bytes() const;
  // How many bytes may be in flight before can_send() says no (with fences).
  size_t window() const;
  // Fences sent and not yet answered (bounded by kMaxPendingFences).
  size_t pending_fences() const { return pending_count_; }

 private:
  struct PendingFence {
    uint32_t id = 0;
    Clock::time_point sent_at{};
    uint64_t position = 0;             // sent_total_ when the fence was queued.
    Clock::time_point first_queued{};  // When the first update of its segment was queued.
    uint64_t own_bytes = 0;            // Its segment: the updates since the previous fence.
    bool clean = false;                // Nothing else was in flight when its segment began.
  };
  Duration fence_timeout() const;
  void add_rtt_sample(const PendingFence& f, Clock::time_point now);
  bool draining(Clock::time_point now) const;

  bool fences_;
  size_t queued_ = 0;
  uint64_t sent_total_ = 0;   // Bytes of updates queued, ever.
  uint64_t acked_total_ = 0;  // Of those, the ones a fence answer covered.

  // Pending fences, oldest first, in a ring.
  std::array<PendingFence, kMaxPendingFences> pending_{};
  size_t pending_first_ = 0;
  size_t pending_count_ = 0;

  Duration srtt_{};
  // Windowed minimum: the current period's minimum and the previous one's.
  Duration min_rtt_now_ = Duration::max();
  Duration min_rtt_prev_ = Duration::max();
  Clock::time_point min_rtt_period_start_{};
  Clock::time_point last_clean_sample_{};
  bool have_rtt_ = false;

  // Bandwidth. A segment is the data between two fences. Its transfer began when its first byte
  // could reach the client and the client had taken the data before it: at
  // max(first queued + base RTT, previous answer); it ended at its answer. So idle time (nothing
  // in flight) never counts, and back-to-back segments are timed answer to answer.
  Clock::time_point last_answer_{};
  Clock::time_point segment_first_queued_{};
  uint64_t segment_start_ = 0;   // sent_total_ when the open segment began.
  bool segment_open_ = false;    // Updates queued since the last fence.
  bool segment_clean_ = false;   // Nothing was in flight when the open segment began.
  bool fences_dropped_ = false;  // Since the last answer: the covered data's start is unknown.
  // Fallback: the last update sent past the window because an answer was overdue (or zero).
  Clock::time_point last_forced_{};
  // When the oldest fence still unanswered was sent (dropping it from the ring keeps this).
  Clock::time_point unanswered_since_{};
  Clock::time_point waiting_since() const;
  uint64_t sample_bytes_ = 0;
  Duration sample_time_{};
  int sample_answers_ = 0;
  double bandwidth_ = 0;
};

}  // namespace vncd::server
