#include "security/password_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.h"

namespace vncd::security {
namespace {

using test::from_hex;
using test::to_hex;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/vncd-security-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good());
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Files made with TigerVNC 1.12's `vncpasswd -f` (Debian's tigervnc-tools), recorded when this
// test was written: `printf 'FULL\n[VIEW\n]' | vncpasswd -f | xxd -p`.
struct RealFile {
  const char* full_in;  // What was typed.
  const char* view_in;  // Empty: only one line was given.
  const char* hex;
  const char* full_out;  // What the file holds after VNC's truncation.
};
constexpr RealFile kRealFiles[] = {
    {"a", "", "d8d1e367e1d17646", "a"},
    {"abc", "", "9c0a172d3482e122", "abc"},
    {"secret", "", "2e2dbf576eb06c9e", "secret"},
    {"12345678", "", "f0e43164f6c2e373", "12345678"},
    {"longerpassword123", "", "3304170a9da9af69", "longerpa"},
    {"p@ss w0rd!", "", "0adebae9275d0354", "p@ss w0r"},
    {"secret", "view12", "2e2dbf576eb06c9eceeac47069c9f36c", "secret"},
    {"12345678", "abc", "f0e43164f6c2e3739c0a172d3482e122", "12345678"},
};

TEST(PasswordFile, DecodesRecordedVncpasswdFiles) {
  for (const auto& rf : kRealFiles) {
    Result<VncPasswords> pw = decode_password_file(from_hex(rf.hex));
    ASSERT_TRUE(pw.ok()) << rf.hex << ": " << pw.error().message();
    EXPECT_EQ(pw->full, rf.full_out);
    EXPECT_EQ(pw->view_only, rf.view_in);
  }
}

TEST(PasswordFile, EncodesLikeVncpasswd) {
  for (const auto& rf : kRealFiles) {
    Result<std::vector<uint8_t>> bytes = encode_password_file(VncPasswords{rf.full_in, rf.view_in});
    ASSERT_TRUE(bytes.ok()) << bytes.error().message();
    EXPECT_EQ(to_hex(*bytes), rf.hex) << rf.full_in;
  }
}

// Runs the real tool when it is installed, and otherwise falls back to the recorded bytes of
// the very same command, so the test always checks read_password_file() against vncpasswd output.
TEST(PasswordFile, ReadsFilesMadeByVncpasswd) {
  TempDir dir;
  bool have_tool = std::system("command -v vncpasswd >/dev/null 2>&1") == 0;
  int n = 0;
  for (const auto& rf : kRealFiles) {
    std::string path = dir.file("passwd" + std::to_string(n++));
    if (have_tool) {
      std::string input = std::string(rf.full_in) + "\\n";
      if (*rf.view_in) input += std::string(rf.view_in) + "\\n";
      std::string cmd = "printf '" + input + "' | vncpasswd -f > " + path;
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
      EXPECT_EQ(to_hex(read_bytes(path)), rf.hex) << "vncpasswd output changed for " << rf.full_in;
    } else {
      write_bytes(path, from_hex(rf.hex));
    }
    Result<VncPasswords> pw = read_password_file(path);
    ASSERT_TRUE(pw.ok()) << pw.error().message();
    EXPECT_EQ(pw->full, rf.full_out);
    EXPECT_EQ(pw->view_only, rf.view_in);
  }
}

TEST(PasswordFile, WriteThenReadRoundTrips) {
  TempDir dir;
  const std::string path = dir.file("passwd");
  ASSERT_TRUE(write_password_file(path, VncPasswords{"secret", ""}).ok());
  EXPECT_EQ(to_hex(read_bytes(path)), "2e2dbf576eb06c9e");
  Result<VncPasswords> pw = read_password_file(path);
  ASSERT_TRUE(pw.ok()) << pw.error().message();
  EXPECT_EQ(pw->full, "secret");
  EXPECT_EQ(pw->view_only, "");

  // Overwrites, adding a view-only password; long passwords come back truncated.
  ASSERT_TRUE(write_password_file(path, VncPasswords{"longerpassword123", "viewer-only"}).ok());
  pw = read_password_file(path);
  ASSERT_TRUE(pw.ok()) << pw.error().message();
  EXPECT_EQ(pw->full, "longerpa");
  EXPECT_EQ(pw->view_only, "viewer-o");
}

TEST(PasswordFile, WrittenFileIsPrivateEvenOverAnOpenFile) {
  TempDir dir;
  const std::string path = dir.file("passwd");
  write_bytes(path, {1, 2, 3});
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  mode_t old_mask = ::umask(0);
  Status s = write_password_file(path, VncPasswords{"secret", ""});
  ::umask(old_mask);
  ASSERT_TRUE(s.ok()) << s.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.file("")))
    ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(PasswordFile, WriteRejectsUnstorablePasswords) {
  TempDir dir;
  const std::string path = dir.file("passwd");
  Status s = write_password_file(path, VncPasswords{"", ""});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("empty"), std::string::npos) << s.error().message();
  s = write_password_file(path, VncPasswords{std::string("ab\0cd", 5), ""});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("zero byte"), std::string::npos) << s.error().message();
  // A zero byte after the 8 kept bytes is cut off with the rest, so it is fine.
  EXPECT_TRUE(encode_password_file(VncPasswords{std::string("12345678\0x", 10), ""}).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  // An unwritable place gives an error naming it.
  s = write_password_file(dir.file("no/such/dir/passwd"), VncPasswords{"secret", ""});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("no/such/dir"), std::string::npos) << s.error().message();
}

TEST(PasswordFile, MissingFileIsAClearError) {
  TempDir dir;
  const std::string path = dir.file("absent");
  Result<VncPasswords> pw = read_password_file(path);
  ASSERT_FALSE(pw.ok());
  EXPECT_EQ(pw.error().message(), "password file " + path + " does not exist");
}

TEST(PasswordFile, DirectoryIsNotAPasswordFile) {
  TempDir dir;
  Result<VncPasswords> pw = read_password_file(dir.file(""));
  ASSERT_FALSE(pw.ok());
  EXPECT_NE(pw.error().message().find("not a regular file"), std::string::npos);
}

// A path that cannot be opened for a reason other than absence (here ENOTDIR, which holds
// whoever runs the test, root included) reports the reason from the system.
TEST(PasswordFile, UnopenableFileIsAClearError) {
  TempDir dir;
  const std::string parent = dir.file("plainfile");
  write_bytes(parent, from_hex("2e2dbf576eb06c9e"));
  const std::string path = parent + "/passwd";
  Result<VncPasswords> pw = read_password_file(path);
  ASSERT_FALSE(pw.ok());
  EXPECT_EQ(pw.error().message(), "cannot open password file " + path + ": Not a directory");
}

TEST(PasswordFile, WrongSizesAreRejectedWithTheSize) {
  TempDir dir;
  for (size_t size : {size_t{0}, size_t{7}, size_t{9}, size_t{15}, size_t{17}, size_t{4096}}) {
    const std::string path = dir.file("size" + std::to_string(size));
    write_bytes(path, std::vector<uint8_t>(size, 0x5a));
    Result<VncPasswords> pw = read_password_file(path);
    ASSERT_FALSE(pw.ok()) << size;
    EXPECT_NE(pw.error().message().find(" is " + std::to_string(size) + " bytes"),
              std::string::npos)
        << pw.error().message();
    Result<VncPasswords> decoded = decode_password_file(std::vector<uint8_t>(size, 0x5a));
    EXPECT_FALSE(decoded.ok()) << size;
  }
}

TEST(PasswordFile, RejectsBlocksThatAreNotVncpasswdPasswords) {
  // Eight bytes of text: the right size, but they do not decrypt to a zero-padded password.
  Result<VncPasswords> pw =
      decode_password_file(std::vector<uint8_t>{'p', 'a', 's', 's', 'w', 'o', 'r', 'd'});
  ASSERT_FALSE(pw.ok());
  EXPECT_NE(pw.error().message().find("not a vncpasswd"), std::string::npos)
      << pw.error().message();
  // An encrypted empty password (all zeros before encryption) is refused.
  Result<std::vector<uint8_t>> blank = encode_password_file(VncPasswords{"x", ""});
  ASSERT_TRUE(blank.ok());
  Des des(reverse_key_bits(kVncPasswdObfuscationKey));
  DesBlock zero_block{};
  DesBlock empty_password = des.encrypt(zero_block);
  pw = decode_password_file(empty_password);
  ASSERT_FALSE(pw.ok());
  EXPECT_NE(pw.error().message().find("empty"), std::string::npos);
  // ...but an empty view-only block just means "no view-only password".
  std::vector<uint8_t> with_empty_view = *blank;
  with_empty_view.insert(with_empty_view.end(), empty_password.begin(), empty_password.end());
  pw = decode_password_file(with_empty_view);
  ASSERT_TRUE(pw.ok()) << pw.error().message();
  EXPECT_EQ(pw->full, "x");
  EXPECT_EQ(pw->view_only, "");
}

}  // namespace
}  // namespace vncd::security
