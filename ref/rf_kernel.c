// rf_kernel.c: the host kernel's sockets as an rf_api (target `harness`: the semantics layer over
// Linux's TCP/IP instead of lwIP's).
#define _GNU_SOURCE
#include "rf_kernel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

static int rf_kernel_nonblocking(int s) {
    return fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
}

static int rf_kernel_resolve(const char *host, void *addr) {
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    int r = getaddrinfo(host, NULL, &hints, &res);
    if (r != 0) {
        return r;      // glibc's EAI_* are negative already
    }
    memcpy(addr, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
    freeaddrinfo(res);
    return 0;
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
    .resolve = rf_kernel_resolve,
    .forward = NULL,
    .unforward = NULL,
    .send_flags = MSG_NOSIGNAL,
};
