// X11Display: one owned Xlib connection (RAII) with per-connection error trapping and a clear
// account of a lost connection. Each object that talks to X opens its own; never share one.
#pragma once

// rfb headers come before Xlib's, which #defines Status (and None, Bool) as macros.
#include "rfb/result.h"

#include <X11/Xlib.h>

#include <memory>
#include <optional>
#include <string>

namespace vncd::platform {

// One X protocol error, as the server reported it.
struct XErrorRecord {
  int error_code = 0;    // BadMatch, BadAccess, ...
  int request_code = 0;  // Major opcode of the failed request.
  int minor_code = 0;    // Extension minor opcode (e.g. X_ShmAttach).
  unsigned long serial = 0;
  std::string text;  // XGetErrorText's description.
};

// Error strategy. Xlib has one process-wide X error handler and by default exits the process on
// any error. vncd installs a single handler (once, on the first open) that looks up the failing
// Display in a registry of X11Display states (the one piece of process-wide state here, forced by
// Xlib's design, guarded by a mutex) and:
//   - hands the error to the innermost active X11ErrorTrap on that connection, or
//   - logs it and carries on (a stray BadWindow from a clipboard requestor that went away must not
//     take the server down);
//   - errors on connections vncd did not open go to the handler that was installed before.
// Lost connection: Xlib calls the process-wide IO error handler and then exits. vncd sets a
// per-connection exit handler (XSetIOErrorExitHandler, libX11 >= 1.7) that logs one clear line and
// marks the connection lost instead of exiting; Xlib then fails every further call on that
// connection quickly, and the owners report lost() as an error from their next call.
//
// Thread rules: an X11Display is used by one thread at a time; different ones may live on
// different threads.
class X11Display {
 public:
  // Opens `name` (empty: $DISPLAY). Fails with "cannot open display :5" and the like.
  static Result<X11Display> open(const std::string& name);

  X11Display(X11Display&& o) noexcept;
  X11Display& operator=(X11Display&& o) noexcept;
  X11Display(const X11Display&) = delete;
  X11Display& operator=(const X11Display&) = delete;
  ~X11Display();

  Display* get() const;
  // The display name as XDisplayString reports it (":5"), for messages.
  const std::string& name() const;
  int fd() const { return ConnectionNumber(get()); }
  Window root() const { return DefaultRootWindow(get()); }
  // True once the connection to the X server broke; nothing on it will work again.
  bool lost() const;
  // True when the connection is a local (AF_UNIX) socket, so MIT-SHM can work.
  bool is_local() const;

  struct State;  // Per-connection error state; defined in the .cpp.

 private:
  friend class X11ErrorTrap;
  explicit X11Display(std::unique_ptr<State> state);
  void close();

  std::unique_ptr<State> state_;  // Heap-allocated so the registry's pointer survives moves.
};

// Scoped error trap: X errors caused by requests issued on `display` while the trap exists are
// recorded here instead of being logged. Errors arrive asynchronously, so call sync() to wait for
// the server before asking. Traps nest; the innermost one started before the request gets it.
class X11ErrorTrap {
 public:
  explicit X11ErrorTrap(X11Display& display);
  ~X11ErrorTrap();
  X11ErrorTrap(const X11ErrorTrap&) = delete;
  X11ErrorTrap& operator=(const X11ErrorTrap&) = delete;

  // XSync, then the first error since the trap started (nullopt: none).
  std::optional<XErrorRecord> sync();
  // The first error seen so far, without a round trip: enough right after a request that waits
  // for its reply (XShmGetImage, XGetImage), since its error arrives in place of that reply.
  std::optional<XErrorRecord> caught() const;

 private:
  X11Display& display_;
  size_t depth_;  // Index in the connection's trap stack.
};

}  // namespace vncd::platform
