// rf_kernel.h: the host kernel's sockets as an rf_api.
#ifndef RF_KERNEL_H
#define RF_KERNEL_H

#include "rf_sem.h"

extern const rf_api rf_kernel_api;

#endif
