// Initial sequence numbers (RFC 9293 3.4.1, RFC 6528) and SYN cookies
// (RFC 4987 3.6).
//
// ISN = M + F(local, remote, secret): M is a 4 microsecond clock and F a
// keyed hash (SipHash) of the connection's 4-tuple with a per-stack random
// secret, so ISNs of one 4-tuple increase with time and other tuples'
// ISNs reveal nothing.
//
// A SYN cookie is an ISN that encodes what the server would have kept for
// a half-open connection (an MSS class), authenticated by a keyed hash and
// a minute counter, so a SYN flood costs no memory.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/base/addr.h"
#include "stack/base/random.h"
#include "stack/base/seq.h"
#include "stack/base/time.h"

namespace shunt::tcp {

struct FourTuple {
  Endpoint local;
  Endpoint remote;
  bool operator==(const FourTuple&) const = default;
};

class IsnGenerator {
 public:
  explicit IsnGenerator(Rng& rng) : key_{rng.next(), rng.next()} {}
  SeqNum isn(const FourTuple& t, Instant now) const;
  // A key shared beyond this stack (StackConfig::tcp_secret).
  void rekey(const SipKey& key) { key_ = key; }

 private:
  SipKey key_;
};

class SynCookies {
 public:
  // The MSS values a cookie can say (Linux msstab): the largest not above
  // the peer's MSS is chosen.
  static constexpr uint16_t kMssTable[4] = {536, 1300, 1440, 1460};

  explicit SynCookies(Rng& rng) : k1_{rng.next(), rng.next()}, k2_{rng.next(), rng.next()} {}

  // The server's ISN for a SYN with sequence `client_isn` and MSS `mss`.
  SeqNum make(const FourTuple& t, SeqNum client_isn, uint16_t mss, Instant now) const;
  // For the ACK completing the handshake (ack = cookie + 1): the MSS the
  // cookie encoded, or nullopt when it is forged or older than 2 minutes.
  std::optional<uint16_t> check(const FourTuple& t, SeqNum client_isn, SeqNum cookie,
                                Instant now) const;

 private:
  uint32_t hash(const FourTuple& t, uint32_t count, const SipKey& k) const;
  SipKey k1_, k2_;
};

}  // namespace shunt::tcp

template <>
struct std::hash<shunt::tcp::FourTuple> {
  size_t operator()(const shunt::tcp::FourTuple& t) const noexcept {
    uint64_t a = (uint64_t{t.local.addr.value()} << 32) | t.remote.addr.value();
    uint64_t b = (uint64_t{t.local.port} << 16) | t.remote.port;
    // A fixed mix is enough: the tuple table is not exposed to chosen
    // collisions beyond what the SYN queue bound already limits.
    uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull + (a >> 17));
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
