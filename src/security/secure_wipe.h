// Secure wipe: overwrite secret bytes (passwords, DES keys) so they do not linger in freed memory.
// A free function over caller-owned memory; thread-safe as long as the caller owns the bytes.
#pragma once

#include <string.h>  // explicit_bzero (glibc), which the compiler may not optimise away

#include <cstddef>
#include <string>

namespace vncd::security {

inline void secure_wipe(void* p, size_t n) {
  if (n != 0) explicit_bzero(p, n);
}

// Clears a string's live bytes before it is released. Copies made earlier by reallocation are out
// of reach; this narrows, not closes, the window in which a password sits in memory.
inline void secure_wipe(std::string& s) {
  secure_wipe(s.data(), s.size());
  s.clear();
}

}  // namespace vncd::security
