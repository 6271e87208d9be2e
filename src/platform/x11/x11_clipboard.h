// X11Clipboard: bridges RFB cut text (Latin-1) and the X selections CLIPBOARD and PRIMARY through
// a hidden window: serves our text to X clients, and reports other owners' text (XFixes).
// Owns its own X connection and window; loop thread only.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "rfb/platform.h"
// After the rfb headers: Xlib #defines Status.
#include "platform/x11/x11_display.h"

namespace vncd::platform {

// Clipboard text larger than this is neither served nor fetched (in either encoding).
inline constexpr size_t kMaxClipboardBytes = size_t{1} << 20;

struct X11ClipboardOptions {
  // Also report PRIMARY (the "select to copy" selection) as x11vnc does, not only CLIPBOARD.
  bool watch_primary = true;
  size_t max_bytes = kMaxClipboardBytes;
};

class X11Clipboard final : public rfb::Clipboard {
 public:
  // Opens its own connection to `display_name` (empty: $DISPLAY); fails when the display cannot
  // be opened or lacks XFIXES (needed to notice other owners).
  static Result<std::unique_ptr<X11Clipboard>> create(const std::string& display_name,
                                                      const X11ClipboardOptions& options = {});
  ~X11Clipboard() override;
  X11Clipboard(const X11Clipboard&) = delete;
  X11Clipboard& operator=(const X11Clipboard&) = delete;

  // Takes ownership of CLIPBOARD and PRIMARY with `latin1` as their text. Events that arrive
  // meanwhile are processed before returning, so the callback may run from inside this call.
  void set_text(const std::string& latin1) override;
  // The callback gets the new owner's text, converted to Latin-1 ('?' for what Latin-1 lacks).
  // Text equal to what was last set or reported is not reported again.
  void on_change(std::function<void(const std::string& latin1)> callback) override;
  int event_fd() const override { return display_.fd(); }
  // Handles every queued X event: requests for our text, owner changes, incoming transfers.
  void process_events() override;

 private:
  struct Transfer {
    Atom selection = 0;
    Atom target = 0;
    bool incr = false;  // Receiving in chunks (ICCCM INCR).
    std::string data;
  };

  X11Clipboard(X11Display display, const X11ClipboardOptions& options, int xfixes_event_base);
  Time server_time();
  void handle_event(XEvent& ev);
  void handle_request(const XSelectionRequestEvent& req);
  void handle_owner_change(Atom selection, Window owner, Time when);
  void handle_notify(const XSelectionEvent& ev);
  void handle_property(const XPropertyEvent& ev);
  void finish_transfer();
  bool owns(Atom selection) const;

  X11Display display_;
  X11ClipboardOptions options_;
  int xfixes_event_base_;
  Window window_ = 0;
  Atom clipboard_ = 0, targets_ = 0, utf8_string_ = 0, text_atom_ = 0, incr_ = 0, property_ = 0,
       timestamp_ = 0;
  std::string text_;  // What we serve, Latin-1.
  bool own_clipboard_ = false;
  bool own_primary_ = false;
  Time owned_since_ = CurrentTime;
  std::optional<std::string> last_seen_;  // Last text set or reported, to avoid echoes.
  std::optional<Transfer> transfer_;
  std::function<void(const std::string&)> callback_;
};

}  // namespace vncd::platform
