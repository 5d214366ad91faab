// rf_main.c: the oracle, target `ref`: the C harness over the semantics layer on lwIP, networked
// to the host through libslirp, or with --tap IFNAME through a tap device in the run's network
// namespace. Serves the protocol on stdin/stdout, or on a pty with --pty.
// Usage: sockconf-ref [--tap IFNAME] [--pty]
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libslirp.h>
#include <lwip/init.h>

#include "../harness/host/hn_hostlink.h"
#include "rf_lwip.h"
#include "rf_net.h"

#ifndef HN_VERSION
#define HN_VERSION "0"
#endif

int main(int argc, char **argv) {
    static char in[HN_MAXLINE], out[HN_MAXLINE], machine[160];
    static struct utsname u;
    static hn_host_link link;
    static hn_agent agent;
    static hn_port port;
    struct timespec ts;
    signal(SIGPIPE, SIG_IGN);
    // lwIP's unix port draws ports and ISNs from rand(), which nothing seeds
    clock_gettime(CLOCK_REALTIME, &ts);
    srand((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ getpid()));
    static rf_api api;
    const char *tap = NULL;
    if (argc > 2 && strcmp(argv[1], "--tap") == 0) {
        tap = argv[2];
        argv[2] = argv[0];
        argv += 2;
        argc -= 2;
    }
    int status = hn_hostlink_open(&link, &port, argc, argv, "sockconf-ref");
    if (status) {
        return status;
    }
    api = rf_lwip_api;
    if (tap) {
        // a real link: the host reaches the oracle's ports at its own address, nothing to forward
        api.forward = NULL;
        api.unforward = NULL;
        port.listen_host = RF_ORACLE_ADDR;
    }
    if (tap ? rf_net_start_tap(tap) < 0 : rf_net_start() < 0) {
        return 1;
    }
    uname(&u);
    if (tap) {
        snprintf(machine, sizeof machine, "lwip %s, tap %s, %s", LWIP_VERSION_STRING, tap, u.machine);
    } else {
        snprintf(machine, sizeof machine, "lwip %s, libslirp %s, %s", LWIP_VERSION_STRING,
                 slirp_version_string(), u.machine);
    }
    port.impl = "sockconf-ref";
    port.version = HN_VERSION;
    port.machine = machine;
    port.host = RF_HOST_ADDR;
    rf_sem_fill(&port, &api);
    hn_agent_init(&agent, &port, in, out);
    hn_agent_serve(&agent);
    return 0;
}
