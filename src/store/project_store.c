/* project_store.c: projects and tokens. */
#include "project_store.h"
#include "util/nc_error.h"
#include "util/nc_time.h"

void
nc_token_free(NcToken *tok)
{
    if (!tok)
        return;
    g_free(tok->id);
    g_free(tok->project);
    g_free(tok->project_name);
    g_free(tok->role);
    g_free(tok->name);
    g_free(tok);
}

char *
nc_store_project_create(NcStore *st, const char *id, const char *name, GError **err)
{
    if (nc_store_exec(st, err, "INSERT INTO projects (id, name, created_at) VALUES ($1,$2,$3)",
                      NC_TEXT(id), NC_TEXT(name), NC_INT(nc_now_ms()), NC_END) < 0) {
        if (nc_error_code(err ? *err : NULL) == NC_ERR_CONFLICT) {
            g_clear_error(err);
            nc_error_set(err, NC_ERR_CONFLICT, "a project named '%s' already exists", name);
        }
        return NULL;
    }
    return g_strdup(id);
}

json_t *
nc_store_project_list(NcStore *st, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT id, name, created_at FROM projects ORDER BY name",
                                         NC_END);
    if (!r)
        return NULL;
    json_t *out = json_array();
    GError *local = NULL;
    while (nc_rows_next(r, &local)) {
        g_autofree char *created = nc_time_format(nc_rows_int(r, 2));
        json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "id", nc_rows_text(r, 0),
                                             "name", nc_rows_text(r, 1), "created_at", created));
    }
    if (local) {
        json_decref(out);
        g_propagate_error(err, local);
        return NULL;
    }
    return out;
}

char *
nc_store_project_resolve(NcStore *st, const char *key, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT id FROM projects WHERE id = $1 OR name = $1",
                                         NC_TEXT(key), NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_first(r, err, "no project '%.64s'", key))
        return NULL;
    return nc_rows_dup(r, 0);
}

int
nc_store_token_insert(NcStore *st, const char *id, const char *hash, const char *project,
                      const char *role, const char *name, GError **err)
{
    return nc_store_exec(st, err,
                         "INSERT INTO tokens (id, hash, project, role, name, created_at)"
                         " VALUES ($1,$2,$3,$4,$5,$6)",
                         NC_TEXT(id), NC_TEXT(hash), NC_TEXT(project), NC_TEXT(role),
                         NC_TEXT(name), NC_INT(nc_now_ms()), NC_END) < 0 ? -1 : 0;
}

NcToken *
nc_store_token_lookup(NcStore *st, const char *hash, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(st, err,
                                         "SELECT t.id, t.project, p.name, t.role, t.name"
                                         " FROM tokens t JOIN projects p ON p.id = t.project"
                                         " WHERE t.hash = $1",
                                         NC_TEXT(hash), NC_END);
    if (!r)
        return NULL;
    GError *local = NULL;
    if (!nc_rows_next(r, &local)) {
        if (local)
            g_propagate_error(err, local);
        else
            nc_error_set(err, NC_ERR_UNAUTHENTICATED, "the token is not valid");
        return NULL;
    }
    NcToken *tok = g_new0(NcToken, 1);
    tok->id = nc_rows_dup(r, 0);
    tok->project = nc_rows_dup(r, 1);
    tok->project_name = nc_rows_dup(r, 2);
    tok->role = nc_rows_dup(r, 3);
    tok->name = nc_rows_dup(r, 4);
    return tok;
}
