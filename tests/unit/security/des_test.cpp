#include "security/des.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>

#include "test_util.h"

namespace vncd::security {
namespace {

using test::from_hex;
using test::to_hex;

DesBlock block(const std::string& hex) {
  auto bytes = from_hex(hex);
  DesBlock out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

struct Vector {
  const char* key;
  const char* plain;
  const char* cipher;
};

void expect_vector(const Vector& v) {
  Des des(block(v.key));
  EXPECT_EQ(to_hex(des.encrypt(block(v.plain))), std::string(v.cipher))
      << "key " << v.key << " plaintext " << v.plain;
  EXPECT_EQ(to_hex(des.decrypt(block(v.cipher))), std::string(v.plain))
      << "key " << v.key << " ciphertext " << v.cipher;
}

// The worked example used throughout the DES literature (and in FIPS 46 tutorials).
TEST(Des, ClassicWorkedExample) {
  expect_vector({"133457799bbcdff1", "0123456789abcdef", "85e813540f0ab405"});
}

// NIST SP 800-20 (NBS SP 500-20) Table A.1, variable plaintext known-answer test: key
// 0101010101010101, plaintext with only bit i set.
TEST(Des, VariablePlaintextKnownAnswers) {
  static constexpr const char* kCiphers[64] = {
      "95f8a5e5dd31d900", "dd7f121ca5015619", "2e8653104f3834ea", "4bd388ff6cd81d4f",
      "20b9e767b2fb1456", "55579380d77138ef", "6cc5defaaf04512f", "0d9f279ba5d87260",
      "d9031b0271bd5a0a", "424250b37c3dd951", "b8061b7ecd9a21e5", "f15d0f286b65bd28",
      "add0cc8d6e5deba1", "e6d5f82752ad63d1", "ecbfe3bd3f591a5e", "f356834379d165cd",
      "2b9f982f20037fa9", "889de068a16f0be6", "e19e275d846a1298", "329a8ed523d71aec",
      "e7fce22557d23c97", "12a9f5817ff2d65d", "a484c3ad38dc9c19", "fbe00a8a1ef8ad72",
      "750d079407521363", "64feed9c724c2faf", "f02b263b328e2b60", "9d64555a9a10b852",
      "d106ff0bed5255d7", "e1652c6b138c64a5", "e428581186ec8f46", "aeb5f5ede22d1a36",
      "e943d7568aec0c5c", "df98c8276f54b04b", "b160e4680f6c696f", "fa0752b07d9c4ab8",
      "ca3a2b036dbc8502", "5e0905517bb59bcf", "814eeb3b91d90726", "4d49db1532919c9f",
      "25eb5fc3f8cf0621", "ab6a20c0620d1c6f", "79e90dbc98f92cca", "866ecedd8072bb0e",
      "8b54536f2f3e64a8", "ea51d3975595b86b", "caffc6ac4542de31", "8dd45a2ddf90796c",
      "1029d55e880ec2d0", "5d86cb23639dbea9", "1d1ca853ae7c0c5f", "ce332329248f3228",
      "8405d1abe24fb942", "e643d78090ca4207", "48221b9937748a23", "dd7c0bbd61fafd54",
      "2fbc291a570db5c4", "e07c30d7e4e26e12", "0953e2258e8e90a1", "5b711bc4ceebf2ee",
      "cc083f1e6d9e85f6", "d2fd8867d50d2dfe", "06e7ea22ce92708f", "166b40b44aba4bd6",
  };
  Des des(block("0101010101010101"));
  for (int bit = 0; bit < 64; ++bit) {
    DesBlock plain{};
    plain[static_cast<size_t>(bit / 8)] = static_cast<uint8_t>(0x80 >> (bit % 8));
    EXPECT_EQ(to_hex(des.encrypt(plain)), std::string(kCiphers[bit])) << "bit " << bit + 1;
    EXPECT_EQ(des.decrypt(block(kCiphers[bit])), plain) << "bit " << bit + 1;
  }
}

// SP 800-20 Table A.2 (variable key), first rows and a late one: exercises PC-1 and PC-2.
TEST(Des, VariableKeyKnownAnswers) {
  expect_vector({"8001010101010101", "0000000000000000", "95a8d72813daa94d"});
  expect_vector({"4001010101010101", "0000000000000000", "0eec1487dd8c26d5"});
  expect_vector({"0101010101010180", "0000000000000000", "9cc62df43b6eed74"});
}

// SP 800-20 Table A.4, the substitution table test: together these reach every S-box entry the
// standard singles out.
TEST(Des, SubstitutionTableKnownAnswers) {
  static constexpr Vector kVectors[] = {
      {"7ca110454a1a6e57", "01a1d6d039776742", "690f5b0d9a26939b"},
      {"0131d9619dc1376e", "5cd54ca83def57da", "7a389d10354bd271"},
      {"07a1133e4a0b2686", "0248d43806f67172", "868ebb51cab4599a"},
      {"3849674c2602319e", "51454b582ddf440a", "7178876e01f19b2a"},
      {"04b915ba43feb5b6", "42fd443059577fa2", "af37fb421f8c4095"},
      {"0113b970fd34f2ce", "059b5e0851cf143a", "86a560f10ec6d85b"},
      {"0170f175468fb5e6", "0756d8e0774761d2", "0cd3da020021dc09"},
      {"43297fad38e373fe", "762514b829bf486a", "ea676b2cb7db2b7a"},
      {"07a7137045da2a16", "3bdd119049372802", "dfd64a815caf1a0f"},
      {"04689104c2fd3b2f", "26955f6835af609a", "5c513c9c4886c088"},
      {"37d06bb516cb7546", "164d5e404f275232", "0a2aeeae3ff4ab77"},
      {"1f08260d1ac2465e", "6b056e18759f5cca", "ef1bf03e5dfa575a"},
      {"584023641aba6176", "004bd6ef09176062", "88bf0db6d70dee56"},
      {"025816164629b007", "480d39006ee762f2", "a1f9915541020b56"},
      {"49793ebc79b3258f", "437540c8698f3cfa", "6fbf1cafcffd0556"},
      {"4fb05e1515ab73a7", "072d43a077075292", "2f22e49bab7ca1ac"},
      {"49e95d6d4ca229bf", "02fe55778117f12a", "5a6b612cc26cce4a"},
      {"018310dc409b26d6", "1d9d5c5018f728c2", "5f4c038ed12b2e41"},
      {"1c587f1c13924fef", "305532286d6f295a", "63fac0d034d9f793"},
  };
  for (const auto& v : kVectors) expect_vector(v);
}

// The low bit of each key byte is parity and takes no part in the cipher.
TEST(Des, ParityBitsAreIgnored) {
  DesBlock plain = block("0123456789abcdef");
  DesBlock with_parity = Des(block("133457799bbcdff1")).encrypt(plain);
  DesBlock flipped = Des(block("123556789abddef0")).encrypt(plain);
  EXPECT_EQ(with_parity, flipped);
  EXPECT_NE(Des(block("233457799bbcdff1")).encrypt(plain), with_parity);
}

TEST(Des, DecryptInvertsEncryptForManyBlocks) {
  Des des(block("0e329232ea6d0d73"));
  DesBlock b = block("8787878787878787");
  EXPECT_EQ(to_hex(des.encrypt(b)), "0000000000000000");  // A classic: this pair gives all zeros.
  for (int i = 0; i < 200; ++i) {
    DesBlock c = des.encrypt(b);
    ASSERT_EQ(des.decrypt(c), b);
    ASSERT_NE(c, b);
    b = c;
  }
}

}  // namespace
}  // namespace vncd::security
