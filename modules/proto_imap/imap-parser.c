/*
 * imap-parser.c - the IMAP command grammar
 *
 * Strict where a lax reading could make two commands mean different
 * things (literal lengths, quoting, mailbox name encoding), lenient only
 * where clients are known to differ harmlessly (letter case of keywords).
 */
#include "imap-parser.h"
#include "imap-utf7.h"

#include <string.h>

void imap_parser_init(imap_parser *ip, const char *data, size_t len) {
  memset(ip, 0, sizeof(*ip));
  ip->p = data;
  ip->end = data + len;
}

void imap_parser_clear(imap_parser *ip) {
  if (ip->owned != NULL) {
    g_ptr_array_free(ip->owned, TRUE);
    ip->owned = NULL;
  }
  if (ip->arrays != NULL) {
    g_ptr_array_free(ip->arrays, TRUE);
    ip->arrays = NULL;
  }
}

void *imap_parser_own(imap_parser *ip, void *p) {
  if (ip->owned == NULL)
    ip->owned = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(ip->owned, p);
  return p;
}

static void free_array(gpointer p) { g_array_free(p, TRUE); }

GArray *imap_parser_array(imap_parser *ip, guint elt_size) {
  if (ip->arrays == NULL)
    ip->arrays = g_ptr_array_new_with_free_func(free_array);
  GArray *a = g_array_new(FALSE, FALSE, elt_size);
  g_ptr_array_add(ip->arrays, a);
  return a;
}

bool imap_parser_fail(imap_parser *ip, const char *error) {
  if (ip->error == NULL)
    ip->error = error;
  return false;
}

static char *own_strndup(imap_parser *ip, const char *s, size_t len) {
  return imap_parser_own(ip, g_strndup(s, len));
}

/* ----------------------------------------------------------- characters */

static bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* is_atom_char - RFC 3501 ATOM-CHAR */
static bool is_atom_char(unsigned char c) {
  if (c >= 0x80 || is_ctl(c))
    return false;
  return strchr("(){ %*\"\\]", c) == NULL;
}

static bool is_astring_char(unsigned char c) {
  return is_atom_char(c) || c == ']';
}

static bool is_list_char(unsigned char c) {
  return is_astring_char(c) || c == '%' || c == '*';
}

bool imap_is_atom(const char *s, size_t len) {
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!is_atom_char((unsigned char)s[i]))
      return false;
  return true;
}

/* ----------------------------------------------------------- basics */

bool imap_parse_at_end(const imap_parser *ip) { return ip->p >= ip->end; }

bool imap_parse_peek(const imap_parser *ip, char c) {
  return ip->p < ip->end && *ip->p == c;
}

bool imap_parse_char(imap_parser *ip, char c) {
  if (!imap_parse_peek(ip, c)) {
    switch (c) {
    case '(':
      return imap_parser_fail(ip, "expected \"(\"");
    case ')':
      return imap_parser_fail(ip, "expected \")\"");
    default:
      return imap_parser_fail(ip, "unexpected character");
    }
  }
  ip->p++;
  return true;
}

bool imap_parse_sp(imap_parser *ip) {
  if (!imap_parse_peek(ip, ' '))
    return imap_parser_fail(ip, imap_parse_at_end(ip)
                                    ? "missing argument"
                                    : "expected a single space");
  ip->p++;
  return true;
}

bool imap_parse_end(imap_parser *ip) {
  if (!imap_parse_at_end(ip))
    return imap_parser_fail(ip, "unexpected text after the arguments");
  return true;
}

static size_t span(const imap_parser *ip, bool (*ok)(unsigned char)) {
  const char *q = ip->p;
  while (q < ip->end && ok((unsigned char)*q))
    q++;
  return (size_t)(q - ip->p);
}

static bool is_tag_char(unsigned char c) {
  return is_astring_char(c) && c != '+';
}

bool imap_parse_tag(imap_parser *ip, const char **tag_r) {
  size_t n = span(ip, is_tag_char);
  if (n == 0)
    return imap_parser_fail(ip, "missing or invalid tag");
  *tag_r = own_strndup(ip, ip->p, n);
  ip->p += n;
  return true;
}

bool imap_parse_atom(imap_parser *ip, const char **atom_r) {
  size_t n = span(ip, is_atom_char);
  if (n == 0)
    return imap_parser_fail(ip, imap_parse_at_end(ip) ? "missing argument"
                                                      : "expected an atom");
  *atom_r = own_strndup(ip, ip->p, n);
  ip->p += n;
  return true;
}

/* ----------------------------------------------------------- strings */

static bool parse_quoted(imap_parser *ip, const char **s_r) {
  GString *s = g_string_new(NULL);
  ip->p++; /* the opening quote */
  while (ip->p < ip->end) {
    unsigned char c = (unsigned char)*ip->p++;
    if (c == '"') {
      *s_r = imap_parser_own(ip, g_string_free(s, FALSE));
      return true;
    }
    if (c == '\\') {
      if (ip->p >= ip->end || (*ip->p != '"' && *ip->p != '\\')) {
        g_string_free(s, TRUE);
        return imap_parser_fail(ip, "invalid escape in quoted string");
      }
      c = (unsigned char)*ip->p++;
    } else if (c == '\r' || c == '\n' || c == '\0') {
      g_string_free(s, TRUE);
      return imap_parser_fail(ip, "invalid character in quoted string");
    }
    g_string_append_c(s, (char)c);
  }
  g_string_free(s, TRUE);
  return imap_parser_fail(ip, "unterminated quoted string");
}

/* parse_literal_head - "{n}" or "{n+}" then CRLF; sets the length */
static bool parse_literal_head(imap_parser *ip, uint64_t *len_r) {
  const char *q = ip->p + 1;
  uint64_t n = 0;
  int digits = 0;
  while (q < ip->end && g_ascii_isdigit(*q)) {
    if (++digits > 19)
      return imap_parser_fail(ip, "literal too large");
    n = n * 10 + (uint64_t)(*q - '0');
    q++;
  }
  if (digits == 0)
    return imap_parser_fail(ip, "invalid literal");
  if (q < ip->end && *q == '+')
    q++;
  if (q + 3 > ip->end || q[0] != '}' || q[1] != '\r' || q[2] != '\n')
    return imap_parser_fail(ip, "invalid literal");
  q += 3;
  if (n > (uint64_t)(ip->end - q))
    return imap_parser_fail(ip, "literal shorter than announced");
  ip->p = q;
  *len_r = n;
  return true;
}

static bool parse_literal(imap_parser *ip, const char **s_r) {
  uint64_t n;
  if (!parse_literal_head(ip, &n))
    return false;
  if (memchr(ip->p, '\0', (size_t)n) != NULL)
    return imap_parser_fail(ip, "NUL in literal (use literal8)");
  *s_r = own_strndup(ip, ip->p, (size_t)n);
  ip->p += n;
  return true;
}

bool imap_parse_literal8(imap_parser *ip, const char **s_r, size_t *len_r) {
  bool binary = imap_parse_peek(ip, '~');
  if (binary)
    ip->p++;
  if (!imap_parse_peek(ip, '{'))
    return imap_parser_fail(ip, "expected a literal");
  uint64_t n;
  if (!parse_literal_head(ip, &n))
    return false;
  if (!binary && memchr(ip->p, '\0', (size_t)n) != NULL)
    return imap_parser_fail(ip, "NUL in literal (use literal8)");
  char *s = imap_parser_own(ip, g_malloc((size_t)n + 1));
  memcpy(s, ip->p, (size_t)n);
  s[n] = '\0';
  ip->p += n;
  *s_r = s;
  *len_r = (size_t)n;
  return true;
}

bool imap_parse_string(imap_parser *ip, const char **s_r) {
  if (imap_parse_peek(ip, '"'))
    return parse_quoted(ip, s_r);
  if (imap_parse_peek(ip, '{'))
    return parse_literal(ip, s_r);
  return imap_parser_fail(ip, imap_parse_at_end(ip) ? "missing argument"
                                                    : "expected a string");
}

bool imap_parse_astring(imap_parser *ip, const char **s_r) {
  if (imap_parse_peek(ip, '"') || imap_parse_peek(ip, '{'))
    return imap_parse_string(ip, s_r);
  size_t n = span(ip, is_astring_char);
  if (n == 0)
    return imap_parser_fail(ip, imap_parse_at_end(ip) ? "missing argument"
                                                      : "expected a string");
  *s_r = own_strndup(ip, ip->p, n);
  ip->p += n;
  return true;
}

bool imap_parse_nstring(imap_parser *ip, const char **s_r) {
  if (ip->end - ip->p >= 3 && g_ascii_strncasecmp(ip->p, "NIL", 3) == 0 &&
      (ip->end - ip->p == 3 || !is_atom_char((unsigned char)ip->p[3]))) {
    ip->p += 3;
    *s_r = NULL;
    return true;
  }
  return imap_parse_string(ip, s_r);
}

/* ----------------------------------------------------------- numbers */

bool imap_parse_number64(imap_parser *ip, uint64_t *n_r) {
  uint64_t n = 0;
  int digits = 0;
  while (ip->p < ip->end && g_ascii_isdigit(*ip->p)) {
    uint64_t d = (uint64_t)(*ip->p - '0');
    if (n > (INT64_MAX - d) / 10)
      return imap_parser_fail(ip, "number too large");
    n = n * 10 + d;
    ip->p++;
    digits++;
  }
  if (digits == 0)
    return imap_parser_fail(ip, imap_parse_at_end(ip) ? "missing argument"
                                                      : "expected a number");
  *n_r = n;
  return true;
}

bool imap_parse_number(imap_parser *ip, uint32_t *n_r) {
  uint64_t n;
  if (!imap_parse_number64(ip, &n))
    return false;
  if (n > UINT32_MAX)
    return imap_parser_fail(ip, "number too large");
  *n_r = (uint32_t)n;
  return true;
}

bool imap_parse_nz_number(imap_parser *ip, uint32_t *n_r) {
  if (!imap_parse_number(ip, n_r))
    return false;
  if (*n_r == 0)
    return imap_parser_fail(ip, "zero is not a valid number here");
  return true;
}

/* parse_seq_number - nz-number or "*" (0) */
static bool parse_seq_number(imap_parser *ip, uint32_t *n_r) {
  if (imap_parse_peek(ip, '*')) {
    ip->p++;
    *n_r = 0;
    return true;
  }
  if (!imap_parse_peek(ip, '0') && ip->p < ip->end && g_ascii_isdigit(*ip->p))
    return imap_parse_nz_number(ip, n_r);
  return imap_parser_fail(ip, "invalid sequence set");
}

bool imap_parse_seqset(imap_parser *ip, bool allow_saved, imap_seqset *set) {
  memset(set, 0, sizeof(*set));
  if (imap_parse_peek(ip, '$')) {
    if (!allow_saved)
      return imap_parser_fail(ip, "\"$\" is not allowed here");
    ip->p++;
    set->saved = true;
    return true;
  }
  set->ranges = imap_parser_array(ip, sizeof(imap_range));
  for (;;) {
    imap_range r;
    if (!parse_seq_number(ip, &r.first))
      return false;
    r.last = r.first;
    if (imap_parse_peek(ip, ':')) {
      ip->p++;
      if (!parse_seq_number(ip, &r.last))
        return false;
    }
    g_array_append_val(set->ranges, r);
    if (set->ranges->len > 100000)
      return imap_parser_fail(ip, "sequence set too long");
    if (!imap_parse_peek(ip, ','))
      return true;
    ip->p++;
  }
}

/* ----------------------------------------------------------- mailboxes */

bool imap_mailbox_is_inbox(const char *name) {
  return g_ascii_strcasecmp(name, "INBOX") == 0;
}

/* to_utf8 - convert a wire name to UTF-8 */
static bool to_utf8(imap_parser *ip, const char *wire, const char **name_r) {
  size_t len = strlen(wire);
  if (ip->utf8_names) {
    if (!g_utf8_validate(wire, (gssize)len, NULL))
      return imap_parser_fail(ip, "mailbox name is not valid UTF-8");
    *name_r = wire;
    return true;
  }
  GString *out = g_string_sized_new(len);
  if (!imap_utf7_decode(wire, len, out)) {
    g_string_free(out, TRUE);
    return imap_parser_fail(ip, "mailbox name is not valid modified UTF-7");
  }
  *name_r = imap_parser_own(ip, g_string_free(out, FALSE));
  return true;
}

bool imap_parse_mailbox(imap_parser *ip, const char **name_r) {
  const char *wire;
  if (!imap_parse_astring(ip, &wire))
    return false;
  if (*wire == '\0')
    return imap_parser_fail(ip, "empty mailbox name");
  if (imap_mailbox_is_inbox(wire)) {
    *name_r = "INBOX";
    return true;
  }
  return to_utf8(ip, wire, name_r);
}

bool imap_parse_list_mailbox(imap_parser *ip, const char **pattern_r) {
  const char *wire;
  if (imap_parse_peek(ip, '"') || imap_parse_peek(ip, '{')) {
    if (!imap_parse_string(ip, &wire))
      return false;
  } else {
    size_t n = span(ip, is_list_char);
    if (n == 0)
      return imap_parser_fail(ip, imap_parse_at_end(ip)
                                      ? "missing argument"
                                      : "expected a mailbox pattern");
    wire = own_strndup(ip, ip->p, n);
    ip->p += n;
  }
  return to_utf8(ip, wire, pattern_r);
}

/* ----------------------------------------------------------- flags */

bool imap_parse_flag(imap_parser *ip, bool allow_star, const char **flag_r) {
  if (imap_parse_peek(ip, '\\')) {
    const char *start = ip->p++;
    if (allow_star && imap_parse_peek(ip, '*')) {
      ip->p++;
      *flag_r = "\\*";
      return true;
    }
    size_t n = span(ip, is_atom_char);
    if (n == 0)
      return imap_parser_fail(ip, "invalid flag");
    ip->p += n;
    *flag_r = own_strndup(ip, start, (size_t)(ip->p - start));
    return true;
  }
  size_t n = span(ip, is_atom_char);
  if (n == 0)
    return imap_parser_fail(ip, "invalid flag");
  *flag_r = own_strndup(ip, ip->p, n);
  ip->p += n;
  return true;
}

/* ----------------------------------------------------------- dates */

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr",
                                          "May", "Jun", "Jul", "Aug",
                                          "Sep", "Oct", "Nov", "Dec"};

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m) {
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
  if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
    return 29;
  return mdays[m - 1];
}

static bool parse_digits(imap_parser *ip, int min, int max, unsigned *v_r) {
  unsigned v = 0;
  int n = 0;
  while (n < max && ip->p < ip->end && g_ascii_isdigit(*ip->p)) {
    v = v * 10 + (unsigned)(*ip->p++ - '0');
    n++;
  }
  if (n < min)
    return false;
  *v_r = v;
  return true;
}

/* parse_day_month_year - "d-Mon-yyyy" after the day was read */
static bool parse_month_year(imap_parser *ip, unsigned day, unsigned *m_r,
                             unsigned *y_r) {
  if (!imap_parse_peek(ip, '-') || ip->end - ip->p < 5)
    return false;
  ip->p++;
  unsigned m = 0;
  for (unsigned i = 0; i < 12; i++)
    if (g_ascii_strncasecmp(ip->p, month_names[i], 3) == 0)
      m = i + 1;
  if (m == 0)
    return false;
  ip->p += 3;
  if (!imap_parse_peek(ip, '-'))
    return false;
  ip->p++;
  unsigned y;
  if (!parse_digits(ip, 4, 4, &y) || y < 1 || day < 1 ||
      day > days_in_month(y, m))
    return false;
  *m_r = m;
  *y_r = y;
  return true;
}

bool imap_parse_date(imap_parser *ip, int64_t *days_r) {
  bool quoted = imap_parse_peek(ip, '"');
  if (quoted)
    ip->p++;
  unsigned d, m, y;
  if (!parse_digits(ip, 1, 2, &d) || !parse_month_year(ip, d, &m, &y))
    return imap_parser_fail(ip, "invalid date (expected d-Mon-yyyy)");
  if (quoted && !imap_parse_char(ip, '"'))
    return imap_parser_fail(ip, "invalid date (expected d-Mon-yyyy)");
  *days_r = days_from_civil(y, m, d);
  return true;
}

bool imap_parse_date_time(imap_parser *ip, int64_t *t_r, int32_t *tz_r) {
  static const char *bad = "invalid date-time (expected "
                           "\"dd-Mon-yyyy hh:mm:ss +zzzz\")";
  if (!imap_parse_char(ip, '"'))
    return imap_parser_fail(ip, bad);
  unsigned d, m, y, hh, mm, ss, zh, zm;
  /* the day is " 7" or "07"; "7" is accepted too, as clients send it */
  if (imap_parse_peek(ip, ' '))
    ip->p++;
  if (!parse_digits(ip, 1, 2, &d))
    return imap_parser_fail(ip, bad);
  if (!parse_month_year(ip, d, &m, &y) || !imap_parse_sp(ip) ||
      !parse_digits(ip, 2, 2, &hh) || !imap_parse_char(ip, ':') ||
      !parse_digits(ip, 2, 2, &mm) || !imap_parse_char(ip, ':') ||
      !parse_digits(ip, 2, 2, &ss) || !imap_parse_sp(ip))
    return imap_parser_fail(ip, bad);
  if (hh > 23 || mm > 59 || ss > 60)
    return imap_parser_fail(ip, bad);
  int sign;
  if (imap_parse_peek(ip, '+'))
    sign = 1;
  else if (imap_parse_peek(ip, '-'))
    sign = -1;
  else
    return imap_parser_fail(ip, bad);
  ip->p++;
  if (!parse_digits(ip, 2, 2, &zh) || !parse_digits(ip, 2, 2, &zm) ||
      zm > 59 || zh > 23 || !imap_parse_char(ip, '"'))
    return imap_parser_fail(ip, bad);
  int32_t tz = sign * (int32_t)(zh * 60 + zm);
  int64_t t = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 +
              (ss > 59 ? 59 : ss);
  *t_r = t - (int64_t)tz * 60;
  *tz_r = tz;
  return true;
}

/* ----------------------------------------------------------- literals */

bool imap_literal_marker(const char *line, size_t len, uint64_t *size_r,
                         bool *sync_r, bool *binary_r, size_t *marker_len_r) {
  if (len < 3 || line[len - 1] != '}')
    return false;
  size_t i = len - 1;
  bool sync = true;
  if (line[i - 1] == '+') {
    sync = false;
    i--;
  }
  size_t digits_end = i;
  while (i > 0 && g_ascii_isdigit(line[i - 1]))
    i--;
  size_t ndigits = digits_end - i;
  if (ndigits == 0 || ndigits > 19 || i == 0 || line[i - 1] != '{')
    return false;
  uint64_t n = 0;
  for (size_t k = i; k < digits_end; k++)
    n = n * 10 + (uint64_t)(line[k] - '0');
  i--; /* the '{' */
  bool binary = i > 0 && line[i - 1] == '~';
  if (binary)
    i--;
  *size_r = n;
  *sync_r = sync;
  *binary_r = binary;
  *marker_len_r = len - i;
  return true;
}
