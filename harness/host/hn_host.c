// hn_host.c: the host build of the harness: the protocol on stdin/stdout or a pty, over the
// host socket backend.
#include <signal.h>
#include <sys/utsname.h>

#include "hn_hostlink.h"
#include "../../ref/rf_kernel.h"

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
