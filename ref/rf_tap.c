// rf_tap.c: the oracle's tap backend: lwIP's own tapif (Debian's unix port) on a tap device that
// the run created in its own network namespace, for fidelity where slirp differs from a real
// peer (ref/SEMANTICS.md, "slirp and tap"). Isolation is the namespace's: it has only lo and the tap.
#define _GNU_SOURCE
#include "rf_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <lwip/tcpip.h>
#include <netif/tapif.h>

static struct netif rf_tap_netif;

// tapif_init exits the process when it cannot attach: try it first, so a missing device is a
// sentence on stderr and an exit status, never a bare exit(1).
static int rf_tap_probe(const char *ifname) {
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "sockconf-ref: --tap %s: cannot open /dev/net/tun: %s\n", ifname, strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    int r = ioctl(fd, TUNSETIFF, &ifr);
    int err = errno;
    close(fd);
    if (r < 0) {
        fprintf(stderr, "sockconf-ref: --tap %s: cannot attach: %s (make it first, in a network namespace "
                        "of the run: `ip tuntap add %s mode tap`)\n", ifname, strerror(err), ifname);
        return -1;
    }
    return 0;
}

int rf_net_start_tap(const char *ifname) {
    if (strlen(ifname) >= IFNAMSIZ || rf_tap_probe(ifname) < 0) {
        if (strlen(ifname) >= IFNAMSIZ) {
            fprintf(stderr, "sockconf-ref: --tap %s: an interface name has at most %d characters\n", ifname,
                    IFNAMSIZ - 1);
        }
        return -1;
    }
    setenv("PRECONFIGURED_TAPIF", ifname, 1);   // tapif then attaches to it and runs no ifconfig
    return rf_net_up(&rf_tap_netif, tapif_init, tcpip_input);
}
