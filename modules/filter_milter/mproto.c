/*
 * mproto.c - the milter protocol: framing, commands, replies
 */
#include "mproto.h"

#include <stdlib.h>
#include <string.h>

void mproto_put(GString *out, char code, const void *data, size_t len) {
  uint32_t n = (uint32_t)len + 1;
  unsigned char hdr[5] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n,
                          (unsigned char)code};
  g_string_append_len(out, (const char *)hdr, 5);
  if (len > 0)
    g_string_append_len(out, data, (gssize)len);
}

void mproto_put_strings(GString *out, char code, const char *const *strs) {
  GString *d = g_string_new(NULL);
  for (const char *const *s = strs; *s != NULL; s++)
    g_string_append_len(d, *s, (gssize)strlen(*s) + 1);
  mproto_put(out, code, d->str, d->len);
  g_string_free(d, TRUE);
}

/* bare - NAME without the braces of a long macro name */
static void bare(const char *name, char *out, size_t size) {
  size_t n = strlen(name);
  if (n >= 2 && name[0] == '{' && name[n - 1] == '}')
    g_strlcpy(out, name + 1, MIN(size, n - 1));
  else
    g_strlcpy(out, name, size);
}

/* wanted_name - NAME is in the space-separated LIST (NULL: all) */
static bool wanted_name(const char *list, const char *name) {
  if (list == NULL)
    return true;
  char want[64], have[64];
  bare(name, want, sizeof(want));
  gchar **words = g_strsplit_set(list, " ,", -1);
  bool found = false;
  for (gchar **w = words; *w != NULL && !found; w++) {
    bare(*w, have, sizeof(have));
    found = **w != '\0' && strcmp(have, want) == 0;
  }
  g_strfreev(words);
  return found;
}

void mproto_put_macros(GString *out, char cmd, const char *const *macros,
                       const char *wanted) {
  GString *d = g_string_new(NULL);
  g_string_append_c(d, cmd);
  for (const char *const *m = macros; m[0] != NULL; m += 2) {
    if (m[1] == NULL || !wanted_name(wanted, m[0]))
      continue;
    g_string_append_len(d, m[0], (gssize)strlen(m[0]) + 1);
    g_string_append_len(d, m[1], (gssize)strlen(m[1]) + 1);
  }
  mproto_put(out, SMFIC_MACRO, d->str, d->len);
  g_string_free(d, TRUE);
}

static uint32_t get32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 |
         (uint32_t)u[3];
}

/* take_string - a NUL-terminated string at *P within END; NULL when there
 * is no NUL */
static const char *take_string(const char **p, const char *end) {
  const char *nul = memchr(*p, '\0', (size_t)(end - *p));
  if (nul == NULL)
    return NULL;
  const char *s = *p;
  *p = nul + 1;
  return s;
}

int mproto_read(const char *buf, size_t len, size_t *used_r, size_t *need_r,
                mreply *r, GString *scratch, const char **error_r) {
  *need_r = 5;
  if (len < 5)
    return MPROTO_MORE;
  uint32_t n = get32(buf);
  if (n < 1) {
    *error_r = "a reply of length 0";
    return MPROTO_BAD;
  }
  if (n > MPROTO_MAX_REPLY) {
    *error_r = "a reply longer than 1 MiB";
    return MPROTO_BAD;
  }
  *need_r = 4 + (size_t)n;
  if (len < *need_r)
    return MPROTO_MORE;
  *used_r = *need_r;
  memset(r, 0, sizeof(*r));
  r->code = buf[4];
  /* a copy with a NUL after it, so strings can be taken safely */
  g_string_truncate(scratch, 0);
  g_string_append_len(scratch, buf + 5, (gssize)(n - 1));
  const char *p = scratch->str, *end = scratch->str + scratch->len;
  switch (r->code) {
  case SMFIR_ACCEPT:
  case SMFIR_CONTINUE:
  case SMFIR_DISCARD:
  case SMFIR_REJECT:
  case SMFIR_TEMPFAIL:
  case SMFIR_PROGRESS:
  case SMFIR_SKIP:
  case SMFIR_CONN_FAIL:
  case SMFIR_SHUTDOWN:
    if (p != end) {
      *error_r = "data after a reply that takes none";
      return MPROTO_BAD;
    }
    return MPROTO_OK;
  case SMFIR_REPLBODY:
    r->data = p;
    r->data_len = (size_t)(end - p);
    return MPROTO_OK;
  case SMFIR_REPLYCODE:
  case SMFIR_QUARANTINE:
  case SMFIR_ADDRCPT:
  case SMFIR_DELRCPT:
    r->value = take_string(&p, end);
    if (r->value == NULL || p != end) {
      *error_r = "a malformed string in a reply";
      return MPROTO_BAD;
    }
    return MPROTO_OK;
  case SMFIR_ADDRCPT_PAR:
  case SMFIR_CHGFROM:
    r->value = take_string(&p, end);
    if (r->value != NULL && p < end)
      r->args = take_string(&p, end);
    if (r->value == NULL || p != end) {
      *error_r = "a malformed address in a reply";
      return MPROTO_BAD;
    }
    return MPROTO_OK;
  case SMFIR_INSHEADER:
  case SMFIR_CHGHEADER:
    if (end - p < 4) {
      *error_r = "a header reply without its index";
      return MPROTO_BAD;
    }
    r->index = get32(p);
    p += 4;
    /* fall through */
  case SMFIR_ADDHEADER:
    r->name = take_string(&p, end);
    r->value = r->name != NULL ? take_string(&p, end) : NULL;
    if (r->value == NULL || p != end || *r->name == '\0') {
      *error_r = "a malformed header in a reply";
      return MPROTO_BAD;
    }
    return MPROTO_OK;
  case SMFIR_OPTNEG:
    if (end - p < 12) {
      *error_r = "a short option negotiation";
      return MPROTO_BAD;
    }
    r->version = get32(p);
    r->actions = get32(p + 4);
    r->steps = get32(p + 8);
    p += 12;
    while (p < end) {
      if (end - p < 4) {
        *error_r = "a malformed macro list";
        return MPROTO_BAD;
      }
      uint32_t stage = get32(p);
      p += 4;
      const char *list = take_string(&p, end);
      if (list == NULL || stage >= MPROTO_M_COUNT) {
        *error_r = "a malformed macro list";
        return MPROTO_BAD;
      }
      r->symlists[stage] = list;
    }
    return MPROTO_OK;
  default:
    *error_r = "an unknown reply code";
    return MPROTO_BAD;
  }
}

bool mproto_parse_reply(const char *line, unsigned *code_r, char *status,
                        size_t status_size, const char **text_r) {
  if (line == NULL || strlen(line) < 3 || (line[0] != '4' && line[0] != '5') ||
      !g_ascii_isdigit(line[1]) || !g_ascii_isdigit(line[2]) ||
      (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
    return false;
  for (const char *p = line; *p != '\0'; p++)
    if ((unsigned char)*p < 32 && *p != '\t')
      return false;
  *code_r = (unsigned)((line[0] - '0') * 100 + (line[1] - '0') * 10 +
                       (line[2] - '0'));
  const char *p = line + 3;
  while (*p == ' ' || *p == '-')
    p++;
  status[0] = '\0';
  /* an enhanced status code: class.subject.detail */
  if (*p == line[0] && p[1] == '.') {
    size_t n = strspn(p, "0123456789.");
    if (n < status_size && n >= 5) {
      memcpy(status, p, n);
      status[n] = '\0';
      p += n;
      while (*p == ' ')
        p++;
    }
  }
  *text_r = p;
  return true;
}

bool mproto_parse_address(const char *spec, char *family_r, char **host_r,
                          unsigned *port_r, char **path_r,
                          const char **error_r) {
  *host_r = NULL;
  *path_r = NULL;
  *port_r = 0;
  if (g_str_has_prefix(spec, "unix:") || g_str_has_prefix(spec, "local:")) {
    const char *path = strchr(spec, ':') + 1;
    if (*path != '/') {
      *error_r = "a unix socket path must be absolute";
      return false;
    }
    *family_r = 'L';
    *path_r = g_strdup(path);
    return true;
  }
  bool v6 = g_str_has_prefix(spec, "inet6:");
  if (!v6 && !g_str_has_prefix(spec, "inet:")) {
    *error_r = "the address must start with inet:, inet6:, unix: or local:";
    return false;
  }
  const char *rest = strchr(spec, ':') + 1;
  const char *at = strchr(rest, '@');
  char *host = NULL, *port = NULL;
  if (at != NULL) { /* sendmail's inet:port@host */
    port = g_strndup(rest, (gsize)(at - rest));
    host = g_strdup(at + 1);
  } else { /* inet:host:port, inet6:[addr]:port */
    const char *colon = strrchr(rest, ':');
    if (colon != NULL) {
      host = g_strndup(rest, (gsize)(colon - rest));
      port = g_strdup(colon + 1);
    }
  }
  if (host != NULL && host[0] == '[' && host[strlen(host) - 1] == ']') {
    char *h = g_strndup(host + 1, strlen(host) - 2);
    g_free(host);
    host = h;
  }
  char *endp = NULL;
  unsigned long pn = port != NULL ? strtoul(port, &endp, 10) : 0;
  bool ok = host != NULL && *host != '\0' && port != NULL && *port != '\0' &&
            *endp == '\0' && pn > 0 && pn < 65536;
  g_free(port);
  if (!ok) {
    g_free(host);
    *error_r = "expected inet:HOST:PORT or inet:PORT@HOST";
    return false;
  }
  *family_r = v6 ? '6' : '4';
  *host_r = host;
  *port_r = (unsigned)pn;
  return true;
}
