// SO_REUSEPORT groups, after Linux's struct sock_reuseport
// (net/core/sock_reuseport.c).
//
// Sockets bound to one exact local address and port, with SO_REUSEPORT set
// and created by one uid, form a group; new TCP connections and UDP
// datagrams to that address and port are spread over the group by a keyed
// hash of the 4-tuple, so one flow always reaches the same member while the
// group is unchanged (Linux reuseport_select_sock without a BPF program).
//
// Who joins when (as Linux): a TCP socket when it starts listening
// (inet_reuseport_add_sock from inet_hash), a UDP socket when it binds
// (udp_reuseport_add_sock from udp_lib_get_port). A member leaves when it
// closes or unhashes, and a UDP socket also when connect() gives it a local
// address (udp_lib_rehash detaches it). Members are kept in the order they
// joined, and a leaving member's slot takes the last one, as
// __reuseport_detach_sock does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <tuple>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/random.h"
#include "stack/base/socket.h"

namespace shunt {

class ReuseportGroups {
 public:
  // What makes sockets one group: the protocol, the exact local address
  // (a wildcard and a specific address are two groups) and port, and the
  // owner's uid (Linux: uid_eq(sock_i_uid(sk), sock_i_uid(sk2))).
  struct Key {
    uint8_t protocol = 0;
    Endpoint local;
    uint32_t uid = 0;
    auto operator<=>(const Key&) const = default;
  };

  explicit ReuseportGroups(const SipKey& key) : key_(key) {}

  void join(const Key& k, SocketId s);
  void leave(const Key& k, SocketId s);
  // The members in group order; empty when there is no such group.
  std::span<const SocketId> members(const Key& k) const;
  size_t group_count() const { return groups_.size(); }

  // The flow hash of a 4-tuple (Linux inet_ehashfn / udp_ehashfn: a keyed
  // hash of local address, local port, remote address, remote port). The
  // key comes from the stack's seed, so simulations reproduce.
  uint32_t flow_hash(Endpoint local, Endpoint remote) const;

  // Linux reuseport_select_sock_by_hash: start at reciprocal_scale(hash,
  // n) and take the first member `eligible` accepts (UDP skips connected
  // members), wrapping around once. A default SocketId when none is.
  SocketId select(const Key& k, uint32_t hash, const std::function<bool(SocketId)>& eligible) const;

 private:
  SipKey key_;
  std::map<Key, std::vector<SocketId>> groups_;
};

}  // namespace shunt
