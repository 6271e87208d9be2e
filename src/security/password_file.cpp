#include "security/password_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "security/secure_wipe.h"

namespace vncd::security {
namespace {

// Read at most one byte more than the largest valid file, so an oversized file is recognised
// without reading all of it.
constexpr size_t kReadLimit = kPasswordFileWithViewSize + 1;

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close(2) may return for a file just written.
  int close_checked() {
    int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

// Removes the temporary file unless the write got as far as renaming it into place.
class RemoveOnFailure {
 public:
  explicit RemoveOnFailure(std::string path) : path_(std::move(path)) {}
  ~RemoveOnFailure() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  RemoveOnFailure(const RemoveOnFailure&) = delete;
  RemoveOnFailure& operator=(const RemoveOnFailure&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

std::string errno_text() {
  return std::strerror(errno);
}

Error file_error(const std::string& what, const std::string& path) {
  return Error(what + " password file " + path + ": " + errno_text());
}

// vncpasswd's key for its fixed obfuscation, converted to FIPS bit order once per use.
Des obfuscation_cipher() {
  return Des(reverse_key_bits(kVncPasswdObfuscationKey));
}

// Decrypts one 8-byte block to the zero-padded password it holds.
Result<std::string> decode_block(const Des& des, std::span<const uint8_t, kDesBlockSize> block,
                                 std::string_view which) {
  DesBlock plain = des.decrypt(block);
  auto end = std::find(plain.begin(), plain.end(), uint8_t{0});
  bool padding_clean = std::all_of(end, plain.end(), [](uint8_t b) { return b == 0; });
  std::string password(plain.begin(), end);
  secure_wipe(plain.data(), plain.size());
  if (!padding_clean) {
    secure_wipe(password);
    return Error("the " + std::string(which) +
                 " password block is not a vncpasswd password (it does not decrypt to a "
                 "zero-padded string): not a vncpasswd file, or made with another key");
  }
  return password;
}

Status check_encodable(std::string_view password, std::string_view which) {
  std::string_view kept = password.substr(0, std::min(password.size(), kVncPasswordMaxLength));
  if (kept.find('\0') != std::string_view::npos) {
    return Error("the " + std::string(which) +
                 " password contains a zero byte, which a vncpasswd file cannot hold");
  }
  return {};
}

void append_block(const Des& des, std::string_view password, std::vector<uint8_t>& out) {
  DesBlock plain{};
  std::copy_n(password.begin(), std::min(password.size(), plain.size()), plain.begin());
  DesBlock cipher = des.encrypt(plain);
  secure_wipe(plain.data(), plain.size());
  out.insert(out.end(), cipher.begin(), cipher.end());
}

}  // namespace

Result<VncPasswords> decode_password_file(std::span<const uint8_t> bytes) {
  if (bytes.size() != kPasswordFileFullSize && bytes.size() != kPasswordFileWithViewSize) {
    return Error("a vncpasswd file is 8 bytes (or 16 with a view-only password), not " +
                 std::to_string(bytes.size()));
  }
  Des des = obfuscation_cipher();
  VncPasswords out;
  Result<std::string> full = decode_block(des, bytes.first<kDesBlockSize>(), "full-access");
  if (!full.ok()) return full.error();
  out.full = std::move(full.value());
  if (out.full.empty()) return Error("the file holds an empty full-access password");
  if (bytes.size() == kPasswordFileWithViewSize) {
    Result<std::string> view =
        decode_block(des, bytes.subspan(kDesBlockSize).first<kDesBlockSize>(), "view-only");
    if (!view.ok()) {
      secure_wipe(out.full);
      return view.error();
    }
    out.view_only = std::move(view.value());
  }
  return out;
}

Result<std::vector<uint8_t>> encode_password_file(const VncPasswords& passwords) {
  if (passwords.full.empty()) return Error("the full-access password is empty");
  if (Status s = check_encodable(passwords.full, "full-access"); !s.ok()) return s.error();
  if (Status s = check_encodable(passwords.view_only, "view-only"); !s.ok()) return s.error();
  Des des = obfuscation_cipher();
  std::vector<uint8_t> out;
  out.reserve(kPasswordFileWithViewSize);
  append_block(des, passwords.full, out);
  if (!passwords.view_only.empty()) append_block(des, passwords.view_only, out);
  return out;
}

Result<VncPasswords> read_password_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Error("password file " + path + " does not exist");
    return file_error("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return file_error("cannot stat", path);
  if (!S_ISREG(st.st_mode)) return Error("password file " + path + " is not a regular file");

  std::array<uint8_t, kReadLimit> buf{};
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return file_error("cannot read", path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != kPasswordFileFullSize && got != kPasswordFileWithViewSize) {
    secure_wipe(buf.data(), buf.size());
    // Report the real size when the file is larger than what was read.
    auto size = got < kReadLimit ? got : static_cast<size_t>(st.st_size);
    return Error("password file " + path + " is " + std::to_string(size) +
                 " bytes; a vncpasswd file is 8 bytes (or 16 with a view-only password)");
  }
  Result<VncPasswords> decoded = decode_password_file(std::span<const uint8_t>(buf.data(), got));
  secure_wipe(buf.data(), buf.size());
  if (!decoded.ok()) return Error("password file " + path + ": " + decoded.error().message());
  return decoded;
}

Status write_password_file(const std::string& path, const VncPasswords& passwords) {
  Result<std::vector<uint8_t>> bytes = encode_password_file(passwords);
  if (!bytes.ok()) return Error("cannot store password: " + bytes.error().message());

  std::string tmp = path + ".XXXXXX";
  // mkostemp creates the file with mode 0600 whatever the umask.
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (fd.get() < 0) return Error("cannot create " + tmp + ": " + errno_text());
  RemoveOnFailure cleanup(tmp);

  if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) return file_error("cannot chmod", tmp);
  size_t done = 0;
  while (done < bytes->size()) {
    ssize_t n = ::write(fd.get(), bytes->data() + done, bytes->size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return file_error("cannot write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return file_error("cannot sync", tmp);
  if (fd.close_checked() != 0) return file_error("cannot close", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error("cannot rename " + tmp + " to " + path + ": " + errno_text());
  }
  cleanup.release();
  return {};
}

}  // namespace vncd::security
