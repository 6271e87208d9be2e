// Reference decoder for rfbproto.rst "zlib Encoding": U32 length, then zlib data that inflates
// (through one stream kept for the connection) to exactly the rectangle's Raw encoding.
#include "support/decode_zlib.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "support/reference_decoders.h"

namespace vncd::test {

InflateStream::InflateStream() : z_(std::make_unique<z_stream>()) {
  std::memset(z_.get(), 0, sizeof(z_stream));
  ready_ = inflateInit(z_.get()) == Z_OK;
}

InflateStream::~InflateStream() {
  if (ready_) inflateEnd(z_.get());
}

Status InflateStream::inflate_all(std::span<const uint8_t> in, size_t max_out,
                                  std::vector<uint8_t>& out) {
  if (!ready_) return Error("zlib: inflateInit failed");
  out.clear();
  z_->next_in = const_cast<Bytef*>(in.data());
  z_->avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) {
      // Grow geometrically up to one byte past the limit, so overflowing it is detectable.
      out.resize(std::min(std::max<size_t>(produced * 2, 4096), max_out + 1));
    }
    const size_t room = std::min<size_t>(out.size() - produced, 1u << 30);
    z_->next_out = out.data() + produced;
    z_->avail_out = static_cast<uInt>(room);
    const int rc = inflate(z_.get(), Z_SYNC_FLUSH);
    produced += room - z_->avail_out;
    if (produced > max_out) return Error("zlib: data inflates past the rectangle's size");
    if (rc == Z_STREAM_END) return Error("zlib: stream ended (servers never end it)");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return Error(std::string("zlib: inflate failed: ") + (z_->msg ? z_->msg : "?"));
    if (z_->avail_in == 0 && z_->avail_out != 0) break;  // All input used, all output out.
    if (rc == Z_BUF_ERROR && z_->avail_out != 0)
      return Error("zlib: inflate made no progress");  // Unreachable with input left; be safe.
  }
  out.resize(produced);
  return {};
}

namespace {

class ZlibDecoder : public ReferenceDecoder {
 public:
  Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) override {
    if (r.x < 0 || r.y < 0 || r.w < 0 || r.h < 0 || r.right() > fb.width || r.bottom() > fb.height)
      return Error("Zlib: rectangle outside the framebuffer");
    if (!in.has(4)) return Error("Zlib: short length");
    const uint32_t length = in.u32();
    if (!in.has(length)) return Error("Zlib: short zlibData");
    const size_t row = static_cast<size_t>(r.w) * static_cast<size_t>(fb.format.bytes_per_pixel());
    const size_t expect = row * static_cast<size_t>(r.h);
    if (Status s = stream_.inflate_all(in.bytes(length), expect, raw_); !s) return s;
    if (raw_.size() != expect)
      return Error("Zlib: inflated " + std::to_string(raw_.size()) + " bytes, expected " +
                   std::to_string(expect));
    for (int y = 0; y < r.h; ++y)
      if (row) std::memcpy(fb.at(r.x, r.y + y), raw_.data() + row * static_cast<size_t>(y), row);
    return {};
  }

 private:
  InflateStream stream_;
  std::vector<uint8_t> raw_;
};

}  // namespace

std::unique_ptr<ReferenceDecoder> make_zlib_decoder() {
  return std::make_unique<ZlibDecoder>();
}

}  // namespace vncd::test
