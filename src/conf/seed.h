/* seed.h: the NoCloud seed (cloud-init convention) of a VM.
 *
 * meta-data names the instance and its host name and lists the SSH keys
 * (cloud-init reads "public-keys" from NoCloud meta-data); user-data is the
 * user's own text, verbatim, or a #cloud-config with the keys when the user
 * gave none.  Values are written as double-quoted YAML scalars.
 */
#pragma once

#include "vm_conf.h"

/* Returns: the meta-data file (caller frees). */
char *nc_seed_meta_data(const NcVmSpec *spec);

/* Returns: the user-data file (caller frees). */
char *nc_seed_user_data(const NcVmSpec *spec);
