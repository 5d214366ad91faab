// rf_net.c: lwIP's netif over libslirp (QEMU's user networking), isolated to the host alias (IPv4
// 10.0.2.2, IPv6 fec0::2).
// Threads: lwIP's tcpip thread; the slirp thread (polls slirp's sockets, runs its timers, feeds
// frames to lwIP); the agent's thread calls lwip_* and rf_net_forward.
// Locking (libslirp is not thread-safe): every slirp call is made holding rf_slirp_lock. Order:
// the lwIP core lock may be held when taking rf_slirp_lock (linkoutput runs in the tcpip thread),
// never the other way round; frames from slirp reach lwIP through tcpip_input, which only posts.
#define _GNU_SOURCE
#include "rf_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libslirp.h>
#include <lwip/etharp.h>
#include <lwip/ethip6.h>
#include <lwip/netif.h>
#include <lwip/nd6.h>
#include <lwip/pbuf.h>
#include <lwip/tcpip.h>
#include <netif/ethernet.h>

#define RF_MTU 1500
#define RF_FRAME_MAX (RF_MTU + 14)
#define RF_POLL_MAX 256
#define RF_TIMERS 8

static Slirp *rf_slirp;
static pthread_mutex_t rf_slirp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct netif rf_netif;
static int rf_wake[2] = {-1, -1};
static volatile uint64_t rf_dropped;
static uint32_t rf_host_ip;   // network order
static uint8_t rf_host_ip6[16];
static uint8_t rf_host_ip6_sn[16];  // its solicited-node multicast address (neighbour solicitations)

static struct pollfd rf_fds[RF_POLL_MAX];
static int rf_nfds;

typedef struct {
    SlirpTimerCb cb;
    void *opaque;
    int64_t expire_ms;    // -1: not armed
    int used;
} rf_timer;
static rf_timer rf_timers[RF_TIMERS];

static int64_t rf_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Poll cycles of the slirp thread: each one ends (rf_cycle + 1, broadcast) once its poll() returned.
static uint64_t rf_cycle;
static pthread_cond_t rf_cycled = PTHREAD_COND_INITIALIZER;

static void rf_kick(void) {
    char b = 1;
    if (write(rf_wake[1], &b, 1) < 0) {
        // the pipe is full: the slirp thread is already due to wake
    }
}

uint64_t rf_net_dropped(void) {
    return rf_dropped;
}

// ---- slirp -> lwIP ----

static ssize_t rf_send_packet(const void *buf, size_t len, void *opaque) {
    (void)opaque;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
    if (!p) {
        return (ssize_t)len;    // dropped: TCP retransmits
    }
    pbuf_take(p, buf, (u16_t)len);
    if (rf_netif.input(p, &rf_netif) != ERR_OK) {
        pbuf_free(p);
    }
    return (ssize_t)len;
}

static void rf_guest_error(const char *msg, void *opaque) {
    (void)opaque;
    fprintf(stderr, "sockconf-ref: slirp: %s\n", msg);
}

static int64_t rf_clock_ns(void *opaque) {
    (void)opaque;
    return rf_now_ns();
}

static void *rf_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque) {
    (void)opaque;
    for (int k = 0; k < RF_TIMERS; k++) {
        if (!rf_timers[k].used) {
            rf_timers[k] = (rf_timer){cb, cb_opaque, -1, 1};
            return &rf_timers[k];
        }
    }
    fprintf(stderr, "sockconf-ref: slirp wants more than %d timers\n", RF_TIMERS);
    return NULL;
}

static void rf_timer_free(void *timer, void *opaque) {
    (void)opaque;
    if (timer) {
        ((rf_timer *)timer)->used = 0;
    }
}

static void rf_timer_mod(void *timer, int64_t expire_ms, void *opaque) {
    (void)opaque;
    if (timer) {
        ((rf_timer *)timer)->expire_ms = expire_ms;
    }
}

static void rf_register_fd(int fd, void *opaque) {
    (void)fd, (void)opaque;
}

static void rf_notify(void *opaque) {
    (void)opaque;
    rf_kick();
}

static const SlirpCb rf_callbacks = {
    .send_packet = rf_send_packet,
    .guest_error = rf_guest_error,
    .clock_get_ns = rf_clock_ns,
    .timer_new = rf_timer_new,
    .timer_free = rf_timer_free,
    .timer_mod = rf_timer_mod,
    .register_poll_fd = rf_register_fd,
    .unregister_poll_fd = rf_register_fd,
    .notify = rf_notify,
};

static int rf_add_poll(int fd, int events, void *opaque) {
    (void)opaque;
    if (rf_nfds == RF_POLL_MAX) {
        return -1;
    }
    short ev = 0;
    ev |= (events & SLIRP_POLL_IN) ? POLLIN : 0;
    ev |= (events & SLIRP_POLL_OUT) ? POLLOUT : 0;
    ev |= (events & SLIRP_POLL_PRI) ? POLLPRI : 0;
    rf_fds[rf_nfds] = (struct pollfd){fd, ev, 0};
    return rf_nfds++;
}

static int rf_get_revents(int idx, void *opaque) {
    (void)opaque;
    if (idx < 0 || idx >= rf_nfds) {
        return 0;
    }
    short r = rf_fds[idx].revents;
    return ((r & POLLIN) ? SLIRP_POLL_IN : 0) | ((r & POLLOUT) ? SLIRP_POLL_OUT : 0) |
           ((r & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((r & POLLERR) ? SLIRP_POLL_ERR : 0) |
           ((r & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

static void *rf_slirp_thread(void *arg) {
    (void)arg;
    for (;;) {
        uint32_t timeout = 1000;
        pthread_mutex_lock(&rf_slirp_lock);
        rf_nfds = 0;
        rf_add_poll(rf_wake[0], SLIRP_POLL_IN, NULL);
        slirp_pollfds_fill(rf_slirp, &timeout, rf_add_poll, NULL);
        int64_t now = rf_now_ns() / 1000000;
        for (int k = 0; k < RF_TIMERS; k++) {
            if (rf_timers[k].used && rf_timers[k].expire_ms >= 0) {
                int64_t left = rf_timers[k].expire_ms - now;
                timeout = left <= 0 ? 0 : left < (int64_t)timeout ? (uint32_t)left : timeout;
            }
        }
        int n = rf_nfds;
        pthread_mutex_unlock(&rf_slirp_lock);

        int r = poll(rf_fds, (nfds_t)n, (int)timeout);
        if (r > 0 && (rf_fds[0].revents & POLLIN)) {
            char drain[64];
            while (read(rf_wake[0], drain, sizeof drain) > 0) {
            }
        }
        pthread_mutex_lock(&rf_slirp_lock);
        rf_cycle++;
        pthread_cond_broadcast(&rf_cycled);
        slirp_pollfds_poll(rf_slirp, r < 0, rf_get_revents, NULL);
        now = rf_now_ns() / 1000000;
        for (int k = 0; k < RF_TIMERS; k++) {
            if (rf_timers[k].used && rf_timers[k].expire_ms >= 0 && rf_timers[k].expire_ms <= now) {
                rf_timers[k].expire_ms = -1;
                rf_timers[k].cb(rf_timers[k].opaque);
            }
        }
        pthread_mutex_unlock(&rf_slirp_lock);
    }
    return NULL;
}

// ---- lwIP -> slirp ----

// Isolation: only ARP about the host alias, IPv4 to the host alias, IPv6 to the IPv6 host alias,
// and the neighbour solicitation that asks for the IPv6 host alias's link address go out.
static int rf_allowed(const uint8_t *f, size_t len) {
    if (len < 14) {
        return 0;
    }
    unsigned type = (unsigned)f[12] << 8 | f[13];
    if (type == 0x0806) {
        return len >= 42 && memcmp(f + 38, &rf_host_ip, 4) == 0;   // ARP target protocol address
    }
    if (type == 0x0800) {
        return len >= 34 && memcmp(f + 30, &rf_host_ip, 4) == 0;   // IPv4 destination
    }
    if (type == 0x86DD && len >= 54) {
        const uint8_t *dst = f + 14 + 24;
        if (memcmp(dst, rf_host_ip6, 16) == 0) {
            return 1;       // IPv6 destination: the host alias
        }
        // ICMPv6 (next header 58, no extension header) neighbour solicitation (135) whose target is
        // the host alias, to the alias's solicited-node group
        return len >= 78 && f[20] == 58 && f[54] == 135 && memcmp(dst, rf_host_ip6_sn, 16) == 0 &&
               memcmp(f + 62, rf_host_ip6, 16) == 0;
    }
    return 0;
}

static err_t rf_linkoutput(struct netif *netif, struct pbuf *p) {
    (void)netif;
    uint8_t frame[RF_FRAME_MAX];
    if (p->tot_len > sizeof frame) {
        return ERR_IF;
    }
    u16_t len = pbuf_copy_partial(p, frame, p->tot_len, 0);
    if (!rf_allowed(frame, len)) {
        rf_dropped++;
        return ERR_OK;
    }
    pthread_mutex_lock(&rf_slirp_lock);
    slirp_input(rf_slirp, frame, len);
    pthread_mutex_unlock(&rf_slirp_lock);
    rf_kick();
    return ERR_OK;
}

err_t rf_net_ether(struct netif *netif, const char *name, netif_linkoutput_fn out, u16_t mtu,
                   const uint8_t mac[6]) {
    netif->name[0] = name[0];
    netif->name[1] = name[1];
    netif->output = etharp_output;
    netif->output_ip6 = ethip6_output;     // IPv6 over Ethernet, neighbour discovery for its next hop
    netif->linkoutput = out;
    netif->mtu = mtu;
    netif->hwaddr_len = 6;
    memcpy(netif->hwaddr, mac, 6);
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

static err_t rf_netif_init(struct netif *netif) {
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    return rf_net_ether(netif, "sl", rf_linkoutput, RF_MTU, mac);
}

// ---- start-up ----

static void rf_tcpip_ready(void *arg) {
    sys_sem_signal((sys_sem_t *)arg);
}

// (An IPv6 address set straight to preferred skips duplicate address detection, which would hold
// the address tentative for a second; the oracle's is the only one on its link.)
int rf_net_up(struct netif *netif, netif_init_fn init, netif_input_fn input) {
    sys_sem_t ready;
    if (sys_sem_new(&ready, 0) != ERR_OK) {
        return -1;
    }
    tcpip_init(rf_tcpip_ready, &ready);
    sys_arch_sem_wait(&ready, 0);
    sys_sem_free(&ready);

    ip4_addr_t ip, nm, gw;
    IP4_ADDR(&ip, 10, 0, 2, 15);
    IP4_ADDR(&nm, 255, 255, 255, 0);
    IP4_ADDR(&gw, 10, 0, 2, 2);
    LOCK_TCPIP_CORE();     // netif_add and friends abort outside the core lock
    struct netif *ok = netif_add(netif, &ip, &nm, &gw, NULL, init, input);
    if (ok) {
        // fec0::15 first (slot 0 is the source of neighbour solicitations), then ::1: lwIP's
        // input takes only a netif's own addresses, and without a loopif its loopback traffic goes
        // through netif_loop_output of this netif (no frame leaves for it)
        ip6_addr_t ip6;
        ip6addr_aton(RF_ORACLE_ADDR6, &ip6);
        netif_ip6_addr_set(netif, 0, &ip6);
        netif_ip6_addr_set_state(netif, 0, IP6_ADDR_PREFERRED);
        ip6addr_aton("::1", &ip6);
        netif_ip6_addr_set(netif, 1, &ip6);
        netif_ip6_addr_set_state(netif, 1, IP6_ADDR_PREFERRED);
        netif_set_default(netif);
        netif_set_up(netif);
        netif_set_link_up(netif);
    }
    UNLOCK_TCPIP_CORE();
    if (!ok) {
        fprintf(stderr, "sockconf-ref: netif_add failed\n");
        return -1;
    }
    return 0;
}

int rf_net_start(void) {
    struct in_addr net, mask, host, dhcp, dns;
    struct in6_addr prefix6, host6, dns6;
    inet_pton(AF_INET, "10.0.2.0", &net);
    inet_pton(AF_INET, "255.255.255.0", &mask);
    inet_pton(AF_INET, RF_HOST_ADDR, &host);
    inet_pton(AF_INET, RF_ORACLE_ADDR, &dhcp);
    inet_pton(AF_INET, "10.0.2.3", &dns);
    rf_host_ip = host.s_addr;
    inet_pton(AF_INET6, RF_PREFIX6, &prefix6);
    inet_pton(AF_INET6, RF_HOST_ADDR6, &host6);
    inet_pton(AF_INET6, RF_DNS_ADDR6, &dns6);
    memcpy(rf_host_ip6, &host6, 16);
    inet_pton(AF_INET6, "ff02::1:ff00:0", rf_host_ip6_sn);
    memcpy(rf_host_ip6_sn + 13, rf_host_ip6 + 13, 3);

    if (pipe2(rf_wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        fprintf(stderr, "sockconf-ref: pipe: %s\n", strerror(errno));
        return -1;
    }
    SlirpConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.version = 4;
    cfg.restricted = 0;           // restricted mode would cut the host alias off too; rf_allowed isolates
    cfg.in_enabled = true;
    cfg.vnetwork = net;
    cfg.vnetmask = mask;
    cfg.vhost = host;
    cfg.in6_enabled = true;
    cfg.vprefix_addr6 = prefix6;
    cfg.vprefix_len = 64;
    cfg.vhost6 = host6;
    cfg.vnameserver6 = dns6;     // unreachable: rf_allowed and disable_dns
    cfg.vdhcp_start = dhcp;
    cfg.vnameserver = dns;
    cfg.disable_dns = true;
    cfg.disable_dhcp = true;
    cfg.if_mtu = RF_MTU;
    cfg.if_mru = RF_MTU;
    // A second wall behind rf_allowed: every host socket slirp opens is bound to 127.0.0.1, and
    // Linux refuses to route a loopback source anywhere but loopback (connect: EINVAL).
    static struct sockaddr_in outbound;     // static: slirp keeps the pointer, not a copy
    memset(&outbound, 0, sizeof outbound);
    outbound.sin_family = AF_INET;
    outbound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cfg.outbound_addr = &outbound;
    static struct sockaddr_in6 outbound6;   // IPv6 alike: ::1, which Linux routes nowhere but lo
    memset(&outbound6, 0, sizeof outbound6);
    outbound6.sin6_family = AF_INET6;
    outbound6.sin6_addr = in6addr_loopback;
    cfg.outbound_addr6 = &outbound6;
    rf_slirp = slirp_new(&cfg, &rf_callbacks, NULL);
    if (!rf_slirp) {
        fprintf(stderr, "sockconf-ref: slirp_new failed\n");
        return -1;
    }

    if (rf_net_up(&rf_netif, rf_netif_init, tcpip_input) < 0) {
        return -1;
    }

    // One poll cycle now: slirp's clock (curtime) is only set in slirp_pollfds_poll, and a UDP
    // flow lwIP opened before the first one got so_expire = 0 + SO_EXPIRE, so the next fill
    // expired it and the first reply was lost (4 of 6 starts, measured).
    uint32_t zero = 0;
    pthread_mutex_lock(&rf_slirp_lock);
    rf_nfds = 0;
    slirp_pollfds_fill(rf_slirp, &zero, rf_add_poll, NULL);
    slirp_pollfds_poll(rf_slirp, 0, rf_get_revents, NULL);
    pthread_mutex_unlock(&rf_slirp_lock);

    pthread_t t;
    if (pthread_create(&t, NULL, rf_slirp_thread, NULL) != 0) {
        fprintf(stderr, "sockconf-ref: cannot start the slirp thread\n");
        return -1;
    }
    pthread_detach(t);
    return 0;
}

// The host side of a forward: 127.0.0.1:port, or [::1]:port for v6; the guest side the oracle's.
static socklen_t rf_fwd_addrs(int v6, int port, struct sockaddr_storage *h, struct sockaddr_storage *g) {
    memset(h, 0, sizeof *h);
    memset(g, 0, sizeof *g);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)h, *b = (struct sockaddr_in6 *)g;
        a->sin6_family = b->sin6_family = AF_INET6;
        a->sin6_port = b->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        inet_pton(AF_INET6, RF_ORACLE_ADDR6, &b->sin6_addr);
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)h, *b = (struct sockaddr_in *)g;
    a->sin_family = b->sin_family = AF_INET;
    a->sin_port = b->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
    inet_pton(AF_INET, RF_ORACLE_ADDR, &b->sin_addr);
    return sizeof *a;
}

int rf_net_forward(int udp, int v6, int port) {
    struct sockaddr_storage h, g;
    socklen_t n = rf_fwd_addrs(v6, port, &h, &g);
    int flags = (udp ? SLIRP_HOSTFWD_UDP : 0) | (v6 ? SLIRP_HOSTFWD_V6ONLY : 0);
    pthread_mutex_lock(&rf_slirp_lock);
    int r = slirp_add_hostxfwd(rf_slirp, (struct sockaddr *)&h, n, (struct sockaddr *)&g, n, flags);
    pthread_mutex_unlock(&rf_slirp_lock);
    rf_kick();
    return r;
}

void rf_net_unforward(int udp, int v6, int port) {
    struct sockaddr_storage h, g;
    socklen_t n = rf_fwd_addrs(v6, port, &h, &g);
    int flags = (udp ? SLIRP_HOSTFWD_UDP : 0) | (v6 ? SLIRP_HOSTFWD_V6ONLY : 0);
    pthread_mutex_lock(&rf_slirp_lock);
    slirp_remove_hostxfwd(rf_slirp, (struct sockaddr *)&h, n, flags);
    // The slirp thread may be inside poll() on the forward's socket: the kernel keeps that socket
    // (still listening, though closed) until the poll returns, and a listen on the same port
    // right after then found its host port taken (EADDRINUSE; 6 in 300 re-listens under load).
    // Wake the thread and wait for its poll to end, a bounded 200 ms.
    uint64_t seen = rf_cycle;
    rf_kick();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    while (rf_cycle == seen && pthread_cond_timedwait(&rf_cycled, &rf_slirp_lock, &until) == 0) {
    }
    pthread_mutex_unlock(&rf_slirp_lock);
}
