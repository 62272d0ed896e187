// The control protocol's JSON and the tools' layouts: control/snapshot_json.h,
// control/ss_format.h, control/stat_format.h, control/path.h.
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "control/path.h"
#include "control/snapshot_json.h"
#include "control/ss_format.h"
#include "control/stat_format.h"

namespace shunt::control {
namespace {

using tcp::TcpState;

SocketEntry conn(uint16_t lport, uint16_t rport, TcpState st) {
  SocketEntry e;
  e.proto = SocketEntry::Proto::kTcp;
  e.id = SocketId{3, 1};
  e.state = st;
  e.local = {Ipv4Address(198, 18, 0, 2), lport};
  e.remote = {Ipv4Address(198, 18, 0, 1), rport};
  e.recv_q = 10;
  e.send_q = 20;
  tcp::TcpInfo i;
  i.state = st;
  i.congestion = "cubic";
  i.rtt = std::chrono::microseconds(1234);
  i.rttvar = std::chrono::microseconds(617);
  i.rto = std::chrono::milliseconds(201);
  i.snd_mss = 1448;
  i.rcv_mss = 536;
  i.advmss = 1448;
  i.snd_cwnd = 10;
  i.snd_ssthresh = 0x7fffffff;
  i.wscale_ok = true;
  i.snd_wscale = 7;
  i.rcv_wscale = 9;
  i.bytes_received = 5000;
  i.delivery_rate = 1'250'000;  // bytes/s
  i.total_retrans = 2;
  e.info = i;
  return e;
}

Json reply_with(const std::vector<SocketEntry>& entries) {
  Json socks = Json::array();
  std::vector<int> fds{5};
  for (const auto& e : entries) socks.push_back(socket_to_json(e, e.id ? fds : std::vector<int>{}));
  return Json{{"pid", 4242}, {"comm", "curl"}, {"address", "198.18.0.2/24"}, {"sockets", socks}};
}

TEST(ControlJson, SocketCarriesSsFieldsAndTcpInfo) {
  Json j = socket_to_json(conn(40000, 80, TcpState::kEstablished), std::vector<int>{5, 7});
  EXPECT_EQ(j["proto"], "tcp");
  EXPECT_EQ(j["state"], "ESTAB");
  EXPECT_EQ(j["recv_q"], 10);
  EXPECT_EQ(j["send_q"], 20);
  EXPECT_EQ(j["local"], "198.18.0.2:40000");
  EXPECT_EQ(j["peer"], "198.18.0.1:80");
  EXPECT_EQ(j["fds"], Json::array({5, 7}));
  EXPECT_EQ(j["info"]["rtt_us"], 1234);
  EXPECT_EQ(j["info"]["rto_us"], 201000);
  EXPECT_EQ(j["info"]["mss"], 1448);
  EXPECT_EQ(j["info"]["cwnd"], 10);
  EXPECT_TRUE(j["info"]["ssthresh"].is_null());  // "infinite" before any loss
  EXPECT_EQ(j["info"]["delivery_rate_bps"], 10'000'000);
  EXPECT_EQ(j["info"]["congestion"], "cubic");
  EXPECT_EQ(j["info"]["wscale"], Json::array({7, 9}));
}

TEST(ControlJson, StateNamesAreSs) {
  EXPECT_EQ(ss_state_name(SocketEntry::Proto::kTcp, TcpState::kSynReceived), "SYN-RECV");
  EXPECT_EQ(ss_state_name(SocketEntry::Proto::kTcp, TcpState::kTimeWait), "TIME-WAIT");
  EXPECT_EQ(ss_state_name(SocketEntry::Proto::kTcp, TcpState::kListen), "LISTEN");
  EXPECT_EQ(ss_state_name(SocketEntry::Proto::kUdp, TcpState::kClosed), "UNCONN");
  EXPECT_EQ(ss_state_name(SocketEntry::Proto::kUdp, TcpState::kEstablished), "ESTAB");
  SocketEntry l;
  l.state = TcpState::kListen;
  l.local = {Ipv4Address::any(), 8080};
  EXPECT_EQ(socket_to_json(l, {})["local"], "*:8080");
  EXPECT_EQ(socket_to_json(l, {})["peer"], "*:*");
}

TEST(ControlJson, StatsGroupedWithDropsApart) {
  Stats s;
  s.tcp.RetransSegs = 7;
  s.drops[static_cast<size_t>(DropReason::kIpBadChecksum)] = 3;
  Json j = stats_to_json(s);
  EXPECT_EQ(j["counters"]["Tcp"]["RetransSegs"], 7);
  EXPECT_EQ(j["counters"]["Ip"]["InReceives"], 0);  // zeros are sent; the tool hides them
  ASSERT_EQ(j["drops"].size(), 1u);
  EXPECT_EQ(j["drops"].begin().value(), 3);
  // Groups in netstat's order, as the stack declares them.
  std::vector<std::string> groups;
  for (const auto& [k, v] : j["counters"].items()) groups.push_back(k);
  EXPECT_EQ(groups, (std::vector<std::string>{"Link", "Arp", "Ip", "Icmp", "Udp", "Tcp"}));
}

TEST(SsFormat, DefaultShowsConnectedOnlyInSsLayout) {
  SocketEntry l;
  l.proto = SocketEntry::Proto::kTcp;
  l.id = SocketId{1, 1};
  l.state = TcpState::kListen;
  l.local = {Ipv4Address::any(), 8080};
  l.send_q = 128;
  Json r = reply_with({l, conn(40000, 8080, TcpState::kEstablished), conn(40001, 8080, TcpState::kTimeWait)});
  SsOptions o;
  o.tcp = true;
  o.numeric = true;
  EXPECT_EQ(format_ss({r}, o),
            "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
            "ESTAB 10     20     198.18.0.2:40000   198.18.0.1:8080\n");
  o.all = true;
  o.process = true;
  EXPECT_EQ(format_ss({r}, o),
            "State     Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
            "LISTEN    0      128    *:8080             *:*               users:((\"curl\",pid=4242,fd=5))\n"
            "ESTAB     10     20     198.18.0.2:40000   198.18.0.1:8080   users:((\"curl\",pid=4242,fd=5))\n"
            "TIME-WAIT 10     20     198.18.0.2:40001   198.18.0.1:8080   users:((\"curl\",pid=4242,fd=5))\n");
  o.all = false;
  o.listening = true;
  o.process = false;
  EXPECT_EQ(format_ss({r}, o),
            "State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
            "LISTEN 0      128    *:8080             *:*\n");
}

TEST(SsFormat, InfoLineHasTheInternals) {
  Json r = reply_with({conn(40000, 80, TcpState::kEstablished)});
  SsOptions o;
  o.tcp = true;
  o.info = true;
  o.numeric = true;
  const std::string out = format_ss({r}, o);
  EXPECT_NE(out.find("\n\t cubic wscale:7,9 rto:201 rtt:1.234/0.617 mss:1448 rcvmss:536 advmss:1448 cwnd:10 "
                     "bytes_received:5000"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("delivery_rate 10.0Mbps"), std::string::npos) << out;
  EXPECT_NE(out.find("retrans:0/2"), std::string::npos) << out;
  EXPECT_EQ(out.find("ssthresh"), std::string::npos) << out;
}

TEST(SsFormat, NetidColumnAndServiceNames) {
  SocketEntry u;
  u.proto = SocketEntry::Proto::kUdp;
  u.id = SocketId{2, 1};
  u.state = TcpState::kEstablished;
  u.local = {Ipv4Address(198, 18, 0, 2), 5000};
  u.remote = {Ipv4Address(198, 18, 0, 1), 53};
  Json r = reply_with({conn(40000, 80, TcpState::kEstablished), u});
  SsOptions o;  // neither -t nor -u: both, with a Netid column
  const std::string out = format_ss({r}, o);
  EXPECT_EQ(out.substr(0, 6), "Netid ");
  EXPECT_NE(out.find("udp   ESTAB"), std::string::npos) << out;
  // Without -n, well-known ports get their service names (/etc/services).
  if (getservbyport(htons(80), "tcp") != nullptr) {
    EXPECT_NE(out.find("198.18.0.1:http"), std::string::npos) << out;
  }
  o.udp = true;
  Json f = filter_ss({r}, o);
  ASSERT_EQ(f["processes"].size(), 1u);
  ASSERT_EQ(f["processes"][0]["sockets"].size(), 1u);
  EXPECT_EQ(f["processes"][0]["sockets"][0]["proto"], "udp");
  EXPECT_EQ(f["processes"][0]["pid"], 4242);
}

TEST(SsFormat, Units) {
  EXPECT_EQ(ms3(1234), "1.234");
  EXPECT_EQ(ms3(200000), "200");
  EXPECT_EQ(ms3(50), "0.05");
  EXPECT_EQ(rate_bps(999), "999bps");
  EXPECT_EQ(rate_bps(2'500'000), "2.5Mbps");
  EXPECT_EQ(rate_bps(9'400'000'000), "9.4Gbps");
}

TEST(StatFormat, GroupsDropsAndFaults) {
  Stats s;
  s.tcp.RetransSegs = 7;
  s.ip.InReceives = 100;
  s.drops[static_cast<size_t>(DropReason::kIpBadChecksum)] = 3;
  Json j = stats_to_json(s);
  Json reply{{"pid", 9}, {"comm", "curl"}, {"address", "198.18.0.2/24"}};
  reply["counters"] = j["counters"];
  reply["drops"] = j["drops"];
  reply["faults"] = faults_to_json(42, {{1, "both drop 5%", 2000, 100, 0}}, {}, 0);
  const std::string out = format_stat(reply, {});
  EXPECT_NE(out.find("Ip:\n    InReceives                          100\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Tcp:\n    RetransSegs                           7\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("Udp:"), std::string::npos) << out;  // all zero: hidden without -z
  EXPECT_NE(out.find("Drops (by reason):\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Fault rules (seed 42):"), std::string::npos) << out;
  EXPECT_NE(out.find("  1         2000          100            0  both drop 5%"), std::string::npos) << out;
  // --watch: what moved since the last round, and its rate.
  Json prev = reply;
  prev["counters"]["Ip"]["InReceives"] = 40;
  const std::string w = format_stat(reply, {}, &prev, 2.0);
  EXPECT_NE(w.find("InReceives                          100  +60 (30/s)"), std::string::npos) << w;
  StatOptions z;
  z.zeros = true;
  EXPECT_NE(format_stat(reply, z).find("Udp:\n"), std::string::npos);
}

TEST(ControlPath, NamesAndDirectory) {
  EXPECT_EQ(socket_path("/run/shunt", 123), "/run/shunt/123.sock");
  EXPECT_EQ(pid_of_socket_name("123.sock"), 123);
  EXPECT_FALSE(pid_of_socket_name("x123.sock"));
  EXPECT_FALSE(pid_of_socket_name(".sock"));
  EXPECT_FALSE(pid_of_socket_name("123.sock.tmp"));
  EXPECT_FALSE(pid_of_socket_name("0.sock"));
  auto saved = [](const char* n) -> std::optional<std::string> {
    const char* v = std::getenv(n);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto xdg = saved("XDG_RUNTIME_DIR");
  const auto dir = saved("SHUNT_CONTROL_DIR");
  setenv("SHUNT_CONTROL_DIR", "/tmp/x", 1);
  EXPECT_EQ(control_dir(), "/tmp/x");
  unsetenv("SHUNT_CONTROL_DIR");
  setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  EXPECT_EQ(control_dir(), "/run/user/1000/shunt");
  unsetenv("XDG_RUNTIME_DIR");
  EXPECT_EQ(control_dir(), "/run/shunt");
  if (xdg) setenv("XDG_RUNTIME_DIR", xdg->c_str(), 1);
  if (dir) setenv("SHUNT_CONTROL_DIR", dir->c_str(), 1);
}

TEST(ControlPath, DirectoryModes) {
  char tmpl[] = "/tmp/shunt-ctl-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string base = tmpl;
  struct stat st{};
  // Shared (/run/shunt): sticky and world-writable whatever the umask.
  const mode_t old = umask(022);
  ASSERT_TRUE(ensure_control_dir(base + "/shared", true));
  ASSERT_EQ(stat((base + "/shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  // Per user: the user's alone.
  ASSERT_TRUE(ensure_control_dir(base + "/mine", false));
  ASSERT_EQ(stat((base + "/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  umask(old);
  // An existing directory is left alone; a file in the way is an error.
  EXPECT_TRUE(ensure_control_dir(base + "/mine", true));
  ASSERT_EQ(stat((base + "/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  FILE* f = fopen((base + "/file").c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  auto r = ensure_control_dir(base + "/file", false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("is not a directory"), std::string::npos);
  auto missing = ensure_control_dir(base + "/no/such/parent", false);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot create"), std::string::npos);
  for (const char* n : {"/shared", "/mine", "/file"}) (void)!std::remove((base + n).c_str());
  rmdir(base.c_str());
}

}  // namespace
}  // namespace shunt::control
