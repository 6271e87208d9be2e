#include "server/congestion.h"

#include <algorithm>

namespace vncd::server {

namespace {

using Seconds = std::chrono::duration<double>;

}  // namespace

void CongestionControl::set_fences_supported(bool supported) {
  if (supported == fences_) return;  // Every SetEncodings says it again: keep what is measured.
  fences_ = supported;
  // Nothing sent before this point will be acknowledged by a fence.
  pending_count_ = 0;
  pending_first_ = 0;
  acked_total_ = sent_total_;
  segment_open_ = false;
  fences_dropped_ = false;
  sample_bytes_ = 0;
  sample_time_ = {};
  sample_answers_ = 0;
}

void CongestionControl::update_sent(size_t bytes, Clock::time_point now) {
  // Sent past the window (or a drain): an overdue answer allowed it; the next such update waits
  // a whole timeout again.
  const size_t in_flight = in_flight_bytes();
  if (fences_ && in_flight > 0 && (in_flight >= window() || draining(now))) last_forced_ = now;
  if (!segment_open_) {
    segment_open_ = true;
    segment_first_queued_ = now;
    segment_start_ = sent_total_;
    segment_clean_ = sent_total_ == acked_total_;
  }
  sent_total_ += bytes;
  if (!fences_) acked_total_ = sent_total_;  // Nothing will answer: only queued_ counts.
}

void CongestionControl::fence_sent(uint32_t id, Clock::time_point now) {
  if (!fences_) return;
  if (pending_count_ == kMaxPendingFences) {
    // The oldest is presumed lost; its data is covered by any later answer.
    pending_first_ = (pending_first_ + 1) % kMaxPendingFences;
    --pending_count_;
    fences_dropped_ = true;
  }
  if (pending_count_ == 0) unanswered_since_ = now;
  PendingFence& f = pending_[(pending_first_ + pending_count_) % kMaxPendingFences];
  f.id = id;
  f.sent_at = now;
  f.position = sent_total_;
  f.first_queued = segment_open_ ? segment_first_queued_ : now;
  f.own_bytes = segment_open_ ? sent_total_ - segment_start_ : 0;
  f.clean = segment_open_ ? segment_clean_ : sent_total_ == acked_total_;
  segment_open_ = false;
  ++pending_count_;
}

bool CongestionControl::fence_answered(uint32_t id, Clock::time_point now) {
  if (!fences_) return false;
  size_t k = 0;
  while (k < pending_count_ && pending_[(pending_first_ + k) % kMaxPendingFences].id != id) ++k;
  if (k == pending_count_) return false;  // Unknown, already answered or overtaken: ignored.

  const PendingFence oldest = pending_[pending_first_];
  const PendingFence f = pending_[(pending_first_ + k) % kMaxPendingFences];
  // BlockBefore: the answer covers this fence and everything before it.
  pending_first_ = (pending_first_ + k + 1) % kMaxPendingFences;
  pending_count_ -= k + 1;
  if (pending_count_ > 0) unanswered_since_ = pending_[pending_first_].sent_at;

  if (now < f.sent_at) now = f.sent_at;  // Time passed in must not run backwards; be safe.
  add_rtt_sample(f, now);

  const uint64_t bytes = f.position > acked_total_ ? f.position - acked_total_ : 0;
  acked_total_ = std::max(acked_total_, f.position);
  if (bytes > 0 && !fences_dropped_) {
    Clock::time_point start = std::max(oldest.first_queued + base_rtt(), last_answer_);
    Duration transfer = now > start ? now - start : Duration::zero();
    sample_bytes_ += bytes;
    sample_time_ += transfer;
    ++sample_answers_;
    if (sample_time_ >= kMinBandwidthInterval || sample_answers_ >= kMaxAnswersPerSample) {
      Duration over = std::max(sample_time_, Duration(kMinTransferTime));
      double sample =
          std::min(static_cast<double>(sample_bytes_) / Seconds(over).count(), kMaxBandwidth);
      bandwidth_ = bandwidth_ <= 0 ? sample : bandwidth_ + kBandwidthGain * (sample - bandwidth_);
      sample_bytes_ = 0;
      sample_time_ = {};
      sample_answers_ = 0;
    }
  }
  fences_dropped_ = false;
  last_answer_ = now;
  return true;
}

void CongestionControl::add_rtt_sample(const PendingFence& f, Clock::time_point now) {
  const Duration raw = now - f.sent_at;
  if (!have_rtt_) {
    have_rtt_ = true;
    srtt_ = raw;
    min_rtt_period_start_ = now;
  } else {
    srtt_ += std::chrono::duration_cast<Duration>(Seconds(kRttGain * Seconds(raw - srtt_).count()));
  }
  // Only clean samples may set the base (the very first one too, for want of better).
  if (!f.clean && min_rtt_now_ != Duration::max()) return;
  Duration path = raw;
  if (bandwidth_ > 0) {
    path -= std::chrono::duration_cast<Duration>(
        Seconds(static_cast<double>(f.own_bytes) / bandwidth_));
    path = std::max(path, Duration::zero());
  }
  if (f.clean) last_clean_sample_ = now;
  if (now - min_rtt_period_start_ >= kBaseRttPeriod) {
    min_rtt_prev_ = min_rtt_now_;
    min_rtt_now_ = Duration::max();
    min_rtt_period_start_ = now;
  }
  min_rtt_now_ = std::min(min_rtt_now_, path);
}

bool CongestionControl::draining(Clock::time_point now) const {
  return have_rtt_ && sent_total_ != acked_total_ && now - last_clean_sample_ >= kBaseRttPeriod;
}

CongestionControl::Duration CongestionControl::base_rtt() const {
  Duration m = std::min(min_rtt_now_, min_rtt_prev_);
  return m == Duration::max() ? Duration::zero() : m;
}

size_t CongestionControl::in_flight_bytes() const {
  if (!fences_) return queued_;
  return static_cast<size_t>(sent_total_ - acked_total_);
}

size_t CongestionControl::window() const {
  if (bandwidth_ <= 0) return kInitialWindow;
  double w = bandwidth_ * Seconds(base_rtt() + kWindowAllowance).count();
  return std::max(kMinWindow, static_cast<size_t>(w));
}

CongestionControl::Duration CongestionControl::fence_timeout() const {
  if (!have_rtt_) return kMaxFenceTimeout;
  return std::clamp(2 * srtt_, Duration(kMinFenceTimeout), Duration(kMaxFenceTimeout));
}

bool CongestionControl::can_send(Clock::time_point now) const {
  // Bytes we still hold would delay anything sent now behind them: the update would be stale by
  // the time it leaves, and a later capture will have more to say.
  if (queued_ > 0) return false;
  if (!fences_) return true;
  const size_t in_flight = in_flight_bytes();
  if (in_flight == 0) return true;
  if (in_flight < window() && !draining(now)) return true;
  // Data in flight that no pending fence will acknowledge (fences dropped): nothing to wait for.
  if (pending_count_ == 0) return true;
  // An answer overdue: the fence is presumed lost; one update, then wait again. A client that
  // never answers gets the socket-queue rule.
  if (now - std::max(unanswered_since_, last_answer_) >= kFenceGiveUp) return true;
  return now - waiting_since() >= fence_timeout();
}

CongestionControl::Clock::time_point CongestionControl::waiting_since() const {
  return std::max({unanswered_since_, last_answer_, last_forced_});
}

std::optional<CongestionControl::Clock::time_point> CongestionControl::wake_time() const {
  if (!fences_ || pending_count_ == 0) return std::nullopt;
  return std::min(waiting_since() + fence_timeout(),
                  std::max(unanswered_since_, last_answer_) + kFenceGiveUp);
}

}  // namespace vncd::server
