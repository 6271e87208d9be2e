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

namespace detail {
// Leaves bytes a vector grows by uninitialised (value-less construct): ByteBuffer either zeroes
// them or has its caller overwrite them all, and zero-filling megabytes just before a
// conversion overwrites them costs about as much as the conversion.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  using std::allocator<T>::allocator;
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
}  // namespace detail

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
  size_t size() const { return data_.size() - head_; }
  bool empty() const { return size() == 0; }
  const uint8_t* data() const { return data_.data() + head_; }
  uint8_t* data() { return data_.data() + head_; }
  std::span<const uint8_t> span() const { return {data(), size()}; }

  void clear() {
    data_.clear();
    head_ = 0;
  }
  void reserve(size_t n) { data_.reserve(head_ + n); }
  size_t capacity() const { return data_.capacity(); }
  // Buffers reused across updates keep their largest size; this gives the storage back when it
  // exceeds `max_capacity` bytes (keeping the content), so one big update does not pin memory.
  void shrink_to(size_t max_capacity) {
    if (data_.capacity() <= max_capacity) return;
    Storage kept(data_.begin() + static_cast<std::ptrdiff_t>(head_), data_.end());
    data_.swap(kept);
    head_ = 0;
  }

  void u8(uint8_t v) { data_.push_back(v); }
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
  void zeros(size_t n) { data_.insert(data_.end(), n, 0); }
  void append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    // resize + memcpy rather than insert: GCC 12 at -O3 reports a false -Wstringop-overflow for
    // range insert into an empty vector.
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
  // conversion or copy that fills them): skips zeroing what is overwritten at once.
  uint8_t* grow_for_overwrite(size_t n) {
    size_t old = data_.size();
    data_.resize(old + n);
    return data_.data() + old;
  }
  // Drops bytes from the end so that size() == n (n <= size()).
  void truncate(size_t n) {
    assert(n <= size());
    data_.resize(head_ + n);
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
    if (head_ == data_.size()) {
      clear();
    } else if (head_ > 65536 && head_ > data_.size() / 2) {
      data_.erase(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  // Moves everything in `other` to the end of this buffer.
  void take(ByteBuffer& other) {
    if (empty()) {
      std::swap(data_, other.data_);
      std::swap(head_, other.head_);
    } else {
      append(other.span());
    }
    other.clear();
  }

 private:
  using Storage = std::vector<uint8_t, detail::DefaultInitAllocator<uint8_t>>;
  Storage data_;
  size_t head_ = 0;
};

}  // namespace vncd::rfb
