// EncoderRegistry: the table of encodings vncd can produce, each with a factory for its
// per-connection Encoder. Built once at start-up; read-only afterwards (shareable across threads).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "rfb/encoder.h"

namespace vncd::enc {

class EncoderRegistry {
 public:
  using Factory = std::function<std::unique_ptr<rfb::Encoder>()>;

  // Every encoding built into vncd.
  static EncoderRegistry builtin();

  void add(int32_t encoding, std::string name, Factory factory);
  bool supports(int32_t encoding) const { return entries_.count(encoding) != 0; }
  // A new encoder for `encoding`, or nullptr when it is not supported.
  std::unique_ptr<rfb::Encoder> create(int32_t encoding) const;
  // "Raw", "ZRLE", ...; or the number for unknown encodings.
  std::string name(int32_t encoding) const;

 private:
  struct Entry {
    std::string name;
    Factory factory;
  };
  std::map<int32_t, Entry> entries_;
};

}  // namespace vncd::enc
