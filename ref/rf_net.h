// rf_net.h: the oracle's network: lwIP (Debian's unix port) with one netif over libslirp.
// The oracle is 10.0.2.15 and fec0::15; 10.0.2.2 and fec0::2 (slirp's IPv6 host alias, in its
// default prefix fec0::/64) are the host (slirp connects them to the host's 127.0.0.1 and ::1).
// Nothing else is reachable: the netif drops every frame that is not ARP or IP to a host alias (and
// the neighbour solicitation for the IPv6 one).
#ifndef RF_NET_H
#define RF_NET_H

#include <stdint.h>

#include <lwip/netif.h>

#define RF_ORACLE_ADDR "10.0.2.15"
#define RF_HOST_ADDR "10.0.2.2"
#define RF_ORACLE_ADDR6 "fec0::15"
#define RF_HOST_ADDR6 "fec0::2"
#define RF_PREFIX6 "fec0::"
#define RF_DNS_ADDR6 "fec0::3"

// Start lwIP's tcpip thread, the netif and the slirp thread. 0, or -1 with a message on stderr.
int rf_net_start(void);
// The tap backend instead (rf_tap.c): a netif on the existing tap device ifname, in a network
// namespace the run made (the host side is 10.0.2.2 there; no hostfwd: the host reaches the
// oracle at 10.0.2.15). 0, or -1 with a message on stderr.
int rf_net_start_tap(const char *ifname);
// Both: start lwIP's tcpip thread and add netif as 10.0.2.15/24, gateway 10.0.2.2, and fec0::15
// (preferred at once), default, up.
int rf_net_up(struct netif *netif, netif_init_fn init, netif_input_fn input);
// Both netifs' init: an Ethernet netif with ARP, named name[0..1], sending frames through out.
err_t rf_net_ether(struct netif *netif, const char *name, netif_linkoutput_fn out, u16_t mtu,
                   const uint8_t mac[6]);
// Make the oracle's port reachable from the host as 127.0.0.1:port, or [::1]:port for v6 (to
// [fec0::15]:port; slirp's hostxfwd). 0 or -1.
int rf_net_forward(int udp, int v6, int port);
void rf_net_unforward(int udp, int v6, int port);
// Frames the isolation filter dropped so far.
uint64_t rf_net_dropped(void);

#endif
