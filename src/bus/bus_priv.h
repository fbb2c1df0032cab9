/* bus_priv.h: what bus drivers share with bus.c. */
#pragma once

#include "bus.h"

struct NcBus {
    const NcBusDriver *drv;
    NcStore *store;          /* not owned */
    void *impl;
};
