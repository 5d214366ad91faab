// rf_lwip.h: lwIP's sockets (Debian's unix port) as an rf_api: the oracle's stack.
#ifndef RF_LWIP_H
#define RF_LWIP_H

#include "rf_sem.h"

extern const rf_api rf_lwip_api;

#endif
