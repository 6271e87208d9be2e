// Text codec: Latin-1 <-> UTF-8 for the clipboard (RFB cut text is Latin-1, X11 prefers
// UTF8_STRING). Pure functions, no state.
#pragma once

#include <string>
#include <string_view>

namespace vncd::platform {

// Every Latin-1 byte is a code point U+0000..U+00FF, so this never fails.
std::string latin1_to_utf8(std::string_view latin1);

// Code points above U+00FF, and malformed UTF-8 (bad lead or continuation bytes, overlong forms,
// truncated sequences), become '?' (one per code point, or per invalid byte).
std::string utf8_to_latin1(std::string_view utf8);

}  // namespace vncd::platform
