#include "platform/x11/x11_input.h"

#include <X11/XKBlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>

#include <algorithm>

#include "rfb/log.h"

namespace vncd::platform {

Result<std::unique_ptr<X11Input>> X11Input::create(const std::string& display_name) {
  auto display = X11Display::open(display_name);
  if (!display) return display.error();
  int event_base = 0, error_base = 0, major = 0, minor = 0;
  if (!XTestQueryExtension(display->get(), &event_base, &error_base, &major, &minor)) {
    return Error("display " + display->name() +
                 " has no XTEST extension: cannot inject keyboard and pointer input");
  }
  return std::unique_ptr<X11Input>(new X11Input(std::move(display.value())));
}

X11Input::X11Input(X11Display display) : display_(std::move(display)) {
  // Fake input must reach the desktop even while some client holds a server grab.
  XTestGrabControl(display_.get(), True);
  // Xlib turns XKB on for every connection, and the server then sends such a client no
  // MappingNotify at all (not even the core one) until it selects XKB map events: without this,
  // drain_events would never learn of setxkbmap, xmodmap or another VNC server's remapping.
  // Subscribe, and let the server apply it, before reading the map so no change falls between.
  Display* dpy = display_.get();
  int opcode = 0, error_base = 0, major = XkbMajorVersion, minor = XkbMinorVersion;
  if (XkbQueryExtension(dpy, &opcode, &xkb_event_base_, &error_base, &major, &minor)) {
    XkbSelectEventDetails(dpy, XkbUseCoreKbd, XkbMapNotify, XkbKeySymsMask, XkbKeySymsMask);
    XkbSelectEventDetails(dpy, XkbUseCoreKbd, XkbNewKeyboardNotify, XkbNKN_KeycodesMask,
                          XkbNKN_KeycodesMask);
  } else {
    xkb_event_base_ = -1;  // No XKB: the server sends core MappingNotify to everyone.
  }
  XSync(dpy, False);
  load_keymap();
  for (int kc = max_keycode_; kc >= min_keycode_; --kc) {
    bool empty = true;
    for (int col = 0; col < syms_per_code_; ++col) {
      if (keysym_at(static_cast<KeyCode>(kc), col) != NoSymbol) empty = false;
    }
    if (empty) spares_.push_back(static_cast<KeyCode>(kc));
  }
}

X11Input::~X11Input() {
  if (display_.lost()) return;
  Display* dpy = display_.get();
  for (const auto& [keysym, keycode] : pressed_) fake_key(keycode, false);
  for (int b = 0; b < 7; ++b) {
    if (buttons_ & (1u << b))
      XTestFakeButtonEvent(dpy, static_cast<unsigned>(b + 1), False, CurrentTime);
  }
  std::vector<KeySym> none(static_cast<size_t>(syms_per_code_), NoSymbol);
  for (const auto& [keycode, keysym] : remapped_) {
    XChangeKeyboardMapping(dpy, keycode, syms_per_code_, none.data(), 1);
  }
  XSync(dpy, False);
}

void X11Input::load_keymap() {
  Display* dpy = display_.get();
  XDisplayKeycodes(dpy, &min_keycode_, &max_keycode_);
  int per = 0;
  KeySym* syms = XGetKeyboardMapping(dpy, static_cast<KeyCode>(min_keycode_),
                                     max_keycode_ - min_keycode_ + 1, &per);
  keymap_.clear();
  syms_per_code_ = 0;
  if (syms == nullptr) return;
  syms_per_code_ = per;
  keymap_.assign(
      syms, syms + static_cast<size_t>(max_keycode_ - min_keycode_ + 1) * static_cast<size_t>(per));
  XFree(syms);
}

KeySym X11Input::keysym_at(KeyCode keycode, int column) const {
  if (keycode < min_keycode_ || keycode > max_keycode_ || column >= syms_per_code_) {
    return NoSymbol;
  }
  return keymap_[static_cast<size_t>(keycode - min_keycode_) * static_cast<size_t>(syms_per_code_) +
                 static_cast<size_t>(column)];
}

// Someone (setxkbmap, or our own remapping) changed the keyboard: re-read it.
void X11Input::drain_events() {
  Display* dpy = display_.get();
  bool reload = false;
  while (XPending(dpy) > 0) {
    XkbEvent ev;  // XEvent with the XKB views over it.
    XNextEvent(dpy, &ev.core);
    if (ev.type == MappingNotify) {
      XRefreshKeyboardMapping(&ev.core.xmapping);
      if (ev.core.xmapping.request == MappingKeyboard) reload = true;
    } else if (xkb_event_base_ >= 0 && ev.type == xkb_event_base_) {
      if (ev.any.xkb_type == XkbMapNotify || ev.any.xkb_type == XkbNewKeyboardNotify) reload = true;
    }
  }
  if (reload) load_keymap();
}

bool X11Input::find_key(KeySym keysym, KeyLocation& out) const {
  // Levels 0 and 1 of group 1 are the first two columns. As in XLookupKeysym, a missing second
  // column means "the upper-case form of the first".
  for (int level = 0; level < 2; ++level) {
    for (int kc = min_keycode_; kc <= max_keycode_; ++kc) {
      const auto code = static_cast<KeyCode>(kc);
      KeySym sym = keysym_at(code, level);
      if (level == 1 && sym == NoSymbol) {
        KeySym lower = NoSymbol, upper = NoSymbol;
        XConvertCase(keysym_at(code, 0), &lower, &upper);
        if (upper != lower) sym = upper;
      }
      if (sym == keysym) {
        out = {code, level};
        return true;
      }
    }
  }
  return false;
}

// Gives the least recently used spare keycode (not currently held) the keysym on both levels, as
// x11vnc and TigerVNC do for keysyms the layout lacks.
bool X11Input::remap_spare(KeySym keysym, KeyLocation& out) {
  for (auto it = spares_.begin(); it != spares_.end(); ++it) {
    const KeyCode kc = *it;
    const bool held = std::any_of(pressed_.begin(), pressed_.end(),
                                  [kc](const auto& p) { return p.second == kc; });
    if (held) continue;
    std::vector<KeySym> syms(static_cast<size_t>(syms_per_code_), NoSymbol);
    for (size_t col = 0; col < syms.size() && col < 2; ++col) syms[col] = keysym;
    XChangeKeyboardMapping(display_.get(), kc, syms_per_code_, syms.data(), 1);
    const size_t row = static_cast<size_t>(kc - min_keycode_) * static_cast<size_t>(syms_per_code_);
    for (size_t col = 0; col < syms.size(); ++col) keymap_[row + col] = syms[col];
    remapped_[kc] = keysym;
    spares_.erase(it);
    spares_.push_back(kc);  // Most recently used last.
    out = {kc, 0};
    return true;
  }
  return false;
}

void X11Input::fake_key(KeyCode keycode, bool down) {
  XTestFakeKeyEvent(display_.get(), keycode, down ? True : False, CurrentTime);
}

bool X11Input::shift_held() const {
  return pressed_.count(XK_Shift_L) != 0 || pressed_.count(XK_Shift_R) != 0;
}

void X11Input::key(uint32_t keysym, bool down) {
  if (display_.lost() || syms_per_code_ == 0) return;
  drain_events();

  if (!down) {
    auto it = pressed_.find(keysym);
    if (it != pressed_.end()) {
      fake_key(it->second, false);
      pressed_.erase(it);
    }
    // A release for a key we never pressed has nothing to undo.
    return;
  }

  if (auto it = pressed_.find(keysym); it != pressed_.end()) {
    fake_key(it->second, true);  // Client-side auto-repeat: same keycode again.
    return;
  }

  KeyLocation loc;
  if (!find_key(keysym, loc) && !remap_spare(keysym, loc)) {
    log::warn("no keycode for keysym 0x", std::hex, keysym, " and no spare keycode; key dropped");
    return;
  }

  const bool is_modifier = IsModifierKey(keysym);
  const bool wants_shift = loc.level == 1;
  const bool has_shift = shift_held();
  // Only when the two levels differ does Shift matter (a remapped key has the same on both).
  const bool levels_differ = keysym_at(loc.keycode, 0) != keysym_at(loc.keycode, 1);
  std::vector<KeyCode> toggled;
  if (!is_modifier && wants_shift && !has_shift) {
    KeyLocation shift;
    if (find_key(XK_Shift_L, shift) || find_key(XK_Shift_R, shift)) {
      fake_key(shift.keycode, true);
      toggled.push_back(shift.keycode);
    }
  } else if (!is_modifier && !wants_shift && has_shift && levels_differ) {
    // E.g. a client that sends Shift then the keysym '1': release Shift for this press.
    for (KeySym s : {XK_Shift_L, XK_Shift_R}) {
      if (auto it = pressed_.find(static_cast<uint32_t>(s)); it != pressed_.end()) {
        fake_key(it->second, false);
        toggled.push_back(it->second);
      }
    }
  }

  fake_key(loc.keycode, true);
  pressed_[keysym] = loc.keycode;

  for (KeyCode kc : toggled) fake_key(kc, !(wants_shift && !has_shift));
}

void X11Input::pointer(int x, int y, uint8_t button_mask) {
  if (display_.lost()) return;
  Display* dpy = display_.get();
  if (x != last_x_ || y != last_y_) {
    XTestFakeMotionEvent(dpy, DefaultScreen(dpy), x, y, CurrentTime);
    last_x_ = x;
    last_y_ = y;
  }
  // Buttons 1..7: 4/5 are the vertical wheel, 6/7 horizontal, as in X itself.
  const uint8_t changed = static_cast<uint8_t>((button_mask ^ buttons_) & 0x7F);
  for (int b = 0; b < 7; ++b) {
    if (changed & (1u << b)) {
      XTestFakeButtonEvent(dpy, static_cast<unsigned>(b + 1),
                           (button_mask & (1u << b)) ? True : False, CurrentTime);
    }
  }
  buttons_ = static_cast<uint8_t>(button_mask & 0x7F);
}

void X11Input::flush() {
  if (!display_.lost()) XFlush(display_.get());
}

}  // namespace vncd::platform
