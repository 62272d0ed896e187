# What `cmake --install` puts where, under the prefix (docs/install.md), and
# the Debian package made of the same files (`scripts/package`).
#
#   bin/shunt                                 the command
#   lib/shunt/libshunt.so.VERSION             the preload library, with the
#   lib/shunt/libshunt.so.0, libshunt.so      SONAME link and the name to preload
#   share/man/man1/shunt*.1.gz, man7/         the man pages (man/)
#   share/doc/shunt/                          README.md and docs/
#   share/bash-completion/completions/shunt   bash completion (completion/shunt)
#
# bin/ and lib/shunt/ are fixed, not GNUInstallDirs': `shunt` finds the
# library as ../lib/shunt/libshunt.so from its own directory (find_library()
# in tools/wrapper.cc), wherever the tree was installed or unpacked. The
# library is loaded by path and never linked against, so it stays out of
# the linker's directories.

install(TARGETS shunt-cli RUNTIME DESTINATION bin)
install(TARGETS shunt LIBRARY DESTINATION lib/shunt)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/completion/shunt
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# The .deb: `scripts/package` (a Release build, then `cpack -G DEB`).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shunt)
set(CPACK_PACKAGE_VENDOR "shunt developers")
set(CPACK_PACKAGE_CONTACT "shunt developers <dev@shunt.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # shunt_0.9.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "user-space TCP/IP stack for unmodified programs (LD_PRELOAD)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "shunt runs an unmodified Linux program with its AF_INET sockets served by a
TCP/IP stack inside the program's own process (Ethernet, ARP, IPv4, ICMP,
UDP, TCP) over a TAP device or an AF_PACKET socket, while everything else
still goes to the kernel. It captures every frame, injects reproducible
faults (loss, delay, reordering, corruption, rate limits), shows the
sockets and counters of running programs (shunt ss, shunt stat) and
compares the stack with the kernel's on the same workload (shunt ab).")
# Depends: the shared libraries the installed files need (libc, libstdc++,
# libfmt, libnl-3, libnl-route-3), found by dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Programs some features use, none needed to run a program on shunt: tshark
# reads the pcapng fault comments; shunt ab runs iperf3, sockperf, nginx,
# redis and ab (apache2-utils) and plots with gnuplot.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "tshark, gnuplot-nox | gnuplot, iperf3, sockperf, nginx-light | nginx, redis-server, redis-tools, apache2-utils, bash-completion")
include(CPack)
