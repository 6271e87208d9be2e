// Wire: a bounded big-endian Reader over bytes already received, and ByteBuffer for building
// output. Value types used on one thread; the Reader borrows its bytes, the ByteBuffer owns its
// storage.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace vncd::rfb {

// Reads big-endian fields from a span and never past its end. Every read must be preceded by a
// has(n) check; reading without one is a programming error (asserted). Parsers check has() and
// report "need more" without consuming, so a message split across reads parses the same.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t consumed() const { return pos_; }
  bool has(size_t n) const { return remaining() >= n; }

  uint8_t u8() {
    assert(has(1));
    return data_[pos_++];
  }
  uint16_t u16() {
    assert(has(2));
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t u32() {
    assert(has(4));
    uint32_t v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
                 (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  int32_t s32() { return static_cast<int32_t>(u32()); }
  std::span<const uint8_t> bytes(size_t n) {
    assert(has(n));
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  void skip(size_t n) {
    assert(has(n));
    pos_ += n;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// A growable byte buffer for outgoing data. Appends are big-endian. New bytes are always written
// explicitly (zeroed by grow(), or overwritten by the caller of grow_for_overwrite()), so no
// stale memory can reach the wire.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&& o) noexcept { swap(o); }
  ByteBuffer& operator=(ByteBuffer&& o) noexcept {
    ByteBuffer(std::move(o)).swap(*this);
    return *this;
  }
  ByteBuffer(const ByteBuffer& o) { append(o.span()); }
  ByteBuffer& operator=(const ByteBuffer& o) {
    if (this != &o) {
      clear();
      append(o.span());
    }
    return *this;
  }

  size_t size() const { return end_ - head_; }
  bool empty() const { return size() == 0; }
  const uint8_t* data() const { return buf_.get() + head_; }
  uint8_t* data() { return buf_.get() + head_; }
  std::span<const uint8_t> span() const { return {data(), size()}; }

  void clear() { head_ = end_ = 0; }
  void reserve(size_t n) {
    if (head_ + n > cap_) reallocate(n);
  }
  size_t capacity() const { return cap_; }
  // Buffers reused across updates keep their largest size; this gives the storage back when it
  // exceeds `max_capacity` bytes (keeping the content), so one big update does not pin memory.
  void shrink_to(size_t max_capacity) {
    if (cap_ > max_capacity) reallocate(size(), /*exact=*/true);
  }

  void u8(uint8_t v) { *grow_for_overwrite(1) = v; }
  void u16(uint16_t v) {
    uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    append(b);
  }
  void u32(uint32_t v) {
    uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                    static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    append(b);
  }
  void s32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void zeros(size_t n) { grow(n); }
  void append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    std::memcpy(grow_for_overwrite(bytes.size()), bytes.data(), bytes.size());
  }
  void append(std::string_view s) {
    append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  // Grows by n zeroed bytes and returns where they start, for kernels that write in place.
  uint8_t* grow(size_t n) {
    uint8_t* p = grow_for_overwrite(n);
    if (n != 0) std::memset(p, 0, n);
    return p;
  }
  // Grows by n bytes the caller must write, every one, before the buffer is read or sent (a
  // conversion or copy that fills them): zeroing megabytes that are overwritten at once costs
  // about as much as the conversion.
  uint8_t* grow_for_overwrite(size_t n) {
    if (cap_ - end_ < n) reallocate(size() + n);
    uint8_t* p = buf_.get() + end_;
    end_ += n;
    return p;
  }
  // Drops bytes from the end so that size() == n (n <= size()).
  void truncate(size_t n) {
    assert(n <= size());
    end_ = head_ + n;
  }

  // Overwrites a big-endian u32 at an offset (from data()) already written, e.g. a length prefix
  // reserved before the payload was known.
  void patch_u32(size_t offset, uint32_t v) {
    assert(offset + 4 <= size());
    uint8_t* p = data() + offset;
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
  }
  void patch_u16(size_t offset, uint16_t v) {
    assert(offset + 2 <= size());
    uint8_t* p = data() + offset;
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
  }

  // Drops n bytes from the front (what a transport has sent). Storage is compacted lazily so
  // repeated partial sends stay linear.
  void consume(size_t n) {
    assert(n <= size());
    head_ += n;
    if (head_ == end_) {
      clear();
    } else if (head_ > 65536 && head_ > end_ / 2) {
      std::memmove(buf_.get(), buf_.get() + head_, size());
      end_ -= head_;
      head_ = 0;
    }
  }

  // Moves everything in `other` to the end of this buffer.
  void take(ByteBuffer& other) {
    if (empty())
      swap(other);
    else
      append(other.span());
    other.clear();
  }

  void swap(ByteBuffer& o) noexcept {
    std::swap(buf_, o.buf_);
    std::swap(cap_, o.cap_);
    std::swap(head_, o.head_);
    std::swap(end_, o.end_);
  }

 private:
  // New storage for at least `need` bytes (the content moves to its start): at least double
  // the old, so appending stays linear, unless `exact`.
  void reallocate(size_t need, bool exact = false) {
    const size_t cap = exact ? need : std::max(std::max(need, 2 * cap_), size_t{64});
    auto fresh = std::make_unique_for_overwrite<uint8_t[]>(cap);
    if (size() != 0) std::memcpy(fresh.get(), data(), size());
    end_ = size();
    head_ = 0;
    buf_ = std::move(fresh);
    cap_ = cap;
  }

  // Bytes [head_, end_) of buf_ (capacity cap_) are the content; nothing beyond end_ is read.
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
  size_t head_ = 0;
  size_t end_ = 0;
};

}  // namespace vncd::rfb
