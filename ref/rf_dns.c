// rf_dns.c: a stub resolver over an rf_api's UDP: one A or AAAA query, two tries of one second each.
#define _GNU_SOURCE
#include "rf_dns.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#define RF_DNS_TRIES 2
#define RF_DNS_WAIT_MS 1000
#define RF_DNS_MAX 512

// Query for host's A record (v6: AAAA) into q; its length, or -1 for a name DNS cannot carry.
static int rf_dns_query(const char *host, int v6, uint16_t id, uint8_t *q) {
    size_t n = 12, hl = strlen(host);
    if (hl == 0 || hl > 253) {
        return -1;
    }
    memset(q, 0, 12);
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
    q[2] = 0x01;      // RD
    q[5] = 1;         // QDCOUNT
    const char *label = host;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t ll = dot ? (size_t)(dot - label) : strlen(label);
        if (ll == 0 || ll > 63) {
            return -1;
        }
        q[n++] = (uint8_t)ll;
        memcpy(q + n, label, ll);
        n += ll;
        label += ll + (dot ? 1 : 0);
        if (dot && !*label) {
            break;    // a trailing dot: the root
        }
    }
    q[n++] = 0;
    q[n++] = 0;
    q[n++] = v6 ? 28 : 1;     // QTYPE AAAA or A
    q[n++] = 0;
    q[n++] = 1;       // QCLASS IN
    return (int)n;
}

// Skip a (possibly compressed) name; the offset after it, or -1.
static int rf_dns_skip(const uint8_t *m, int len, int at) {
    while (at < len) {
        uint8_t l = m[at];
        if (l == 0) {
            return at + 1;
        }
        if ((l & 0xC0) == 0xC0) {
            return at + 2 <= len ? at + 2 : -1;
        }
        at += 1 + l;
    }
    return -1;
}

static int rf_dns_parse(const uint8_t *m, int len, uint16_t id, int v6, void *addr) {
    if (len < 12 || m[0] != (id >> 8) || m[1] != (uint8_t)id || !(m[2] & 0x80)) {
        return 1;     // not our answer: keep waiting
    }
    int rcode = m[3] & 0x0F;
    if (rcode == 3) {
        return EAI_NONAME;
    }
    if (rcode == 2) {
        return EAI_AGAIN;
    }
    if (rcode != 0) {
        return EAI_FAIL;
    }
    int qd = m[4] << 8 | m[5], an = m[6] << 8 | m[7], at = 12;
    for (int k = 0; k < qd && at >= 0; k++) {
        at = rf_dns_skip(m, len, at);
        at = at >= 0 && at + 4 <= len ? at + 4 : -1;
    }
    for (int k = 0; k < an && at >= 0; k++) {
        at = rf_dns_skip(m, len, at);
        if (at < 0 || at + 10 > len) {
            return EAI_FAIL;
        }
        int type = m[at] << 8 | m[at + 1], cls = m[at + 2] << 8 | m[at + 3];
        int rdlen = m[at + 8] << 8 | m[at + 9];
        at += 10;
        if (at + rdlen > len) {
            return EAI_FAIL;
        }
        if (type == (v6 ? 28 : 1) && cls == 1 && rdlen == (v6 ? 16 : 4)) {
            memcpy(addr, m + at, (size_t)rdlen);
            return 0;
        }
        at += rdlen;
    }
    return at < 0 ? EAI_FAIL : EAI_NODATA;
}

static int64_t rf_dns_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rf_dns_resolve(const rf_api *api, const char *host, int v6, void *addr) {
    const char *env = getenv(RF_DNS_PORT_ENV);
    int port = env ? atoi(env) : 0;
    uint8_t q[RF_DNS_MAX], r[RF_DNS_MAX];
    uint16_t id = (uint16_t)rand();
    int qlen = rf_dns_query(host, v6, id, q);
    if (qlen < 0) {
        return EAI_NONAME;
    }
    if (port <= 0 || port > 65535) {
        return EAI_AGAIN;    // no resolver: as a resolver nobody answers
    }
    int s = api->socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
        return EAI_SYSTEM;
    }
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    api->inet_pton(AF_INET, api->dns_server, &to.sin_addr);
    int result = EAI_AGAIN;
    for (int t = 0; t < RF_DNS_TRIES && result == EAI_AGAIN; t++) {
        api->sendto(s, q, (size_t)qlen, 0, (struct sockaddr *)&to, sizeof to);
        // answers with another id or name are skipped, within the same wait: a bounded try
        int64_t until = rf_dns_now_ms() + RF_DNS_WAIT_MS;
        for (int64_t left = RF_DNS_WAIT_MS; left > 0; left = until - rf_dns_now_ms()) {
            struct pollfd p = {s, POLLIN, 0};
            if (api->poll(&p, 1, (int)left) <= 0) {
                break;
            }
            ssize_t n = api->recv(s, r, sizeof r, 0);
            int v = n > 0 ? rf_dns_parse(r, (int)n, id, v6, addr) : 1;
            if (v != 1) {
                result = v;
                break;
            }
        }
    }
    api->close(s);
    return result;
}
