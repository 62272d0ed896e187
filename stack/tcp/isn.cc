#include "stack/tcp/isn.h"

#include "stack/base/bytes.h"

namespace shunt::tcp {
namespace {

constexpr int kCookieBits = 24;
constexpr uint32_t kCookieMask = (1u << kCookieBits) - 1;
constexpr uint32_t kMaxCookieAgeMinutes = 2;

void pack(const FourTuple& t, uint32_t extra, uint8_t out[16]) {
  store_be32(out, t.local.addr.value());
  store_be32(out + 4, t.remote.addr.value());
  store_be16(out + 8, t.local.port);
  store_be16(out + 10, t.remote.port);
  store_be32(out + 12, extra);
}

uint32_t minutes(Instant now) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count());
}

}  // namespace

SeqNum IsnGenerator::isn(const FourTuple& t, Instant now) const {
  uint8_t buf[16];
  pack(t, 0, buf);
  // RFC 9293 3.4.1: M is a timer ticking every 4 microseconds.
  auto m = static_cast<uint32_t>(to_ns(now) / 4000);
  return SeqNum(m + static_cast<uint32_t>(siphash24(key_, buf)));
}

uint32_t SynCookies::hash(const FourTuple& t, uint32_t count, const SipKey& k) const {
  uint8_t buf[16];
  pack(t, count, buf);
  return static_cast<uint32_t>(siphash24(k, buf));
}

// Layout (as Linux's, RFC 4987 3.6): cookie = H1(tuple) + client_isn +
// (count << 24) + ((H2(tuple, count) + mss_index) & 0xffffff).
SeqNum SynCookies::make(const FourTuple& t, SeqNum client_isn, uint16_t mss, Instant now) const {
  uint32_t index = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    if (kMssTable[i] <= mss) index = i;
  }
  const uint32_t count = minutes(now);
  uint32_t v = hash(t, 0, k1_) + client_isn.value() + (count << kCookieBits) +
               ((hash(t, count, k2_) + index) & kCookieMask);
  return SeqNum(v);
}

std::optional<uint16_t> SynCookies::check(const FourTuple& t, SeqNum client_isn, SeqNum cookie,
                                          Instant now) const {
  const uint32_t count = minutes(now);
  uint32_t v = cookie.value() - hash(t, 0, k1_) - client_isn.value();
  // The top 8 bits are the minute counter (mod 256) it was made in.
  uint32_t age = (count - (v >> kCookieBits)) & 0xff;
  if (age > kMaxCookieAgeMinutes) return std::nullopt;
  uint32_t made_at = count - age;
  uint32_t index = ((v & kCookieMask) - hash(t, made_at, k2_)) & kCookieMask;
  if (index >= 4) return std::nullopt;
  return kMssTable[index];
}

}  // namespace shunt::tcp
