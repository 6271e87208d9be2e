#include "encodings/zlib_stream.h"

#include <cassert>
#include <cstring>
#include <utility>

namespace vncd::enc {
namespace {

std::unique_ptr<z_stream> make_stream(int level) {
  auto z = std::make_unique<z_stream>();
  std::memset(z.get(), 0, sizeof(z_stream));
  int rc = deflateInit(z.get(), level < 0 ? Z_DEFAULT_COMPRESSION : level);
  // deflateInit fails only for bad arguments or out of memory: both are our bugs or fatal.
  assert(rc == Z_OK);
  (void)rc;
  return z;
}

}  // namespace

ZlibStream::ZlibStream(int level) : z_(make_stream(level)), level_(level < 0 ? 6 : level) {}

ZlibStream::~ZlibStream() {
  if (z_) deflateEnd(z_.get());
}

ZlibStream::ZlibStream(ZlibStream&& o) noexcept : z_(std::move(o.z_)), level_(o.level_) {}

ZlibStream& ZlibStream::operator=(ZlibStream&& o) noexcept {
  if (this != &o) {
    if (z_) deflateEnd(z_.get());
    z_ = std::move(o.z_);
    level_ = o.level_;
  }
  return *this;
}

void ZlibStream::reset() {
  assert(z_);
  deflateReset(z_.get());
}

void ZlibStream::compress(std::span<const uint8_t> in, rfb::ByteBuffer& out, int level) {
  assert(z_);
  if (level >= 0 && level <= 9 && level != level_) {
    // deflateParams may flush pending input; there is none between our calls.
    // deflateParams runs a Z_BLOCK deflate when the stream has been used; after our sync flush
    // that emits at most a few bytes, which belong to the stream: give it room in `out`.
    const size_t before = out.size();
    constexpr size_t kRoom = 64;
    z_->next_in = nullptr;
    z_->avail_in = 0;
    z_->next_out = out.grow(kRoom);
    z_->avail_out = kRoom;
    int rc = deflateParams(z_.get(), level, Z_DEFAULT_STRATEGY);
    assert(rc == Z_OK);
    (void)rc;
    out.truncate(before + (kRoom - z_->avail_out));
    level_ = level;
  }
  z_->next_in = const_cast<Bytef*>(in.data());
  z_->avail_in = static_cast<uInt>(in.size());
  for (;;) {
    // deflateBound covers a whole stream; a sync flush adds a few bytes more.
    const size_t room = deflateBound(z_.get(), z_->avail_in) + 64;
    const size_t before = out.size();
    uint8_t* dst = out.grow(room);
    z_->next_out = dst;
    z_->avail_out = static_cast<uInt>(room);
    int rc = deflate(z_.get(), Z_SYNC_FLUSH);
    assert(rc == Z_OK || rc == Z_BUF_ERROR);
    (void)rc;
    const size_t produced = room - z_->avail_out;
    out.truncate(before + produced);  // Give back what grow() reserved beyond the output.
    if (z_->avail_in == 0 && z_->avail_out != 0) break;
  }
  // Never leave zlib pointing into buffers it does not own.
  z_->next_in = nullptr;
  z_->next_out = nullptr;
  z_->avail_out = 0;
}

}  // namespace vncd::enc
