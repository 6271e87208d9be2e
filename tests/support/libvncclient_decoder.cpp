#include "support/libvncclient_decoder.h"

#include <rfb/rfbclient.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdarg>
#include <cstring>
#include <thread>

namespace vncd::test {
namespace {

bool write_all(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_exact(int fd, void* data, size_t n) {
  auto* p = static_cast<uint8_t*>(data);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void quiet_log(const char*, ...) {}

// The server half: a 3.8 handshake with security None, a ServerInit, then the updates. The
// client's SetPixelFormat/SetEncodings are never read: the socket buffer holds them.
void serve(int fd, const LibVncClientRun& run, bool* ok) {
  *ok = false;
  uint8_t buf[64];
  if (!write_all(fd, "RFB 003.008\n", 12) || !read_exact(fd, buf, 12)) return;
  const uint8_t types[] = {1, 1};
  if (!write_all(fd, types, 2) || !read_exact(fd, buf, 1)) return;
  const uint8_t result[] = {0, 0, 0, 0};
  if (!write_all(fd, result, 4) || !read_exact(fd, buf, 1)) return;
  rfb::ByteBuffer init;
  init.u16(static_cast<uint16_t>(run.width));
  init.u16(static_cast<uint16_t>(run.height));
  rfb::PixelFormat::rgb888().serialize(init);
  init.u32(4);
  init.append(std::string_view("test"));
  if (!write_all(fd, init.data(), init.size())) return;
  for (const auto& u : run.updates)
    if (!write_all(fd, u.data(), u.size())) return;
  *ok = true;
}

}  // namespace

Result<std::vector<uint8_t>> decode_with_libvncclient(const LibVncClientRun& run) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return Error("socketpair failed");
  rfbClientLog = quiet_log;
  rfbClientErr = quiet_log;

  rfbClient* c = rfbGetClient(8, 3, 4);
  const rfb::PixelFormat& pf = run.client_format;
  c->format.bitsPerPixel = pf.bpp;
  c->format.depth = pf.depth;
  c->format.bigEndian = pf.big_endian;
  c->format.trueColour = pf.true_colour;
  c->format.redMax = pf.red_max;
  c->format.greenMax = pf.green_max;
  c->format.blueMax = pf.blue_max;
  c->format.redShift = pf.red_shift;
  c->format.greenShift = pf.green_shift;
  c->format.blueShift = pf.blue_shift;
  c->appData.encodingsString = run.encodings.c_str();
  c->appData.useRemoteCursor = FALSE;
  if (run.compress_level >= 0) c->appData.compressLevel = run.compress_level;
  c->appData.enableJPEG = run.quality_level >= 0;
  if (run.quality_level >= 0) c->appData.qualityLevel = run.quality_level;
  c->sock = fds[1];

  bool served = false;
  std::thread server(serve, fds[0], std::cref(run), &served);
  std::string error;
  if (!InitialiseRFBConnection(c)) {
    error = "libvncclient: handshake failed";
  } else {
    c->width = c->si.framebufferWidth;
    c->height = c->si.framebufferHeight;
    if (!c->MallocFrameBuffer(c) || !SetFormatAndEncodings(c)) {
      error = "libvncclient: set-up failed";
    } else {
      for (size_t i = 0; i < run.updates.size(); ++i) {
        if (!HandleRFBServerMessage(c)) {
          error = "libvncclient rejected update " + std::to_string(i);
          break;
        }
      }
    }
  }
  // Unblock the server thread if the client stopped reading early.
  shutdown(fds[1], SHUT_RDWR);
  server.join();
  close(fds[0]);

  std::vector<uint8_t> fb;
  if (error.empty() && c->frameBuffer) {
    const size_t n = static_cast<size_t>(c->width) * static_cast<size_t>(c->height) *
                     static_cast<size_t>(pf.bytes_per_pixel());
    fb.assign(c->frameBuffer, c->frameBuffer + n);
  }
  free(c->frameBuffer);  // NOLINT: allocated by libvncclient's malloc.
  c->frameBuffer = nullptr;
  rfbClientCleanup(c);  // Closes c->sock.
  if (!error.empty()) return Error(error);
  if (!served) return Error("fake server could not send everything");
  return fb;
}

}  // namespace vncd::test
