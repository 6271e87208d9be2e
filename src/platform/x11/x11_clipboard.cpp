#include "platform/x11/x11_clipboard.h"

#include <X11/Xatom.h>
#include <X11/Xutil.h>
#include <X11/extensions/Xfixes.h>

#include <utility>
#include <vector>

#include "platform/common/text_codec.h"
#include "rfb/log.h"

namespace vncd::platform {
namespace {

struct XFreeDeleter {
  void operator()(unsigned char* p) const {
    if (p != nullptr) XFree(p);
  }
};
using XDataPtr = std::unique_ptr<unsigned char, XFreeDeleter>;

// One XGetWindowProperty result.
struct Property {
  Atom type = None;
  int format = 0;
  unsigned long items = 0;
  unsigned long bytes_after = 0;
  XDataPtr data;
  size_t bytes() const { return format == 8 ? items : 0; }
};

// Reads (and deletes, which ICCCM uses as the "got it" signal) up to max_bytes of a property.
Property read_property(Display* dpy, Window w, Atom prop, size_t max_bytes) {
  Property p;
  unsigned char* raw = nullptr;
  const long max_units = static_cast<long>(max_bytes / 4 + 1);
  if (XGetWindowProperty(dpy, w, prop, 0, max_units, True, AnyPropertyType, &p.type, &p.format,
                         &p.items, &p.bytes_after, &raw) != Success) {
    p.type = None;
  }
  p.data.reset(raw);
  return p;
}

}  // namespace

Result<std::unique_ptr<X11Clipboard>> X11Clipboard::create(const std::string& display_name,
                                                           const X11ClipboardOptions& options) {
  auto display = X11Display::open(display_name);
  if (!display) return display.error();
  int event_base = 0, error_base = 0;
  if (!XFixesQueryExtension(display->get(), &event_base, &error_base)) {
    return Error("display " + display->name() +
                 " has no XFIXES extension: cannot follow clipboard changes");
  }
  int major = 5, minor = 0;
  XFixesQueryVersion(display->get(), &major, &minor);  // Required before other XFixes requests.
  return std::unique_ptr<X11Clipboard>(
      new X11Clipboard(std::move(display.value()), options, event_base));
}

X11Clipboard::X11Clipboard(X11Display display, const X11ClipboardOptions& options,
                           int xfixes_event_base)
    : display_(std::move(display)), options_(options), xfixes_event_base_(xfixes_event_base) {
  Display* dpy = display_.get();
  // Hidden (never mapped) 1x1 window: the selection owner and the target of transfers.
  window_ = XCreateSimpleWindow(dpy, display_.root(), 0, 0, 1, 1, 0, 0, 0);
  XSelectInput(dpy, window_, PropertyChangeMask);
  clipboard_ = XInternAtom(dpy, "CLIPBOARD", False);
  targets_ = XInternAtom(dpy, "TARGETS", False);
  utf8_string_ = XInternAtom(dpy, "UTF8_STRING", False);
  text_atom_ = XInternAtom(dpy, "TEXT", False);
  incr_ = XInternAtom(dpy, "INCR", False);
  timestamp_ = XInternAtom(dpy, "TIMESTAMP", False);
  property_ = XInternAtom(dpy, "VNCD_SELECTION", False);
  const unsigned long mask = XFixesSetSelectionOwnerNotifyMask |
                             XFixesSelectionWindowDestroyNotifyMask |
                             XFixesSelectionClientCloseNotifyMask;
  XFixesSelectSelectionInput(dpy, window_, clipboard_, mask);
  if (options_.watch_primary) XFixesSelectSelectionInput(dpy, window_, XA_PRIMARY, mask);
  XFlush(dpy);
}

X11Clipboard::~X11Clipboard() {
  if (!display_.lost()) XDestroyWindow(display_.get(), window_);
}

void X11Clipboard::on_change(std::function<void(const std::string&)> callback) {
  callback_ = std::move(callback);
}

// ICCCM asks owners for a real timestamp, not CurrentTime: get one from a zero-length append.
// After XSync the PropertyNotify is already queued, so nothing here can block on a dead server.
Time X11Clipboard::server_time() {
  Display* dpy = display_.get();
  XChangeProperty(dpy, window_, timestamp_, XA_INTEGER, 8, PropModeAppend, nullptr, 0);
  XSync(dpy, False);
  struct Match {
    Window w;
    Atom a;
  } match{window_, timestamp_};
  XEvent ev;
  const bool found = XCheckIfEvent(
      dpy, &ev,
      [](Display*, XEvent* e, XPointer arg) -> Bool {
        const auto* m = reinterpret_cast<const Match*>(arg);
        return e->type == PropertyNotify && e->xproperty.window == m->w &&
               e->xproperty.atom == m->a;
      },
      reinterpret_cast<XPointer>(&match));
  return found ? ev.xproperty.time : CurrentTime;
}

bool X11Clipboard::owns(Atom selection) const {
  return (selection == clipboard_ && own_clipboard_) || (selection == XA_PRIMARY && own_primary_);
}

void X11Clipboard::set_text(const std::string& latin1) {
  if (display_.lost()) return;
  if (latin1.size() > options_.max_bytes) {
    log::warn("clipboard text of ", latin1.size(), " bytes is over the ", options_.max_bytes,
              "-byte limit; not set");
    return;
  }
  Display* dpy = display_.get();
  text_ = latin1;
  last_seen_ = latin1;
  owned_since_ = server_time();
  if (display_.lost()) return;
  XSetSelectionOwner(dpy, clipboard_, window_, owned_since_);
  XSetSelectionOwner(dpy, XA_PRIMARY, window_, owned_since_);
  own_clipboard_ = XGetSelectionOwner(dpy, clipboard_) == window_;
  own_primary_ = XGetSelectionOwner(dpy, XA_PRIMARY) == window_;
  if (!own_clipboard_) log::warn("could not take the X CLIPBOARD selection");
  // The round trips above may have queued events that the fd will not announce again.
  process_events();
}

void X11Clipboard::process_events() {
  Display* dpy = display_.get();
  while (!display_.lost() && XPending(dpy) > 0) {
    XEvent ev;
    XNextEvent(dpy, &ev);
    handle_event(ev);
  }
}

void X11Clipboard::handle_event(XEvent& ev) {
  if (ev.type == xfixes_event_base_ + XFixesSelectionNotify) {
    const auto& fe = reinterpret_cast<const XFixesSelectionNotifyEvent&>(ev);
    handle_owner_change(fe.selection, fe.owner, fe.selection_timestamp);
    return;
  }
  switch (ev.type) {
    case SelectionRequest:
      handle_request(ev.xselectionrequest);
      break;
    case SelectionClear:
      if (ev.xselectionclear.selection == clipboard_) own_clipboard_ = false;
      if (ev.xselectionclear.selection == XA_PRIMARY) own_primary_ = false;
      break;
    case SelectionNotify:
      handle_notify(ev.xselection);
      break;
    case PropertyNotify:
      handle_property(ev.xproperty);
      break;
    default:
      break;
  }
}

// ICCCM 2.2: answer a conversion request by writing the property and sending SelectionNotify.
void X11Clipboard::handle_request(const XSelectionRequestEvent& req) {
  Display* dpy = display_.get();
  XSelectionEvent reply{};
  reply.type = SelectionNotify;
  reply.display = dpy;
  reply.requestor = req.requestor;
  reply.selection = req.selection;
  reply.target = req.target;
  reply.time = req.time;
  reply.property = None;  // Refusal unless we manage to convert.
  const Atom prop = req.property != None ? req.property : req.target;  // Obsolete clients.

  // The requestor may vanish at any moment: its BadWindow is expected, not worth a warning.
  X11ErrorTrap trap(display_);
  const bool in_time = req.time == CurrentTime || req.time >= owned_since_;
  if (owns(req.selection) && in_time) {
    if (req.target == targets_) {
      const Atom targets[] = {targets_, utf8_string_, XA_STRING, text_atom_, timestamp_};
      XChangeProperty(dpy, req.requestor, prop, XA_ATOM, 32, PropModeReplace,
                      reinterpret_cast<const unsigned char*>(targets), std::size(targets));
      reply.property = prop;
    } else if (req.target == timestamp_) {
      const long t = static_cast<long>(owned_since_);
      XChangeProperty(dpy, req.requestor, prop, XA_INTEGER, 32, PropModeReplace,
                      reinterpret_cast<const unsigned char*>(&t), 1);
      reply.property = prop;
    } else if (req.target == utf8_string_ || req.target == XA_STRING || req.target == text_atom_) {
      const bool utf8 = req.target == utf8_string_;
      const std::string data = utf8 ? latin1_to_utf8(text_) : text_;
      // No INCR sending: text is capped far below what one (big) request carries.
      const size_t max_request =
          static_cast<size_t>(XExtendedMaxRequestSize(dpy) != 0 ? XExtendedMaxRequestSize(dpy)
                                                                : XMaxRequestSize(dpy)) *
          4;
      if (data.size() + 64 < max_request) {
        XChangeProperty(dpy, req.requestor, prop, utf8 ? utf8_string_ : XA_STRING, 8,
                        PropModeReplace, reinterpret_cast<const unsigned char*>(data.data()),
                        static_cast<int>(data.size()));
        reply.property = prop;
      } else {
        log::warn("clipboard text too large for one X request; request refused");
      }
    }
  }
  XSendEvent(dpy, req.requestor, False, NoEventMask, reinterpret_cast<XEvent*>(&reply));
  if (auto err = trap.sync()) log::debug("clipboard requestor went away: ", err->text);
}

void X11Clipboard::handle_owner_change(Atom selection, Window owner, Time when) {
  if (owner == window_) return;  // Our own set_text.
  if (selection == clipboard_) own_clipboard_ = false;
  if (selection == XA_PRIMARY) own_primary_ = false;
  if (owner == None) return;  // Cleared, nothing to fetch.
  // A newer change supersedes a transfer still in progress.
  transfer_ = Transfer{selection, utf8_string_, false, {}};
  XDeleteProperty(display_.get(), window_, property_);
  XConvertSelection(display_.get(), selection, utf8_string_, property_, window_, when);
}

void X11Clipboard::handle_notify(const XSelectionEvent& ev) {
  if (!transfer_ || ev.requestor != window_ || ev.selection != transfer_->selection ||
      ev.target != transfer_->target) {
    return;
  }
  Display* dpy = display_.get();
  if (ev.property == None) {
    if (transfer_->target == utf8_string_) {  // Older owners only know STRING.
      transfer_->target = XA_STRING;
      XConvertSelection(dpy, ev.selection, XA_STRING, property_, window_, ev.time);
    } else {
      log::debug("clipboard owner refused to convert its selection to text");
      transfer_.reset();
    }
    return;
  }

  Property p = read_property(dpy, window_, ev.property, options_.max_bytes);
  if (p.type == incr_) {
    // The owner sends in chunks; the property (deleted just now) held a lower bound on the size.
    const long hint =
        (p.format == 32 && p.items >= 1) ? *reinterpret_cast<const long*>(p.data.get()) : 0;
    if (hint < 0 || static_cast<unsigned long>(hint) > options_.max_bytes) {
      log::warn("clipboard text of ", hint, " bytes is over the ", options_.max_bytes,
                "-byte limit; ignored");
      transfer_.reset();
      return;
    }
    transfer_->incr = true;
    return;
  }
  if (p.format != 8 || p.bytes_after > 0 || p.bytes() > options_.max_bytes) {
    if (p.bytes_after > 0) {
      log::warn("clipboard text over the ", options_.max_bytes, "-byte limit; ignored");
    }
    transfer_.reset();
    return;
  }
  transfer_->data.assign(reinterpret_cast<const char*>(p.data.get()), p.bytes());
  finish_transfer();
}

// INCR: each new value of the property is a chunk; a zero-length one ends the transfer.
void X11Clipboard::handle_property(const XPropertyEvent& ev) {
  if (!transfer_ || !transfer_->incr || ev.window != window_ || ev.atom != property_ ||
      ev.state != PropertyNewValue) {
    return;
  }
  Property p = read_property(display_.get(), window_, property_, options_.max_bytes);
  if (p.format != 8 && p.items != 0) {
    transfer_.reset();
    return;
  }
  if (p.items == 0) {
    finish_transfer();
    return;
  }
  if (p.bytes_after > 0 || transfer_->data.size() + p.bytes() > options_.max_bytes) {
    log::warn("clipboard text over the ", options_.max_bytes, "-byte limit; ignored");
    transfer_.reset();  // The owner gives up when we stop deleting the property.
    return;
  }
  transfer_->data.append(reinterpret_cast<const char*>(p.data.get()), p.bytes());
}

void X11Clipboard::finish_transfer() {
  Transfer t = std::move(*transfer_);
  transfer_.reset();
  std::string latin1 = t.target == utf8_string_ ? utf8_to_latin1(t.data) : std::move(t.data);
  if (last_seen_ && *last_seen_ == latin1) return;
  last_seen_ = latin1;
  if (callback_) callback_(latin1);
}

}  // namespace vncd::platform
