/*
 * imap-resp.c - writing IMAP response syntax: strings, mailbox names,
 * sequence sets, flags, dates and response codes
 */
#include "imap.h"
#include "imap-utf7.h"

#include <string.h>
#include <time.h>

/* Quoted strings longer than this go out as literals (easier to read
 * for clients that print them, and no escaping cost). */
#define QUOTED_MAX 1024

/* quotable - true when S can be sent as a quoted string */
static bool quotable(const char *s, size_t len) {
  if (len > QUOTED_MAX)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
      return false;
  }
  return true;
}

void imap_append_string(GString *out, const char *s, size_t len) {
  if (!quotable(s, len)) {
    g_string_append_printf(out, "{%zu}\r\n", len);
    g_string_append_len(out, s, (gssize)len);
    return;
  }
  g_string_append_c(out, '"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"' || s[i] == '\\')
      g_string_append_c(out, '\\');
    g_string_append_c(out, s[i]);
  }
  g_string_append_c(out, '"');
}

void imap_append_astring(GString *out, const char *s) {
  size_t len = strlen(s);
  if (imap_is_atom(s, len) && g_ascii_strcasecmp(s, "NIL") != 0)
    g_string_append_len(out, s, (gssize)len);
  else
    imap_append_string(out, s, len);
}

void imap_append_nstring(GString *out, const char *s) {
  if (s == NULL)
    g_string_append(out, "NIL");
  else
    imap_append_string(out, s, strlen(s));
}

/* append_utf8_quoted - a UTF-8 name as a quoted string (IMAP4rev2) */
static bool append_utf8_quoted(GString *out, const char *s, size_t len) {
  if (len > QUOTED_MAX || !g_utf8_validate(s, (gssize)len, NULL))
    return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20)
      return false;
  g_string_append_c(out, '"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"' || s[i] == '\\')
      g_string_append_c(out, '\\');
    g_string_append_c(out, s[i]);
  }
  g_string_append_c(out, '"');
  return true;
}

void imap_append_mailbox(imap_session *s, GString *out, const char *name) {
  size_t len = strlen(name);
  if (!imap_utf7_needs_encoding(name, len)) {
    imap_append_astring(out, name);
    return;
  }
  if (s->enabled & IMAP_ENABLE_REV2) {
    if (!append_utf8_quoted(out, name, len))
      imap_append_astring(out, name);
    return;
  }
  GString *wire = g_string_new(NULL);
  if (!imap_utf7_encode(name, strlen(name), wire)) {
    /* not UTF-8: the store handed out a bad name; send it as it is */
    g_string_assign(wire, name);
  }
  imap_append_astring(out, wire->str);
  g_string_free(wire, TRUE);
}

void imap_append_seqset(GString *out, const uint32_t *nums, size_t n) {
  size_t i = 0;
  bool first = true;
  while (i < n) {
    size_t j = i;
    while (j + 1 < n && nums[j + 1] == nums[j] + 1)
      j++;
    if (!first)
      g_string_append_c(out, ',');
    first = false;
    if (j == i)
      g_string_append_printf(out, "%u", nums[i]);
    else
      g_string_append_printf(out, "%u:%u", nums[i], nums[j]);
    i = j + 1;
  }
}

static const struct {
  uint32_t bit;
  const char *name;
} system_flags[] = {
    {CURSUS_STORE_ANSWERED, "\\Answered"}, {CURSUS_STORE_FLAGGED, "\\Flagged"},
    {CURSUS_STORE_DELETED, "\\Deleted"},   {CURSUS_STORE_SEEN, "\\Seen"},
    {CURSUS_STORE_DRAFT, "\\Draft"},       {CURSUS_STORE_RECENT, "\\Recent"},
};

int imap_flag_bit(const char *flag) {
  if (flag[0] != '\\')
    return 0;
  for (size_t i = 0; i < G_N_ELEMENTS(system_flags); i++)
    if (g_ascii_strcasecmp(flag, system_flags[i].name) == 0)
      return (int)system_flags[i].bit;
  return -1;
}

void imap_append_flags(imap_session *s, GString *out, uint32_t flags,
                       const uint32_t *keywords, uint32_t n_keywords) {
  bool first = true;
  g_string_append_c(out, '(');
  for (size_t i = 0; i < G_N_ELEMENTS(system_flags); i++) {
    if (!(flags & system_flags[i].bit))
      continue;
    if (system_flags[i].bit == CURSUS_STORE_RECENT &&
        (s->enabled & IMAP_ENABLE_REV2))
      continue;
    if (!first)
      g_string_append_c(out, ' ');
    g_string_append(out, system_flags[i].name);
    first = false;
  }
  if (n_keywords > 0 && s->box != NULL) {
    size_t count = 0;
    const char *const *names = STORE->mailbox_keywords(s->box, &count);
    for (uint32_t i = 0; i < n_keywords; i++) {
      if (keywords[i] >= count)
        continue;
      if (!first)
        g_string_append_c(out, ' ');
      g_string_append(out, names[keywords[i]]);
      first = false;
    }
  }
  g_string_append_c(out, ')');
}

void imap_append_date_time(GString *out, int64_t t, int32_t tz) {
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t local = (time_t)(t + (int64_t)tz * 60);
  struct tm tm;
  if (gmtime_r(&local, &tm) == NULL) {
    local = 0;
    tz = 0;
    gmtime_r(&local, &tm);
  }
  int32_t a = tz < 0 ? -tz : tz;
  g_string_append_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"",
                         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, tz < 0 ? '-' : '+',
                         a / 60, a % 60);
}

const char *imap_store_error_code(cursus_store_error e, bool on_append) {
  switch (e) {
  case CURSUS_STORE_E_NONE:
    return NULL;
  case CURSUS_STORE_E_TEMP:
  case CURSUS_STORE_E_NOSPACE:
    return "UNAVAILABLE";
  case CURSUS_STORE_E_NOTFOUND:
    return on_append ? "TRYCREATE" : "NONEXISTENT";
  case CURSUS_STORE_E_EXISTS:
    return "ALREADYEXISTS";
  case CURSUS_STORE_E_NOPERM:
    return "NOPERM";
  case CURSUS_STORE_E_OVERQUOTA:
    return "OVERQUOTA";
  case CURSUS_STORE_E_LIMIT:
    return "LIMIT";
  case CURSUS_STORE_E_INVALID:
  case CURSUS_STORE_E_UNSUPPORTED:
    return "CANNOT";
  case CURSUS_STORE_E_INUSE:
    return "INUSE";
  case CURSUS_STORE_E_EXPUNGED:
    return "EXPUNGEISSUED";
  case CURSUS_STORE_E_CORRUPT:
    return "CORRUPTION";
  case CURSUS_STORE_E_INTERNAL:
    return "SERVERBUG";
  }
  return NULL;
}

int imap_cmp_u32(gconstpointer a, gconstpointer b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

void imap_sort_unique(GArray *a) {
  g_array_sort(a, imap_cmp_u32);
  guint w = 0;
  for (guint r = 0; r < a->len; r++)
    if (w == 0 || g_array_index(a, uint32_t, r) !=
                      g_array_index(a, uint32_t, w - 1))
      g_array_index(a, uint32_t, w++) = g_array_index(a, uint32_t, r);
  g_array_set_size(a, w);
}
