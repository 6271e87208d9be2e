// UpdatePlanner: decides what one client's FramebufferUpdate contains (CopyRect moves, solid
// areas, the remaining rectangles and the encoding of each) and writes it. This is the one place
// that chooses; encoders only encode. One per connection, used by one thread at a time; it may
// spread one update over a TaskRunner (set_task_runner), waiting for it before returning.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "encodings/registry.h"
#include "rfb/encoder.h"
#include "rfb/frame.h"
#include "rfb/geometry.h"
#include "rfb/pixel_converter.h"
#include "rfb/task_runner.h"
#include "rfb/wire.h"

namespace vncd::enc {

// Content already on the client that moved: dst's pixels are those at (src_x, src_y) before
// the update (a scroll or a window move).
struct CopyOp {
  rfb::Rect dst;
  int src_x = 0;
  int src_y = 0;
  bool operator==(const CopyOp&) const = default;
};

struct UpdateContent {
  rfb::Region changed;              // Areas of `frame` to send (inside the frame).
  std::vector<CopyOp> copies;       // Applied first, in order. Sources must not overlap an
                                    // earlier op's destination.
  std::optional<rfb::Size> resize;  // Send a DesktopSize pseudo-rectangle first.
  // Parts of `changed` that must arrive without loss even if the client allows JPEG (the
  // lossless refresh, text areas). Pieces never straddle its boundary.
  rfb::Region lossless{};
  // When >= 0: lossy pieces use at most this fine quality (0..100) and at least this coarse a
  // subsampling (pseudo-encoding numbering 0..5), never more quality than the client asked for.
  int jpeg_quality_cap = -1;
  int jpeg_subsampling = -1;
};

struct UpdateResult {
  size_t rects = 0;   // Rectangles in the message (pseudo-rectangles included).
  rfb::Region lossy;  // Where the client now shows pixels sent with loss (JPEG).
};

// The client's pseudo-encodings that tune encoders (Compression Level, JPEG Quality Level,
// TurboVNC fine quality and subsampling); the last of each kind wins.
rfb::EncodeSettings settings_from_encodings(std::span<const int32_t> encodings);

// Merges disjoint rectangles into their bounding box wherever that adds at most `slack` pixels
// that were not in them, so a few small neighbours (a glyph cut by tile edges, the blocks of a
// clock) cost one rectangle header and one encoder set-up instead of several. Lists longer
// than kMaxCoalesce are returned as they are (large changes, where headers do not matter).
inline constexpr size_t kMaxCoalesce = 64;
std::vector<rfb::Rect> coalesce_rects(std::vector<rfb::Rect> rects, int64_t slack);

class UpdatePlanner {
 public:
  // Solid areas smaller than this are left to the encoder: splitting them off costs headers.
  static constexpr int kMinSolidArea = 2048;
  static constexpr int kSolidBlock = 16;
  // With several threads, stateless encodings' rectangles above this area are cut into bands.
  static constexpr int kMinStripArea = 128 * 1024;

  explicit UpdatePlanner(const EncoderRegistry& registry);
  ~UpdatePlanner();

  // The client's SetEncodings list, in its order of preference. Unknown numbers are ignored.
  void set_encodings(std::span<const int32_t> encodings);
  // The capture format and the client's format (both valid).
  void set_formats(const rfb::PixelFormat& native, const rfb::PixelFormat& client);

  // Whether the client announced an encoding or pseudo-encoding (DesktopSize, CopyRect, ...).
  bool client_supports(int32_t encoding) const;
  // The encoding used for ordinary rectangles (the client's first supported choice, else Raw).
  int32_t preferred_encoding() const { return preferred_; }
  const rfb::EncodeSettings& settings() const { return settings_; }

  // Appends one complete FramebufferUpdate message for `content` of `frame` to `out`. The frame's
  // format must be the native format given to set_formats(). Returns the number of rectangles
  // and the region sent with loss. Copies are sent as CopyRect when the client supports it, else
  // as pixels. The frame must not change until it returns.
  UpdateResult write_update(const rfb::Frame& frame, const UpdateContent& content,
                            rfb::ByteBuffer& out);

  // The same message in installments, so that a whole-screen update never has to exist in memory
  // at once: begin_update() plans it and writes the header and the CopyRects; each
  // continue_update() appends the next rectangles in wire order until `out` grew by at least
  // `budget` bytes (or the update is complete) and says whether it is. `frame` must stay alive
  // and unchanged, and neither set_encodings() nor set_formats() be called, until it is complete.
  void begin_update(const rfb::Frame& frame, const UpdateContent& content, rfb::ByteBuffer& out);
  bool continue_update(rfb::ByteBuffer& out, size_t budget);
  // Of the last update, once complete (write_update's result).
  const UpdateResult& result() const { return result_; }
  bool in_update() const { return update_frame_ != nullptr; }

  // Pixels of one piece, in native bytes, above which it is cut into bands of whole 64-row tile
  // rows (four times this for encodings that parallelise inside a rectangle): what the planner
  // holds per piece (and what one continue_update() overshoots by) stays about this, whatever
  // the screen size.
  static constexpr size_t kMaxPieceBytes = 512 * 1024;
  // A continue_update() batch (the pieces the threads share at once) is sized from the output
  // ratio seen so far so that it fills the budget: one batch per installment, not one per two
  // pieces, since each batch wakes every thread (about 4 futex calls and 2 context switches,
  // the dearer in a VM). Bounds on that guess: a batch is never more than kMaxBatchBytes of
  // pixels, nor more pixels than kMinOutputRatio would predict, so content that suddenly
  // compresses worse overshoots a budget by at most that much.
  static constexpr size_t kMaxBatchBytes = 4u << 20;
  static constexpr double kMinOutputRatio = 1.0 / 64;

  // Threads to spread one update's encoding over (null = the calling thread only). Not owned;
  // must outlive its use. The output is a valid stream whatever the concurrency.
  void set_task_runner(rfb::TaskRunner* runner) { runner_ = runner; }

 private:
  struct Piece {
    rfb::Rect rect;
    int32_t encoding;
    bool lossless = false;
  };
  // Encoder instances of one lane (a thread's share of an update); lane 0's also answer traits.
  struct Lane {
    std::map<int32_t, std::unique_ptr<rfb::Encoder>> encoders;  // Made on first use; they
                                                                // keep their state.
  };
  // Pieces (indexes into the update's pieces, in wire order) that one encoder instance encodes.
  struct Task {
    size_t lane;
    int32_t encoding;
    std::vector<size_t> pieces;
  };
  rfb::Encoder& encoder(int32_t encoding) { return encoder_in(0, encoding); }
  rfb::Encoder& encoder_in(size_t lane, int32_t encoding);
  void extract_solids(const rfb::Frame& frame, rfb::Region& region, bool lossless,
                      std::vector<Piece>& out) const;
  int32_t encoding_for(const rfb::PixelView& native) const;
  void split(const rfb::Rect& r, int32_t encoding, bool lossless, std::vector<Piece>& out);
  // Encodes one piece (rectangle header included) with lane `lane`'s encoder into `out`, using
  // `scratch` for converted pixels; returns whether it went lossy.
  bool encode_piece(size_t lane, const rfb::Frame& frame, const Piece& p,
                    const rfb::EncodeSettings& settings, std::vector<uint8_t>& scratch,
                    rfb::TaskRunner* runner, rfb::ByteBuffer& out);
  std::vector<Task> plan_tasks(const std::vector<Piece>& pieces);
  std::vector<Piece> cut_into_bands(std::vector<Piece> pieces);
  // Pieces that may go lossy and hold text-like rows above or below photo-like ones are cut
  // where the content changes, so that the text goes without loss and the photo as JPEG.
  std::vector<Piece> cut_at_content_changes(const rfb::Frame& frame, std::vector<Piece> pieces);
  // Encodes `batch` (consecutive pieces of the update) into `out`, in parallel where it can.
  void encode_batch(const std::vector<Piece>& batch, rfb::ByteBuffer& out);

  const EncoderRegistry& registry_;
  std::vector<int32_t> client_encodings_;
  int32_t preferred_ = rfb::encoding::kRaw;
  int32_t solid_encoding_ = rfb::encoding::kRaw;  // For extracted solid areas.
  int32_t fallback_ = rfb::encoding::kRaw;        // When content exceeds preferred's palette.
  rfb::EncodeSettings settings_;
  rfb::PixelFormat native_;
  rfb::PixelFormat client_;
  std::unique_ptr<rfb::PixelConverter> converter_;
  bool identity_ = false;  // Native and client formats are the same bytes: encode in place.
  std::vector<std::unique_ptr<Lane>> lanes_;  // At least one.
  std::map<int32_t, int> lane_split_;         // Lanes last used per max_lanes > 1 encoding.
  rfb::TaskRunner* runner_ = nullptr;
  // Per task: converted pixels for client-format encoders. Per piece: its encoded bytes and
  // whether it went lossy, when tasks run in parallel. Kept to reuse their storage: every
  // update of a steady full-screen workload needs them again, and re-faulting megabytes of fresh
  // pages per update costs more than it saves (the peak is reached during the update anyway).
  std::vector<std::vector<uint8_t>> scratch_;
  std::vector<rfb::ByteBuffer> piece_out_;
  std::vector<uint8_t> piece_lossy_;
  // The update in progress (between begin_update() and the continue_update() that completes it).
  const rfb::Frame* update_frame_ = nullptr;
  std::vector<Piece> update_pieces_;
  size_t next_piece_ = 0;
  // Output bytes per byte of native pixels, of the update in progress once a batch is done and
  // of the last one before that: how many pixels a batch needs to fill an installment's budget.
  double update_pixels_ = 0, update_output_ = 0;
  double output_ratio_ = 1;
  rfb::EncodeSettings update_settings_;
  UpdateResult result_;
};

}  // namespace vncd::enc
