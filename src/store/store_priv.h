/* store_priv.h: what store drivers share with the generic store layer. */
#pragma once

#include "store.h"

struct NcStore {
    const NcStoreDriver *drv;
    GRecMutex lock;
    int depth;              /* transaction nesting */
    bool failed;            /* the open transaction must roll back */
    bool dirty;             /* the open transaction changed something */
    uint64_t generation;    /* read with atomics */
    void *impl;             /* the driver's connection */
};

/* Every driver's cursor starts with this header. */
struct NcRows {
    NcStore *st;
    bool writes;            /* the statement may change rows */
};
