// Listening sockets in the Stack (stack/net/stack_tcp.cc): the SYN queue
// and SYN cookies (RFC 4987 3.6), the accept queue and its overflow, and
// closing a listener with connections still queued. A RawHost injects
// hand-built segments (a SYN flood, a cookie handshake) and records what
// the server answers; real client stacks show that genuine connections
// still get through.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/wire/icmp.h"
#include "stack/wire/tcp.h"
#include "tests/support/frames.h"
#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

using wire::tcp_flag::kAck;
using wire::tcp_flag::kRst;
using wire::tcp_flag::kSyn;

struct Segment {
  wire::TcpRepr hdr;
  std::vector<uint8_t> payload;
};

class TcpListenTest : public ::testing::Test {
 protected:
  static constexpr Ipv4Address kRawIp = Ipv4Address(198, 18, 0, 50);
  static constexpr uint16_t kPort = 80;

  TcpListenTest() : lan(2), raw(lan.add_raw()), client(lan.stack(0)), server(lan.stack(1)) {
    lan.sim.settle();
    introduce_raw();
  }

  void listen(int backlog) {
    listener = *server.tcp_open();
    ASSERT_TRUE(server.bind(listener, {Ipv4Address::any(), kPort}));
    ASSERT_TRUE(server.listen(listener, backlog, lan.now()));
  }

  // The server learns the raw host's MAC from an ARP request, so its
  // answers need no ARP (the raw host answers none).
  void introduce_raw() {
    wire::ArpRepr req;
    req.operation = wire::arp_op::kRequest;
    req.sender_mac = raw.mac();
    req.sender_ip = kRawIp;
    req.target_ip = test_ip(2);
    raw.send(arp_frame(lan.pool, MacAddress::broadcast(), req), lan.now());
    lan.sim.settle();
    raw.received.clear();
  }

  // Sends one segment from the raw host to the server's port 80.
  void raw_send(wire::TcpRepr r, Bytes payload = {}) {
    r.dst_port = kPort;
    std::vector<uint8_t> seg(r.header_len_for_emit() + payload.size());
    if (!payload.empty())
      std::memcpy(seg.data() + r.header_len_for_emit(), payload.data(), payload.size());
    r.emit(seg, kRawIp, test_ip(2));
    raw.send(ip_frame(lan.pool, raw.mac(), test_mac(2),
                      ip_header(kRawIp, test_ip(2), wire::ip_proto::kTcp), seg),
             lan.now());
  }

  static wire::TcpRepr syn_from(uint16_t port, SeqNum isn, uint16_t mss = 1460) {
    wire::TcpRepr r;
    r.src_port = port;
    r.seq = isn;
    r.flags = kSyn;
    r.window = 65535;
    r.options.mss = mss;
    return r;
  }

  // The TCP segments the raw host received since the last call.
  std::vector<Segment> take_tcp() {
    std::vector<Segment> out;
    for (auto& f : raw.received) {
      auto eth = wire::EthernetRepr::parse(f.bytes());
      if (!eth || eth->ethertype != wire::ethertype::kIpv4) continue;
      auto ip = wire::Ipv4Repr::parse(f.bytes().subspan(wire::kEthernetHeaderLen));
      if (!ip || ip->protocol != wire::ip_proto::kTcp) continue;
      Bytes seg = f.bytes().subspan(wire::kEthernetHeaderLen + ip->header_len, ip->payload_len);
      auto tcp = wire::TcpRepr::parse(seg, ip->src, ip->dst);
      EXPECT_TRUE(tcp) << "bad TCP segment from the server";
      if (!tcp) continue;
      Bytes data = seg.subspan(tcp->header_len);
      out.push_back(Segment{*tcp, std::vector<uint8_t>(data.begin(), data.end())});
    }
    raw.received.clear();
    return out;
  }

  // SYNs from `n` source ports starting at `first_port`; returns the SYN-ACKs.
  std::vector<Segment> flood(uint16_t first_port, int n, uint16_t mss = 1460) {
    for (int i = 0; i < n; ++i) {
      raw_send(syn_from(static_cast<uint16_t>(first_port + i),
                        SeqNum(1000u * static_cast<uint32_t>(i)), mss));
    }
    lan.sim.settle();
    return take_tcp();
  }

  // Connects a client socket (non-blocking) and runs until it is writable.
  SocketId connect_client(Duration limit = 5s) {
    SocketId c = *client.tcp_open();
    auto r = client.connect(c, {test_ip(2), kPort}, lan.now());
    EXPECT_EQ(r.error(), Error::kInProgress);
    EXPECT_TRUE(lan.sim.run_until(
        [&] { return (*client.readiness(c) & readiness::kWritable) != 0; }, limit));
    return c;
  }

  tcp::TcpState now_state(Stack& st, SocketId s) { return st.tcp_info(s, lan.now())->state; }

  std::string read_all(Stack& st, SocketId s) {
    std::vector<uint8_t> buf(4096);
    auto r = st.recv_from(s, buf, 0, lan.now());
    if (!r) return {};
    return std::string(buf.begin(), buf.begin() + static_cast<long>(r->copied));
  }

  Lan lan;
  RawHost& raw;
  Stack& client;
  Stack& server;
  SocketId listener{};
};

TEST_F(TcpListenTest, SynFloodFillsTheSynQueueThenCookiesAnswer) {
  // RFC 4987 3.6: with the SYN queue (min(backlog, max_syn_backlog)) full,
  // every further SYN is answered from a cookie and costs no memory.
  ASSERT_NO_FATAL_FAILURE(listen(8));
  auto answers = flood(10000, 40);
  ASSERT_EQ(answers.size(), 40u);
  for (const auto& a : answers) {
    EXPECT_EQ(a.hdr.flags, kSyn | kAck);
    EXPECT_EQ(a.hdr.src_port, kPort);
  }
  EXPECT_EQ(server.stats().tcp.PassiveOpens, 8u);
  EXPECT_EQ(server.stats().tcp.SyncookiesSent, 32u);
  EXPECT_EQ(server.tcp_connection_count(), 8u);
  // Each SYN-ACK acknowledges its own SYN.
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(answers[static_cast<size_t>(i)].hdr.ack,
              SeqNum(1000u * static_cast<uint32_t>(i)) + 1);
  }
}

TEST_F(TcpListenTest, RealClientConnectsDuringASynFlood) {
  ASSERT_NO_FATAL_FAILURE(listen(8));
  flood(10000, 100);
  ASSERT_EQ(server.stats().tcp.SyncookiesSent, 92u);
  // The client's SYN gets a cookie too; its ACK completes the handshake
  // from the cookie alone.
  SocketId c = connect_client();
  EXPECT_EQ(*client.take_error(c), std::nullopt);
  EXPECT_EQ(server.stats().tcp.SyncookiesRecv, 1u);
  auto a = server.accept(listener, lan.now());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->peer, *client.local_endpoint(c));
  // Timestamps carried window scale and SACK through the cookie.
  auto info = server.tcp_info(a->socket, lan.now());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, tcp::TcpState::kEstablished);
  EXPECT_TRUE(info->ts_ok);
  EXPECT_TRUE(info->wscale_ok);
  EXPECT_TRUE(info->sack_ok);
  EXPECT_EQ(info->snd_mss, 1460u - 12u);
  // And it carries data both ways.
  auto hello = bytes_of("hello");
  ASSERT_TRUE(client.send_to(c, hello, std::nullopt, lan.now()));
  lan.sim.run_for(100ms);
  EXPECT_EQ(read_all(server, a->socket), "hello");
  auto world = bytes_of("world");
  ASSERT_TRUE(server.send_to(a->socket, world, std::nullopt, lan.now()));
  lan.sim.run_for(100ms);
  EXPECT_EQ(read_all(client, c), "world");
  // Nothing was dropped by the client's PAWS test and retransmitted.
  EXPECT_EQ(server.stats().tcp.RetransSegs, 0u);
}

TEST_F(TcpListenTest, CookieHandshakeYieldsAnAcceptableConnectionWithTheCookiesMss) {
  ASSERT_NO_FATAL_FAILURE(listen(1));
  flood(20000, 1);  // the SYN queue (of one) is full
  ASSERT_EQ(server.stats().tcp.SyncookiesSent, 0u);
  // A SYN with MSS 1400 and no timestamps: the cookie can only say an MSS
  // from its table (536, 1300, 1440, 1460): 1300; no window scale or SACK.
  raw_send(syn_from(20001, SeqNum(777000), 1400));
  lan.sim.settle();
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  const wire::TcpRepr& synack = got[0].hdr;
  EXPECT_EQ(synack.flags, kSyn | kAck);
  EXPECT_EQ(synack.ack, SeqNum(777001));
  EXPECT_EQ(synack.options.mss, 1460);
  EXPECT_FALSE(synack.options.window_scale);
  EXPECT_FALSE(synack.options.sack_permitted);
  EXPECT_FALSE(synack.options.timestamps);
  EXPECT_EQ(server.stats().tcp.SyncookiesSent, 1u);
  EXPECT_EQ(server.tcp_connection_count(), 1u);  // nothing kept for it

  // The third step of the handshake, with the first data on it.
  wire::TcpRepr ack;
  ack.src_port = 20001;
  ack.seq = SeqNum(777001);
  ack.ack = synack.seq + 1;
  ack.flags = kAck;
  ack.window = 1000;
  raw_send(ack, bytes_of("GET /"));
  lan.sim.settle();
  EXPECT_EQ(server.stats().tcp.SyncookiesRecv, 1u);
  auto a = server.accept(listener, lan.now());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->peer, (Endpoint{kRawIp, 20001}));
  auto info = server.tcp_info(a->socket, lan.now());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, tcp::TcpState::kEstablished);
  EXPECT_EQ(info->snd_mss, 1300u);
  EXPECT_FALSE(info->ts_ok);
  EXPECT_FALSE(info->wscale_ok);
  EXPECT_EQ(info->snd_wnd, 1000u);
  EXPECT_EQ(read_all(server, a->socket), "GET /");
  // The data was acknowledged.
  got = take_tcp();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().hdr.flags & kAck, kAck);
  EXPECT_EQ(got.back().hdr.ack, SeqNum(777001 + 5));
}

TEST_F(TcpListenTest, CookieWithTimestampsCarriesWindowScaleAndSack) {
  ASSERT_NO_FATAL_FAILURE(listen(1));
  flood(20000, 1);
  wire::TcpRepr syn = syn_from(20002, SeqNum(5555));
  syn.options.window_scale = 5;
  syn.options.sack_permitted = true;
  syn.options.timestamps = wire::TcpOptions::Timestamps{123456, 0};
  raw_send(syn);
  lan.sim.settle();
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  const wire::TcpRepr& synack = got[0].hdr;
  ASSERT_TRUE(synack.options.timestamps);
  EXPECT_EQ(synack.options.timestamps->tsecr, 123456u);
  EXPECT_TRUE(synack.options.window_scale);
  EXPECT_TRUE(synack.options.sack_permitted);

  wire::TcpRepr ack;
  ack.src_port = 20002;
  ack.seq = SeqNum(5556);
  ack.ack = synack.seq + 1;
  ack.flags = kAck;
  ack.window = 100;  // scaled by 5: 3200 bytes
  ack.options.timestamps = wire::TcpOptions::Timestamps{123457, synack.options.timestamps->tsval};
  raw_send(ack);
  lan.sim.settle();
  auto a = server.accept(listener, lan.now());
  ASSERT_TRUE(a);
  auto info = server.tcp_info(a->socket, lan.now());
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->ts_ok);
  EXPECT_TRUE(info->wscale_ok);
  EXPECT_EQ(info->snd_wscale, 5);
  EXPECT_TRUE(info->sack_ok);
  EXPECT_EQ(info->snd_mss, 1460u - 12u);
  EXPECT_EQ(info->snd_wnd, 3200u);
  // The cookie's SYN-ACK counts as our last ACK (RCV.NXT = 5556): a RST
  // below it is outside the window and dropped silently (RFC 5961 3.2).
  raw.received.clear();
  wire::TcpRepr rst;
  rst.src_port = 20002;
  rst.seq = SeqNum(2000);
  rst.flags = kRst;
  raw_send(rst);
  lan.sim.settle();
  EXPECT_TRUE(take_tcp().empty());
  EXPECT_EQ(server.tcp_info(a->socket, lan.now())->state, tcp::TcpState::kEstablished);
}

TEST_F(TcpListenTest, CookieTimestampNeverRunsAheadOfTheClock) {
  // The cookie's SYN-ACK carries window scale and SACK in its TSval's low
  // bits; whatever the clock's phase, TSval must not be ahead of the TSval
  // the connection then sends, or the peer's PAWS drops the server's first
  // data and waits for a retransmission (Linux cookie_init_timestamp).
  ASSERT_NO_FATAL_FAILURE(listen(64));
  flood(20000, 64);
  for (uint16_t phase = 0; phase < 64; ++phase) {
    lan.sim.run_for(1ms);
    const uint16_t port = static_cast<uint16_t>(30000 + phase);
    wire::TcpRepr syn = syn_from(port, SeqNum(7000));
    syn.options.window_scale = 14;
    syn.options.sack_permitted = true;
    syn.options.timestamps = wire::TcpOptions::Timestamps{1000, 0};
    raw_send(syn);
    lan.sim.settle();
    auto got = take_tcp();
    ASSERT_EQ(got.size(), 1u);
    const wire::TcpRepr synack = got[0].hdr;
    ASSERT_TRUE(synack.options.timestamps);
    wire::TcpRepr ack;
    ack.src_port = port;
    ack.seq = SeqNum(7001);
    ack.ack = synack.seq + 1;
    ack.flags = kAck;
    ack.window = 1000;
    ack.options.timestamps = wire::TcpOptions::Timestamps{1001, synack.options.timestamps->tsval};
    raw_send(ack);
    lan.sim.settle();
    auto a = server.accept(listener, lan.now());
    ASSERT_TRUE(a) << "phase " << phase;
    ASSERT_TRUE(server.send_to(a->socket, bytes_of("x"), std::nullopt, lan.now()));
    lan.sim.settle();
    got = take_tcp();
    ASSERT_EQ(got.size(), 1u) << "phase " << phase;
    ASSERT_TRUE(got[0].hdr.options.timestamps);
    EXPECT_LE(static_cast<int32_t>(synack.options.timestamps->tsval - got[0].hdr.options.timestamps->tsval), 0)
        << "phase " << phase << ": cookie TSval " << synack.options.timestamps->tsval
        << " is ahead of the first data's " << got[0].hdr.options.timestamps->tsval;
    // The cookie still says window scale 14 and SACK.
    auto info = server.tcp_info(a->socket, lan.now());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->snd_wscale, 14);
    EXPECT_TRUE(info->sack_ok);
    ASSERT_TRUE(server.close(a->socket, lan.now()));
    lan.sim.settle();
    take_tcp();  // its FIN
  }
}

TEST_F(TcpListenTest, FragNeededIsValidatedAndBounded) {
  // RFC 5927 4.1 / 5.2: an ICMP "fragmentation needed" must quote a
  // sequence number in flight, and no MTU below min_pmtu (552) is taken.
  ASSERT_NO_FATAL_FAILURE(listen(8));
  const uint16_t port = 40000;
  raw_send(syn_from(port, SeqNum(100)));
  lan.sim.settle();
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  const SeqNum iss = got[0].hdr.seq;
  wire::TcpRepr ack;
  ack.src_port = port;
  ack.seq = SeqNum(101);
  ack.ack = iss + 1;
  ack.flags = kAck;
  ack.window = 65535;
  raw_send(ack);
  lan.sim.settle();
  auto a = server.accept(listener, lan.now());
  ASSERT_TRUE(a);
  std::vector<uint8_t> data(3000, 'd');
  ASSERT_TRUE(server.send_to(a->socket, data, std::nullopt, lan.now()));
  lan.sim.settle();
  take_tcp();  // in flight, never acknowledged
  ASSERT_EQ(server.tcp_info(a->socket, lan.now())->snd_mss, 1460u);

  // frag_needed(seq, mtu): the quote is our datagram's IP header and the
  // first 8 bytes of its TCP header.
  auto frag_needed = [&](SeqNum seq, uint16_t mtu) {
    std::vector<uint8_t> quote(20 + 8);
    wire::Ipv4Repr inner = ip_header(test_ip(2), kRawIp, wire::ip_proto::kTcp);
    inner.payload_len = 1480;
    inner.emit(quote);
    store_be16(&quote[20], kPort);
    store_be16(&quote[22], port);
    store_be32(&quote[24], seq.value());
    wire::IcmpRepr m;
    m.type = wire::icmp_type::kDestUnreachable;
    m.code = wire::icmp_code::kFragNeeded;
    m.next_hop_mtu = mtu;
    m.payload = quote;
    raw.send(ip_frame(lan.pool, raw.mac(), test_mac(2), ip_header(kRawIp, test_ip(2), wire::ip_proto::kIcmp),
                      icmp_message(m)),
             lan.now());
    lan.sim.settle();
  };
  // A quote outside SND.UNA..SND.NXT: ignored and counted.
  frag_needed(iss + 100000, 576);
  frag_needed(iss - 5, 576);
  EXPECT_EQ(server.stats().tcp.OutOfWindowIcmps, 2u);
  EXPECT_EQ(server.tcp_info(a->socket, lan.now())->snd_mss, 1460u);
  // In flight, MTU 68: bounded to 552 (MSS 512), and the data is resent.
  frag_needed(iss + 1, 68);
  EXPECT_EQ(server.stats().tcp.OutOfWindowIcmps, 2u);
  EXPECT_EQ(server.tcp_info(a->socket, lan.now())->snd_mss, 552u - 40u);
  got = take_tcp();
  ASSERT_FALSE(got.empty());
  for (const auto& seg : got) EXPECT_LE(seg.payload.size(), 512u);
  // A larger MTU later does not raise it back (RFC 1191: only decreases).
  frag_needed(iss + 1, 1400);
  EXPECT_EQ(server.tcp_info(a->socket, lan.now())->snd_mss, 512u);
}

TEST_F(TcpListenTest, ForgedCookieAckIsReset) {
  // An ACK to the listener that no cookie explains: RST (RFC 9293 3.10.7.2).
  ASSERT_NO_FATAL_FAILURE(listen(1));
  wire::TcpRepr ack;
  ack.src_port = 30000;
  ack.seq = SeqNum(42);
  ack.ack = SeqNum(0xdeadbeef);
  ack.flags = kAck;
  ack.window = 1000;
  raw_send(ack);
  lan.sim.settle();
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].hdr.flags, kRst);
  EXPECT_EQ(got[0].hdr.seq, SeqNum(0xdeadbeef));
  EXPECT_EQ(server.stats().tcp.SyncookiesFailed, 1u);
  EXPECT_FALSE(server.accept(listener, lan.now()));
}

TEST_F(TcpListenTest, SynWithFinIsDroppedLikeLinux) {
  // Linux drops SYN+FIN in LISTEN (a scanner's probe, never a client's):
  // no SYN-ACK, no half-open connection, a drop reason.
  ASSERT_NO_FATAL_FAILURE(listen(8));
  wire::TcpRepr syn;
  syn.src_port = 30001;
  syn.seq = SeqNum(1000);
  syn.flags = kSyn | wire::tcp_flag::kFin;
  syn.window = 1000;
  raw_send(syn);
  lan.sim.settle();
  EXPECT_TRUE(take_tcp().empty());
  EXPECT_EQ(server.stats().tcp.PassiveOpens, 0u);
  EXPECT_EQ(server.stats().drop_count(DropReason::kTcpSynFin), 1u);
  // The same SYN without the FIN opens.
  syn.flags = kSyn;
  raw_send(syn);
  lan.sim.settle();
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].hdr.flags, kSyn | kAck);
}

TEST_F(TcpListenTest, HalfOpenConnectionsExpireAfterTheSynAckRetries) {
  // tcp_synack_retries = 5: the flood's half-open children go away after
  // 63 s and the SYN queue empties.
  ASSERT_NO_FATAL_FAILURE(listen(8));
  flood(10000, 8);
  EXPECT_EQ(server.tcp_connection_count(), 8u);
  lan.sim.run_for(62s);
  EXPECT_EQ(server.tcp_connection_count(), 8u);
  lan.sim.run_for(2s);
  EXPECT_EQ(server.tcp_connection_count(), 0u);
  // Room again: the next SYN is a real half-open, not a cookie.
  raw.received.clear();
  const uint64_t cookies = server.stats().tcp.SyncookiesSent;
  flood(11000, 1);
  EXPECT_EQ(server.stats().tcp.SyncookiesSent, cookies);
  EXPECT_EQ(server.tcp_connection_count(), 1u);
}

TEST_F(TcpListenTest, AcceptQueueOverflowDropsTheAckUntilAcceptMakesRoom) {
  // Backlog 1: the SYN queue holds one half-open connection and the accept
  // queue backlog + 1 = 2 (Linux sk_acceptq_is_full). The raw host's
  // handshake is half done when two real clients fill the accept queue
  // (through cookies, the SYN queue being full); its ACK is then dropped
  // (ListenOverflows) and the server retransmits the SYN-ACK; once
  // accept() made room, the next ACK completes the connection.
  ASSERT_NO_FATAL_FAILURE(listen(1));
  auto synack = flood(20000, 1);
  ASSERT_EQ(synack.size(), 1u);
  const SeqNum server_isn = synack[0].hdr.seq;
  SocketId c1 = connect_client();
  SocketId c2 = connect_client();
  EXPECT_EQ(server.stats().tcp.SyncookiesRecv, 2u);
  raw.received.clear();

  wire::TcpRepr ack;
  ack.src_port = 20000;
  ack.seq = SeqNum(1);  // flood(): ISN 0
  ack.ack = server_isn + 1;
  ack.flags = kAck;
  ack.window = 65535;
  raw_send(ack);
  lan.sim.settle();
  EXPECT_EQ(server.stats().tcp.ListenOverflows, 1u);
  // The half-open connection is still there and retransmits its SYN-ACK.
  lan.sim.run_for(1s);
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].hdr.flags, kSyn | kAck);
  EXPECT_EQ(got[0].hdr.seq, server_isn);
  // Still full: the answer is dropped again.
  raw_send(ack);
  lan.sim.settle();
  EXPECT_EQ(server.stats().tcp.ListenOverflows, 2u);
  auto a1 = server.accept(listener, lan.now());
  ASSERT_TRUE(a1);
  EXPECT_EQ(a1->peer, *client.local_endpoint(c1));
  // Room now: the ACK (after the next SYN-ACK retransmission, 2 s later)
  // completes the handshake.
  lan.sim.run_for(2s);
  got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].hdr.flags, kSyn | kAck);
  raw_send(ack);
  lan.sim.settle();
  auto a2 = server.accept(listener, lan.now());
  auto a3 = server.accept(listener, lan.now());
  ASSERT_TRUE(a2);
  ASSERT_TRUE(a3);
  EXPECT_EQ(a2->peer, *client.local_endpoint(c2));
  EXPECT_EQ(a3->peer, (Endpoint{kRawIp, 20000}));
  EXPECT_EQ(server.tcp_info(a3->socket, lan.now())->state, tcp::TcpState::kEstablished);
  EXPECT_EQ(server.accept(listener, lan.now()).error(), Error::kAgain);
}

TEST_F(TcpListenTest, CookieAckDroppedOnOverflowCompletesWithTheNextSegment) {
  // Three clients at once, backlog 1: one half-open connection, two
  // cookies. The third handshake's (cookie) ACK finds the accept queue full
  // and is dropped, and nothing is kept to retransmit a SYN-ACK; the
  // client believes it is connected. Its first data segment still proves
  // the cookie and completes the connection once accept() made room.
  ASSERT_NO_FATAL_FAILURE(listen(1));
  std::vector<SocketId> cs;
  for (int i = 0; i < 3; ++i) {
    cs.push_back(*client.tcp_open());
    EXPECT_EQ(client.connect(cs.back(), {test_ip(2), kPort}, lan.now()).error(),
              Error::kInProgress);
  }
  lan.sim.run_for(100ms);
  for (SocketId c : cs) {
    EXPECT_EQ(client.tcp_info(c, lan.now())->state, tcp::TcpState::kEstablished);
  }
  EXPECT_EQ(server.stats().tcp.ListenOverflows, 1u);
  EXPECT_EQ(server.tcp_connection_count(), 2u);
  ASSERT_TRUE(server.accept(listener, lan.now()));
  ASSERT_TRUE(server.accept(listener, lan.now()));
  EXPECT_EQ(server.accept(listener, lan.now()).error(), Error::kAgain);
  auto ping = bytes_of("ping");
  ASSERT_TRUE(client.send_to(cs[2], ping, std::nullopt, lan.now()));
  lan.sim.run_for(100ms);
  auto third = server.accept(listener, lan.now());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->peer, *client.local_endpoint(cs[2]));
  EXPECT_EQ(read_all(server, third->socket), "ping");
}

TEST_F(TcpListenTest, AcceptQueueFullDropsNewSyns) {
  // Linux tcp_conn_request: with the accept queue full a SYN is dropped
  // (the client retries it later).
  ASSERT_NO_FATAL_FAILURE(listen(0));
  SocketId a = connect_client();
  (void)a;
  lan.sim.settle();
  // Backlog 0: one connection queued fills it (size 1 > 0).
  raw.received.clear();
  flood(40000, 1);
  EXPECT_EQ(server.stats().tcp.ListenDrops, 1u);
  EXPECT_TRUE(take_tcp().empty());
  ASSERT_TRUE(server.accept(listener, lan.now()));
  flood(40001, 1);
  EXPECT_EQ(server.stats().tcp.ListenDrops, 1u);
}

TEST_F(TcpListenTest, ClosingTheListenerResetsQueuedConnections) {
  // Linux inet_csk_listen_stop: connections never accepted are reset,
  // established ones and half-open ones alike.
  ASSERT_NO_FATAL_FAILURE(listen(8));
  SocketId c1 = connect_client();
  SocketId c2 = connect_client();
  flood(50000, 1);  // and one half-open from the raw host
  ASSERT_EQ(server.tcp_connection_count(), 3u);
  const uint64_t rsts = server.stats().tcp.OutRsts;
  ASSERT_TRUE(server.close(listener, lan.now()));
  lan.sim.settle();
  EXPECT_EQ(server.stats().tcp.OutRsts, rsts + 3);
  EXPECT_EQ(server.tcp_connection_count(), 0u);
  for (SocketId c : {c1, c2}) {
    EXPECT_EQ(client.tcp_info(c, lan.now())->state, tcp::TcpState::kClosed);
    std::vector<uint8_t> buf(16);
    EXPECT_EQ(client.recv_from(c, buf, 0, lan.now()).error(), Error::kConnReset);
  }
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].hdr.has(kRst));
  EXPECT_EQ(got[0].hdr.dst_port, 50000);
  // Nobody listens any more: a new SYN is refused with a RST.
  got = flood(50001, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].hdr.flags, kRst | kAck);
}

TEST_F(TcpListenTest, NewSynReopensATimeWaitPair) {
  // RFC 9293 3.6.1 / RFC 6191: the server closed first and holds the pair
  // in TIME-WAIT; a new SYN for the same pair with a newer timestamp
  // reopens it instead of waiting 2*MSL.
  ASSERT_NO_FATAL_FAILURE(listen(8));
  SocketId c = connect_client();
  auto a = server.accept(listener, lan.now());
  ASSERT_TRUE(a);
  const Endpoint client_end = *client.local_endpoint(c);
  ASSERT_TRUE(server.close(a->socket, lan.now()));
  lan.sim.run_for(10ms);
  ASSERT_TRUE(client.close(c, lan.now()));
  lan.sim.run_for(1s);
  EXPECT_EQ(server.tcp_connection_count(), 1u);  // the TIME-WAIT pair
  EXPECT_EQ(client.tcp_connection_count(), 0u);

  SocketId again = *client.tcp_open();
  ASSERT_TRUE(client.set_option(again, SockOpt::kReuseAddr, 1, lan.now()));
  ASSERT_TRUE(client.bind(again, client_end));
  EXPECT_EQ(client.connect(again, {test_ip(2), kPort}, lan.now()).error(), Error::kInProgress);
  ASSERT_TRUE(lan.sim.run_until(
      [&] { return (*client.readiness(again) & readiness::kWritable) != 0; }, 5s));
  EXPECT_EQ(*client.take_error(again), std::nullopt);
  EXPECT_EQ(server.stats().tcp.TimeWaitRecycled, 1u);
  auto b = server.accept(listener, lan.now());
  ASSERT_TRUE(b);
  EXPECT_EQ(b->peer, client_end);
  EXPECT_EQ(now_state(server, b->socket), tcp::TcpState::kEstablished);
}

TEST_F(TcpListenTest, DropsInsideAConnectionAreCounted) {
  // What a connection refuses reaches the stack's drop reasons and TcpExt
  // counters (`shunt stat`), like the drops before demultiplexing.
  ASSERT_NO_FATAL_FAILURE(listen(8));
  wire::TcpRepr syn = syn_from(21000, SeqNum(5000));
  syn.options.timestamps = wire::TcpOptions::Timestamps{1000, 0};
  raw_send(syn);
  lan.sim.settle();
  auto got = take_tcp();
  ASSERT_EQ(got.size(), 1u);
  const wire::TcpRepr synack = got[0].hdr;
  ASSERT_TRUE(synack.options.timestamps);
  const uint32_t echo = synack.options.timestamps->tsval;
  auto seg = [&](SeqNum seq, SeqNum ack, uint8_t flags, uint32_t tsval) {
    wire::TcpRepr r;
    r.src_port = 21000;
    r.seq = seq;
    r.ack = ack;
    r.flags = flags;
    r.window = 65535;
    r.options.timestamps = wire::TcpOptions::Timestamps{tsval, echo};
    return r;
  };
  const SeqNum nxt = SeqNum(5001);
  const SeqNum una = synack.seq + 1;
  raw_send(seg(nxt, una, kAck, 1001));  // the handshake completes
  lan.sim.settle();
  ASSERT_EQ(server.stats().tcp.PassiveOpens, 1u);

  raw_send(seg(nxt, una, kAck, 900), bytes_of("old"));        // PAWS
  raw_send(seg(nxt + 200000, una, kAck, 1001), bytes_of("far"));  // beyond the window
  raw_send(seg(nxt + 10, una, kRst, 1001));                    // RST not at RCV.NXT
  raw_send(seg(nxt + 10, una, kSyn, 1001));                    // SYN
  raw_send(seg(nxt, una + 100, kAck, 1001), bytes_of("un"));   // ACK of unsent data
  raw_send(seg(nxt, una, 0, 1001), bytes_of("noack"));         // no ACK
  lan.sim.settle();
  const Stats& st = server.stats();
  EXPECT_EQ(st.drop_count(DropReason::kTcpPaws), 1u);
  EXPECT_EQ(st.drop_count(DropReason::kTcpInvalidSequence), 1u);
  EXPECT_EQ(st.drop_count(DropReason::kTcpRstNotAtRcvNxt), 1u);
  EXPECT_EQ(st.drop_count(DropReason::kTcpInvalidSyn), 1u);
  EXPECT_EQ(st.drop_count(DropReason::kTcpAckUnsentData), 1u);
  EXPECT_EQ(st.drop_count(DropReason::kTcpNoAck), 1u);
  EXPECT_EQ(st.tcp.PAWSEstab, 1u);
  EXPECT_EQ(st.tcp.TCPSYNChallenge, 1u);
  EXPECT_EQ(st.tcp.TCPChallengeACK, 3u);
  // The ACK for "far" came within invalid_ratelimit of the one for "old".
  EXPECT_EQ(st.tcp.TCPACKSkippedSeq, 1u);
  // They are listed with the other counters.
  bool listed = false;
  st.for_each([&](std::string_view, std::string_view name, uint64_t v) {
    if (name == "PAWSEstab" && v == 1) listed = true;
  });
  EXPECT_TRUE(listed);
  auto a = server.accept(listener, lan.now());
  ASSERT_TRUE(a);
  EXPECT_EQ(now_state(server, a->socket), tcp::TcpState::kEstablished);
  EXPECT_EQ(read_all(server, a->socket), "");
}

}  // namespace
}  // namespace shunt::testing
