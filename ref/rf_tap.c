// rf_tap.c: the oracle's tap backend: an lwIP netif on a tap device that the run created in its
// own network namespace, for fidelity where slirp differs from a real peer (ref/SEMANTICS.md,
// "slirp and tap"). Isolation is the namespace's: it has only lo and the tap.
// Not Debian's tapif: its input path writes past a PBUF_POOL buffer for frames over ~590 bytes
// (valgrind: pbuf_take in its static input function), which crashed the oracle on any full-size
// TCP segment. Frames here go into PBUF_RAM pbufs, as on the slirp path.
#define _GNU_SOURCE
#include "rf_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <lwip/pbuf.h>
#include <lwip/tcpip.h>
#include <netif/ethernet.h>

#define RF_TAP_MTU 1500
#define RF_TAP_FRAME_MAX (RF_TAP_MTU + 14)

static struct netif rf_tap_netif;
static int rf_tap_fd = -1;

// Runs in the tcpip thread: one frame out to the namespace's kernel.
static err_t rf_tap_output(struct netif *netif, struct pbuf *p) {
    (void)netif;
    uint8_t frame[RF_TAP_FRAME_MAX];
    if (p->tot_len > sizeof frame) {
        return ERR_BUF;
    }
    u16_t n = pbuf_copy_partial(p, frame, p->tot_len, 0);
    if (write(rf_tap_fd, frame, n) != (ssize_t)n) {
        return ERR_IF;    // dropped: TCP retransmits
    }
    return ERR_OK;
}

static err_t rf_tap_init(struct netif *netif) {
    static const uint8_t mac[6] = {0x02, 0x12, 0x34, 0x56, 0x78, 0xab};
    return rf_net_ether(netif, "tp", rf_tap_output, RF_TAP_MTU, mac);
}

// Frames in: each into a PBUF_RAM pbuf, handed to tcpip_input (which only posts).
static void *rf_tap_thread(void *arg) {
    (void)arg;
    uint8_t frame[RF_TAP_FRAME_MAX + 64];
    for (;;) {
        ssize_t n = read(rf_tap_fd, frame, sizeof frame);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                struct pollfd p = {rf_tap_fd, POLLIN, 0};
                poll(&p, 1, -1);
                continue;
            }
            fprintf(stderr, "sockconf-ref: tap read: %s\n", strerror(errno));
            return NULL;
        }
        if (n < 14 || n > RF_TAP_FRAME_MAX) {
            continue;
        }
        struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
        if (!p) {
            continue;     // dropped: TCP retransmits
        }
        pbuf_take(p, frame, (u16_t)n);
        if (rf_tap_netif.input(p, &rf_tap_netif) != ERR_OK) {
            pbuf_free(p);
        }
    }
}

int rf_net_start_tap(const char *ifname) {
    struct ifreq ifr;
    if (strlen(ifname) >= IFNAMSIZ) {
        fprintf(stderr, "sockconf-ref: --tap %s: an interface name has at most %d characters\n", ifname,
                IFNAMSIZ - 1);
        return -1;
    }
    rf_tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (rf_tap_fd < 0) {
        fprintf(stderr, "sockconf-ref: --tap %s: cannot open /dev/net/tun: %s\n", ifname, strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(rf_tap_fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "sockconf-ref: --tap %s: cannot attach: %s (make it first, in a network namespace "
                        "of the run: `ip tuntap add %s mode tap`)\n", ifname, strerror(errno), ifname);
        close(rf_tap_fd);
        return -1;
    }
    if (rf_net_up(&rf_tap_netif, rf_tap_init, tcpip_input) < 0) {
        return -1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, rf_tap_thread, NULL) != 0) {
        fprintf(stderr, "sockconf-ref: cannot start the tap thread\n");
        return -1;
    }
    pthread_detach(t);
    return 0;
}
