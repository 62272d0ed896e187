#include "tools/settings.h"

namespace shunt::tools {
namespace {

// In the order `shunt --help` and docs/settings.md list them. The library's
// parser is preload/config.cc (and driver/capture_config.cc for the capture,
// control/path.cc for the control directory).
constexpr Setting kSettings[] = {
    {"--tap", "SHUNT_TAP", "IFNAME", "use (or create) the TAP device IFNAME", "`shunt0`",
     "TAP device to use, created if missing"},
    {"--packet", "SHUNT_PACKET", "IFNAME",
     "use an AF_PACKET socket on the existing interface IFNAME", "",
     "use an AF_PACKET socket on this existing interface instead of a TAP"},
    {"--ip", "SHUNT_IP", "ADDR/PREFIX", "the stack's address", "`198.18.0.2/24`",
     "the stack's address"},
    {"--gateway", "SHUNT_GATEWAY", "ADDR", "default route (without one, on-link destinations only)",
     "none", "default route"},
    {"--mac", "SHUNT_MAC", "MAC", "the stack's MAC", "`02:00:` + the IPv4 address",
     "the stack's MAC"},
    {"--mtu", "SHUNT_MTU", "N", "IP MTU, 576..9000", "the device's", "IP MTU (576..9000)"},
    {"--tap-host-ip", "SHUNT_TAP_HOST_IP", "ADDR/PREFIX", "kernel side of a TAP shunt creates",
     "`198.18.0.1/24`",
     "kernel side of the default TAP (set when shunt uses the default device or creates the TAP)"},
    {"--pcap", "SHUNT_PCAP", "FILE",
     "capture every frame in and out to FILE (pcapng with the faults as comments if it ends in "
     ".pcapng, else pcap)",
     "",
     "write every frame in and out to FILE: pcapng with what the fault rules did as packet "
     "comments when FILE ends in `.pcapng`, classic pcap otherwise; `%p` is the process id "
     "(`docs/faults.md`, \"Capture\")"},
    {"--pcap-filter", "SHUNT_PCAP_FILTER", "EXPR",
     "capture only the frames EXPR matches, e.g. 'port 80' or 'host 198.18.0.1 or arp'",
     "every frame",
     "capture only the frames EXPR matches, e.g. `port 80`, `tcp port 6379`, `host 198.18.0.1`, "
     "`udp`, `port 8080 or arp`; needs `--pcap` (`docs/faults.md`, \"Capture filter\")"},
    {"--log", "SHUNT_LOG", "LEVEL", "error, warn, info or debug", "`warn`",
     "`error`, `warn`, `info` or `debug`"},
    {"--log-file", "SHUNT_LOG_FILE", "FILE", "log to FILE instead of stderr", "stderr",
     "where the log goes"},
    {"--loopback", "SHUNT_LOOPBACK", "kernel|stack", "where 127.x sockets go", "`kernel`",
     "sockets bound or connected to 127.x go to the kernel"},
    {"--fork", "SHUNT_FORK", "parent|child", "who keeps the stack after fork()", "`parent`",
     "who keeps the stack after `fork()` (`docs/compatibility.md`)"},
    {"--busy-poll", "SHUNT_BUSY_POLL_US", "US", "busy-poll microseconds before sleeping", "`0`",
     "a blocking call polls the device itself for up to US microseconds before sleeping (lower "
     "latency, more CPU)"},
    {"--seed", "SHUNT_SEED", "N", "seed for the stack's random choices", "from `getrandom`",
     "seed of the stack's random choices"},
    {"--stats", "SHUNT_STATS", "1|0", "print the stack's counters when the program exits", "`0`",
     "print the stack's counters at exit (and the per-rule fault counts)"},
    // The rules are joined with ';' (see docs/faults.md).
    {"--fault", "SHUNT_FAULTS", "RULE", "a fault rule, e.g. 'both drop 2%'", "none",
     "fault rules, `;`-separated in the variable; each `--fault` adds one (`docs/faults.md`)",
     true},
    // Variables without an option.
    {"", "SHUNT_EXIT_LINGER_MS", "MS", "how long exit waits for data still in flight", "`2000`",
     "how long exit (after closing every stack socket) waits for data still in flight, 0 to "
     "3600000 "
     "ms; anything else is an error at start"},
    {"", "SHUNT_CONTROL", "1|0", "serve the control socket for shunt ss/stat/fault", "`1`",
     "`0` or `no`: serve no control socket (`shunt ss`/`stat`/`fault` cannot reach the process; "
     "`docs/control.md`); `1` or `yes`: serve it; anything else is an error at start"},
    {"", "SHUNT_CONTROL_DIR", "DIR", "where the control sockets <pid>.sock go",
     "`$XDG_RUNTIME_DIR/shunt`, else `/run/shunt`",
     "where the control socket `<pid>.sock` goes; the `shunt ss`/`stat`/`fault` commands look "
     "there too"},
    {"", "SHUNT_LIBRARY", "FILE", "the libshunt.so to preload", "next to `shunt`",
     "path of libshunt.so for the `shunt` command, which puts its absolute path in `LD_PRELOAD`; "
     "by default `../lib/shunt/libshunt.so` from the directory of an installed `shunt`, "
     "`../preload/libshunt.so` in a build tree"},
};

}  // namespace

std::span<const Setting> settings() {
  return kSettings;
}

std::string plain_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != '`') out += c;
  }
  return out;
}

}  // namespace shunt::tools
