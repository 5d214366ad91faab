// rf_lwip.c: lwIP's sockets as an rf_api. Listening and bound ports are made reachable from the
// host by rf_net's hostfwd; the suite's DNS peer is at the host alias.
#define _GNU_SOURCE
#include "rf_lwip.h"

#include <fcntl.h>

#include <lwip/sockets.h>

#include "rf_net.h"

static int rf_lwip_nonblocking(int s) {
    return lwip_fcntl(s, F_SETFL, lwip_fcntl(s, F_GETFL, 0) | O_NONBLOCK);
}

const rf_api rf_lwip_api = {
    .socket = lwip_socket,
    .bind = lwip_bind,
    .listen = lwip_listen,
    .accept = lwip_accept,
    .connect = lwip_connect,
    .send = lwip_send,
    .recv = lwip_recv,
    .sendto = lwip_sendto,
    .recvfrom = lwip_recvfrom,
    .setsockopt = lwip_setsockopt,
    .getsockopt = lwip_getsockopt,
    .getsockname = lwip_getsockname,
    .close = lwip_close,
    .set_nonblocking = rf_lwip_nonblocking,
    .poll = lwip_poll,
    .inet_pton = lwip_inet_pton,
    .inet_ntop = lwip_inet_ntop,
    .dns_server = RF_HOST_ADDR,
    .forward = rf_net_forward,
    .unforward = rf_net_unforward,
    .send_flags = 0,
};
