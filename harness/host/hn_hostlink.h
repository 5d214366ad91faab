// hn_hostlink.h: the link of a harness on a host: stdin/stdout, or a pty (--pty: the slave's
// path is printed to stderr as "pty: PATH").
#ifndef HN_HOSTLINK_H
#define HN_HOSTLINK_H

#include "../hn_port.h"

typedef struct {
    int rfd, wfd;
} hn_host_link;

// Parse argv (nothing, or --pty), open the link and fill port's link part.
// Returns 0, or prints why to stderr and returns the exit status to use.
int hn_hostlink_open(hn_host_link *l, hn_port *port, int argc, char **argv, const char *prog);

#endif
