// hn_ops.h: the op enum, expanded from ops.def.
#ifndef HN_OPS_H
#define HN_OPS_H

typedef enum {
#define HN_OP(id, name, sig) HN_OP_##id,
#include "ops.def"
#undef HN_OP
    HN_OP_COUNT
} hn_op;

#endif
