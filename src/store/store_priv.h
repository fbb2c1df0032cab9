/* store_priv.h: what store drivers share with the generic store layer. */
#pragma once

#include "store.h"

struct NcStore {
    const NcStoreDriver *drv;
    /* the store is one thread's at a time (nc_store_lock()): */
    GMutex lock;            /* guards owner and urgent */
    GThread *owner;         /* the thread that has it, or NULL (atomic) */
    int holds;              /* how many times owner took it */
    int urgent;             /* urgent threads waiting for it */
    GCond free;             /* it came free and no urgent thread waits */
    GCond urgent_free;      /* it came free for an urgent thread */
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

/* The hash of an SQL text for the drivers' statement caches: its length
 * and sixteen 8-byte words spread along it.  g_str_hash() reads every byte,
 * one at a time, and the central node looks up some twenty statements of
 * 100 to 700 bytes for each VM it creates; that was 4 % of its CPU at C1M
 * size.  Texts that sample alike only share a bucket: a lookup still
 * compares the whole text (g_str_equal). */
guint nc__sql_hash(gconstpointer sql);
