#include "platform/x11/x11_display.h"

#include <sys/socket.h>

#include <cassert>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rfb/log.h"

namespace vncd::platform {

struct X11Display::State {
  struct Trap {
    unsigned long start_serial = 0;
    std::optional<XErrorRecord> first;
  };

  Display* dpy = nullptr;
  std::string name;
  bool lost = false;
  std::vector<Trap> traps;  // Innermost last.
};

namespace {

// The registry behind Xlib's process-wide error handlers (see the header). Only the map is shared
// between threads; a State is touched only by the thread using its Display, which is also the
// thread Xlib runs the handler on.
class ErrorRegistry {
 public:
  static ErrorRegistry& instance() {
    static ErrorRegistry registry;
    return registry;
  }

  void add(X11Display::State* s) {
    std::lock_guard lock(mu_);
    states_[s->dpy] = s;
  }
  void remove(Display* dpy) {
    std::lock_guard lock(mu_);
    states_.erase(dpy);
  }

 private:
  ErrorRegistry() {
    previous_error_ = XSetErrorHandler(&ErrorRegistry::on_error);
    previous_io_error_ = XSetIOErrorHandler(&ErrorRegistry::on_io_error);
  }

  X11Display::State* find(Display* dpy) {
    std::lock_guard lock(mu_);
    auto it = states_.find(dpy);
    return it == states_.end() ? nullptr : it->second;
  }

  static int on_error(Display* dpy, XErrorEvent* ev) {
    ErrorRegistry& reg = instance();
    X11Display::State* s = reg.find(dpy);
    if (s == nullptr) return reg.previous_error_ ? reg.previous_error_(dpy, ev) : 0;

    XErrorRecord rec;
    rec.error_code = ev->error_code;
    rec.request_code = ev->request_code;
    rec.minor_code = ev->minor_code;
    rec.serial = ev->serial;
    char text[256] = {};
    XGetErrorText(dpy, ev->error_code, text, sizeof text);  // Local lookup, no protocol.
    rec.text = text;

    for (auto it = s->traps.rbegin(); it != s->traps.rend(); ++it) {
      if (ev->serial >= it->start_serial) {
        if (!it->first) it->first = std::move(rec);
        return 0;
      }
    }
    log::warn("X error on display ", s->name, ": ", rec.text, " (request ", rec.request_code, ".",
              rec.minor_code, ", serial ", rec.serial, "); ignored");
    return 0;
  }

  // Xlib exits after this returns unless the connection has an exit handler (ours do); for
  // connections vncd does not own, keep whatever was there.
  static int on_io_error(Display* dpy) {
    ErrorRegistry& reg = instance();
    if (reg.find(dpy) == nullptr && reg.previous_io_error_) return reg.previous_io_error_(dpy);
    return 0;
  }

  std::mutex mu_;
  std::unordered_map<Display*, X11Display::State*> states_;
  XErrorHandler previous_error_ = nullptr;
  XIOErrorHandler previous_io_error_ = nullptr;
};

void on_io_exit(Display* /*dpy*/, void* data) {
  auto* s = static_cast<X11Display::State*>(data);
  if (!s->lost) {
    log::error("lost the connection to X display ", s->name,
               " (the X server exited or closed it); this desktop is gone");
  }
  s->lost = true;
}

}  // namespace

Result<X11Display> X11Display::open(const std::string& name) {
  ErrorRegistry& registry = ErrorRegistry::instance();  // Handlers in place before any request.
  Display* dpy = XOpenDisplay(name.empty() ? nullptr : name.c_str());
  if (dpy == nullptr) {
    std::string shown = name;
    if (shown.empty()) {
      const char* env = std::getenv("DISPLAY");
      shown = env != nullptr && *env != '\0' ? env : "(DISPLAY is not set)";
    }
    return Error("cannot open display " + shown);
  }
  auto state = std::make_unique<State>();
  state->dpy = dpy;
  state->name = DisplayString(dpy);
  registry.add(state.get());
  XSetIOErrorExitHandler(dpy, &on_io_exit, state.get());
  return X11Display(std::move(state));
}

X11Display::X11Display(std::unique_ptr<State> state) : state_(std::move(state)) {}
X11Display::X11Display(X11Display&& o) noexcept = default;
X11Display& X11Display::operator=(X11Display&& o) noexcept {
  if (this != &o) {
    close();
    state_ = std::move(o.state_);
  }
  return *this;
}
X11Display::~X11Display() {
  close();
}

void X11Display::close() {
  if (!state_) return;
  assert(state_->traps.empty());
  // Close while still registered: XCloseDisplay may be the first call to find the server gone,
  // and the registry's handlers must see that I/O error (Xlib's default handler exits).
  XCloseDisplay(state_->dpy);
  ErrorRegistry::instance().remove(state_->dpy);
  state_.reset();
}

Display* X11Display::get() const {
  assert(state_);
  return state_->dpy;
}
const std::string& X11Display::name() const {
  return state_->name;
}
bool X11Display::lost() const {
  return state_->lost;
}

bool X11Display::is_local() const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  return addr.ss_family == AF_UNIX;
}

X11ErrorTrap::X11ErrorTrap(X11Display& display)
    : display_(display), depth_(display.state_->traps.size()) {
  display.state_->traps.push_back({NextRequest(display.get()), std::nullopt});
}

X11ErrorTrap::~X11ErrorTrap() {
  X11Display::State& s = *display_.state_;
  // Let errors from requests made inside the trap arrive while it still catches them.
  if (!s.lost && LastKnownRequestProcessed(s.dpy) + 1 < NextRequest(s.dpy)) XSync(s.dpy, False);
  assert(s.traps.size() == depth_ + 1);
  s.traps.pop_back();
}

std::optional<XErrorRecord> X11ErrorTrap::sync() {
  X11Display::State& s = *display_.state_;
  if (!s.lost) XSync(s.dpy, False);
  return s.traps[depth_].first;
}

std::optional<XErrorRecord> X11ErrorTrap::caught() const {
  return display_.state_->traps[depth_].first;
}

}  // namespace vncd::platform
