/* nc_xml.h: escaping for text we put into XML (libvirt domain definitions). */
#pragma once

#include <glib.h>

/**
 * nc_xml_escape_append:
 * @buf: destination
 * @text: raw text (may be NULL: appends nothing)
 *
 * Appends @text with &, <, >, ' and " escaped, so it is safe both as
 * element content and inside single- or double-quoted attributes.
 */
void nc_xml_escape_append(GString *buf, const char *text);

/* printf into @buf where every %s argument is escaped first.  Only %s, %d,
 * %u, %ld, %lu, %lld, %llu, %% are understood; numbers are not escaped. */
void nc_xml_printf(GString *buf, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
