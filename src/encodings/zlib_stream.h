// ZlibStream: one RAII deflate stream that lives as long as a connection's encoder (RFB's Zlib,
// ZRLE and Tight keep their streams across updates). Move-only; one thread at a time.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <span>

#include "rfb/wire.h"

namespace vncd::enc {

class ZlibStream {
 public:
  // level 0..9; -1 means zlib's default (6).
  explicit ZlibStream(int level = -1);
  ~ZlibStream();
  ZlibStream(ZlibStream&&) noexcept;
  ZlibStream& operator=(ZlibStream&&) noexcept;
  ZlibStream(const ZlibStream&) = delete;
  ZlibStream& operator=(const ZlibStream&) = delete;

  // Compresses `in` and appends everything up to a Z_SYNC_FLUSH boundary to `out`, so the client
  // can decode it now while the dictionary carries on into the next call. A changed `level`
  // (-1 = keep) takes effect from this call.
  void compress(std::span<const uint8_t> in, rfb::ByteBuffer& out, int level = -1);

  // Starts a fresh stream (Tight's stream reset).
  void reset();

  int level() const { return level_; }

 private:
  std::unique_ptr<z_stream> z_;
  int level_;
};

}  // namespace vncd::enc
