// A UDP socket's state (RFC 768; semantics of Linux udp(7)).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "stack/base/addr.h"
#include "stack/base/result.h"
#include "stack/buffer/packet_buffer.h"

namespace shunt {

struct UdpDatagram {
  Endpoint from;
  Ipv4Address to;       // the destination address it was sent to
  PacketBuffer payload;  // exactly the UDP payload
};

struct UdpSocket {
  Endpoint local;                  // port 0 while unbound
  bool bound = false;
  std::optional<Endpoint> remote;  // set by connect(): filters sources
  bool reuse_addr = false;
  bool reuse_port = false;         // SO_REUSEPORT
  uint32_t uid = 0;                // the creator's uid (Linux sock_i_uid), for SO_REUSEPORT
  bool in_reuseport_group = false; // joined at bind (ReuseportGroups)
  bool broadcast = false;
  uint8_t ttl = 0;                 // 0: the stack default
  uint32_t rcvbuf = 0;
  uint32_t sndbuf = 0;
  uint64_t bind_order = 0;         // later binds win ties among SO_REUSEADDR sockets
  bool addr_from_connect = false;  // local.addr was chosen by connect(), not bind()
  bool port_from_connect = false;  // local.port was chosen by connect()'s autobind

  std::deque<UdpDatagram> rx;
  size_t rx_bytes = 0;             // memory charged against rcvbuf
  std::optional<Error> pending_error;

  // Memory a queued datagram costs against SO_RCVBUF: its payload plus the
  // bookkeeping overhead, as Linux charges skb truesize.
  static size_t charge(const UdpDatagram& d) { return d.payload.size() + 256; }
};

}  // namespace shunt
