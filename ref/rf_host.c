// rf_host.c: target `harness`: the C harness over the semantics layer on the host kernel's
// sockets (rf_kernel.c). Serves the protocol on stdin/stdout, or on a pty with --pty.
// Usage: sockconf-harness [--pty]
#include <signal.h>
#include <sys/utsname.h>

#include "../harness/host/hn_hostlink.h"
#include "rf_kernel.h"

#ifndef HN_VERSION
#define HN_VERSION "0"
#endif

int main(int argc, char **argv) {
    static char in[HN_MAXLINE], out[HN_MAXLINE];
    static struct utsname u;
    static hn_host_link link;
    static hn_agent agent;
    static hn_port port;
    signal(SIGPIPE, SIG_IGN);
    int status = hn_hostlink_open(&link, &port, argc, argv, "sockconf-harness");
    if (status) {
        return status;
    }
    uname(&u);
    port.impl = "sockconf-c";
    port.version = HN_VERSION;
    port.machine = u.machine;
    rf_sem_fill(&port, &rf_kernel_api);
    hn_agent_init(&agent, &port, in, out);
    hn_agent_serve(&agent);
    return 0;
}
