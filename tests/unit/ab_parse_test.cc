// shunt ab's parsers (tools/ab/parse.h) on real output of the tools it
// runs (iperf3 3.12, sockperf 3.7, ApacheBench 2.3, redis-benchmark 7.0,
// Linux 6.x /proc files, SHUNT_STATS), and on broken output: one line
// saying what is wrong, never a crash.
#include <gtest/gtest.h>

#include "tools/ab/parse.h"

namespace shunt::ab {
namespace {

TEST(AbParse, Iperf3ReceiverFigures) {
  const char* json = R"({"start": {"version": "iperf 3.12"}, "intervals": [],
    "end": {"sum_sent": {"start": 0, "end": 1.002857, "seconds": 1.002857, "bytes": 950140928,
                         "bits_per_second": 7579472870.01038, "retransmits": 582, "sender": true},
            "sum_received": {"start": 0, "end": 1.007197, "seconds": 1.007197, "bytes": 950140928,
                             "bits_per_second": 7546813010.76155, "sender": true}}})";
  auto f = parse_iperf3(json);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_DOUBLE_EQ(f->bits_per_second, 7546813010.76155);
  EXPECT_DOUBLE_EQ(f->bytes, 950140928);
  EXPECT_DOUBLE_EQ(f->seconds, 1.007197);
}

TEST(AbParse, Iperf3ErrorsAreOneLine) {
  auto refused = parse_iperf3(R"({"start": {"connected": []}, "intervals": [], "end": {},
    "error": "unable to connect to server: Connection refused"})");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), "iperf3: unable to connect to server: Connection refused");
  auto unfinished = parse_iperf3(R"({"end": {}})");
  ASSERT_FALSE(unfinished.ok());
  EXPECT_NE(unfinished.error().find("did not finish"), std::string::npos);
  auto text = parse_iperf3("iperf3: error - unable to send control message\n");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error(), "iperf3: iperf3: error - unable to send control message");
  EXPECT_FALSE(parse_iperf3("").ok());
  EXPECT_FALSE(parse_iperf3(R"({"end": {"sum_received": {"bytes": "many"}}})").ok());
  EXPECT_FALSE(parse_iperf3("[1, 2").ok());
}

// sockperf colours some lines with ANSI escapes.
constexpr const char* kSockperf =
    "sockperf: \x1b[2;35m== version #3.7-no.git == \x1b[0m\n"
    "sockperf[CLIENT] send on:sockperf: using recvfrom() to block on socket(s)\n"
    "\n"
    "[ 0] IP = 198.18.0.1      PORT = 11111 # TCP\n"
    "sockperf: Warmup stage (sending a few dummy messages)...\n"
    "sockperf: Starting test...\n"
    "sockperf: Test end (interrupted by timer)\n"
    "sockperf: Test ended\n"
    "sockperf: [Total Run] RunTime=2.004 sec; Warm up time=400 msec; SentMessages=114053; "
    "ReceivedMessages=114052\n"
    "sockperf: ========= Printing statistics for Server No: 0\n"
    "sockperf: [Valid Duration] RunTime=1.550 sec; SentMessages=94758; ReceivedMessages=94758\n"
    "sockperf: \x1b[2;35m====> avg-rtt=16.312 (std-dev=225.109)\x1b[0m\n"
    "sockperf: # dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0\n"
    "sockperf: Summary: Round trip is 16.312 usec\n"
    "sockperf: \x1b[2;35mTotal 94758 observations\x1b[0m; each percentile contains 947.58 "
    "observations\n"
    "sockperf: ---> <MAX> observation = 9402.882\n"
    "sockperf: ---> percentile 99.999 = 9247.865\n"
    "sockperf: ---> percentile 99.990 = 7999.702\n"
    "sockperf: ---> percentile 99.900 = 4029.235\n"
    "sockperf: ---> percentile 99.000 =   10.109\n"
    "sockperf: ---> percentile 90.000 =    6.305\n"
    "sockperf: ---> percentile 75.000 =    6.239\n"
    "sockperf: ---> percentile 50.000 =    6.109\n"
    "sockperf: ---> percentile 25.000 =    5.628\n"
    "sockperf: ---> <MIN> observation =    5.246\n";

TEST(AbParse, SockperfPercentilesAndRate) {
  auto f = parse_sockperf(kSockperf);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_DOUBLE_EQ(f->p50_us, 6.109);
  EXPECT_DOUBLE_EQ(f->p99_us, 10.109);
  EXPECT_DOUBLE_EQ(f->avg_us, 16.312);
  EXPECT_DOUBLE_EQ(f->observations, 94758);
  EXPECT_DOUBLE_EQ(f->seconds, 1.550);
}

TEST(AbParse, SockperfErrorQuotesItsErrorLine) {
  auto f = parse_sockperf(
      "sockperf: \x1b[2;35m== version #3.7-no.git == \x1b[0m\n"
      "sockperf: ERROR: Failed to connect to 198.18.0.1:11112 (errno=111 Connection refused)\n"
      "sockperf: Test ended\n");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(),
            "sockperf: sockperf: ERROR: Failed to connect to 198.18.0.1:11112 (errno=111 "
            "Connection refused)");
}

constexpr const char* kAbReport =
    "Server Software:        nginx/1.22.1\n"
    "Document Length:        1024 bytes\n"
    "\n"
    "Concurrency Level:      10\n"
    "Time taken for tests:   2.000 seconds\n"
    "Complete requests:      36611\n"
    "Failed requests:        0\n"
    "Total transferred:      46093249 bytes\n"
    "Requests per second:    18304.82 [#/sec] (mean)\n"
    "Time per request:       0.546 [ms] (mean)\n";

constexpr const char* kAbCsv =
    "Percentage served,Time in ms\n0,0.151\n1,0.200\n49,0.266\n50,0.266\n51,0.267\n"
    "98,4.506\n99,6.321\n100,8.883\n";

TEST(AbParse, ApacheBenchRateAndPercentiles) {
  auto f = parse_ab(kAbReport, kAbCsv);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_DOUBLE_EQ(f->requests_per_second, 18304.82);
  EXPECT_DOUBLE_EQ(f->complete, 36611);
  EXPECT_DOUBLE_EQ(f->failed, 0);
  EXPECT_DOUBLE_EQ(f->non_2xx, 0);
  EXPECT_DOUBLE_EQ(f->p50_ms, 0.266);
  EXPECT_DOUBLE_EQ(f->p99_ms, 6.321);
}

TEST(AbParse, ApacheBenchFailures) {
  auto non2xx = parse_ab(std::string(kAbReport) + "Non-2xx responses:      17\n", kAbCsv);
  ASSERT_TRUE(non2xx.ok());
  EXPECT_DOUBLE_EQ(non2xx->non_2xx, 17);
  auto refused = parse_ab(
      "Benchmarking 198.18.0.1 (be patient)\napr_socket_recv: Connection refused (111)\n", "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), "ab: apr_socket_recv: Connection refused (111)");
  auto no_csv = parse_ab(kAbReport, "Percentage served,Time in ms\n");
  ASSERT_FALSE(no_csv.ok());
  EXPECT_NE(no_csv.error().find("50%"), std::string::npos);
}

TEST(AbParse, RedisBenchmarkCsv) {
  // The progress lines end in '\r' before the rows.
  const char* csv =
      "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_"
      "ms\",\"p99_latency_ms\",\"max_latency_ms\"\n"
      "SET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r"
      "\"SET\",\"119760.48\",\"0.269\",\"0.008\",\"0.223\",\"0.375\",\"2.967\",\"5.047\"\n"
      "\"GET\",\"152671.77\",\"0.212\",\"0.016\",\"0.215\",\"0.311\",\"0.415\",\"1.071\"\n";
  auto rows = parse_redis_csv(csv);
  ASSERT_TRUE(rows.ok()) << rows.error();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].test, "SET");
  EXPECT_DOUBLE_EQ((*rows)[0].rps, 119760.48);
  EXPECT_DOUBLE_EQ((*rows)[0].p50_ms, 0.223);
  EXPECT_DOUBLE_EQ((*rows)[0].p99_ms, 2.967);
  EXPECT_EQ((*rows)[1].test, "GET");
  EXPECT_DOUBLE_EQ((*rows)[1].p99_ms, 0.415);
}

TEST(AbParse, RedisBenchmarkErrors) {
  auto refused =
      parse_redis_csv("Could not connect to Redis at 198.18.0.1:6379: Connection refused\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(),
            "redis-benchmark printed no figures; its last line: Could not connect to Redis at "
            "198.18.0.1:6379: Connection refused");
  auto header = parse_redis_csv("\"name\",\"value\"\n\"SET\",\"1\"\n");
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.error().find("unexpected CSV header"), std::string::npos);
}

TEST(AbParse, ShuntStatsSummedOverBlocks) {
  const char* err =
      "some output of the program\n"
      "shunt[24839]: stack counters (nonzero, netstat -s style):\n"
      "  Arp:\n"
      "    OutRequests            1\n"
      "  Tcp:\n"
      "    ActiveOpens            1\n"
      "    RetransSegs            12\n"
      "the program again\n"
      "    NotACounter            5\n"
      "shunt[24840]: stack counters (nonzero, netstat -s style):\n"
      "  Tcp:\n"
      "    RetransSegs            3\n";
  auto s = parse_shunt_stats(err);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->at("Tcp.RetransSegs"), 15u);
  EXPECT_EQ(s->at("Tcp.ActiveOpens"), 1u);
  EXPECT_EQ(s->at("Arp.OutRequests"), 1u);
  EXPECT_FALSE(s->contains("Tcp.NotACounter"));
  EXPECT_FALSE(parse_shunt_stats("no stack here\n").has_value());
  // A block with nothing nonzero is still a block: every counter was 0.
  auto empty = parse_shunt_stats("shunt[1]: stack counters (nonzero, netstat -s style):\n");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(AbParse, ProcNetSnmp) {
  const char* snmp =
      "Ip: Forwarding DefaultTTL InReceives\n"
      "Ip: 2 64 731\n"
      "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens RetransSegs\n"
      "Tcp: 1 200 120000 -1 17 4251\n"
      "Udp: InDatagrams NoPorts\n"
      "Udp: 5 0\n";
  auto m = parse_snmp(snmp);
  EXPECT_EQ(m.at("Tcp.RetransSegs"), 4251u);
  EXPECT_EQ(m.at("Tcp.ActiveOpens"), 17u);
  EXPECT_EQ(m.at("Ip.InReceives"), 731u);
  EXPECT_EQ(m.at("Udp.InDatagrams"), 5u);
  EXPECT_FALSE(m.contains("Tcp.MaxConn"));  // -1
  EXPECT_TRUE(parse_snmp("garbage\n").empty());
}

TEST(AbParse, ProcNetBoundPorts) {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 010012C6:1451 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0    "
      "    0 1060 1\n"
      "   1: 010012C6:1451 060012C6:9C40 01 00000000:00000000 00:00000000 00000000     0    "
      "    0 1061 1\n"
      "   2: 010012C6:2B67 060012C6:1F90 01 00000000:00000000 00:00000000 00000000     0    "
      "    0 1062 1\n";
  EXPECT_EQ(parse_bound_ports(tcp, true), (std::set<uint16_t>{5201}));
  const char* udp =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode ref pointer drops\n"
      "  100: 010012C6:2B67 00000000:0000 07 00000000:00000000 00:00000000 00000000     0    "
      "    0 2000 2 0000000000000000 0\n";
  EXPECT_EQ(parse_bound_ports(udp, false), (std::set<uint16_t>{11111}));
  EXPECT_TRUE(parse_bound_ports("  0: nonsense\n", true).empty());
}

TEST(AbParse, LastLineIsCleanAndShort) {
  EXPECT_EQ(last_line("first\n  second  \n\n\n"), "second");
  EXPECT_EQ(last_line("\x1b[2;35mcoloured\x1b[0m\n"), "coloured");
  EXPECT_EQ(last_line(std::string(500, 'x')).size(), 200u);
  EXPECT_EQ(last_line(""), "");
}

}  // namespace
}  // namespace shunt::ab
