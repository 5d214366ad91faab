// rf_main.c: the oracle, target `ref`: the C harness over the semantics layer on lwIP, networked
// to the host through libslirp. Serves the protocol on stdin/stdout, or on a pty with --pty.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
    int status = hn_hostlink_open(&link, &port, argc, argv, "sockconf-ref");
    if (status) {
        return status;
    }
    if (rf_net_start() < 0) {
        return 1;
    }
    uname(&u);
    snprintf(machine, sizeof machine, "lwip %s, libslirp %s, %s", LWIP_VERSION_STRING, slirp_version_string(),
             u.machine);
    port.impl = "sockconf-ref";
    port.version = HN_VERSION;
    port.machine = machine;
    port.host = RF_HOST_ADDR;
    rf_sem_fill(&port, &rf_lwip_api);
    hn_agent_init(&agent, &port, in, out);
    hn_agent_serve(&agent);
    return 0;
}
