/* uplink.h: the NcUplink of a nested cloud, over the parent's HTTP API. */
#pragma once

#include "service/central.h"

/* The uplink's slots; their opaque is the NcNestedConf (borrowed). */
extern const NcUplink nc_uplink_http;
