// Reference decoder for TRLE (RFC 6143 7.7.5; rfbproto.rst lists it as encoding 15) and the tile
// layer it shares with ZRLE. Deliberately simple: one pixel at a time, every byte bounds-checked.
#include "support/decode_trle.h"

#include <string>
#include <vector>

#include "support/pixel_reference.h"
#include "support/reference_decoders.h"

namespace vncd::test {
namespace {

// How CPIXEL bytes become a pixel value: read `bytes` bytes as a number in the format's byte
// order, then shift it up 8 bits when they are the most significant three bytes.
struct CPixelRule {
  int bytes;
  int shift;
};

CPixelRule cpixel_rule(const rfb::PixelFormat& pf) {
  // "true-colour-flag is non-zero, bits-per-pixel is 32, depth is 24 or less and all of the
  // bits making up the red, green and blue intensities fit in either the least significant 3
  // bytes or the most significant 3 bytes"; the least significant win when both would do.
  if (pf.true_colour && pf.bpp == 32 && pf.depth <= 24) {
    const uint64_t bits = (uint64_t{pf.red_max} << pf.red_shift) |
                          (uint64_t{pf.green_max} << pf.green_shift) |
                          (uint64_t{pf.blue_max} << pf.blue_shift);
    if (bits < (uint64_t{1} << 24)) return {3, 0};
    if (bits % 256 == 0 && bits < (uint64_t{1} << 32)) return {3, 8};
  }
  return {pf.bpp / 8, 0};
}

class TileReader {
 public:
  TileReader(rfb::Reader& in, ClientFramebuffer& fb)
      : in_(in), fb_(fb), rule_(cpixel_rule(fb.format)) {}

  Status cpixel(uint32_t* value) {
    if (!in_.has(static_cast<size_t>(rule_.bytes))) return Error("short CPIXEL");
    auto b = in_.bytes(static_cast<size_t>(rule_.bytes));
    uint32_t v = 0;
    for (int i = 0; i < rule_.bytes; ++i) {
      const int pos = fb_.format.big_endian ? rule_.bytes - 1 - i : i;
      v |= uint32_t{b[static_cast<size_t>(i)]} << (8 * pos);
    }
    *value = v << rule_.shift;
    return {};
  }

  Status byte(uint8_t* v, const char* what) {
    if (!in_.has(1)) return Error(std::string("short ") + what);
    *v = in_.u8();
    return {};
  }

  // "one more than the sum of all the bytes representing the length"; bounded by what is left
  // of the tile, so neither a long run nor a long chain of 255s can overflow anything.
  Status run_length(uint32_t left, uint32_t* length) {
    uint32_t len = 1;
    for (;;) {
      uint8_t b = 0;
      if (Status s = byte(&b, "run length"); !s) return s;
      len += b;
      if (len > left) return Error("run longer than the rest of the tile");
      if (b != 255) break;
    }
    *length = len;
    return {};
  }

  void put(int x, int y, uint32_t value) { ref_store_pixel(fb_.at(x, y), fb_.format, value); }

 private:
  rfb::Reader& in_;
  ClientFramebuffer& fb_;
  CPixelRule rule_;
};

}  // namespace

int cpixel_bytes(const rfb::PixelFormat& pf) {
  return cpixel_rule(pf).bytes;
}

Status decode_rle_tiles(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb,
                        RleVariant variant) {
  const bool trle = variant == RleVariant::kTrle;
  const char* name = trle ? "TRLE: " : "ZRLE: ";
  auto fail = [&](const std::string& why) { return Status(Error(name + why)); };
  if (r.x < 0 || r.y < 0 || r.w < 0 || r.h < 0 || r.right() > fb.width || r.bottom() > fb.height)
    return fail("rectangle outside the framebuffer");
  const int tile = trle ? 16 : 64;
  TileReader rd(in, fb);
  std::vector<uint32_t> palette;  // The last palette sent in this rectangle (TRLE reuse).
  bool have_palette = false;

  for (int ty = r.y; ty < r.bottom(); ty += tile) {
    const int th = r.bottom() - ty < tile ? r.bottom() - ty : tile;
    for (int tx = r.x; tx < r.right(); tx += tile) {
      const int tw = r.right() - tx < tile ? r.right() - tx : tile;
      const uint32_t area = static_cast<uint32_t>(tw) * static_cast<uint32_t>(th);
      uint8_t sub = 0;
      if (Status s = rd.byte(&sub, "subencoding"); !s) return fail(s.error().message());

      auto read_palette = [&](int n) -> Status {
        palette.assign(static_cast<size_t>(n), 0);
        for (auto& c : palette)
          if (Status s = rd.cpixel(&c); !s) return s;
        have_palette = true;
        return {};
      };

      if (sub == 0) {  // Raw.
        for (int y = 0; y < th; ++y)
          for (int x = 0; x < tw; ++x) {
            uint32_t v = 0;
            if (Status s = rd.cpixel(&v); !s) return fail(s.error().message());
            rd.put(tx + x, ty + y, v);
          }
      } else if (sub == 1) {  // Solid.
        uint32_t v = 0;
        if (Status s = rd.cpixel(&v); !s) return fail(s.error().message());
        for (int y = 0; y < th; ++y)
          for (int x = 0; x < tw; ++x) rd.put(tx + x, ty + y, v);
      } else if (sub <= 16 || (trle && sub == 127)) {  // Packed palette.
        if (sub == 127) {
          if (!have_palette) return fail("palette reuse with no previous palette");
          if (palette.size() > 16) return fail("packed palette reuse of a palette over 16");
        } else if (Status s = read_palette(sub); !s) {
          return fail(s.error().message());
        }
        const int n = static_cast<int>(palette.size());
        const int bits = n <= 2 ? 1 : (n <= 4 ? 2 : 4);
        for (int y = 0; y < th; ++y) {
          // Each row starts on a byte boundary; the leftmost pixel is in the high bits.
          uint8_t cur = 0;
          int bits_left = 0;
          for (int x = 0; x < tw; ++x) {
            if (bits_left == 0) {
              if (Status s = rd.byte(&cur, "packed pixels"); !s) return fail(s.error().message());
              bits_left = 8;
            }
            bits_left -= bits;
            const int index = (cur >> bits_left) & ((1 << bits) - 1);
            if (index >= n) return fail("palette index out of range");
            rd.put(tx + x, ty + y, palette[static_cast<size_t>(index)]);
          }
        }
      } else if (sub == 128 || sub >= 130 || (trle && sub == 129)) {  // RLE.
        const bool with_palette = sub != 128;
        if (sub >= 130) {
          if (Status s = read_palette(sub - 128); !s) return fail(s.error().message());
        } else if (sub == 129 && !have_palette) {
          return fail("palette reuse with no previous palette");
        }
        uint32_t done = 0;
        while (done < area) {
          uint32_t colour = 0;
          uint32_t len = 1;
          if (with_palette) {
            uint8_t b = 0;
            if (Status s = rd.byte(&b, "palette index"); !s) return fail(s.error().message());
            const size_t index = b & 127u;
            if (index >= palette.size()) return fail("palette index out of range");
            colour = palette[index];
            if (b & 128) {
              if (Status s = rd.run_length(area - done, &len); !s) return fail(s.error().message());
            }
          } else {
            if (Status s = rd.cpixel(&colour); !s) return fail(s.error().message());
            if (Status s = rd.run_length(area - done, &len); !s) return fail(s.error().message());
          }
          for (uint32_t i = 0; i < len; ++i, ++done)
            rd.put(tx + static_cast<int>(done % static_cast<uint32_t>(tw)),
                   ty + static_cast<int>(done / static_cast<uint32_t>(tw)), colour);
        }
      } else {
        return fail("unused subencoding " + std::to_string(sub));
      }
    }
  }
  return {};
}

namespace {

class TrleDecoder : public ReferenceDecoder {
 public:
  Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) override {
    return decode_rle_tiles(in, r, fb, RleVariant::kTrle);
  }
};

}  // namespace

std::unique_ptr<ReferenceDecoder> make_trle_decoder() {
  return std::make_unique<TrleDecoder>();
}

}  // namespace vncd::test
