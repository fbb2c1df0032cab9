/* market_valid.h: checks of what market users type: money, IBANs, e-mail
 * addresses, backend URLs, company data.
 *
 * Pure functions (no store, no clock), so that every rule is unit-tested.
 * Money is held as integer micro-units of the market's currency (1 EUR =
 * 1,000,000) so that sums are exact; prices are per slot and hour.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define NC_MARKET_MICROS 1000000LL
/* The highest price anybody may name: 10,000 per slot-hour.  Anything above
 * is a typo or an attack on the arithmetic, never a real price. */
#define NC_MARKET_PRICE_MAX (10000LL * NC_MARKET_MICROS)

/**
 * nc_market_price_parse:
 * @what: the field's name, for the message
 * @v: a JSON number (0.05) or a decimal string ("0.05"), at most 6 decimals
 * @allow_zero: whether 0 is a valid price (a reserve may be 0, a bid not)
 * @ret_micros: the price in micro-units, set only on success
 * @err: NC_ERR_INVALID_ARGUMENT naming the field and the allowed range
 *
 * Refuses negatives, NaN, infinities, more than 6 decimals in a string and
 * anything above NC_MARKET_PRICE_MAX.
 *
 * Returns: 0 on success, -1 on failure.
 */
int nc_market_price_parse(const char *what, json_t *v, bool allow_zero, int64_t *ret_micros,
                          GError **err);

/* Returns: (transfer full): @micros as a JSON number in currency units. */
json_t *nc_market_price_json(int64_t micros);

/**
 * nc_market_cost:
 * @price_micros: price per slot and hour
 * @units: slots held
 * @seconds: whole seconds
 *
 * Returns: what @units slots cost for @seconds at @price_micros, in
 * micro-units, rounded half up.  Saturates instead of overflowing.
 */
int64_t nc_market_cost(int64_t price_micros, int64_t units, int64_t seconds);

/**
 * nc_market_iban_normalize:
 * @text: an IBAN as typed, spaces allowed ("DE89 3704 0044 0532 0130 00")
 * @err: NC_ERR_INVALID_ARGUMENT saying what is wrong (length for the
 *   country, characters, or the mod-97 check digits)
 *
 * Checks the ISO 13616 structure, the length of the countries that use
 * IBANs and the ISO 7064 mod-97-10 check.
 *
 * Returns: (transfer full): the IBAN upper-case without spaces, or NULL.
 */
char *nc_market_iban_normalize(const char *text, GError **err);

/* Returns: (transfer full): "DE89 **** **** **** **30 00" style: the country,
 * the check digits and the last four characters. */
char *nc_market_iban_mask(const char *iban);

/**
 * nc_market_email_normalize:
 * @text: an e-mail address (the login name)
 * @err: NC_ERR_INVALID_ARGUMENT when it is not local@domain.tld
 *
 * Returns: (transfer full): the address in lower case, or NULL.
 */
char *nc_market_email_normalize(const char *text, GError **err);

/**
 * nc_market_url_normalize:
 * @text: a backend's API base URL, "http://HOST:PORT" or https
 * @err: NC_ERR_INVALID_ARGUMENT when it has user info, a path, a query, a
 *   fragment, another scheme or a malformed host or port
 *
 * Returns: (transfer full): the URL without a trailing slash, or NULL.
 */
char *nc_market_url_normalize(const char *text, GError **err);

/* Tax numbers: 2-32 letters, digits, spaces and ". / -".  Returns 0 or -1. */
int nc_market_tax_number_check(const char *text, GError **err);

/* Free text of a user (names, descriptions, addresses): nc_text_check plus
 * a minimum length.  Returns 0 or -1. */
int nc_market_text_check(const char *what, const char *text, size_t min_len, size_t max_len,
                         bool allow_newlines, GError **err);
