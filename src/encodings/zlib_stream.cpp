#include "encodings/zlib_stream.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace vncd::enc {
namespace {

// Raw deflate (negative window bits): the zlib header is ours to write.
std::unique_ptr<z_stream> make_stream(int level, int strategy = Z_DEFAULT_STRATEGY) {
  auto z = std::make_unique<z_stream>();
  std::memset(z.get(), 0, sizeof(z_stream));
  int rc = deflateInit2(z.get(), level < 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, -15, 8,
                        strategy);
  // deflateInit fails only for bad arguments or out of memory: both are our bugs or fatal.
  assert(rc == Z_OK);
  (void)rc;
  return z;
}

void end_stream(std::unique_ptr<z_stream>& z) {
  if (z) deflateEnd(z.get());
  z.reset();
}

// Deflates all of `in` up to a Z_SYNC_FLUSH and appends the output to `out`.
void deflate_sync(z_stream& z, std::span<const uint8_t> in, rfb::ByteBuffer& out) {
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    // deflateBound covers a whole stream; a sync flush adds a few bytes more. Capped so that a
    // big input does not zero (and make resident) its whole bound in `out` at once.
    constexpr size_t kMaxRoom = 1 << 20;
    const size_t room = std::min<size_t>(deflateBound(&z, z.avail_in) + 64, kMaxRoom);
    const size_t before = out.size();
    uint8_t* dst = out.grow(room);
    z.next_out = dst;
    z.avail_out = static_cast<uInt>(room);
    int rc = deflate(&z, Z_SYNC_FLUSH);
    assert(rc == Z_OK || rc == Z_BUF_ERROR);
    (void)rc;
    const size_t produced = room - z.avail_out;
    out.truncate(before + produced);  // Give back what grow() reserved beyond the output.
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  // Never leave zlib pointing into buffers it does not own.
  z.next_in = nullptr;
  z.next_out = nullptr;
  z.avail_out = 0;
}

// Sets the level of a stream that has pending nothing (fresh or right after a sync flush);
// anything deflateParams emits belongs to the stream and goes to `out`.
void set_level(z_stream& z, int level, int strategy, rfb::ByteBuffer& out) {
  const size_t before = out.size();
  constexpr size_t kRoom = 64;
  z.next_in = nullptr;
  z.avail_in = 0;
  z.next_out = out.grow(kRoom);
  z.avail_out = kRoom;
  int rc = deflateParams(&z, level, strategy);
  assert(rc == Z_OK);
  (void)rc;
  out.truncate(before + (kRoom - z.avail_out));
  z.next_out = nullptr;
  z.avail_out = 0;
}

// Primes a reset raw stream with the data before its input.
void prime(z_stream& z, std::span<const uint8_t> dictionary) {
  if (dictionary.empty()) return;
  int rc = deflateSetDictionary(&z, dictionary.data(), static_cast<uInt>(dictionary.size()));
  assert(rc == Z_OK);
  (void)rc;
}

}  // namespace

double sampled_deflate_ratio(std::span<const uint8_t> in) {
  constexpr size_t kSample = 8 * 1024;
  if (in.size() < 4 * kSample) return 1.0;
  z_stream z{};
  // A 4 KiB window and small hash: enough to see runs and near repeats, cheap to set up.
  if (deflateInit2(&z, 1, Z_DEFLATED, -12, 6, Z_DEFAULT_STRATEGY) != Z_OK) return 1.0;
  uint8_t buf[kSample + 512];
  size_t total_in = 0, total_out = 0;
  for (size_t at : {in.size() / 3, 2 * (in.size() / 3)}) {
    deflateReset(&z);
    z.next_in = const_cast<Bytef*>(in.data() + at - kSample / 2);
    z.avail_in = kSample;
    z.next_out = buf;
    z.avail_out = sizeof buf;
    deflate(&z, Z_SYNC_FLUSH);
    total_in += kSample;
    total_out += sizeof buf - z.avail_out;
  }
  deflateEnd(&z);
  return static_cast<double>(total_out) / static_cast<double>(total_in);
}

struct ZlibStream::Chunk {
  std::unique_ptr<z_stream> z;
  int level = -2;
  int strategy = Z_DEFAULT_STRATEGY;
  std::vector<uint8_t> dictionary;
  rfb::ByteBuffer out;
  ~Chunk() { end_stream(z); }
};

ZlibStream::ZlibStream(int level)
    : z_(make_stream(level)), level_(level < 0 ? 6 : level), z_level_(level_) {}

ZlibStream::~ZlibStream() {
  end_stream(z_);
}

ZlibStream::ZlibStream(ZlibStream&& o) noexcept
    : z_(std::move(o.z_)),
      level_(o.level_),
      z_level_(o.z_level_),
      strategy_(o.strategy_),
      z_strategy_(o.z_strategy_),
      header_due_(o.header_due_),
      z_stale_(o.z_stale_),
      window_(std::move(o.window_)),
      chunks_(std::move(o.chunks_)) {}

ZlibStream& ZlibStream::operator=(ZlibStream&& o) noexcept {
  if (this != &o) {
    end_stream(z_);
    z_ = std::move(o.z_);
    level_ = o.level_;
    z_level_ = o.z_level_;
    strategy_ = o.strategy_;
    z_strategy_ = o.z_strategy_;
    header_due_ = o.header_due_;
    z_stale_ = o.z_stale_;
    window_ = std::move(o.window_);
    chunks_ = std::move(o.chunks_);
  }
  return *this;
}

void ZlibStream::reset() {
  assert(z_);
  deflateReset(z_.get());
  header_due_ = true;
  z_stale_ = false;
  window_.clear();
}

void ZlibStream::remember(std::span<const uint8_t> in) {
  if (in.size() >= kWindow) {
    window_.assign(in.end() - kWindow, in.end());
    return;
  }
  const size_t keep = std::min(window_.size(), kWindow - in.size());
  window_.erase(window_.begin(), window_.end() - static_cast<std::ptrdiff_t>(keep));
  window_.insert(window_.end(), in.begin(), in.end());
}

void ZlibStream::begin(int level, int strategy, rfb::ByteBuffer& out) {
  assert(z_);
  if (level >= 0 && level <= 9) level_ = level;
  strategy_ = strategy;
  if (header_due_) {
    // RFC 1950: CMF 0x78 (deflate, 32 KiB window), FLG with FLEVEL as zlib writes it for this
    // level and FCHECK making the pair a multiple of 31; no preset dictionary.
    const int flevel = level_ < 2 ? 0 : level_ < 6 ? 1 : level_ == 6 ? 2 : 3;
    int flg = flevel << 6;
    flg += 31 - ((0x78 * 256 + flg) % 31);
    out.u8(0x78);
    out.u8(static_cast<uint8_t>(flg));
    header_due_ = false;
  }
}

void ZlibStream::compress_serial(std::span<const uint8_t> in, rfb::ByteBuffer& out) {
  if (z_stale_) {
    // Chunk streams wrote the last output; this one carries on from their input.
    deflateReset(z_.get());
    prime(*z_, window_);
    z_stale_ = false;
  }
  if (z_level_ != level_ || z_strategy_ != strategy_) {
    set_level(*z_, level_, strategy_, out);
    z_level_ = level_;
    z_strategy_ = strategy_;
  }
  deflate_sync(*z_, in, out);
}

void ZlibStream::compress(std::span<const uint8_t> in, rfb::ByteBuffer& out, int level,
                          rfb::TaskRunner* runner, int strategy) {
  const size_t lanes = runner ? runner->concurrency() : 1;
  const size_t chunks = std::min(lanes, in.size() / kMinParallelChunk);
  if (chunks <= 1) {
    const std::span<const uint8_t> whole[1] = {in};
    compress_pieces(whole, out, level, nullptr, strategy);
    return;
  }
  // Equal chunks, deflated in parallel as pieces of one input.
  std::vector<std::span<const uint8_t>> pieces;
  const size_t per = (in.size() + chunks - 1) / chunks;
  for (size_t start = 0; start < in.size(); start += per)
    pieces.push_back(in.subspan(start, std::min(per, in.size() - start)));
  compress_pieces(pieces, out, level, runner, strategy);
}

void ZlibStream::compress_pieces(std::span<const std::span<const uint8_t>> pieces,
                                 rfb::ByteBuffer& out, int level, rfb::TaskRunner* runner,
                                 int strategy) {
  begin(level, strategy, out);
  size_t busy = 0;
  for (const auto& p : pieces) busy += p.empty() ? 0 : 1;
  if (!runner || runner->concurrency() <= 1 || busy <= 1) {
    for (const auto& p : pieces) {
      if (p.empty()) continue;
      compress_serial(p, out);
      remember(p);
    }
    return;
  }
  while (chunks_.size() < pieces.size()) chunks_.push_back(std::make_unique<Chunk>());
  // Each piece's dictionary: the last kWindow bytes of everything before it, gathered from the
  // earlier pieces (newest first) and then window_.
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::vector<uint8_t>& dict = chunks_[i]->dictionary;
    dict.assign(kWindow, 0);
    size_t need = kWindow;
    for (size_t j = i; j-- > 0 && need > 0;) {
      const size_t n = std::min(need, pieces[j].size());
      if (n == 0) continue;  // memcpy must not see an empty span's null pointer.
      std::memcpy(dict.data() + need - n, pieces[j].data() + pieces[j].size() - n, n);
      need -= n;
    }
    if (need > 0) {
      const size_t n = std::min(need, window_.size());
      if (n > 0) std::memcpy(dict.data() + need - n, window_.data() + window_.size() - n, n);
      need -= n;
    }
    dict.erase(dict.begin(), dict.begin() + static_cast<std::ptrdiff_t>(need));
  }
  const int lvl = level_, strat = strategy_;
  runner->run(pieces.size(), [&](size_t i) {
    Chunk& c = *chunks_[i];
    c.out.clear();
    if (pieces[i].empty()) return;
    if (!c.z || c.level != lvl || c.strategy != strat) {
      end_stream(c.z);
      c.z = make_stream(lvl, strat);
      c.level = lvl;
      c.strategy = strat;
    } else {
      deflateReset(c.z.get());
    }
    prime(*c.z, c.dictionary);
    deflate_sync(*c.z, pieces[i], c.out);
  });
  for (size_t i = 0; i < pieces.size(); ++i) {
    out.append(chunks_[i]->out.span());
    chunks_[i]->out.clear();
    chunks_[i]->out.shrink_to(kKeptChunkCapacity);
    remember(pieces[i]);
  }
  z_stale_ = true;
}

}  // namespace vncd::enc
