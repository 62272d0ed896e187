// TCP_INFO in the kernel's struct tcp_info layout (linux/tcp.h).
#pragma once

#include <sys/socket.h>

#include "stack/tcp/connection.h"

namespace shunt::preload {

// Copies at most *optlen bytes of the kernel-layout struct into optval and
// sets *optlen like the kernel does: never more than `kernel_size`, what
// this kernel's struct tcp_info has (fields shunt does not know are 0).
// Returns 0 or -1/errno.
int fill_tcp_info(const tcp::TcpInfo& info, void* optval, socklen_t* optlen, size_t kernel_size);

}  // namespace shunt::preload
