// Latency marker shared by the e2e workload (which draws it) and the e2e client (which reads it
// back from its decoded framebuffer), plus the stamp file both map. Header-only, no state.
#pragma once

#include <cstdint>

namespace vncd::bench {

// The marker is a row of black/white blocks in a status strip at the bottom-left of the screen:
// 16 bits of the sequence number, then their complement. Black/white blocks survive JPEG (even at
// low quality) where a colour-coded number would not; the complement rejects a marker caught half
// drawn or decoded wrongly.
inline constexpr int kMarkerBits = 32;
inline constexpr int kMarkerBlock = 16;  // pixels per side of one bit's block
inline constexpr int kMarkerWidth = kMarkerBits * kMarkerBlock;
inline constexpr int kStripHeight = kMarkerBlock;  // the workloads leave this strip alone

// Stamps: one CLOCK_MONOTONIC nanosecond value per 16-bit sequence number, written by the
// workload once the marker for that number is on the screen (0: never shown).
inline constexpr int kStampCount = 65536;
inline constexpr long kStampFileSize = kStampCount * static_cast<long>(sizeof(int64_t));

// Click-to-screen latency: the client presses button 1 inside the click target, at a position
// that names the press (id = row * kClickSide + column inside the target), and the workload answers
// each press by drawing the marker kClickSeqBase | id. Periodic steps never set that bit, so a
// click's marker can be told from a periodic one and matched to the press that caused it even when
// presses overlap or a marker is overwritten before a viewer sees it.
inline constexpr int kClickX = 1450, kClickY = 650;  // on the static desktop, clear of its windows
inline constexpr int kClickSide = 128;               // 128x128 target: 14 bits of press id
inline constexpr int kClickIds = kClickSide * kClickSide;
inline constexpr uint16_t kClickSeqBase = 0x8000;

inline uint16_t click_sequence(int id) {
  return static_cast<uint16_t>(kClickSeqBase | (id % kClickIds));
}
inline bool is_click_sequence(int seq) {
  return seq > 0 && (seq & kClickSeqBase) != 0;
}

// Sequence numbers start at 1 and skip 0 when they wrap, so a stamp of 0 means "not shown".
// Periodic steps stay below kClickSeqBase.
inline uint16_t next_sequence(uint16_t seq) {
  return seq >= kClickSeqBase - 1 ? 1 : seq + 1;
}

inline bool marker_bit(uint16_t seq, int bit) {
  const uint32_t word = seq | (static_cast<uint32_t>(static_cast<uint16_t>(~seq)) << 16);
  return ((word >> bit) & 1u) != 0;
}

// Decodes a marker from per-bit "is this block light" answers; -1 when the complement check fails.
template <typename IsLight>
int decode_marker(IsLight is_light) {
  uint32_t word = 0;
  for (int bit = 0; bit < kMarkerBits; ++bit) {
    if (is_light(bit)) word |= 1u << bit;
  }
  const uint16_t seq = static_cast<uint16_t>(word & 0xffff);
  const uint16_t inverse = static_cast<uint16_t>(word >> 16);
  if (static_cast<uint16_t>(~inverse) != seq || seq == 0) return -1;
  return seq;
}

}  // namespace vncd::bench
