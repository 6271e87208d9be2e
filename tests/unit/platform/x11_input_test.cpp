// X11Input against a private Xvfb: pointer motion and buttons, typed text with Shift handling,
// keysyms missing from the keymap, no stuck keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "platform/x11/x11_input.h"
#include "x11_fixture.h"
#include "x11_test_support.h"
// Xlib headers after ours (Xlib #defines Status).
#include <X11/XKBlib.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>

namespace vncd::platform {
namespace {

using namespace std::chrono_literals;
using test_support::wait_until;
using test_support::Xvfb;

class X11InputTest : public test_support::WithXvfb<> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(xvfb_);
    auto d = X11Display::open(xvfb_->display());
    ASSERT_TRUE(d.ok()) << d.error().message();
    observer_.emplace(std::move(d.value()));
    auto in = X11Input::create(xvfb_->display());
    ASSERT_TRUE(in.ok()) << in.error().message();
    input_ = std::move(in.value());
  }

  void TearDown() override {
    input_.reset();
    if (window_ != 0) XDestroyWindow(observer_->get(), window_);
    if (observer_) XSync(observer_->get(), False);
  }

  // A mapped, focused window over the whole screen that receives keys and buttons.
  void open_window() {
    Display* dpy = observer_->get();
    window_ = XCreateSimpleWindow(dpy, observer_->root(), 0, 0, 640, 480, 0, 0, 0);
    XSelectInput(
        dpy, window_,
        KeyPressMask | KeyReleaseMask | ButtonPressMask | ButtonReleaseMask | StructureNotifyMask);
    XMapWindow(dpy, window_);
    bool mapped = false;
    ASSERT_TRUE(wait_until([&] { return mapped; }, 5s,
                           [&] {
                             while (XPending(dpy) > 0) {
                               XEvent ev;
                               XNextEvent(dpy, &ev);
                               if (ev.type == MapNotify) mapped = true;
                             }
                           }));
    XSetInputFocus(dpy, window_, RevertToParent, CurrentTime);
    // Load Xlib's keymap now, as a toolkit does at startup. Xlib otherwise loads it at the first
    // XLookupString and only then subscribes to map changes, and the server sends an XKB client
    // no MappingNotify until it has subscribed: a remap landing between that load and the
    // subscription (X11Input's, still in flight) left a stale cache and keysyms read as NoSymbol.
    // The XSync puts the subscription in force before any key is injected.
    XkbKeycodeToKeysym(dpy, 0, 0, 0);
    XSync(dpy, False);
  }

  // The first keycode with no keysyms, from the observer's side; 0 if none.
  KeyCode lowest_empty_keycode() {
    Display* dpy = observer_->get();
    int min = 0, max = 0, per = 0;
    XDisplayKeycodes(dpy, &min, &max);
    KeySym* syms = XGetKeyboardMapping(dpy, static_cast<KeyCode>(min), max - min + 1, &per);
    KeyCode found = 0;
    for (int kc = min; kc <= max && found == 0 && syms != nullptr; ++kc) {
      const KeySym* row = syms + static_cast<size_t>(kc - min) * static_cast<size_t>(per);
      if (std::all_of(row, row + per, [](KeySym k) { return k == NoSymbol; })) {
        found = static_cast<KeyCode>(kc);
      }
    }
    if (syms != nullptr) XFree(syms);
    return found;
  }

  // Collects what the window receives. MappingNotify must refresh Xlib's keymap cache, as any
  // application's toolkit does, for remapped keycodes to translate.
  void pump() {
    Display* dpy = observer_->get();
    while (XPending(dpy) > 0) {
      XEvent ev;
      XNextEvent(dpy, &ev);
      if (ev.type == MappingNotify) {
        XRefreshKeyboardMapping(&ev.xmapping);
      } else if (ev.type == KeyPress) {
        char buf[16];
        KeySym ks = NoSymbol;
        const int n = XLookupString(&ev.xkey, buf, sizeof buf, &ks, nullptr);
        if (!IsModifierKey(ks)) {
          typed_.append(buf, static_cast<size_t>(n));
          keysyms_.push_back(ks);
          keycodes_.push_back(ev.xkey.keycode);
        }
      } else if (ev.type == ButtonPress || ev.type == ButtonRelease) {
        buttons_.push_back({ev.type == ButtonPress, ev.xbutton.button, ev.xbutton.x, ev.xbutton.y});
      }
    }
  }

  void type(const std::string& text) {
    for (char c : text) {
      const auto keysym = static_cast<uint32_t>(static_cast<unsigned char>(c));
      input_->key(keysym, true);
      input_->key(keysym, false);
    }
    input_->flush();
  }

  bool any_key_down() {
    char keys[32];
    XQueryKeymap(observer_->get(), keys);
    for (char k : keys) {
      if (k != 0) return true;
    }
    return false;
  }

  struct Button {
    bool press;
    unsigned button;
    int x, y;
    bool operator==(const Button&) const = default;
  };

  std::optional<X11Display> observer_;
  std::unique_ptr<X11Input> input_;
  Window window_ = 0;
  std::string typed_;
  std::vector<KeySym> keysyms_;
  std::vector<unsigned> keycodes_;
  std::vector<Button> buttons_;
};

TEST_F(X11InputTest, PointerMotionMovesThePointer) {
  for (const std::pair<int, int>& at : {std::pair{123, 45}, std::pair{0, 0}, std::pair{639, 479}}) {
    // Plain ints, not structured bindings: clang before 16 cannot capture those in a lambda.
    const int x = at.first, y = at.second;
    input_->pointer(x, y, 0);
    input_->flush();
    int px = -1, py = -1;
    EXPECT_TRUE(wait_until(
        [&] {
          Window root, child;
          int wx, wy;
          unsigned mask;
          XQueryPointer(observer_->get(), observer_->root(), &root, &child, &px, &py, &wx, &wy,
                        &mask);
          return px == x && py == y;
        },
        3s))
        << "pointer at " << px << "," << py << ", wanted " << x << "," << y;
  }
}

TEST_F(X11InputTest, ButtonsAndWheelArePressedAndReleased) {
  ASSERT_NO_FATAL_FAILURE(open_window());
  input_->pointer(50, 60, 0x01);
  input_->flush();
  ASSERT_TRUE(wait_until([&] { return buttons_.size() == 1; }, 3s, [&] { pump(); }));
  EXPECT_EQ(buttons_[0], (Button{true, 1, 50, 60}));
  Window root, child;
  int rx, ry, wx, wy;
  unsigned mask = 0;
  XQueryPointer(observer_->get(), observer_->root(), &root, &child, &rx, &ry, &wx, &wy, &mask);
  EXPECT_TRUE(mask & Button1Mask);

  input_->pointer(52, 60, 0x00);  // Move and release together.
  input_->pointer(52, 60, 0x08);  // Wheel up: button 4.
  input_->pointer(52, 60, 0x00);
  input_->pointer(52, 60, 0x40);  // Horizontal wheel: button 7.
  input_->pointer(52, 60, 0x00);
  input_->flush();
  ASSERT_TRUE(wait_until([&] { return buttons_.size() == 6; }, 3s, [&] { pump(); }));
  EXPECT_EQ(buttons_[1], (Button{false, 1, 52, 60}));
  EXPECT_EQ(buttons_[2], (Button{true, 4, 52, 60}));
  EXPECT_EQ(buttons_[3], (Button{false, 4, 52, 60}));
  EXPECT_EQ(buttons_[4], (Button{true, 7, 52, 60}));
  EXPECT_EQ(buttons_[5], (Button{false, 7, 52, 60}));
}

TEST_F(X11InputTest, TypesUppercaseAndSymbols) {
  ASSERT_NO_FATAL_FAILURE(open_window());
  const std::string text = "Hello, World! _@ ~{}|\"<>?:+ 1234567890-=[];'\\,./`";
  type(text);
  EXPECT_TRUE(wait_until([&] { return typed_.size() >= text.size(); }, 5s, [&] { pump(); }));
  EXPECT_EQ(typed_, text);
  EXPECT_TRUE(wait_until([&] { return !any_key_down(); }, 3s));  // No stuck keys.
}

TEST_F(X11InputTest, ClientHeldShiftIsRespected) {
  ASSERT_NO_FATAL_FAILURE(open_window());
  input_->key(XK_Shift_L, true);
  input_->key(XK_A, true);  // Already shifted: no extra Shift.
  input_->key(XK_A, false);
  input_->key(XK_1, true);  // The client wants '1' with Shift held: Shift is lifted for it.
  input_->key(XK_1, false);
  input_->key(XK_exclam, true);
  input_->key(XK_exclam, false);
  input_->key(XK_Shift_L, false);
  input_->key(XK_b, true);
  input_->key(XK_b, false);
  input_->flush();
  EXPECT_TRUE(wait_until([&] { return typed_.size() >= 4; }, 5s, [&] { pump(); }));
  EXPECT_EQ(typed_, "A1!b");
  EXPECT_TRUE(wait_until([&] { return !any_key_down(); }, 3s));  // No stuck keys.
}

TEST_F(X11InputTest, KeysymsMissingFromTheKeymapUseASpareKeycode) {
  ASSERT_NO_FATAL_FAILURE(open_window());
  // None of these is on Xvfb's default US keymap.
  const std::vector<KeySym> wanted = {XK_eacute, XK_ssharp, XK_EuroSign, XK_eacute};
  for (KeySym ks : wanted) {
    input_->key(static_cast<uint32_t>(ks), true);
    input_->key(static_cast<uint32_t>(ks), false);
  }
  input_->flush();
  EXPECT_TRUE(wait_until([&] { return keysyms_.size() >= wanted.size(); }, 5s, [&] { pump(); }));
  EXPECT_EQ(keysyms_, wanted);
  EXPECT_EQ(typed_.substr(0, 2), "\xe9\xdf");  // Latin-1, as XLookupString gives it.
  EXPECT_TRUE(wait_until([&] { return !any_key_down(); }, 3s));  // No stuck keys.
}

TEST_F(X11InputTest, ReleaseGoesToTheKeycodeOfThePress) {
  ASSERT_NO_FATAL_FAILURE(open_window());
  input_->key(XK_eacute, true);                           // Held on a remapped spare keycode...
  for (KeySym ks : {XK_ntilde, XK_ccedilla, XK_aring}) {  // ...while other spares get remapped.
    input_->key(static_cast<uint32_t>(ks), true);
    input_->key(static_cast<uint32_t>(ks), false);
  }
  input_->flush();
  EXPECT_TRUE(wait_until([&] { return any_key_down(); }, 3s));
  input_->key(XK_eacute, false);
  input_->flush();
  EXPECT_TRUE(wait_until([&] { return !any_key_down(); }, 3s));
  EXPECT_TRUE(wait_until([&] { return keysyms_.size() >= 4; }, 5s, [&] { pump(); }));
  EXPECT_EQ(keysyms_, (std::vector<KeySym>{XK_eacute, XK_ntilde, XK_ccedilla, XK_aring}));
}

TEST_F(X11InputTest, KeymapChangesByOtherClientsAreSeen) {
  ASSERT_NO_FATAL_FAILURE(open_window());
  // Another client (xmodmap, say) puts a keysym on a keycode after X11Input read the map: the
  // key must come from there, not from a spare X11Input remaps itself.
  Display* dpy = observer_->get();
  const KeyCode kc = lowest_empty_keycode();
  ASSERT_NE(kc, 0);
  int per = 0;
  XFree(XGetKeyboardMapping(dpy, kc, 1, &per));
  ASSERT_GT(per, 0);
  std::vector<KeySym> row(static_cast<size_t>(per), NoSymbol);
  row[0] = XK_oslash;
  XChangeKeyboardMapping(dpy, kc, per, row.data(), 1);
  XSync(dpy, False);
  input_->key(XK_oslash, true);
  input_->key(XK_oslash, false);
  input_->flush();
  EXPECT_TRUE(wait_until([&] { return keysyms_.size() >= 1; }, 5s, [&] { pump(); }));
  EXPECT_EQ(keysyms_, std::vector<KeySym>{XK_oslash});
  EXPECT_EQ(keycodes_, std::vector<unsigned>{kc});
  std::fill(row.begin(), row.end(), NoSymbol);
  XChangeKeyboardMapping(dpy, kc, per, row.data(), 1);
  XSync(dpy, False);
}

TEST_F(X11InputTest, DestructionReleasesHeldKeysAndButtons) {
  input_->key(XK_b, true);
  input_->pointer(10, 10, 0x01);
  input_->flush();
  EXPECT_TRUE(wait_until([&] { return any_key_down(); }, 3s));
  input_.reset();
  EXPECT_FALSE(any_key_down());
  Window root, child;
  int rx, ry, wx, wy;
  unsigned mask = 0;
  XQueryPointer(observer_->get(), observer_->root(), &root, &child, &rx, &ry, &wx, &wy, &mask);
  EXPECT_EQ(mask & Button1Mask, 0u);
}

}  // namespace
}  // namespace vncd::platform
