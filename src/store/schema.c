/* schema.c: the store's migrations.  Times are milliseconds since the epoch,
 * ratios are thousandths, sizes are MiB or GiB as the column says. */
#include "schema.h"

#include <glib.h>

static const char *const nc_schema_versions[] = {
    /* 1: the single-host cloud */
    "CREATE TABLE projects ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE tokens ("
    "  id TEXT PRIMARY KEY,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  project TEXT NOT NULL REFERENCES projects(id),"
    "  role TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE hosts ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  state TEXT NOT NULL,"
    "  accel TEXT NOT NULL,"
    "  nested BIGINT NOT NULL DEFAULT 0,"
    "  vcpus BIGINT NOT NULL,"
    "  memory_mib BIGINT NOT NULL,"
    "  disk_gib BIGINT NOT NULL,"
    "  reserved_memory_mib BIGINT NOT NULL DEFAULT 0,"
    "  cpu_ratio BIGINT NOT NULL DEFAULT 4000,"
    "  ram_ratio BIGINT NOT NULL DEFAULT 1000,"
    "  disk_ratio BIGINT NOT NULL DEFAULT 1000,"
    "  alloc_vcpus BIGINT NOT NULL DEFAULT 0,"
    "  alloc_memory_mib BIGINT NOT NULL DEFAULT 0,"
    "  alloc_disk_gib BIGINT NOT NULL DEFAULT 0,"
    "  info TEXT NOT NULL DEFAULT '{}',"
    "  last_seen BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE images ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL REFERENCES projects(id),"
    "  name TEXT NOT NULL,"
    "  public BIGINT NOT NULL DEFAULT 0,"
    "  format TEXT NOT NULL,"
    "  file TEXT NOT NULL,"
    "  size_bytes BIGINT NOT NULL,"
    "  virtual_size_bytes BIGINT NOT NULL,"
    "  kernel TEXT,"
    "  initrd TEXT,"
    "  cmdline TEXT,"
    "  state TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  UNIQUE (project, name));"
    "CREATE TABLE vms ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL REFERENCES projects(id),"
    "  name TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  desired TEXT NOT NULL,"
    "  host TEXT REFERENCES hosts(id),"
    "  image TEXT NOT NULL,"
    "  vcpus BIGINT NOT NULL,"
    "  memory_mib BIGINT NOT NULL,"
    "  disk_gib BIGINT NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  addresses TEXT NOT NULL DEFAULT '[]',"
    "  placement TEXT,"
    "  error TEXT,"
    "  op TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  UNIQUE (project, name));"
    "CREATE INDEX vms_host ON vms (host);"
    "CREATE TABLE operations ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  target_kind TEXT NOT NULL,"
    "  target_id TEXT NOT NULL,"
    "  target_name TEXT,"
    "  host TEXT,"
    "  request TEXT NOT NULL DEFAULT '{}',"
    "  error_code TEXT,"
    "  error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX operations_created ON operations (created_at);"
    "CREATE TABLE events ("
    "  seq {{SERIAL}},"
    "  time BIGINT NOT NULL,"
    "  project TEXT,"
    "  type TEXT NOT NULL,"
    "  object_kind TEXT NOT NULL,"
    "  object_id TEXT NOT NULL,"
    "  data TEXT NOT NULL);"
    "CREATE TABLE queue ("
    "  id {{SERIAL}},"
    "  topic TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  available_at BIGINT NOT NULL,"
    "  attempts BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX queue_topic ON queue (topic, available_at, id);",

    /* 2: allocations scheduled for later */
    "CREATE TABLE reservations ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL REFERENCES projects(id),"
    "  name TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  host TEXT REFERENCES hosts(id),"
    "  spec TEXT NOT NULL,"
    "  vcpus BIGINT NOT NULL,"
    "  memory_mib BIGINT NOT NULL,"
    "  disk_gib BIGINT NOT NULL,"
    "  start_at BIGINT NOT NULL,"
    "  end_at BIGINT NOT NULL,"
    "  keep BIGINT NOT NULL DEFAULT 0,"
    "  vm TEXT,"
    "  error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  UNIQUE (project, name));"
    "CREATE INDEX reservations_host ON reservations (host, state, start_at);"
    "CREATE INDEX reservations_due ON reservations (state, start_at);",

    /* 3: block volumes, snapshots, per-project quotas */
    "CREATE TABLE volumes ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL REFERENCES projects(id),"
    "  name TEXT NOT NULL,"
    "  size_gib BIGINT NOT NULL,"
    "  filesystem TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  vm TEXT,"
    "  device TEXT,"
    "  host TEXT,"
    "  op TEXT,"
    "  error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  UNIQUE (project, name));"
    "CREATE INDEX volumes_vm ON volumes (vm);"
    "CREATE TABLE snapshots ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL REFERENCES projects(id),"
    "  name TEXT NOT NULL,"
    "  vm TEXT,"
    "  image TEXT NOT NULL,"
    "  file TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  op TEXT,"
    "  error TEXT,"
    "  size_bytes BIGINT NOT NULL DEFAULT 0,"
    "  disk_gib BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  UNIQUE (project, name));"
    "ALTER TABLE projects ADD COLUMN quota_volumes BIGINT;"
    "ALTER TABLE projects ADD COLUMN quota_volume_gib BIGINT;",

    /* 4: port forwards (one listening port per host and number) */
    "CREATE TABLE ports ("
    "  id TEXT PRIMARY KEY,"
    "  project TEXT NOT NULL REFERENCES projects(id),"
    "  vm TEXT NOT NULL,"
    "  host TEXT NOT NULL,"
    "  host_port BIGINT NOT NULL,"
    "  guest_port BIGINT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  error TEXT,"
    "  parent TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  UNIQUE (host, host_port));"
    "CREATE INDEX ports_vm ON ports (vm);",

    /* 5: at 100,000 VMs, the expiry tick (every second) and the status
     * counts scanned the whole table; the expiry is a column of its own
     * (0: none; filled in for older rows at open, vm_store.c) */
    "ALTER TABLE vms ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX vms_expiring ON vms (expires_at) WHERE expires_at > 0;"
    "CREATE INDEX vms_state ON vms (state);",

    /* 6: the quota check counted a project's VMs at each create, a scan of
     * 100,000 index entries at C1M size; the count is kept with the
     * project, changed in the transaction that inserts or deletes a VM */
    "ALTER TABLE projects ADD COLUMN vm_count BIGINT NOT NULL DEFAULT 0;"
    "UPDATE projects SET vm_count = (SELECT COUNT(*) FROM vms WHERE vms.project = projects.id);",

    /* 7: the scheduler took a host's image list taken while an image was
     * being written for proof that the host lacks it; a list proves that
     * only if it was taken after the image's file was whole */
    "ALTER TABLE images ADD COLUMN ready_at BIGINT NOT NULL DEFAULT 0;"
    "UPDATE images SET ready_at = created_at WHERE state = 'available';",

    /* 8: a host an admin takes out of scheduling (maintenance): it keeps
     * its VMs and the room reservations hold on it, and takes no new ones */
    "ALTER TABLE hosts ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE hosts ADD COLUMN disabled_reason TEXT;",

    /* 9: a VM evacuated from a dead host is made again elsewhere; the host
     * it left is kept, so that the copy left there is removed if that host
     * comes back (and a copy on any other host is not) */
    "ALTER TABLE vms ADD COLUMN evacuated_from TEXT;",
};

const NcSchema nc_schema_central = {
    .versions = nc_schema_versions,
    .count = G_N_ELEMENTS(nc_schema_versions),
};

char *
nc_schema_render(const char *sql, const char *serial_pk)
{
    g_auto(GStrv) parts = g_strsplit(sql, "{{SERIAL}}", -1);
    return g_strjoinv(serial_pk, parts);
}
