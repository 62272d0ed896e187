// Incremental SHA-256 (OpenSSL's libcrypto) for checking large transfers.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace shunt::testing {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const uint8_t> d) { EVP_DigestUpdate(ctx_, d.data(), d.size()); }
  std::string hex() {
    std::array<uint8_t, 32> out{};
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &len);
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t b : out) {
      s += digits[b >> 4];
      s += digits[b & 15];
    }
    return s;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// A reproducible byte stream (xorshift64*), generated in chunks.
class PatternStream {
 public:
  explicit PatternStream(uint64_t seed) : x_(seed * 2 + 1) {}
  void fill(std::span<uint8_t> out) {
    for (size_t i = 0; i < out.size(); i += 8) {
      x_ ^= x_ >> 12;
      x_ ^= x_ << 25;
      x_ ^= x_ >> 27;
      uint64_t v = x_ * 0x2545f4914f6cdd1dull;
      for (size_t j = 0; j < 8 && i + j < out.size(); ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
  }

 private:
  uint64_t x_;
};

}  // namespace shunt::testing
