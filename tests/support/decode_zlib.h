// InflateStream: the client side of one RFB zlib stream (Zlib and ZRLE decoders each keep one
// for the whole connection, as real clients do). Test-only; move-free RAII, one thread.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "rfb/result.h"

namespace vncd::test {

class InflateStream {
 public:
  InflateStream();
  ~InflateStream();
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  // Inflates all of `in` (one rectangle's zlibData) into `out` (replacing its contents). Fails
  // on corrupt data, on the end of the stream (servers never finish it), and when the output
  // would exceed `max_out` bytes, so a malicious length cannot make it allocate without bound.
  Status inflate_all(std::span<const uint8_t> in, size_t max_out, std::vector<uint8_t>& out);

 private:
  std::unique_ptr<z_stream> z_;
  bool ready_ = false;
};

}  // namespace vncd::test
