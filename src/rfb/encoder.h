// Encoder: how one rectangle is encoded in one RFB encoding. Made per connection (it may hold
// zlib streams that live across updates); used by one thread at a time; never sees sockets.
#pragma once

#include <cstdint>

#include "rfb/frame.h"
#include "rfb/pixel_converter.h"
#include "rfb/task_runner.h"
#include "rfb/wire.h"

namespace vncd::rfb {

// Encoding numbers (rfbproto.rst, "Encodings" and "Pseudo-encodings").
namespace encoding {
inline constexpr int32_t kRaw = 0;
inline constexpr int32_t kCopyRect = 1;
inline constexpr int32_t kRRE = 2;
inline constexpr int32_t kCoRRE = 4;
inline constexpr int32_t kHextile = 5;
inline constexpr int32_t kZlib = 6;
inline constexpr int32_t kTight = 7;
inline constexpr int32_t kTRLE = 15;
inline constexpr int32_t kZRLE = 16;
inline constexpr int32_t kDesktopSize = -223;
inline constexpr int32_t kLastRect = -224;
inline constexpr int32_t kCursor = -239;
inline constexpr int32_t kExtendedDesktopSize = -308;
inline constexpr int32_t kFence = -312;
inline constexpr int32_t kContinuousUpdates = -313;
inline constexpr int32_t kCompressLevel0 = -256;  // .. -247
inline constexpr int32_t kQualityLevel0 = -32;    // .. -23
// TurboVNC's fine-grained JPEG quality (-512 + 0..100) and subsampling (-768 + 0..5: 1X, 4X,
// 2X, gray, 8X, 16X) pseudo-encodings.
inline constexpr int32_t kFineQualityLevel0 = -512;
inline constexpr int32_t kSubsampling0 = -768;
}  // namespace encoding

// Fixed facts about an encoder the update planner uses to choose and prepare rectangles.
struct EncoderTraits {
  enum class Input : uint8_t {
    kClientFormat,  // encode() gets pixels already converted to the client's format.
    kNativeFormat,  // encode() gets captured pixels and converts what it emits itself.
  };
  Input input = Input::kClientFormat;
  bool lossy = false;
  // Largest rectangle the encoding can carry in one header (0 = the 65535 wire limit).
  int max_width = 0;
  int max_height = 0;
  // Content with more colours than this is better sent another way (0 = no limit): RRE-style
  // encodings grow past Raw on busy content.
  int max_palette = 0;
  // A one-colour rectangle costs a few bytes (not one per pixel or per tile).
  bool cheap_solid = true;
  // How many instances of this encoder per connection may encode the rectangles of one update at
  // the same time. 0: any number (stateless: output depends only on the input). 1: one, in wire
  // order (state such as a single zlib stream carries from rectangle to rectangle); such an
  // encoder may spread one rectangle over EncodeContext::runner itself. n > 1: up to n, instance
  // i of k told so by set_lane(i, k), each keeping to its own share of the state (Tight: its own
  // streams).
  int max_lanes = 0;
};

// Per-update settings from the client's pseudo-encodings; -1 means "not requested".
struct EncodeSettings {
  int compress_level = -1;  // 0..9
  int quality_level = -1;   // 0..9
  int fine_quality = -1;    // 0..100
  int subsampling = -1;     // 0..5, as numbered by the pseudo-encoding
  // Set by the planner per rectangle, not by the client. false: this rectangle must be sent
  // without loss (no JPEG) even if the client allows it.
  bool allow_lossy = true;
  // When >= 0, lossy rectangles use at most this fine quality (0..100) and at least this coarse a
  // subsampling (pseudo-encoding numbering 0..5), never more quality than the client asked for.
  int jpeg_quality_cap = -1;
  int jpeg_subsampling_cap = -1;
};

struct EncodeContext {
  const PixelFormat& client_format;
  const PixelConverter& converter;  // Native (capture) format to client_format.
  EncodeSettings settings;
  // Threads a max_lanes == 1 encoder may use to split one large rectangle (null = inline). The
  // output must be a valid continuation whatever the concurrency.
  TaskRunner* runner = nullptr;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  virtual int32_t encoding() const = 0;
  virtual EncoderTraits traits() const = 0;

  // Appends the payload of one rectangle (the bytes that follow its rectangle header) encoding
  // `pixels` (width and height within traits()' limits; format per traits().input) to `out`.
  virtual void encode(const PixelView& pixels, const EncodeContext& ctx, ByteBuffer& out) = 0;

  // Whether the last encode() sent its rectangle with loss (JPEG). Lossless encoders: never.
  virtual bool last_was_lossy() const { return false; }

  // For traits().max_lanes > 1: this instance is lane `lane` of `lanes` (1..max_lanes) for the
  // coming rectangles. Called by the planner before encoding whenever the split changes.
  virtual void set_lane(int /*lane*/, int /*lanes*/) {}
};

}  // namespace vncd::rfb
