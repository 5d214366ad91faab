// rf_dns.h: a stub resolver for the oracle: A records from a DNS server the test run controls.
#ifndef RF_DNS_H
#define RF_DNS_H

// The server is the host alias at the UDP port in SOCKCONF_REF_DNS (the suite's fake DNS peer).
// 0 and addr (4 bytes, network order), or a negative getaddrinfo error:
// EAI_NONAME (NXDOMAIN, or a malformed name), EAI_NODATA (no A record), EAI_AGAIN (SERVFAIL,
// no answer, or no server configured), EAI_FAIL (any other failure).
int rf_dns_resolve(const char *host, void *addr);

#endif
