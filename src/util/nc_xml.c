/* nc_xml.c: XML escaping. */
#include "nc_xml.h"

#include <stdarg.h>

void
nc_xml_escape_append(GString *buf, const char *text)
{
    if (!text)
        return;
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': g_string_append(buf, "&amp;"); break;
        case '<': g_string_append(buf, "&lt;"); break;
        case '>': g_string_append(buf, "&gt;"); break;
        case '\'': g_string_append(buf, "&apos;"); break;
        case '"': g_string_append(buf, "&quot;"); break;
        default: g_string_append_c(buf, *p); break;
        }
    }
}

void
nc_xml_printf(GString *buf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            g_string_append_c(buf, *p);
            continue;
        }
        p++;
        int longs = 0;
        while (*p == 'l') {
            longs++;
            p++;
        }
        switch (*p) {
        case 's':
            nc_xml_escape_append(buf, va_arg(ap, const char *));
            break;
        case 'd':
            if (longs >= 2)
                g_string_append_printf(buf, "%lld", va_arg(ap, long long));
            else if (longs == 1)
                g_string_append_printf(buf, "%ld", va_arg(ap, long));
            else
                g_string_append_printf(buf, "%d", va_arg(ap, int));
            break;
        case 'u':
            if (longs >= 2)
                g_string_append_printf(buf, "%llu", va_arg(ap, unsigned long long));
            else if (longs == 1)
                g_string_append_printf(buf, "%lu", va_arg(ap, unsigned long));
            else
                g_string_append_printf(buf, "%u", va_arg(ap, unsigned));
            break;
        case '%':
            g_string_append_c(buf, '%');
            break;
        default:
            g_assert_not_reached();
        }
    }
    va_end(ap);
}
