// rf_peer.h: host peers for the ref layer's C tests: real POSIX sockets on 127.0.0.1 (or ::1)
// only, one thread each, every wait bounded. The caller owns each rf_peer and the sink's buffer.
#ifndef RF_PEER_H
#define RF_PEER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifndef RF_PEER_LIFE_MS
#define RF_PEER_LIFE_MS 30000   // a peer thread ends by itself after this, stopped or not
#endif
#ifndef RF_PEER_DRAIN_MS
#define RF_PEER_DRAIN_MS 10000  // longest a sink reads when stopped, waiting for the FIN
#endif
#define RF_PEER_SINK_RCVBUF 4096

typedef enum { RF_PEER_SOURCE, RF_PEER_SINK, RF_PEER_SILENT, RF_PEER_DNS } rf_peer_kind;

typedef struct rf_peer {
    rf_peer_kind kind;
    int fd;             // listening TCP or bound UDP socket on 127.0.0.1 (v6: ::1); -1 when stopped
    int v6;             // set by the start functions: the peer is on ::1
    int port;
    int stop[2];        // a byte on stop[1] ends the peer (a sink drains its connection first)
    pthread_t thread;
    // Read only after rf_peer_stop (the thread has ended then):
    int accepted;       // TCP: a connection was accepted
    int eof;            // sink: read up to the FIN
    size_t got;         // sink: bytes read (the first `cap` of them are in buf)
    int asked_name, asked_invalid;  // dns: queries for its name / for names under .invalid
    // Set by the start functions:
    const uint8_t *data;    // source: sent, then FIN (unless no_fin)
    size_t len;
    int no_fin;
    uint8_t *buf;           // sink: what it reads, caller-owned
    size_t cap;
    const char *name;       // dns: the one name it answers with an A record
    uint8_t addr[4];
    const char *name6;      // dns: the one name it answers with an AAAA record (NULL: none)
    uint8_t addr6[16];
} rf_peer;

// Start a peer: 0, or -1 with a message on stderr (nothing left running).
// Source: accepts one connection, sends data, then FIN (shutdown), holds it until stopped.
int rf_peer_source(rf_peer *p, const void *data, size_t n);
// The same source on ::1.
int rf_peer_source6(rf_peer *p, const void *data, size_t n);
// Open source: the same without the FIN (a read to EOF ends by its timeout).
int rf_peer_source_open(rf_peer *p, const void *data, size_t n);
// Sink: SO_RCVBUF 4096, accepts one connection and never reads it until stopped; then reads to
// the FIN into buf (bytes past cap are counted, not kept).
int rf_peer_sink(rf_peer *p, uint8_t *buf, size_t cap);
// Silent acceptor: accepts one connection, never sends, holds it until stopped.
int rf_peer_silent(rf_peer *p);
// DNS on UDP: an A record (ipv4) for name, an AAAA record (ipv6) for name6, an empty answer to
// the other type of query for either; NXDOMAIN for names ending in .invalid; SERVFAIL for any other
// name (the test asked for a name it did not set up).
int rf_peer_dns(rf_peer *p, const char *name, const char *ipv4, const char *name6, const char *ipv6);
// Stop p and wait for its thread (bounded by RF_PEER_DRAIN_MS); then its counters are readable.
void rf_peer_stop(rf_peer *p);
// A TCP port on 127.0.0.1 that nobody listens on (bound, then closed); -1 on failure.
int rf_peer_closed_port(void);

#endif
