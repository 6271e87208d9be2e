// Tests for the command-line parser: every flag, every alias, both value forms, and the one-line
// errors a user sees for bad input.
#include "server/cli_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <set>
#include <string>
#include <vector>

namespace vncd::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<Options> parse(std::initializer_list<const char*> args) {
  std::vector<const char*> v(args);
  return parse_options(std::span<const char* const>(v.data(), v.size()));
}

Options parse_ok(std::initializer_list<const char*> args) {
  auto r = parse(args);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? r.value() : Options{};
}

std::string parse_error(std::initializer_list<const char*> args) {
  auto r = parse(args);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return {};
  const std::string& m = r.error().message();
  EXPECT_THAT(m, StartsWith("vncd: "));
  EXPECT_EQ(m.find('\n'), std::string::npos) << "errors are one line: " << m;
  return m;
}

TEST(CliOptions, Defaults) {
  Options o = parse_ok({});
  EXPECT_EQ(o.server.port, 5900);
  EXPECT_EQ(o.server.listen_address, "0.0.0.0");
  EXPECT_TRUE(o.display.empty());
  EXPECT_FALSE(o.virtual_requested);
  EXPECT_EQ(o.virtual_size, (VirtualSize{1920, 1080, 24}));
  EXPECT_FALSE(o.session_given);
  EXPECT_TRUE(o.password_file.empty());
  // No credentials on a public address: no default list, and vncd refuses to start.
  EXPECT_EQ(o.security_list(), "");
  EXPECT_FALSE(o.insecure_exposure());
  EXPECT_FALSE(o.check_authentication().ok());
  EXPECT_EQ(o.log_level, log::Level::kInfo);
  EXPECT_FALSE(o.server.view_only);
  EXPECT_EQ(o.server.share_policy, SharePolicy::kClientDecides);
  EXPECT_FALSE(o.server.dont_disconnect);
  EXPECT_FALSE(o.server.once);
  EXPECT_EQ(o.server.max_fps, ServerConfig{}.max_fps);
  EXPECT_TRUE(o.server.desktop_name.empty());
  EXPECT_FALSE(o.help);
  EXPECT_FALSE(o.version);
}

TEST(CliOptions, Display) {
  EXPECT_EQ(parse_ok({"--display", ":3"}).display, ":3");
  EXPECT_EQ(parse_ok({"--display=:4.0"}).display, ":4.0");
  EXPECT_EQ(parse_ok({"-display", "host:1"}).display, "host:1");
  EXPECT_THAT(parse_error({"--display"}), HasSubstr("--display needs a value"));
  EXPECT_THAT(parse_error({"--display="}), HasSubstr("--display needs a display name"));
}

TEST(CliOptions, Port) {
  EXPECT_EQ(parse_ok({"--port", "5901"}).server.port, 5901);
  EXPECT_EQ(parse_ok({"--port=0"}).server.port, 0);
  EXPECT_EQ(parse_ok({"--port", "65535"}).server.port, 65535);
  EXPECT_EQ(parse_ok({"-rfbport", "5902"}).server.port, 5902);
  const std::string want = "vncd: --port needs a number between 0 and 65535";
  EXPECT_EQ(parse_error({"--port", "65536"}), want);
  EXPECT_EQ(parse_error({"--port", "-1"}), want);
  EXPECT_EQ(parse_error({"--port", "+5"}), want);
  EXPECT_EQ(parse_error({"--port", "59x"}), want);
  EXPECT_EQ(parse_error({"--port", ""}), want);
  EXPECT_EQ(parse_error({"--port="}), want);
  EXPECT_EQ(parse_error({"--port", "0x10"}), want);
  EXPECT_EQ(parse_error({"--port", "99999999999999999999"}), want);
  EXPECT_EQ(parse_error({"--port"}), "vncd: --port needs a value (N)");
}

TEST(CliOptions, ListenAndLocalhost) {
  EXPECT_EQ(parse_ok({"--listen", "10.0.0.1"}).server.listen_address, "10.0.0.1");
  EXPECT_EQ(parse_ok({"--listen=::1"}).server.listen_address, "::1");
  EXPECT_EQ(parse_ok({"--localhost"}).server.listen_address, "127.0.0.1");
  EXPECT_EQ(parse_ok({"-localhost"}).server.listen_address, "127.0.0.1");
  EXPECT_FALSE(parse_ok({"--localhost"}).insecure_exposure());
  // The last of --listen / --localhost wins.
  EXPECT_EQ(parse_ok({"--localhost", "--listen", "0.0.0.0"}).server.listen_address, "0.0.0.0");
  EXPECT_THAT(parse_error({"--listen="}), HasSubstr("--listen needs an address"));
  EXPECT_THAT(parse_error({"--localhost=yes"}), HasSubstr("--localhost takes no value"));
}

TEST(CliOptions, PasswordFileAndSecurity) {
  Options o = parse_ok({"--password-file", "/tmp/p"});
  EXPECT_EQ(o.password_file, "/tmp/p");
  EXPECT_EQ(o.security_list(), "tlsvnc,vncauth");
  EXPECT_FALSE(o.insecure_exposure());
  EXPECT_EQ(parse_ok({"-rfbauth", "/x/passwd"}).password_file, "/x/passwd");
  EXPECT_EQ(parse_ok({"--password-file=/y"}).password_file, "/y");

  Options both = parse_ok({"--password-file", "/p", "--security", "vncauth,none"});
  EXPECT_EQ(both.security_list(), "vncauth,none");
  EXPECT_TRUE(both.insecure_exposure());
  EXPECT_FALSE(parse_ok({"--security=none", "--listen", "127.0.0.5"}).insecure_exposure());
  EXPECT_EQ(parse_ok({"--security", "none"}).security_list(), "none");

  EXPECT_THAT(parse_error({"--security", "vncauth"}), HasSubstr("needs --password-file"));
  EXPECT_THAT(parse_error({"--security", "bogus"}), HasSubstr("--security"));
  EXPECT_THAT(parse_error({"--security", "bogus"}), HasSubstr("bogus"));
  EXPECT_THAT(parse_error({"--security="}), HasSubstr("--security"));
  EXPECT_THAT(parse_error({"--security", "none,none"}), HasSubstr("twice"));
  EXPECT_THAT(parse_error({"--password-file="}), HasSubstr("--password-file needs a file"));
}

TEST(CliOptions, VeNCryptSettings) {
  Options o = parse_ok({"--security", "x509vnc,x509plain", "--password-file", "/p", "--x509-cert",
                        "/c.pem", "--x509-key=/k.pem", "--plain-users", " alice, bob ,",
                        "--pam-service", "login", "--allow-plain-unencrypted"});
  EXPECT_EQ(o.security_list(), "x509vnc,x509plain");
  EXPECT_EQ(o.x509_cert, "/c.pem");
  EXPECT_EQ(o.x509_key, "/k.pem");
  EXPECT_EQ(o.plain_users, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(o.pam_service, "login");
  EXPECT_TRUE(o.allow_plain_unencrypted);
  EXPECT_FALSE(o.insecure_exposure());
  EXPECT_EQ(parse_ok({"--plain-users", "*"}).plain_users, (std::vector<std::string>{"*"}));
  EXPECT_THAT(parse_error({"--plain-users", " , "}), HasSubstr("--plain-users needs"));
  EXPECT_THAT(parse_error({"--x509-cert="}), HasSubstr("--x509-cert needs a file"));
  EXPECT_THAT(parse_error({"--x509-key", ""}), HasSubstr("--x509-key needs a file"));
  EXPECT_THAT(parse_error({"--pam-service="}), HasSubstr("--pam-service needs"));
  EXPECT_THAT(parse_error({"--allow-plain-unencrypted=1"}), HasSubstr("takes no value"));
  // Types that let anyone in, encrypted or not, count as exposure on a public address.
  EXPECT_TRUE(parse_ok({"--security", "TLSNone"}).insecure_exposure());
  EXPECT_TRUE(parse_ok({"--security", "x509none", "--x509-cert", "c", "--x509-key", "k"})
                  .insecure_exposure());
  EXPECT_FALSE(parse_ok({"--security", "tlsnone", "--localhost"}).insecure_exposure());
  // vncauth inside VeNCrypt also needs the password file.
  EXPECT_THAT(parse_error({"--security", "tlsvnc"}), HasSubstr("--password-file"));
}

// The default list is never weaker than the credentials given allow, and None only on loopback.
TEST(CliOptions, DefaultSecurity) {
  const std::string refusal =
      "vncd: refusing to serve without authentication on 0.0.0.0: give --password-file, "
      "--x509-cert with --plain-users, --localhost, or --security none";
  Options bare = parse_ok({});
  ASSERT_FALSE(bare.check_authentication().ok());
  EXPECT_EQ(bare.check_authentication().error().message(), refusal);
  Options v6 = parse_ok({"--listen", "::"});
  ASSERT_FALSE(v6.check_authentication().ok());
  EXPECT_THAT(v6.check_authentication().error().message(), HasSubstr("on ::: give"));

  for (const char* loopback : {"127.0.0.1", "::1", "localhost", "127.0.0.9"}) {
    Options o = parse_ok({"--listen", loopback});
    EXPECT_EQ(o.security_list(), "none") << loopback;
    EXPECT_TRUE(o.check_authentication().ok()) << loopback;
  }
  EXPECT_EQ(parse_ok({"--localhost"}).security_list(), "none");

  // An explicit list is always honoured, None included.
  Options none = parse_ok({"--security", "none"});
  EXPECT_EQ(none.security_list(), "none");
  EXPECT_TRUE(none.check_authentication().ok());
  EXPECT_TRUE(none.insecure_exposure());

  Options pw = parse_ok({"--password-file", "/p"});
  EXPECT_EQ(pw.security_list(), "tlsvnc,vncauth");
  EXPECT_TRUE(pw.check_authentication().ok());
  EXPECT_EQ(parse_ok({"--password-file", "/p", "--localhost"}).security_list(), "tlsvnc,vncauth");

  // A certificate: only X.509 types, and only those the credentials allow.
  EXPECT_EQ(
      parse_ok({"--x509-cert", "c", "--x509-key", "k", "--password-file", "/p"}).security_list(),
      "x509vnc");
  EXPECT_EQ(
      parse_ok({"--x509-cert", "c", "--x509-key", "k", "--plain-users", "alice"}).security_list(),
      "x509plain");
  EXPECT_EQ(parse_ok({"--x509-cert", "c", "--x509-key", "k", "--plain-users", "alice",
                      "--password-file", "/p"})
                .security_list(),
            "x509plain,x509vnc");
  // A certificate without credentials authenticates nobody: the no-credentials rule applies.
  EXPECT_FALSE(parse_ok({"--x509-cert", "c", "--x509-key", "k"}).check_authentication().ok());
  EXPECT_EQ(parse_ok({"--x509-cert", "c", "--x509-key", "k", "--localhost"}).security_list(),
            "none");
  // Plain users alone would send system passwords over anonymous TLS: not a default.
  EXPECT_FALSE(parse_ok({"--plain-users", "alice"}).check_authentication().ok());
  EXPECT_EQ(parse_ok({"--security", "x509vnc", "--x509-cert", "c", "--password-file", "/p",
                      "--plain-users", "alice"})
                .security_list(),
            "x509vnc");
}

TEST(CliOptions, Limits) {
  const ServerConfig defaults;
  Options d = parse_ok({});
  EXPECT_EQ(d.server.max_clients, 100);
  EXPECT_EQ(d.server.handshake_timeout_s, 30);
  EXPECT_EQ(d.server.max_unauthenticated_per_address, 5);
  EXPECT_EQ(d.server.idle_timeout_ms, 0);
  EXPECT_EQ(d.server.limits.max_cut_text, 1u << 20);
  EXPECT_EQ(d.server.limits.max_encodings, 1024);
  EXPECT_EQ(d.server.blacklist_threshold, 5);
  EXPECT_EQ(d.server.blacklist_timeout_s, 10);
  EXPECT_TRUE(d.server.allow.empty());
  EXPECT_TRUE(d.server.deny.empty());

  Options o =
      parse_ok({"--max-clients", "7", "--handshake-timeout=12", "--max-unauthenticated-per-address",
                "2", "--idle-timeout", "300", "--max-cut-text", "4096", "--max-encodings", "64",
                "--blacklist-threshold", "3", "--blacklist-timeout", "60"});
  EXPECT_EQ(o.server.max_clients, 7);
  EXPECT_EQ(o.server.handshake_timeout_s, 12);
  EXPECT_EQ(o.server.max_unauthenticated_per_address, 2);
  EXPECT_EQ(o.server.idle_timeout_ms, 300000);
  EXPECT_EQ(o.server.limits.max_cut_text, 4096u);
  EXPECT_EQ(o.server.limits.max_cut_text_wire, defaults.limits.max_cut_text_wire);
  EXPECT_EQ(o.server.limits.max_encodings, 64);
  EXPECT_EQ(o.server.blacklist_threshold, 3);
  EXPECT_EQ(o.server.blacklist_timeout_s, 60);
  EXPECT_EQ(parse_ok({"--blacklist-threshold", "0"}).server.blacklist_threshold, 0);
  EXPECT_EQ(parse_ok({"--max-clients", "0"}).server.max_clients, 0);
  EXPECT_EQ(parse_ok({"--max-cut-text", "0"}).server.limits.max_cut_text, 0u);

  EXPECT_THAT(parse_error({"--handshake-timeout", "0"}), HasSubstr("--handshake-timeout needs"));
  EXPECT_THAT(parse_error({"--idle-timeout", "-1"}), HasSubstr("--idle-timeout needs"));
  EXPECT_THAT(parse_error({"--idle-timeout", "604801"}), HasSubstr("--idle-timeout needs"));
  EXPECT_THAT(parse_error({"--max-encodings", "0"}), HasSubstr("--max-encodings needs"));
  EXPECT_THAT(parse_error({"--max-encodings", "65536"}), HasSubstr("--max-encodings needs"));
  EXPECT_THAT(parse_error({"--max-cut-text", "268435457"}), HasSubstr("--max-cut-text needs"));
  EXPECT_THAT(parse_error({"--max-clients", "many"}), HasSubstr("--max-clients needs"));
  EXPECT_THAT(parse_error({"--blacklist-timeout", "0"}), HasSubstr("--blacklist-timeout needs"));
  EXPECT_THAT(parse_error({"--max-unauthenticated-per-address", "x"}),
              HasSubstr("--max-unauthenticated-per-address needs"));
}

TEST(CliOptions, AllowAndDeny) {
  Options o = parse_ok(
      {"--allow", "192.168.0.0/16, 10.1.2.3", "--allow=::1", "--deny", "192.168.7.0/24,fe80::/10"});
  EXPECT_EQ(o.server.allow, (std::vector<std::string>{"192.168.0.0/16", "10.1.2.3", "::1"}));
  EXPECT_EQ(o.server.deny, (std::vector<std::string>{"192.168.7.0/24", "fe80::/10"}));
  EXPECT_THAT(parse_error({"--allow", "10.0.0.0/33"}), HasSubstr("--allow: bad address range"));
  EXPECT_THAT(parse_error({"--deny", "example.com"}), HasSubstr("--deny: bad address range"));
  EXPECT_THAT(parse_error({"--deny", "10.0.0.1,"}), HasSubstr("--deny: empty address range"));
  EXPECT_THAT(parse_error({"--allow="}), HasSubstr("--allow: empty address range"));
}

TEST(CliOptions, StorePassword) {
  EXPECT_EQ(parse_ok({"--store-password", "/tmp/pw"}).store_password_file, "/tmp/pw");
  EXPECT_THAT(parse_error({"--store-password="}), HasSubstr("--store-password needs"));
}

TEST(CliOptions, Switches) {
  EXPECT_TRUE(parse_ok({"--view-only"}).server.view_only);
  EXPECT_TRUE(parse_ok({"-viewonly"}).server.view_only);
  EXPECT_EQ(parse_ok({"--shared"}).server.share_policy, SharePolicy::kAlwaysShared);
  EXPECT_EQ(parse_ok({"-shared"}).server.share_policy, SharePolicy::kAlwaysShared);
  EXPECT_EQ(parse_ok({"--never-shared"}).server.share_policy, SharePolicy::kNeverShared);
  EXPECT_EQ(parse_ok({"-nevershared"}).server.share_policy, SharePolicy::kNeverShared);
  EXPECT_TRUE(parse_ok({"--dont-disconnect"}).server.dont_disconnect);
  EXPECT_TRUE(parse_ok({"-dontdisconnect"}).server.dont_disconnect);
  EXPECT_TRUE(parse_ok({"--once"}).server.once);
  EXPECT_TRUE(parse_ok({"-once"}).server.once);
  EXPECT_FALSE(parse_ok({"--once", "--forever"}).server.once);
  EXPECT_FALSE(parse_ok({"-once", "-forever"}).server.once);
  EXPECT_TRUE(parse_ok({"--forever", "--once"}).server.once);
  EXPECT_TRUE(parse_ok({"--help"}).help);
  EXPECT_TRUE(parse_ok({"--version"}).version);
  EXPECT_THAT(parse_error({"--once=1"}), HasSubstr("--once takes no value"));
  EXPECT_THAT(parse_error({"--view-only=true"}), HasSubstr("--view-only takes no value"));
}

TEST(CliOptions, Name) {
  EXPECT_EQ(parse_ok({"--name", "my desk"}).server.desktop_name, "my desk");
  EXPECT_EQ(parse_ok({"--name=a=b"}).server.desktop_name, "a=b");
  EXPECT_EQ(parse_ok({"-desktop", "x11vnc style"}).server.desktop_name, "x11vnc style");
}

TEST(CliOptions, LogLevel) {
  EXPECT_EQ(parse_ok({"--log-level", "error"}).log_level, log::Level::kError);
  EXPECT_EQ(parse_ok({"--log-level=warn"}).log_level, log::Level::kWarn);
  EXPECT_EQ(parse_ok({"--log-level", "info"}).log_level, log::Level::kInfo);
  EXPECT_EQ(parse_ok({"--log-level", "debug"}).log_level, log::Level::kDebug);
  EXPECT_EQ(parse_error({"--log-level", "loud"}),
            "vncd: --log-level needs one of error, warn, info, debug");
}

TEST(CliOptions, MaxFps) {
  EXPECT_EQ(parse_ok({"--max-fps", "30"}).server.max_fps, 30);
  EXPECT_EQ(parse_ok({"--max-fps=1"}).server.max_fps, 1);
  EXPECT_EQ(parse_ok({"--max-fps", "1000"}).server.max_fps, 1000);
  EXPECT_THAT(parse_error({"--max-fps", "0"}), HasSubstr("--max-fps needs a number"));
  EXPECT_THAT(parse_error({"--max-fps", "1001"}), HasSubstr("--max-fps needs a number"));
  EXPECT_THAT(parse_error({"--max-fps", "fast"}), HasSubstr("--max-fps needs a number"));
}

TEST(CliOptions, Threads) {
  EXPECT_EQ(ServerConfig{}.threads, 0);  // One per core, decided when the server starts.
  EXPECT_EQ(parse_ok({"--threads", "1"}).server.threads, 1);
  EXPECT_EQ(parse_ok({"--threads=4"}).server.threads, 4);
  EXPECT_EQ(parse_ok({"--threads", "64"}).server.threads, 64);
  EXPECT_THAT(parse_error({"--threads", "0"}), HasSubstr("--threads needs a number"));
  EXPECT_THAT(parse_error({"--threads", "65"}), HasSubstr("--threads needs a number"));
  EXPECT_THAT(parse_error({"--threads", "many"}), HasSubstr("--threads needs a number"));
}

TEST(CliOptions, Virtual) {
  Options o = parse_ok({"--virtual", "640x480"});
  EXPECT_TRUE(o.virtual_requested);
  EXPECT_EQ(o.virtual_size, (VirtualSize{640, 480, 24}));
  EXPECT_EQ(parse_ok({"--virtual=800x600x16"}).virtual_size, (VirtualSize{800, 600, 16}));
  EXPECT_EQ(parse_ok({"--virtual", "16x16384x24"}).virtual_size, (VirtualSize{16, 16384, 24}));
  for (const char* bad : {"640", "640x", "x480", "640x480x", "640x480x8", "640x480x32", "15x480",
                          "640x16385", "640X480", "640x480x24x1", "-640x480", "axb", ""}) {
    EXPECT_THAT(parse_error({"--virtual", bad}), HasSubstr("--virtual needs WIDTHxHEIGHT")) << bad;
  }
  EXPECT_THAT(parse_error({"--virtual", "640x480", "--display", ":0"}),
              HasSubstr("cannot be used together"));
}

TEST(CliOptions, Session) {
  Options o = parse_ok({"--session", "xterm -e top"});
  EXPECT_TRUE(o.session_given);
  EXPECT_EQ(o.session_command, "xterm -e top");
  Options none = parse_ok({"--session", "none"});
  EXPECT_TRUE(none.session_given);
  EXPECT_TRUE(none.session_command.empty());
  Options empty = parse_ok({"--session="});
  EXPECT_TRUE(empty.session_given);
  EXPECT_TRUE(empty.session_command.empty());
  EXPECT_THAT(parse_error({"--session", "xterm", "--display", ":0"}),
              HasSubstr("only applies to the virtual desktop"));
}

TEST(CliOptions, Errors) {
  EXPECT_EQ(parse_error({"--foo"}), "vncd: unknown option --foo (see vncd --help)");
  EXPECT_EQ(parse_error({"--foo=bar"}), "vncd: unknown option --foo (see vncd --help)");
  EXPECT_EQ(parse_error({"-foo"}), "vncd: unknown option -foo (see vncd --help)");
  // Long names do not work with one dash, nor aliases with two: only what is documented.
  EXPECT_EQ(parse_error({"-port", "1"}), "vncd: unknown option -port (see vncd --help)");
  EXPECT_EQ(parse_error({"--rfbport", "1"}), "vncd: unknown option --rfbport (see vncd --help)");
  // x11vnc's -passwd takes a plain-text password: deliberately not supported.
  EXPECT_EQ(parse_error({"-passwd", "secret"}), "vncd: unknown option -passwd (see vncd --help)");
  EXPECT_EQ(parse_error({":0"}), "vncd: unexpected argument ':0' (see vncd --help)");
  EXPECT_EQ(parse_error({"-"}), "vncd: unexpected argument '-' (see vncd --help)");
  EXPECT_EQ(parse_error({"--"}), "vncd: unknown option -- (see vncd --help)");
  // The first error is reported, even when later arguments are fine.
  EXPECT_THAT(parse_error({"--port", "x", "--bogus"}), HasSubstr("--port"));
}

TEST(CliOptions, ValueMayLookLikeAFlag) {
  // A separate value is taken as is, so names starting with '-' are possible.
  EXPECT_EQ(parse_ok({"--name", "--once"}).server.desktop_name, "--once");
  EXPECT_FALSE(parse_ok({"--name", "--once"}).server.once);
}

TEST(CliOptions, Combined) {
  Options o = parse_ok({"-rfbport", "0", "-localhost", "-rfbauth", "/p", "-viewonly", "-shared",
                        "-once", "-desktop", "d", "--log-level", "debug", "--max-fps=20"});
  EXPECT_EQ(o.server.port, 0);
  EXPECT_EQ(o.server.listen_address, "127.0.0.1");
  EXPECT_EQ(o.password_file, "/p");
  EXPECT_TRUE(o.server.view_only);
  EXPECT_EQ(o.server.share_policy, SharePolicy::kAlwaysShared);
  EXPECT_TRUE(o.server.once);
  EXPECT_EQ(o.server.desktop_name, "d");
  EXPECT_EQ(o.log_level, log::Level::kDebug);
  EXPECT_EQ(o.server.max_fps, 20);
}

TEST(CliOptions, Loopback) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.1.2.3"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("localhost"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("::"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("1270.0.0.1"));
}

// Every flag the help text lists parses (so help never advertises something that fails), and
// every flag the parser knows is in the help text.
TEST(CliOptions, HelpListsEveryFlag) {
  const std::string help = help_text();
  // Flags are words starting with '-' and a letter, preceded by whitespace or a line start.
  // (No std::regex: GCC 12 warns inside it under the sanitizers.)
  std::set<std::string> in_help;
  for (size_t i = 0; i < help.size(); ++i) {
    const bool word_start = i == 0 || help[i - 1] == ' ' || help[i - 1] == '\n';
    if (!word_start || help[i] != '-') continue;
    size_t j = i + (i + 1 < help.size() && help[i + 1] == '-' ? 2 : 1);
    if (j >= help.size() || help[j] < 'a' || help[j] > 'z') continue;
    size_t end = j;
    while (end < help.size() && ((help[end] >= 'a' && help[end] <= 'z') ||
                                 (help[end] >= '0' && help[end] <= '9') || help[end] == '-')) {
      ++end;
    }
    in_help.insert(help.substr(i, end - i));
  }
  const std::set<std::string> expected = {"--display",
                                          "--port",
                                          "--listen",
                                          "--localhost",
                                          "--password-file",
                                          "--security",
                                          "--view-only",
                                          "--shared",
                                          "--never-shared",
                                          "--dont-disconnect",
                                          "--once",
                                          "--forever",
                                          "--name",
                                          "--log-level",
                                          "--max-fps",
                                          "--virtual",
                                          "--session",
                                          "--threads",
                                          "--help",
                                          "--version",
                                          "-display",
                                          "-rfbport",
                                          "-localhost",
                                          "-rfbauth",
                                          "-viewonly",
                                          "-shared",
                                          "-forever",
                                          "-once",
                                          "-nevershared",
                                          "-dontdisconnect",
                                          "-desktop",
                                          "--x509-cert",
                                          "--x509-key",
                                          "--plain-users",
                                          "--pam-service",
                                          "--allow-plain-unencrypted",
                                          "--store-password",
                                          "--max-clients",
                                          "--handshake-timeout",
                                          "--max-unauthenticated-per-address",
                                          "--idle-timeout",
                                          "--max-cut-text",
                                          "--max-encodings",
                                          "--allow",
                                          "--deny",
                                          "--blacklist-threshold",
                                          "--blacklist-timeout"};
  for (const auto& f : expected) EXPECT_TRUE(in_help.count(f)) << f << " missing from --help";
  for (const auto& f : in_help) EXPECT_TRUE(expected.count(f)) << f << " in --help, not expected";

  // Each one is accepted by the parser (with a value where it takes one).
  for (const auto& f : expected) {
    if (f == "--security") continue;  // Needs a value the generic one below is not.
    std::vector<const char*> args = {f.c_str()};
    auto r = parse_options(std::span<const char* const>(args.data(), args.size()));
    if (!r.ok() && r.error().message().find("needs a value") != std::string::npos) {
      const char* value = "1";
      if (f == "--virtual") value = "640x480";
      if (f == "--log-level") value = "debug";
      if (f == "--plain-users") value = "alice";
      if (f == "--allow" || f == "--deny") value = "10.0.0.0/8";
      if (f == "--display" || f == "-display") value = ":1";
      args.push_back(value);
      r = parse_options(std::span<const char* const>(args.data(), args.size()));
    }
    EXPECT_TRUE(r.ok()) << f << ": " << (r.ok() ? "" : r.error().message());
  }
  EXPECT_THAT(help, StartsWith("Usage: vncd"));
  EXPECT_EQ(help.back(), '\n');
}

TEST(CliOptions, Version) {
  EXPECT_THAT(version_text(), StartsWith("vncd "));
  EXPECT_EQ(version_text().back(), '\n');
}

}  // namespace
}  // namespace vncd::server
