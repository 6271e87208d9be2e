// bench_encode: full-frame (1920x1080) FramebufferUpdate cost of every encoding on a corpus of
// images (UI with text, photo, gradient, solid, noise, and "mixed": the top half a photo, the
// bottom half UI text, like the e2e benchmark's non-incremental screen), through the update planner
// as vncd sends it to an rgb888 client: 2 warm-up runs, then the median (and min, max) of 9 timed
// runs in ms, MPix/s and compressed bytes per pixel. As ceilings for the zlib-based and JPEG
// encoders, the same pixels through zlib alone (each encoder's default level, on Raw's 32-bit
// pixels) and TurboJPEG alone (Tight's quality level 8 settings). With --threads N the planner
// spreads each update over a local N-thread pool (cpu_ms is then the whole process's CPU time). The
// "deflate ..." rows compare one serial deflate stream with ZlibStream's pigz-style chunks (2
// and 4 lanes), cheaper strategies and vncd's own deflaters ("own literals", "own greedy") on
// ZRLE's tile data and Zlib's raw pixels, and zlib against "own lazy" on Tight's palette indexes:
// bytes are the ratio cost of each. Prints a table; writes
// CSV. First, the memory of one connection's encoding path: per encoding and image, a fresh child
// process (its own pool) sends two full-frame updates, and the growth of its peak RSS (VmHWM after,
// VmRSS before, with the peak reset through /proc/self/clear_refs) is printed as peak_MB.
//
//   bench_encode [--threads N] [--quick] [--only ENCODING] [--image IMAGE]
//                [--image-file FILE.ppm] [CSV_PATH]
//   (--image-file: one 1920x1080 binary PPM instead of the corpus, named "file" in the table; e.g.
//   the e2e benchmark's real screen from e2e_workload --dump)
//   (default for a full run: bench/results/encode.csv; a --quick, --only or --image run writes a
//   CSV only to a given path, so it never replaces the kept full table)
#include <sys/wait.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "encodings/palette.h"
#include "encodings/registry.h"
#include "encodings/tight_encoder.h"
#include "encodings/trle.h"
#include "encodings/update_planner.h"
#include "encodings/zlib_stream.h"
#include "rfb/encoder.h"
#include "rfb/frame.h"
#include "rfb/task_runner.h"
#include "rfb/wire.h"
#include "server/worker_pool.h"
#include "support/test_images.h"

namespace {

namespace E = vncd::rfb::encoding;

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;
int kWarmups = 2;
int kRuns = 9;
constexpr double kPixels = double{kWidth} * kHeight;

// Defaults of the encoders when the client sends no Compression Level (their headers), and
// Tight's JPEG settings at quality level 8 (tight_encoder.cpp: quality 92, 4:4:4).
constexpr int kZlibLevel = 5;      // ZlibEncoder::kDefaultCompressLevel
constexpr int kZrleLevel = 2;      // ZrleEncoder::kDefaultCompressLevel
constexpr int kTightRawLevel = 2;  // Tight level 2: full-colour zlib level
constexpr int kJpegQuality8 = 92;

// The top half of a photo over the bottom half of a UI screenshot.
vncd::rfb::Frame make_mixed_image(int w, int h) {
  const vncd::rfb::Frame photo = vncd::test::make_photo_image(w, h, 1);
  const vncd::rfb::Frame ui = vncd::test::make_ui_image(w, h, 1);
  vncd::rfb::Frame out({w, h}, photo.format());
  for (int y = 0; y < h; ++y) {
    const vncd::rfb::Frame& from = y < h / 2 ? photo : ui;
    std::memcpy(out.mutable_row(y), from.data() + static_cast<size_t>(y) * from.stride(),
                out.stride());
  }
  return out;
}

// A 1920x1080 binary PPM (P6, maxval 255) as an rgb888 frame; exits with a message otherwise.
vncd::rfb::Frame load_ppm(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  int w = 0, h = 0, maxval = 0;
  if (!f || std::fscanf(f.get(), "P6 %d %d %d", &w, &h, &maxval) != 3 || w != kWidth ||
      h != kHeight || maxval != 255 || std::fgetc(f.get()) == EOF) {
    std::fprintf(stderr, "bench_encode: %s is not a %dx%d binary PPM\n", path.c_str(), kWidth,
                 kHeight);
    std::exit(2);
  }
  vncd::rfb::Frame frame({w, h}, vncd::rfb::PixelFormat::rgb888());
  std::vector<uint8_t> row(static_cast<size_t>(w) * 3);
  for (int y = 0; y < h; ++y) {
    if (std::fread(row.data(), 1, row.size(), f.get()) != row.size()) {
      std::fprintf(stderr, "bench_encode: %s is short\n", path.c_str());
      std::exit(2);
    }
    uint8_t* out = frame.mutable_row(y);
    for (int x = 0; x < w; ++x) {  // rgb888: little endian, red at bit 16.
      out[x * 4] = row[static_cast<size_t>(x) * 3 + 2];
      out[x * 4 + 1] = row[static_cast<size_t>(x) * 3 + 1];
      out[x * 4 + 2] = row[static_cast<size_t>(x) * 3];
      out[x * 4 + 3] = 0;
    }
  }
  return frame;
}

struct Image {
  const char* name;
  vncd::rfb::Frame frame;
};

struct Row {
  std::string what;  // encoding or ceiling
  std::string image;
  double median_ms, min_ms, max_ms, cpu_ms;
  size_t bytes;
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double cpu_ms() {
  timespec ts{};
  // The process's: with --threads the pool's workers do part of the work.
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

// Times `run` (which returns the bytes it produced): warm-ups, then the median of kRuns.
Row measure(const std::string& what, const char* image, const std::function<size_t()>& run) {
  for (int i = 0; i < kWarmups; ++i) run();
  std::vector<std::pair<double, size_t>> wall;
  double cpu_total = 0;
  for (int i = 0; i < kRuns; ++i) {
    const double c0 = cpu_ms(), t0 = now_ms();
    const size_t bytes = run();
    const double t1 = now_ms(), c1 = cpu_ms();
    wall.emplace_back(t1 - t0, bytes);
    cpu_total += c1 - c0;
  }
  std::sort(wall.begin(), wall.end());
  const auto& med = wall[wall.size() / 2];
  return Row{what,      image, med.first, wall.front().first, wall.back().first, cpu_total / kRuns,
             med.second};
}

// One raw deflate stream with a given strategy, sync-flushed: the bench's yardstick for
// strategies ZlibStream does not offer.
size_t deflate_with(std::span<const uint8_t> in, int level, int strategy) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, strategy) != Z_OK) std::exit(1);
  std::vector<uint8_t> out(deflateBound(&z, in.size()) + 64);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_SYNC_FLUSH);
  const size_t n = out.size() - z.avail_out;
  deflateEnd(&z);
  return n;
}

struct Encoding {
  const char* name;
  std::vector<int32_t> encodings;  // The client's SetEncodings list.
};

// A field of /proc/self/status in KiB (VmRSS, VmHWM), or -1.
long status_kib(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') v = std::atol(line + n + 1);
  std::fclose(f);
  return v;
}

// Peak RSS growth (MiB) of `run` in a forked child, or -1 if it cannot be measured. The child
// starts from the parent's pages, so only what `run` touches anew counts.
double peak_growth_mb(const std::function<void()>& run) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(fds[0]);
    long delta = -1;
    if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
      std::fputs("5", f);  // Resets VmHWM to the current RSS.
      std::fclose(f);
      const long base = status_kib("VmRSS");
      run();
      delta = status_kib("VmHWM") - base;
    }
    [[maybe_unused]] const ssize_t w = write(fds[1], &delta, sizeof delta);
    _exit(0);
  }
  close(fds[1]);
  long delta = -1;
  if (read(fds[0], &delta, sizeof delta) != sizeof delta) delta = -1;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return delta < 0 ? -1 : double(delta) / 1024.0;
}

std::string machine_line() {
  std::string cpu = "unknown CPU";
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, f)) {
      std::string s(line);
      if (s.rfind("model name", 0) == 0) {
        cpu = s.substr(s.find(':') + 2);
        if (!cpu.empty() && cpu.back() == '\n') cpu.pop_back();
        break;
      }
    }
    std::fclose(f);
  }
  return cpu;
}

}  // namespace

int main(int argc, char** argv) {
  std::string csv_path;
  bool partial = false;
  size_t threads = 1;
  std::string only;        // One encoding row name (e.g. "ZRLE"), no ceilings: for profiling.
  std::string only_image;  // One image (e.g. "photo"): for profiling.
  std::string image_file;  // A PPM instead of the corpus.
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<size_t>(std::max(1, std::atoi(argv[++i])));
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
      partial = true;
    } else if (a == "--image" && i + 1 < argc) {
      only_image = argv[++i];
      partial = true;
    } else if (a == "--image-file" && i + 1 < argc) {
      image_file = argv[++i];
      partial = true;
    } else if (a == "--quick") {
      partial = true;
      kWarmups = 1;
      kRuns = 3;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr,
                   "usage: bench_encode [--threads N] [--quick] [--only ENCODING] [--image IMAGE] "
                   "[--image-file FILE.ppm] [CSV_PATH]\n");
      return a == "--help" ? 0 : 2;
    } else {
      csv_path = a;
    }
  }
  if (csv_path.empty() && !partial) csv_path = "bench/results/encode.csv";
  std::vector<Image> images;
  // Generated only when wanted: the photo's generator costs more than most encoders.
  const std::vector<std::pair<const char*, std::function<vncd::rfb::Frame()>>> generators = {
      {"ui", [] { return vncd::test::make_ui_image(kWidth, kHeight, 1); }},
      {"photo", [] { return vncd::test::make_photo_image(kWidth, kHeight, 1); }},
      {"gradient", [] { return vncd::test::make_gradient(kWidth, kHeight); }},
      {"solid", [] { return vncd::test::make_solid(kWidth, kHeight, 40, 80, 160); }},
      {"noise", [] { return vncd::test::make_noise(kWidth, kHeight, 1); }},
      {"mixed", [] { return make_mixed_image(kWidth, kHeight); }},
  };
  if (!image_file.empty())
    images.push_back({"file", load_ppm(image_file)});
  else
    for (const auto& [name, make] : generators)
      if (only_image.empty() || only_image == name) images.push_back({name, make()});

  const std::vector<Encoding> encodings = {
      {"Raw", {E::kRaw}},
      {"RRE", {E::kRRE}},
      {"CoRRE", {E::kCoRRE}},
      {"Hextile", {E::kHextile}},
      {"Zlib", {E::kZlib}},
      {"TRLE", {E::kTRLE}},
      {"ZRLE", {E::kZRLE}},
      {"Tight", {E::kTight}},
      {"Tight+JPEG q8", {E::kTight, E::kQualityLevel0 + 8}},
      // libvncclient's default compression level (the e2e benchmark's client).
      {"Tight+JPEG q8 c3", {E::kTight, E::kQualityLevel0 + 8, E::kCompressLevel0 + 3}},
  };

  const vncd::enc::EncoderRegistry registry = vncd::enc::EncoderRegistry::builtin();
  const vncd::rfb::PixelFormat client = vncd::rfb::PixelFormat::rgb888();
  // Memory before any thread exists: fork() copies only the calling thread.
  std::printf(
      "# peak RSS growth of two full-frame updates in a fresh child, planner threads: %zu\n",
      threads);
  std::printf("%-28s %-9s %9s\n", "encoding", "image", "peak_MB");
  for (const Image& img : images) {
    const vncd::rfb::Region whole(vncd::rfb::Rect{0, 0, kWidth, kHeight});
    for (const Encoding& e : encodings) {
      if (!only.empty() && only != e.name) continue;
      const double mb = peak_growth_mb([&] {
        vncd::server::WorkerPool child_pool(threads);
        vncd::enc::UpdatePlanner planner(registry);
        planner.set_task_runner(&child_pool);
        planner.set_encodings(e.encodings);
        planner.set_formats(img.frame.format(), client);
        vncd::rfb::ByteBuffer out;
        for (int i = 0; i < 2; ++i) {
          out.clear();
          planner.write_update(img.frame, {whole, {}, {}}, out);
        }
      });
      std::printf("%-28s %-9s %9.1f\n", e.name, img.name, mb);
    }
  }
  std::fflush(stdout);

  vncd::server::WorkerPool pool(threads);
  vncd::server::WorkerPool pool2(2), pool4(4);
  std::vector<Row> rows;
  for (const Image& img : images) {
    const vncd::rfb::Region whole(vncd::rfb::Rect{0, 0, kWidth, kHeight});
    for (const Encoding& e : encodings) {
      if (!only.empty() && only != e.name) continue;
      // One planner per client and image, as one connection: zlib streams persist across runs.
      vncd::enc::UpdatePlanner planner(registry);
      planner.set_task_runner(&pool);
      planner.set_encodings(e.encodings);
      planner.set_formats(img.frame.format(), client);
      vncd::rfb::ByteBuffer out;
      rows.push_back(measure(e.name, img.name, [&] {
        out.clear();
        planner.write_update(img.frame, {whole, {}, {}}, out);
        return out.size();
      }));
    }
    if (!only.empty()) continue;
    // Ceilings on the pixels the encoders see: the frame in the client's format (vncd sets the
    // unused byte of 32-bit pixels to 0xFF), i.e. Raw's payload.
    const vncd::rfb::Frame pixels = vncd::test::convert_frame(img.frame, client);
    const std::span<const uint8_t> raw(pixels.data(),
                                       pixels.stride() * static_cast<size_t>(kHeight));
    // zlib alone at each zlib-based encoder's default level.
    for (const auto& [label, level] :
         {std::pair<const char*, int>{"zlib-only L5 (Zlib)", kZlibLevel},
          {"zlib-only L2 (ZRLE, Tight)", kZrleLevel}}) {
      static_assert(kZrleLevel == kTightRawLevel, "one zlib ceiling row serves ZRLE and Tight");
      vncd::enc::ZlibStream stream(level);
      vncd::rfb::ByteBuffer out;
      rows.push_back(measure(label, img.name, [&] {
        out.clear();
        stream.compress(raw, out);
        return out.size();
      }));
    }
    // Serial deflate against the pigz-style split, on ZRLE's tile data (level 2) and Zlib's raw
    // pixels (level 5), fed as one rectangle per update would be.
    {
      vncd::rfb::ByteBuffer tiles;
      vncd::enc::encode_tiles(pixels.view(), vncd::enc::trle::kZrleTileSize, tiles);
      for (const auto& [label, data, level] :
           {std::tuple<std::string, std::span<const uint8_t>, int>{"ZRLE tiles", tiles.span(),
                                                                   kZrleLevel},
            {"Zlib raw", raw, kZlibLevel}}) {
        for (const auto& [lanes, runner] :
             {std::pair<int, vncd::rfb::TaskRunner*>{1, nullptr}, {2, &pool2}, {4, &pool4}}) {
          vncd::enc::ZlibStream stream(level);
          vncd::rfb::ByteBuffer out;
          const std::string what = "deflate " + label + " L" + std::to_string(level) +
                                   (lanes == 1 ? " serial" : " pigz x" + std::to_string(lanes));
          rows.push_back(measure(what, img.name, [&, r = runner] {
            out.clear();
            stream.compress(data, out, -1, r);
            return out.size();
          }));
        }
        for (const auto& [name, lvl, strategy] :
             {std::tuple<const char*, int, int>{"L1", 1, Z_DEFAULT_STRATEGY},
              {"Z_RLE", 1, Z_RLE},
              {"Z_HUFFMAN_ONLY", 1, Z_HUFFMAN_ONLY}}) {
          const std::string what = "deflate " + label + " " + name;
          rows.push_back(measure(
              what, img.name, [&, l = lvl, st = strategy] { return deflate_with(data, l, st); }));
        }
        // vncd's own deflaters (zlib_stream.h): what ZlibStream uses for Z_HUFFMAN_ONLY and
        // kGreedyMatches, one piece serial.
        vncd::rfb::ByteBuffer own;
        rows.push_back(measure("deflate " + label + " own literals", img.name, [&] {
          own.clear();
          vncd::enc::deflate_literals(data, own);
          return own.size();
        }));
        rows.push_back(measure("deflate " + label + " own greedy", img.name, [&] {
          own.clear();
          vncd::enc::deflate_matches(data, own);
          return own.size();
        }));
      }
    }
    // Tight's palette indexes (64-row strips of 3 to 256 colours, as the encoder sends them
    // without JPEG) through zlib at the levels Tight used for them and vncd's lazy coder at the
    // chains it uses instead (tight_encoder.cpp kLazyChain), one piece per strip.
    {
      std::vector<std::vector<uint8_t>> strips;
      vncd::enc::Palette palette;
      for (int y = 0; y < kHeight; y += vncd::enc::TightEncoder::kMaxHeight) {
        const vncd::rfb::PixelView strip = pixels.view().sub(
            {0, y, kWidth, std::min(vncd::enc::TightEncoder::kMaxHeight, kHeight - y)});
        std::vector<uint8_t> indexes(static_cast<size_t>(strip.width) *
                                     static_cast<size_t>(strip.height));
        if (!vncd::enc::build_palette_indexes(strip, vncd::enc::Palette::kMaxColours, palette,
                                              indexes.data()) ||
            palette.size() <= 2)
          continue;
        strips.push_back(std::move(indexes));
      }
      if (!strips.empty()) {
        vncd::rfb::ByteBuffer out;
        for (int level : {1, 5}) {
          vncd::enc::ZlibStream stream(level);
          rows.push_back(measure("deflate Tight indexes L" + std::to_string(level), img.name, [&] {
            out.clear();
            for (const auto& st : strips) stream.compress(st, out);
            return out.size();
          }));
        }
        for (int chain : {2, 8}) {
          rows.push_back(
              measure("deflate Tight indexes own lazy " + std::to_string(chain), img.name, [&] {
                out.clear();
                for (const auto& st : strips) vncd::enc::deflate_lazy(st, kWidth, chain, out);
                return out.size();
              }));
        }
      }
    }
    // TurboJPEG alone on the same pixels (rgb888 little endian is B,G,R,X in memory).
    {
      std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitCompress(), tjDestroy);
      std::vector<unsigned char> buf(tjBufSize(kWidth, kHeight, TJSAMP_444));
      rows.push_back(measure("TurboJPEG-only q92 4:4:4", img.name, [&] {
        unsigned char* p = buf.data();
        unsigned long size = buf.size();
        if (tjCompress2(tj.get(), pixels.data(), kWidth, static_cast<int>(pixels.stride()), kHeight,
                        TJPF_BGRX, &p, &size, TJSAMP_444, kJpegQuality8, TJFLAG_NOREALLOC) != 0) {
          std::fprintf(stderr, "tjCompress2: %s\n", tjGetErrorStr2(tj.get()));
          std::exit(1);
        }
        return static_cast<size_t>(size);
      }));
    }
  }

  std::printf("# %dx%d full-frame update to an rgb888 client, %d warm-ups, median of %d runs\n",
              kWidth, kHeight, kWarmups, kRuns);
  std::printf("# %s; planner threads: %zu\n", machine_line().c_str(), threads);
  std::printf("%-28s %-9s %9s %9s %9s %9s %9s %8s\n", "encoding", "image", "median_ms", "min_ms",
              "max_ms", "cpu_ms", "MPix/s", "B/pixel");
  for (const Row& r : rows)
    std::printf("%-28s %-9s %9.2f %9.2f %9.2f %9.2f %9.1f %8.3f\n", r.what.c_str(), r.image.c_str(),
                r.median_ms, r.min_ms, r.max_ms, r.cpu_ms, kPixels / r.median_ms / 1e3,
                double(r.bytes) / kPixels);

  if (csv_path.empty()) {
    std::printf("partial run: no CSV written (give a path to write one)\n");
    return 0;
  }
  std::error_code ec;
  const std::filesystem::path csv(csv_path);
  if (csv.has_parent_path()) std::filesystem::create_directories(csv.parent_path(), ec);
  FILE* f = std::fopen(csv_path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "bench_encode: cannot write %s\n", csv_path.c_str());
    return 1;
  }
  std::fprintf(f,
               "encoding,image,width,height,median_ms,min_ms,max_ms,cpu_ms,mpix_per_s,"
               "bytes,bytes_per_pixel\n");
  for (const Row& r : rows)
    std::fprintf(f, "%s,%s,%d,%d,%.3f,%.3f,%.3f,%.3f,%.2f,%zu,%.4f\n", r.what.c_str(),
                 r.image.c_str(), kWidth, kHeight, r.median_ms, r.min_ms, r.max_ms, r.cpu_ms,
                 kPixels / r.median_ms / 1e3, r.bytes, double(r.bytes) / kPixels);
  std::fclose(f);
  std::printf("wrote %s\n", csv_path.c_str());
  return 0;
}
