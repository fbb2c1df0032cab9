/* port_store.h: port forwards in the store. */
#pragma once

#include "store.h"
#include "conf/port_conf.h"

/* NC_ERR_CONFLICT when the host already forwards that port. */
int nc_store_port_insert(NcStore *st, const NcPort *p, GError **err);
/* The forward of @vm (id) on @host_port.  NC_ERR_NOT_FOUND when absent. */
NcPort *nc_store_port_get(NcStore *st, const char *vm, int host_port, GError **err);
/* (element-type NcPort): of @vm (NULL: all), of @host (NULL: any). */
GPtrArray *nc_store_port_list(NcStore *st, const char *vm, const char *host, GError **err);
/* Writes state, error and parent. */
int nc_store_port_update(NcStore *st, const NcPort *p, GError **err);
int nc_store_port_delete(NcStore *st, const char *id, GError **err);
/* Forgets every forward of @vm (the VM is gone). */
int nc_store_port_delete_vm(NcStore *st, const char *vm, GError **err);
/* By id.  NC_ERR_NOT_FOUND when absent. */
NcPort *nc_store_port_get_id(NcStore *st, const char *id, GError **err);
