// Integration test client: connects to vncd with libvncclient in a chosen pixel format, asks for
// one encoding (Raw by default), and checks its framebuffer pixel-exactly against XGetImage of the
// served display (at the format's precision). Also a click probe: a window that reports the first
// button press.
//
//   vnc_test_client compare --port N --display :D [--format 32|16|8|be32] [--encoding E]
//                   [--password P] [--x509-ca CERT] [--user NAME]
//                   [--pattern] [--draw] [--expect-size WxH] [--timeout S]
//   vnc_test_client auth-fail --port N --password P   (succeeds when the server refuses)
//   vnc_test_client click-probe --display :D [--timeout S]
//
// Exit status 0 on success; on failure one line on stderr says what differed.
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <rfb/rfbclient.h>

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Args {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string display;
  std::string format = "32";
  std::string encoding = "raw";  // libvncclient's names: raw, rre, corre, hextile, zlib, ...
  std::string password;
  std::string x509_ca;  // VeNCrypt X.509 types: the CA (here the self-signed certificate).
  std::string user;     // VeNCrypt Plain types.
  bool pattern = false;
  bool draw = false;
  int expect_w = 0, expect_h = 0;
  int timeout_s = 20;
  bool verbose = false;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "vnc_test_client: %s\n", message.c_str());
  std::exit(1);
}

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) die("usage: vnc_test_client compare|auth-fail|click-probe [options]");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(f + " needs a value");
      return argv[++i];
    };
    if (f == "--host")
      a.host = value();
    else if (f == "--port")
      a.port = std::atoi(value().c_str());
    else if (f == "--display")
      a.display = value();
    else if (f == "--format")
      a.format = value();
    else if (f == "--encoding")
      a.encoding = value();
    else if (f == "--x509-ca")
      a.x509_ca = value();
    else if (f == "--user")
      a.user = value();
    else if (f == "--password")
      a.password = value();
    else if (f == "--pattern")
      a.pattern = true;
    else if (f == "--draw")
      a.draw = true;
    else if (f == "--timeout")
      a.timeout_s = std::atoi(value().c_str());
    else if (f == "--verbose")
      a.verbose = true;
    else if (f == "--expect-size") {
      std::string v = value();
      if (std::sscanf(v.c_str(), "%dx%d", &a.expect_w, &a.expect_h) != 2) die("bad --expect-size");
    } else {
      die("unknown option " + f);
    }
  }
  return a;
}

bool g_verbose = false;
void loud_log(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  std::vfprintf(stderr, format, ap);
  va_end(ap);
}
void quiet_log(const char* format, ...) {
  if (!g_verbose) return;
  va_list ap;
  va_start(ap, format);
  std::vfprintf(stderr, format, ap);
  va_end(ap);
}

std::string g_password;
char* get_password(rfbClient*) {
  // libvncclient frees what this returns with free(): it must come from malloc.
  return strdup(g_password.c_str());
}

std::string g_x509_ca;
std::string g_user;
// libvncclient's VeNCrypt credentials; it frees the union and its strings with free().
rfbCredential* get_credential(rfbClient*, int type) {
  auto* c = static_cast<rfbCredential*>(calloc(1, sizeof(rfbCredential)));
  if (type == rfbCredentialTypeX509) {
    c->x509Credential.x509CACertFile = g_x509_ca.empty() ? nullptr : strdup(g_x509_ca.c_str());
    c->x509Credential.x509CrlVerifyMode = rfbX509CrlVerifyNone;
  } else if (type == rfbCredentialTypeUser) {
    c->userCredential.username = strdup(g_user.c_str());
    c->userCredential.password = strdup(g_password.c_str());
  }
  return c;
}

// Fills in a pixel format by name; returns false for unknown names.
bool set_format(rfbPixelFormat& f, const std::string& name) {
  f.trueColour = TRUE;
  f.bigEndian = FALSE;
  if (name == "32" || name == "be32") {
    f.bitsPerPixel = 32;
    f.depth = 24;
    f.redMax = f.greenMax = f.blueMax = 255;
    f.redShift = 16;
    f.greenShift = 8;
    f.blueShift = 0;
    f.bigEndian = name == "be32";
  } else if (name == "16") {  // RGB565
    f.bitsPerPixel = 16;
    f.depth = 16;
    f.redMax = 31;
    f.greenMax = 63;
    f.blueMax = 31;
    f.redShift = 11;
    f.greenShift = 5;
    f.blueShift = 0;
  } else if (name == "8") {  // BGR233
    f.bitsPerPixel = 8;
    f.depth = 8;
    f.redMax = 7;
    f.greenMax = 7;
    f.blueMax = 3;
    f.redShift = 0;
    f.greenShift = 3;
    f.blueShift = 6;
  } else {
    return false;
  }
  return true;
}

struct Rgb {
  int r, g, b;
};

Rgb decode_client_pixel(const rfbPixelFormat& f, const uint8_t* p) {
  uint32_t v = 0;
  const int bytes = f.bitsPerPixel / 8;
  for (int i = 0; i < bytes; ++i) {
    const int shift = f.bigEndian ? 8 * (bytes - 1 - i) : 8 * i;
    v |= static_cast<uint32_t>(p[i]) << shift;
  }
  return {static_cast<int>((v >> f.redShift) & f.redMax),
          static_cast<int>((v >> f.greenShift) & f.greenMax),
          static_cast<int>((v >> f.blueShift) & f.blueMax)};
}

// An 8-bit channel matches a reduced one if either common reduction (truncate or round) of it
// is within one step: the server may use either.
bool channel_matches(int x8, int got, int max) {
  if (max == 255) return x8 == got;
  int bits = 0;
  while ((1 << bits) <= max) ++bits;
  const int truncated = x8 >> (8 - bits);
  const int rounded = (x8 * max + 127) / 255;
  return std::abs(got - truncated) <= 1 || std::abs(got - rounded) <= 1;
}

int mask_shift(unsigned long mask) {
  int s = 0;
  while (mask && !(mask & 1)) {
    mask >>= 1;
    ++s;
  }
  return s;
}

int mask_bits(unsigned long mask) {
  int n = 0;
  mask >>= mask_shift(mask);
  while (mask & 1) {
    mask >>= 1;
    ++n;
  }
  return n;
}

// 8-bit RGB of an X pixel value under the default visual's masks.
Rgb x_pixel_rgb(const Visual* v, unsigned long pixel) {
  auto channel = [&](unsigned long mask) {
    const int bits = mask_bits(mask);
    int c = static_cast<int>((pixel & mask) >> mask_shift(mask));
    return bits >= 8 ? c >> (bits - 8) : (c * 255) / ((1 << bits) - 1);
  };
  return {channel(v->red_mask), channel(v->green_mask), channel(v->blue_mask)};
}

unsigned long x_pixel(const Visual* v, int r, int g, int b) {
  auto channel = [&](unsigned long mask, int c8) {
    const int bits = mask_bits(mask);
    unsigned long c = bits >= 8 ? static_cast<unsigned long>(c8) << (bits - 8)
                                : static_cast<unsigned long>(c8) >> (8 - bits);
    return (c << mask_shift(mask)) & mask;
  };
  return channel(v->red_mask, r) | channel(v->green_mask, g) | channel(v->blue_mask, b);
}

struct XDisplayCloser {
  void operator()(Display* d) const { XCloseDisplay(d); }
};
using XDisplayPtr = std::unique_ptr<Display, XDisplayCloser>;
struct XImageDestroyer {
  void operator()(XImage* i) const { XDestroyImage(i); }
};
using XImagePtr = std::unique_ptr<XImage, XImageDestroyer>;

// A full-screen override-redirect window whose background is a test pattern pixmap, so the X
// server repaints it by itself: gradients in every channel, grey, deterministic noise and solids.
class Pattern {
 public:
  explicit Pattern(Display* d) : d_(d) {
    const int screen = DefaultScreen(d);
    w_ = DisplayWidth(d, screen);
    h_ = DisplayHeight(d, screen);
    Visual* visual = DefaultVisual(d, screen);
    const int depth = DefaultDepth(d, screen);
    pixmap_ = XCreatePixmap(d, DefaultRootWindow(d), static_cast<unsigned>(w_),
                            static_cast<unsigned>(h_), static_cast<unsigned>(depth));
    XImagePtr img(XGetImage(d, pixmap_, 0, 0, static_cast<unsigned>(w_), static_cast<unsigned>(h_),
                            AllPlanes, ZPixmap));
    if (!img) die("XGetImage of the pattern pixmap failed");
    uint32_t seed = 12345;
    for (int y = 0; y < h_; ++y) {
      const int band = y * 6 / h_;
      for (int x = 0; x < w_; ++x) {
        const int ramp = x * 255 / (w_ > 1 ? w_ - 1 : 1);
        int r = 0, g = 0, b = 0;
        switch (band) {
          case 0:
            r = ramp;
            break;
          case 1:
            g = ramp;
            break;
          case 2:
            b = ramp;
            break;
          case 3:
            r = g = b = ramp;
            break;
          case 4:
            seed = seed * 1103515245u + 12345u;
            r = static_cast<int>((seed >> 16) & 255);
            g = static_cast<int>((seed >> 8) & 255);
            b = static_cast<int>(seed & 255);
            break;
          default: {
            static const int solids[][3] = {{255, 255, 255}, {0, 0, 0},     {255, 0, 0},
                                            {0, 255, 0},     {0, 0, 255},   {255, 255, 0},
                                            {0, 255, 255},   {255, 0, 255}, {128, 64, 32}};
            const auto& s = solids[(x * 9) / w_];
            r = s[0];
            g = s[1];
            b = s[2];
          }
        }
        XPutPixel(img.get(), x, y, x_pixel(visual, r, g, b));
      }
    }
    GC gc = XCreateGC(d, pixmap_, 0, nullptr);
    XPutImage(d, pixmap_, gc, img.get(), 0, 0, 0, 0, static_cast<unsigned>(w_),
              static_cast<unsigned>(h_));
    XFreeGC(d, gc);
    XSetWindowAttributes attrs{};
    attrs.override_redirect = True;
    attrs.background_pixmap = pixmap_;
    window_ = XCreateWindow(d, DefaultRootWindow(d), 0, 0, static_cast<unsigned>(w_),
                            static_cast<unsigned>(h_), 0, CopyFromParent, InputOutput,
                            CopyFromParent, CWOverrideRedirect | CWBackPixmap, &attrs);
    XMapRaised(d, window_);
    XSync(d, False);
  }
  ~Pattern() {
    XDestroyWindow(d_, window_);
    XFreePixmap(d_, pixmap_);
    XSync(d_, False);
  }
  Pattern(const Pattern&) = delete;
  Pattern& operator=(const Pattern&) = delete;

  // A second drawing: a magenta block in the middle, as another client changing the screen.
  void change() {
    Visual* visual = DefaultVisual(d_, DefaultScreen(d_));
    GC gc = XCreateGC(d_, pixmap_, 0, nullptr);
    XSetForeground(d_, gc, x_pixel(visual, 200, 30, 180));
    XFillRectangle(d_, pixmap_, gc, w_ / 4, h_ / 4, static_cast<unsigned>(w_ / 2),
                   static_cast<unsigned>(h_ / 2));
    XFreeGC(d_, gc);
    XClearWindow(d_, window_);
    XSync(d_, False);
  }

 private:
  Display* d_;
  int w_ = 0, h_ = 0;
  Pixmap pixmap_ = 0;
  Window window_ = 0;
};

// Compares the client's framebuffer with the X screen; returns "" when they match, else what
// differs first.
std::string compare(rfbClient* client, Display* d) {
  const int screen = DefaultScreen(d);
  const int w = DisplayWidth(d, screen), h = DisplayHeight(d, screen);
  if (client->width != w || client->height != h) {
    return "size differs: client " + std::to_string(client->width) + "x" +
           std::to_string(client->height) + ", X " + std::to_string(w) + "x" + std::to_string(h);
  }
  XImagePtr img(XGetImage(d, DefaultRootWindow(d), 0, 0, static_cast<unsigned>(w),
                          static_cast<unsigned>(h), AllPlanes, ZPixmap));
  if (!img) return "XGetImage failed";
  const Visual* visual = DefaultVisual(d, screen);
  const rfbPixelFormat& f = client->format;
  const int bpp = f.bitsPerPixel / 8;
  long mismatches = 0;
  std::string first;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const Rgb want = x_pixel_rgb(visual, XGetPixel(img.get(), x, y));
      const Rgb got = decode_client_pixel(
          f, client->frameBuffer +
                 (static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)) *
                     static_cast<size_t>(bpp));
      if (!channel_matches(want.r, got.r, f.redMax) ||
          !channel_matches(want.g, got.g, f.greenMax) ||
          !channel_matches(want.b, got.b, f.blueMax)) {
        if (mismatches++ == 0) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "pixel (%d,%d): X rgb %d,%d,%d, client %d,%d,%d", x, y,
                        want.r, want.g, want.b, got.r, got.g, got.b);
          first = buf;
        }
      }
    }
  }
  if (mismatches == 0) return "";
  return std::to_string(mismatches) + " pixels differ; first " + first;
}

using Clock = std::chrono::steady_clock;

// Processes server messages until `done()` or the deadline; false on timeout or a lost server.
template <class F>
bool pump_until(rfbClient* client, Clock::time_point deadline, F done, std::string& why) {
  while (true) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    int r = WaitForMessage(client, 100000);
    if (r < 0) {
      why = "connection lost while waiting";
      return false;
    }
    if (r > 0 && !HandleRFBServerMessage(client)) {
      why = "connection lost (HandleRFBServerMessage failed)";
      return false;
    }
  }
}

int updates_seen = 0;
void on_update_done(rfbClient*) {
  ++updates_seen;
}

rfbClient* connect(const Args& a) {
  rfbClient* client = rfbGetClient(8, 3, 4);
  if (!set_format(client->format, a.format)) die("unknown --format " + a.format);
  // Only the one encoding asked for (libvncclient adds its pseudo-encodings), and no JPEG
  // quality level, so the result must be lossless.
  client->appData.encodingsString = a.encoding.c_str();
  client->appData.enableJPEG = FALSE;
  client->appData.useRemoteCursor = FALSE;
  client->appData.compressLevel = -1;
  client->appData.qualityLevel = -1;
  // libvncclient's C ownership: serverHost is malloc'd (rfbGetClient put an empty one there)
  // and freed by rfbClientCleanup.
  free(client->serverHost);
  client->serverHost = strdup(a.host.c_str());
  client->serverPort = a.port;
  client->GetPassword = get_password;
  client->GetCredential = get_credential;
  g_x509_ca = a.x509_ca;
  g_user = a.user;
  client->FinishedFrameBufferUpdate = on_update_done;
  g_password = a.password;
  int argc = 0;
  if (!rfbInitClient(client, &argc, nullptr)) return nullptr;  // It freed the client.
  return client;
}

// rfbClientCleanup leaves the framebuffer (allocated by the default MallocFrameBuffer with
// malloc) to the application.
void close_client(rfbClient* client) {
  free(client->frameBuffer);
  client->frameBuffer = nullptr;
  rfbClientCleanup(client);
}

int compare_mode(const Args& a) {
  XDisplayPtr display;
  std::unique_ptr<Pattern> pattern;
  if (!a.display.empty()) {
    display.reset(XOpenDisplay(a.display.c_str()));
    if (!display) die("cannot open display " + a.display);
    if (a.pattern) pattern = std::make_unique<Pattern>(display.get());
  }
  rfbClient* client = connect(a);
  if (client == nullptr) die("connection or authentication failed");
  const auto deadline = Clock::now() + std::chrono::seconds(a.timeout_s);
  std::string why;

  if (a.expect_w && (client->width != a.expect_w || client->height != a.expect_h)) {
    std::string got = std::to_string(client->width) + "x" + std::to_string(client->height);
    close_client(client);
    die("framebuffer is " + got + ", expected " + std::to_string(a.expect_w) + "x" +
        std::to_string(a.expect_h));
  }
  // The first complete update.
  if (!pump_until(
          client, deadline, [] { return updates_seen > 0; }, why)) {
    close_client(client);
    die("no framebuffer update arrived " + (why.empty() ? "in time" : why));
  }
  if (display) {
    std::string diff = "not compared";
    auto matches = [&] {
      diff = compare(client, display.get());
      return diff.empty();
    };
    if (!pump_until(client, deadline, matches, why)) {
      close_client(client);
      die("framebuffer does not match the screen (format " + a.format + ", " + a.encoding +
          "): " + diff + " " + why);
    }
    std::printf("initial framebuffer matches (%dx%d, format %s)\n", client->width, client->height,
                a.format.c_str());
    if (pattern && a.draw) {
      const int before = updates_seen;
      pattern->change();
      if (!pump_until(
              client, deadline, [&] { return updates_seen > before && matches(); }, why)) {
        close_client(client);
        die("the change was not seen (format " + a.format + ", " + a.encoding + "): " + diff + " " +
            why);
      }
      std::printf("change seen after %d more updates\n", updates_seen - before);
    }
  }
  std::printf("OK %dx%d format %s encoding %s, %d updates\n", client->width, client->height,
              a.format.c_str(), a.encoding.c_str(), updates_seen);
  std::fflush(stdout);
  close_client(client);
  return 0;
}

int auth_fail_mode(const Args& a) {
  rfbClient* client = connect(a);
  if (client != nullptr) {
    close_client(client);
    die("the server accepted the wrong password");
  }
  std::printf("OK refused\n");
  return 0;
}

int click_probe_mode(const Args& a) {
  XDisplayPtr display(XOpenDisplay(a.display.c_str()));
  if (!display) die("cannot open display " + a.display);
  Display* d = display.get();
  const int screen = DefaultScreen(d);
  XSetWindowAttributes attrs{};
  attrs.override_redirect = True;
  attrs.background_pixel = WhitePixel(d, screen);
  attrs.event_mask = ButtonPressMask;
  Window w =
      XCreateWindow(d, DefaultRootWindow(d), 0, 0, static_cast<unsigned>(DisplayWidth(d, screen)),
                    static_cast<unsigned>(DisplayHeight(d, screen)), 0, CopyFromParent, InputOutput,
                    CopyFromParent, CWOverrideRedirect | CWBackPixel | CWEventMask, &attrs);
  XMapRaised(d, w);
  XSync(d, False);
  std::printf("READY\n");
  std::fflush(stdout);
  const auto deadline = Clock::now() + std::chrono::seconds(a.timeout_s);
  while (Clock::now() < deadline) {
    while (XPending(d)) {
      XEvent e;
      XNextEvent(d, &e);
      if (e.type == ButtonPress) {
        std::printf("CLICK %d %d %u\n", e.xbutton.x, e.xbutton.y, e.xbutton.button);
        std::fflush(stdout);
        return 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  die("no click within the timeout");
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  g_verbose = a.verbose;
  rfbClientLog = quiet_log;
  rfbClientErr = loud_log;
  if (a.mode == "compare") return compare_mode(a);
  if (a.mode == "auth-fail") return auth_fail_mode(a);
  if (a.mode == "click-probe") return click_probe_mode(a);
  die("unknown mode " + a.mode);
}
