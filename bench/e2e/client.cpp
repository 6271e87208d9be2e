// e2e_client: a measuring VNC viewer on libvncclient. It asks for one encoding (plus CopyRect, as
// every real viewer does), requests the next incremental update as soon as one is decoded (that is
// libvncclient's own loop, as in its viewers), and after a warm-up measures for a fixed time:
// updates, rectangles, bytes on the wire, the server's CPU time, and the latency from a screen
// change (the workload's stamped marker, see marker.h) to the update that shows it decoded.
//
//   e2e_client --port N [--host H] [--encoding raw|hextile|zrle|tight|tight-jpeg]
//              [--quality Q] [--duration S] [--warmup S] [--stamps FILE] [--server-pid PID]
//              [--x-pid PID] [--rcvbuf BYTES] [--max-rate BYTES_PER_S]
//              [--clicks PER_S] [--full-frames N [--full-frame-warmup K]]
//
// --clicks: during the window, press and release button 1 inside the workload's click target
// (e2e_workload --mode click) this many times a second, on a fixed schedule; each press's position
// names it and the workload answers it with that press's marker (marker.h). Click latency: from
// sending the press to the decoded framebuffer showing its marker (or a later press's marker, when
// the screen moved on before this client saw the first: "superseded").
//
// --full-frames: after the warm-up, K untimed then N timed rounds of a NON-incremental request for
// the whole screen, each waiting until an update covering the screen is decoded: per-frame wall
// time (request to decoded), bytes and server CPU time (the encode cost; --duration is unused).
//
// --x-pid: the X server, whose CPU time in the window is reported too (a screen scraper's grabs
// cost X server time, so that belongs to the comparison).
//
// Prints one JSON object on stdout; exit status 1 with one line on stderr on failure.
// Bytes on the wire come from the socket's TCP_INFO (tcpi_bytes_received): exact, no relay. The
// socket is connected here (then handed to libvncclient) so --rcvbuf applies before the handshake.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <rfb/rfbclient.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "marker.h"

namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "e2e_client: %s\n", message.c_str());
  std::exit(1);
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Args {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string encoding = "raw";
  int quality = 8;
  double duration = 8;
  double warmup = 1;
  std::string stamps;
  int server_pid = 0;
  int x_pid = 0;
  int rcvbuf = 0;
  double max_rate = 0;
  double clicks = 0;
  int full_frames = 0;
  int full_frame_warmup = 2;
  bool verbose = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(f + " needs a value");
      return argv[++i];
    };
    if (f == "--host") {
      a.host = value();
    } else if (f == "--port") {
      a.port = std::atoi(value().c_str());
    } else if (f == "--encoding") {
      a.encoding = value();
    } else if (f == "--quality") {
      a.quality = std::atoi(value().c_str());
    } else if (f == "--duration") {
      a.duration = std::atof(value().c_str());
    } else if (f == "--warmup") {
      a.warmup = std::atof(value().c_str());
    } else if (f == "--stamps") {
      a.stamps = value();
    } else if (f == "--server-pid") {
      a.server_pid = std::atoi(value().c_str());
    } else if (f == "--x-pid") {
      a.x_pid = std::atoi(value().c_str());
    } else if (f == "--rcvbuf") {
      a.rcvbuf = std::atoi(value().c_str());
    } else if (f == "--max-rate") {
      a.max_rate = std::atof(value().c_str());
    } else if (f == "--clicks") {
      a.clicks = std::atof(value().c_str());
    } else if (f == "--full-frames") {
      a.full_frames = std::atoi(value().c_str());
    } else if (f == "--full-frame-warmup") {
      a.full_frame_warmup = std::atoi(value().c_str());
    } else if (f == "--verbose") {
      a.verbose = true;
    } else {
      die("unknown option " + f);
    }
  }
  if (a.port <= 0 || a.port > 65535) die("--port is required (1..65535)");
  if (a.encoding != "raw" && a.encoding != "hextile" && a.encoding != "zrle" &&
      a.encoding != "tight" && a.encoding != "tight-jpeg")
    die("--encoding must be raw, hextile, zrle, tight or tight-jpeg");
  if (a.quality < 0 || a.quality > 9) die("--quality must be 0..9");
  if (a.duration <= 0 || a.warmup < 0) die("--duration must be > 0 and --warmup >= 0");
  if (a.clicks < 0 || a.clicks > 100) die("--clicks must be 0..100 per second");
  if (a.full_frames < 0 || a.full_frames > 10000 || a.full_frame_warmup < 0 ||
      a.full_frame_warmup > 100)
    die("--full-frames must be 0..10000 and --full-frame-warmup 0..100");
  if (a.clicks > 0 && a.full_frames > 0) die("--clicks and --full-frames are separate runs");
  return a;
}

bool g_verbose = false;  // read by the log hook libvncclient calls without context
void client_log(const char* format, ...) {
  if (!g_verbose) return;
  va_list ap;
  va_start(ap, format);
  std::vfprintf(stderr, format, ap);
  va_end(ap);
}

// Server CPU time (user + system, all threads) from /proc/<pid>/stat, in seconds; -1 if gone.
double process_cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[1024];
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  // The command name may hold spaces and parentheses: fields are counted from the last ')'.
  const char* p = std::strrchr(text, ')');
  if (p == nullptr) return -1;
  unsigned long long utime = 0, stime = 0;
  // Fields 3 (state) to 13 are skipped; utime and stime are fields 14 and 15.
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
      2)
    return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

uint64_t socket_bytes_received(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_bytes_received;
}

// The workload's stamp file, mapped read-only.
class Stamps {
 public:
  explicit Stamps(const std::string& path) {
    if (path.empty()) return;
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) die("cannot open stamps " + path + ": " + std::strerror(errno));
    void* p = ::mmap(nullptr, vncd::bench::kStampFileSize, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) die("cannot map stamps " + path);
    stamps_ = static_cast<const int64_t*>(p);
  }
  ~Stamps() {
    if (stamps_ != nullptr) ::munmap(const_cast<int64_t*>(stamps_), vncd::bench::kStampFileSize);
  }
  Stamps(const Stamps&) = delete;
  Stamps& operator=(const Stamps&) = delete;

  bool present() const { return stamps_ != nullptr; }
  int64_t at(int seq) const {
    return stamps_ == nullptr ? 0 : __atomic_load_n(&stamps_[seq], __ATOMIC_ACQUIRE);
  }

 private:
  const int64_t* stamps_ = nullptr;
};

struct Observation {
  int seq;
  int64_t seen_ns;
};

struct Click {
  int64_t sent_ns = 0;
  int64_t seen_ns = 0;      // 0: its marker (or a later press's) never reached the screen
  bool superseded = false;  // seen through a later press's marker
};

// Everything the callbacks update; reached through libvncclient's client data.
struct Meter {
  const Args* args = nullptr;
  int fd = -1;
  int64_t start_ns = 0;
  bool measuring = false;
  long updates = 0;
  long rects = 0;
  long copy_rects = 0;
  int64_t first_update_ns = 0;
  int last_seq = -1;
  std::vector<Observation> observations;
  std::vector<Click> clicks;  // index = press id (marker.h)
  int64_t area = 0;           // pixels of rectangles decoded since the last full-frame request
  int64_t full_frame_done_ns = 0;
  GotCopyRectProc default_copy_rect = nullptr;
};

int g_meter_tag;  // its address is the client-data key

Meter& meter(rfbClient* client) {
  return *static_cast<Meter*>(rfbClientGetClientData(client, &g_meter_tag));
}

// Reading slowly: after each rectangle, sleep until the bytes received so far fit the rate cap.
void throttle(Meter& m) {
  if (m.args->max_rate <= 0) return;
  const double bytes = static_cast<double>(socket_bytes_received(m.fd));
  const int64_t due = m.start_ns + static_cast<int64_t>(bytes / m.args->max_rate * 1e9);
  const int64_t wait = due - now_ns();
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
}

void on_rect(rfbClient* client, int, int, int w, int h) {
  Meter& m = meter(client);
  ++m.rects;
  m.area += static_cast<int64_t>(w) * h;
  throttle(m);
}

void on_copy_rect(rfbClient* client, int sx, int sy, int w, int h, int dx, int dy) {
  Meter& m = meter(client);
  ++m.copy_rects;
  m.default_copy_rect(client, sx, sy, w, h, dx, dy);
}

int read_marker(rfbClient* client) {
  using vncd::bench::kMarkerBlock;
  if (client->width < vncd::bench::kMarkerWidth || client->height < kMarkerBlock) return -1;
  const int y = client->height - kMarkerBlock / 2;
  const uint8_t* row = client->frameBuffer + static_cast<size_t>(y) * client->width * 4;
  return vncd::bench::decode_marker([&](int bit) {
    const uint8_t* p = row + static_cast<size_t>(bit * kMarkerBlock + kMarkerBlock / 2) * 4;
    return p[0] + p[1] + p[2] > 3 * 128;
  });
}

void on_update_done(rfbClient* client) {
  Meter& m = meter(client);
  const int64_t now = now_ns();
  if (m.first_update_ns == 0) m.first_update_ns = now;
  ++m.updates;
  if (m.area >= static_cast<int64_t>(client->width) * client->height && m.full_frame_done_ns == 0)
    m.full_frame_done_ns = now;
  const int seq = read_marker(client);
  if (seq >= 0 && seq != m.last_seq) {
    m.last_seq = seq;
    if (m.measuring) m.observations.push_back({seq, now});
    if (vncd::bench::is_click_sequence(seq)) {
      // This press's marker also shows that every earlier press reached the screen.
      const size_t id = static_cast<size_t>(seq & ~vncd::bench::kClickSeqBase);
      if (id < m.clicks.size() && m.clicks[id].sent_ns != 0) {
        for (size_t j = 0; j <= id; ++j) {
          Click& c = m.clicks[j];
          if (c.sent_ns == 0 || c.seen_ns != 0) continue;
          c.seen_ns = now;
          c.superseded = j != id;
        }
      }
    }
  }
}

int connect_socket(const Args& a) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
  if (a.rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &a.rcvbuf, sizeof a.rcvbuf) != 0)
    die("SO_RCVBUF failed");
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as libvncclient does
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(a.port));
  if (inet_pton(AF_INET, a.host.c_str(), &addr.sin_addr) != 1) die("bad --host " + a.host);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    die("connect to " + a.host + ":" + std::to_string(a.port) + ": " + std::strerror(errno));
  return fd;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const double rank = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

// Handles server messages until `until` (or, with `done`, until it holds); false on a failure.
template <typename Done>
bool pump(rfbClient* client, int64_t until, Done done, std::string& error) {
  for (int64_t now = now_ns(); now < until && !done(); now = now_ns()) {
    // libvncclient may already hold the next message in its buffer, where select cannot see it.
    if (client->buffered == 0) {
      const auto wait_us =
          static_cast<unsigned>(std::clamp<int64_t>((until - now) / 1000, 1, 50000));
      const int ready = WaitForMessage(client, wait_us);
      if (ready < 0) {
        error = "wait failed";
        return false;
      }
      if (ready == 0) continue;
    }
    if (!HandleRFBServerMessage(client)) {
      error = "server closed the connection or sent something libvncclient rejected";
      return false;
    }
  }
  return true;
}

// Press and release button 1 at the position that names press `id` (marker.h).
bool send_click(rfbClient* client, int id) {
  const int x = vncd::bench::kClickX + id % vncd::bench::kClickSide;
  const int y = vncd::bench::kClickY + id / vncd::bench::kClickSide;
  return SendPointerEvent(client, x, y, rfbButton1Mask) && SendPointerEvent(client, x, y, 0);
}

struct FullFrames {
  std::vector<double> wall_ms;
  double server_cpu_s = -1, x_cpu_s = -1, seconds = 0;
  uint64_t bytes = 0;
  long updates = 0, rects = 0, copy_rects = 0;
};

// Non-incremental whole-screen requests, one at a time, each waited for until decoded.
FullFrames run_full_frames(rfbClient* client, Meter& m, const Args& a, std::string& error) {
  FullFrames out;
  double cpu0 = 0, x0 = 0;
  uint64_t bytes0 = 0;
  int64_t t0 = 0;
  long updates0 = 0, rects0 = 0, copy0 = 0;
  for (int i = 0; i < a.full_frame_warmup + a.full_frames; ++i) {
    if (i == a.full_frame_warmup) {
      cpu0 = process_cpu_seconds(a.server_pid);
      x0 = process_cpu_seconds(a.x_pid);
      bytes0 = socket_bytes_received(m.fd);
      t0 = now_ns();
      updates0 = m.updates;
      rects0 = m.rects;
      copy0 = m.copy_rects;
    }
    m.area = 0;
    m.full_frame_done_ns = 0;
    const int64_t sent = now_ns();
    if (!SendFramebufferUpdateRequest(client, 0, 0, client->width, client->height, FALSE)) {
      error = "cannot send a framebuffer update request";
      return out;
    }
    if (!pump(
            client, sent + 30 * 1000000000LL, [&] { return m.full_frame_done_ns != 0; }, error))
      return out;
    if (m.full_frame_done_ns == 0) {
      error = "no full frame within 30 s";
      return out;
    }
    if (i >= a.full_frame_warmup)
      out.wall_ms.push_back(static_cast<double>(m.full_frame_done_ns - sent) / 1e6);
  }
  out.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  out.bytes = socket_bytes_received(m.fd) - bytes0;
  out.updates = m.updates - updates0;
  out.rects = m.rects - rects0;
  out.copy_rects = m.copy_rects - copy0;
  if (a.server_pid > 0) out.server_cpu_s = process_cpu_seconds(a.server_pid) - cpu0;
  if (a.x_pid > 0) out.x_cpu_s = process_cpu_seconds(a.x_pid) - x0;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  g_verbose = args.verbose;
  rfbClientLog = client_log;
  const Stamps stamps(args.stamps);

  Meter m;
  m.args = &args;
  m.fd = connect_socket(args);
  m.start_ns = now_ns();

  rfbClient* client = rfbGetClient(8, 3, 4);
  if (client == nullptr) die("rfbGetClient failed");
  rfbClientSetClientData(client, &g_meter_tag, &m);
  // A socket we connected ourselves: libvncclient skips its own connect when listenSpecified.
  client->listenSpecified = TRUE;
  client->sock = m.fd;
  const std::string base = args.encoding == "tight-jpeg" ? "tight" : args.encoding;
  const std::string encodings = base + " copyrect";
  client->appData.encodingsString = encodings.c_str();
  client->appData.enableJPEG = args.encoding == "tight-jpeg" ? TRUE : FALSE;
  client->appData.qualityLevel = args.quality;
  client->GotFrameBufferUpdate = on_rect;
  m.default_copy_rect = client->GotCopyRect;
  client->GotCopyRect = on_copy_rect;
  client->FinishedFrameBufferUpdate = on_update_done;
  if (!rfbInitClient(client, nullptr, nullptr)) die("VNC handshake failed");  // frees client

  const int64_t window_start = m.start_ns + static_cast<int64_t>(args.warmup * 1e9);
  const int64_t window_end = window_start + static_cast<int64_t>(args.duration * 1e9);
  long updates0 = 0, rects0 = 0, copy0 = 0;
  uint64_t bytes0 = 0;
  double server_cpu0 = 0, client_cpu0 = 0, x_cpu0 = 0;
  std::string error;
  if (args.full_frames > 0) {
    // The warm-up lets the server settle (x11vnc's network probe) before the timed requests.
    pump(
        client, window_start, [] { return false; }, error);
    FullFrames ff;
    if (error.empty()) ff = run_full_frames(client, m, args, error);
    const int width = client->width, height = client->height;
    rfbClientCleanup(client);
    if (!error.empty()) die(error);
    const double n = static_cast<double>(ff.wall_ms.size());
    std::printf(
        "{\"ff_n\": %zu, \"ff_seconds\": %.4f, \"ff_wall_p50_ms\": %.3f, \"ff_wall_min_ms\": %.3f, "
        "\"ff_wall_max_ms\": %.3f, \"ff_server_cpu_ms\": %.3f, \"ff_x_cpu_ms\": %.3f, "
        "\"ff_bytes\": %.0f, \"ff_updates\": %.2f, \"ff_rects\": %.1f, \"ff_copy_rects\": %.1f, "
        "\"width\": %d, \"height\": %d}\n",
        ff.wall_ms.size(), ff.seconds, percentile(ff.wall_ms, 0.5),
        *std::min_element(ff.wall_ms.begin(), ff.wall_ms.end()),
        *std::max_element(ff.wall_ms.begin(), ff.wall_ms.end()),
        ff.server_cpu_s < 0 ? -1.0 : 1000.0 * ff.server_cpu_s / n,
        ff.x_cpu_s < 0 ? -1.0 : 1000.0 * ff.x_cpu_s / n, static_cast<double>(ff.bytes) / n,
        static_cast<double>(ff.updates) / n, static_cast<double>(ff.rects) / n,
        static_cast<double>(ff.copy_rects) / n, width, height);
    return 0;
  }
  const int64_t click_period = args.clicks > 0 ? static_cast<int64_t>(1e9 / args.clicks) : 0;
  int64_t next_click = window_start;
  for (int64_t now = now_ns(); now < window_end; now = now_ns()) {
    if (click_period > 0 && m.measuring && now >= next_click &&
        m.clicks.size() < static_cast<size_t>(vncd::bench::kClickIds)) {
      m.clicks.push_back({now, 0, false});
      if (!send_click(client, static_cast<int>(m.clicks.size() - 1))) {
        error = "cannot send a pointer event";
        break;
      }
      next_click += click_period;
    }
    if (!m.measuring && now >= window_start) {
      m.measuring = true;
      updates0 = m.updates;
      rects0 = m.rects;
      copy0 = m.copy_rects;
      bytes0 = socket_bytes_received(m.fd);
      server_cpu0 = process_cpu_seconds(args.server_pid);
      client_cpu0 = own_cpu_seconds();
      x_cpu0 = process_cpu_seconds(args.x_pid);
    }
    // libvncclient may already hold the next message in its buffer, where select cannot see it.
    if (client->buffered == 0) {
      int64_t until = m.measuring ? window_end : window_start;
      if (click_period > 0 && m.measuring)
        until = std::min(until, std::max(next_click, now + 1000));
      const auto wait_us =
          static_cast<unsigned>(std::clamp<int64_t>((until - now) / 1000, 1, 50000));
      const int ready = WaitForMessage(client, wait_us);
      if (ready < 0) {
        error = "wait failed";
        break;
      }
      if (ready == 0) continue;
    }
    if (!HandleRFBServerMessage(client)) {
      error = "server closed the connection or sent something libvncclient rejected";
      break;
    }
  }
  const double seconds =
      m.measuring ? static_cast<double>(std::min(now_ns(), window_end) - window_start) / 1e9 : 0;
  const uint64_t bytes = m.measuring ? socket_bytes_received(m.fd) - bytes0 : 0;
  const double server_cpu =
      args.server_pid > 0 && m.measuring ? process_cpu_seconds(args.server_pid) - server_cpu0 : -1;
  const double x_cpu =
      args.x_pid > 0 && m.measuring ? process_cpu_seconds(args.x_pid) - x_cpu0 : -1;
  const double client_cpu = m.measuring ? own_cpu_seconds() - client_cpu0 : 0;
  const int width = client->width, height = client->height;
  rfbClientCleanup(client);  // closes the socket
  if (!error.empty()) die(error);
  if (!m.measuring) die("no measurement window");

  std::vector<double> latencies;
  long unstamped = 0;
  for (const Observation& o : m.observations) {
    const int64_t stamp = stamps.at(o.seq);
    if (stamp == 0) {
      ++unstamped;
      continue;
    }
    latencies.push_back(static_cast<double>(std::max<int64_t>(0, o.seen_ns - stamp)) / 1e6);
  }
  // Markers the workload showed during the window, and how many of those this client saw.
  long issued = 0, seen = 0;
  if (stamps.present()) {
    std::vector<bool> observed(vncd::bench::kStampCount, false);
    for (const Observation& o : m.observations) observed[static_cast<size_t>(o.seq)] = true;
    for (int seq = 1; seq < vncd::bench::kStampCount; ++seq) {
      const int64_t t = stamps.at(seq);
      if (t >= window_start && t < window_end) {
        ++issued;
        if (observed[static_cast<size_t>(seq)]) ++seen;
      }
    }
  }

  // Click latency: press sent to its marker (or a later press's) decoded; input: press sent to the
  // workload having drawn its answer (the server's input path plus X; diagnostic only).
  std::vector<double> click_ms, input_ms;
  long clicks_direct = 0, clicks_superseded = 0;
  for (size_t id = 0; id < m.clicks.size(); ++id) {
    const Click& c = m.clicks[id];
    if (c.seen_ns != 0) {
      click_ms.push_back(static_cast<double>(c.seen_ns - c.sent_ns) / 1e6);
      ++(c.superseded ? clicks_superseded : clicks_direct);
    }
    const int64_t drawn = stamps.at(vncd::bench::click_sequence(static_cast<int>(id)));
    if (drawn >= c.sent_ns) input_ms.push_back(static_cast<double>(drawn - c.sent_ns) / 1e6);
  }

  std::printf(
      "{\"clicks_sent\": %zu, \"clicks_seen\": %ld, \"clicks_superseded\": %ld, "
      "\"click_p50_ms\": %.3f, \"click_p95_ms\": %.3f, \"click_input_p50_ms\": %.3f, "
      "\"seconds\": %.4f, \"updates\": %ld, \"rects\": %ld, \"copy_rects\": %ld, "
      "\"bytes\": %llu, \"server_cpu_s\": %.3f, \"x_cpu_s\": %.3f, \"client_cpu_s\": %.3f, "
      "\"first_update_ms\": %.2f, \"lat_n\": %zu, \"lat_p50_ms\": %.3f, \"lat_p95_ms\": %.3f, "
      "\"unstamped\": %ld, \"markers_issued\": %ld, \"markers_seen\": %ld, "
      "\"width\": %d, \"height\": %d}\n",
      m.clicks.size(), clicks_direct, clicks_superseded, percentile(click_ms, 0.5),
      percentile(click_ms, 0.95), percentile(input_ms, 0.5), seconds, m.updates - updates0,
      m.rects - rects0, m.copy_rects - copy0, static_cast<unsigned long long>(bytes), server_cpu,
      x_cpu, client_cpu,
      m.first_update_ns == 0 ? -1.0 : static_cast<double>(m.first_update_ns - m.start_ns) / 1e6,
      latencies.size(), percentile(latencies, 0.5), percentile(latencies, 0.95), unstamped, issued,
      seen, width, height);
  return 0;
}
