// Parsing a full Ethernet/IPv4/TCP frame (with timestamps, 1448 bytes of
// payload): ns per frame, with and without checksum verification.
#include <benchmark/benchmark.h>

#include <vector>

#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

namespace {

using namespace shunt;

std::vector<uint8_t> make_frame() {
  const Ipv4Address src(198, 18, 0, 1), dst(198, 18, 0, 2);
  wire::TcpRepr tcp;
  tcp.src_port = 5201;
  tcp.dst_port = 40000;
  tcp.seq = SeqNum(1000);
  tcp.ack = SeqNum(2000);
  tcp.flags = wire::tcp_flag::kAck | wire::tcp_flag::kPsh;
  tcp.window = 501;
  tcp.options.timestamps = wire::TcpOptions::Timestamps{123, 456};
  const size_t payload = 1448;
  const size_t tcp_len = tcp.header_len_for_emit() + payload;
  std::vector<uint8_t> f(14 + 20 + tcp_len, 0x5a);
  wire::TcpRepr t = tcp;
  t.emit({f.data() + 34, tcp_len}, src, dst);
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = wire::ip_proto::kTcp;
  ip.payload_len = static_cast<uint16_t>(tcp_len);
  ip.dont_fragment = true;
  ip.emit({f.data() + 14, 20});
  wire::EthernetRepr{MacAddress({2, 0, 0, 0, 0, 2}), MacAddress({2, 0, 0, 0, 0, 1}),
                     wire::ethertype::kIpv4}
      .emit(f);
  return f;
}

void parse(benchmark::State& state, bool verify) {
  const std::vector<uint8_t> frame = make_frame();
  for (auto _ : state) {
    Bytes b(frame);
    auto eth = wire::EthernetRepr::parse(b);
    auto ip = wire::Ipv4Repr::parse(b.subspan(14), verify);
    auto tcp = wire::TcpRepr::parse(b.subspan(14 + ip->header_len, ip->payload_len), ip->src, ip->dst,
                                    verify);
    if (!eth || !tcp) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(tcp->seq);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_ParseEthIpTcp(benchmark::State& state) { parse(state, true); }
void BM_ParseEthIpTcpNoChecksum(benchmark::State& state) { parse(state, false); }
BENCHMARK(BM_ParseEthIpTcp);
BENCHMARK(BM_ParseEthIpTcpNoChecksum);

}  // namespace
