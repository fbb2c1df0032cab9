/* project_store.h: projects and their API tokens. */
#pragma once

#include "store.h"

#include <jansson.h>

#define NC_ADMIN_PROJECT "admin"

typedef struct {
    char *id;            /* token id (not secret) */
    char *project;       /* project id */
    char *project_name;
    char *role;          /* "admin" or "member" */
    char *name;
} NcToken;

void nc_token_free(NcToken *tok);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NcToken, nc_token_free)

/* Creates a project; NC_ERR_CONFLICT when the name exists.  Returns its id
 * (caller frees) or NULL. */
char *nc_store_project_create(NcStore *st, const char *id, const char *name, GError **err);

/* Returns: [{"id", "name", "created_at"}, ...], or NULL. */
json_t *nc_store_project_list(NcStore *st, GError **err);

/* Returns: the project id for @key (id or name), NC_ERR_NOT_FOUND when absent. */
char *nc_store_project_resolve(NcStore *st, const char *key, GError **err);

/* Stores a token by its hash. */
int nc_store_token_insert(NcStore *st, const char *id, const char *hash,
                          const char *project, const char *role, const char *name,
                          GError **err);

/* Finds a token by the hash of its secret.  NC_ERR_UNAUTHENTICATED when
 * none matches. */
NcToken *nc_store_token_lookup(NcStore *st, const char *hash, GError **err);
