/* schema.h: the store's schema, as an ordered list of migrations.
 *
 * Version N of the schema is the first N entries applied in order; a store
 * records its version in meta.schema_version.  Never edit a released entry:
 * append a new one.  SQL is portable between SQLite and PostgreSQL; the one
 * difference, the auto-increment key type, is written {{SERIAL}}.
 */
#pragma once

#include "store.h"

/* Returns: @sql with {{SERIAL}} replaced by @serial_pk (caller frees). */
char *nc_schema_render(const char *sql, const char *serial_pk);
