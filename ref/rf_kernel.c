// rf_kernel.c: the host kernel's sockets as an rf_api (target `harness`: the semantics layer over
// Linux's TCP/IP instead of lwIP's).
#define _GNU_SOURCE
#include "rf_kernel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int rf_kernel_nonblocking(int s) {
    return fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
}

const rf_api rf_kernel_api = {
    .socket = socket,
    .bind = bind,
    .listen = listen,
    .accept = accept,
    .connect = connect,
    .send = send,
    .recv = recv,
    .sendto = sendto,
    .recvfrom = recvfrom,
    .setsockopt = setsockopt,
    .getsockopt = getsockopt,
    .getsockname = getsockname,
    .close = close,
    .set_nonblocking = rf_kernel_nonblocking,
    .poll = poll,
    .inet_pton = inet_pton,
    .inet_ntop = inet_ntop,
    .dns_server = "127.0.0.1",
    .forward = NULL,
    .unforward = NULL,
    .send_flags = MSG_NOSIGNAL,
};
