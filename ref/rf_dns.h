// rf_dns.h: a stub resolver: A and AAAA records from the DNS server the test run controls, over any
// rf_api.
// No name ever goes to the machine's resolver.
#ifndef RF_DNS_H
#define RF_DNS_H

#include "rf_sem.h"

#define RF_DNS_PORT_ENV "SOCKCONF_DNS_PORT"

// The server is api->dns_server at the UDP port in $SOCKCONF_DNS_PORT (the suite's DNS peer).
// v6: ask the AAAA record, else the A record. 0 and addr (4 bytes, or 16 for v6, network order),
// or a negative getaddrinfo error: EAI_NONAME (NXDOMAIN, or a malformed name), EAI_NODATA (no
// such record), EAI_AGAIN (SERVFAIL, no answer, or no server configured), EAI_FAIL (any other).
int rf_dns_resolve(const rf_api *api, const char *host, int v6, void *addr);

#endif
