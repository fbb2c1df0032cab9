/* table.h: human tables for the CLI. */
#pragma once

#include <glib.h>
#include <stdio.h>

typedef struct NcTable NcTable;

/* Columns are given as a NULL-terminated list of headers. */
NcTable *nc_table_new(const char *first, ...) G_GNUC_NULL_TERMINATED;
/* Adds a row of as many cells as there are columns (NULL prints "-"). */
void nc_table_add(NcTable *t, ...);
/* Prints with aligned columns and frees. */
void nc_table_print(NcTable *t, FILE *out);
