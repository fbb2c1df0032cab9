/* table.c: aligned columns. */
#include "table.h"

#include <stdarg.h>
#include <string.h>

struct NcTable {
    guint ncols;
    GPtrArray *cells;   /* row-major, ncols per row; the first row is headers */
};

NcTable *
nc_table_new(const char *first, ...)
{
    NcTable *t = g_new0(NcTable, 1);
    t->cells = g_ptr_array_new_with_free_func(g_free);
    va_list ap;
    va_start(ap, first);
    for (const char *h = first; h; h = va_arg(ap, const char *)) {
        g_ptr_array_add(t->cells, g_strdup(h));
        t->ncols++;
    }
    va_end(ap);
    return t;
}

void
nc_table_add(NcTable *t, ...)
{
    va_list ap;
    va_start(ap, t);
    for (guint i = 0; i < t->ncols; i++) {
        const char *v = va_arg(ap, const char *);
        g_ptr_array_add(t->cells, g_strdup(v && *v ? v : "-"));
    }
    va_end(ap);
}

void
nc_table_print(NcTable *t, FILE *out)
{
    g_autofree guint *w = g_new0(guint, t->ncols);
    for (guint i = 0; i < t->cells->len; i++) {
        const char *s = g_ptr_array_index(t->cells, i);
        w[i % t->ncols] = MAX(w[i % t->ncols], (guint)g_utf8_strlen(s, -1));
    }
    for (guint i = 0; i < t->cells->len; i++) {
        const char *s = g_ptr_array_index(t->cells, i);
        guint col = i % t->ncols;
        fputs(s, out);
        if (col + 1 == t->ncols) {
            fputc('\n', out);
        } else {
            for (guint k = (guint)g_utf8_strlen(s, -1); k < w[col] + 2; k++)
                fputc(' ', out);
        }
    }
    g_ptr_array_unref(t->cells);
    g_free(t);
}
