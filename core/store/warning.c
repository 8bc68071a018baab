/*
 * warning.c - composing quota warnings from a template
 */
#include "build-config.h"
#include "warning.h"
#include "config/config.h"
#include "util/fsutil.h"

#include <string.h>
#include <unistd.h>

static const char default_template[] =
    "From: [FROM]\n"
    "Subject: Your mailbox is [PERCENT]% full\n"
    "\n"
    "Your mailbox [ID] holds [DISKUSAGE] KB of [QUOTA] KB and [NUMMSG] of\n"
    "[MSGQUOTA] messages: [PERCENT]% of what it may hold.\n"
    "\n"
    "When it is full, new mail is held for a while and then returned to\n"
    "its senders.  Please delete or archive messages you no longer need.\n";

unsigned store_warning_percent(const cursus_store_quota *q) {
  unsigned pb = 0, pm = 0;
  if (q->bytes_limit > 0)
    pb = (unsigned)(q->bytes_used * 100 / (uint64_t)q->bytes_limit);
  if (q->messages_limit > 0)
    pm = (unsigned)(q->messages_used * 100 / (uint64_t)q->messages_limit);
  return MAX(pb, pm);
}

static char *limit_text(int64_t v, bool kb) {
  if (v < 0)
    return g_strdup("unlimited");
  return g_strdup_printf("%" G_GINT64_FORMAT, kb ? (v + 1023) / 1024 : v);
}

/* has_field - does the header block HDR have field NAME? */
static bool has_field(const char *hdr, const char *name) {
  size_t n = strlen(name);
  for (const char *p = hdr; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
    if (g_ascii_strncasecmp(p, name, n) == 0 && p[n] == ':')
      return true;
  return false;
}

GString *store_warning_compose(const config *cfg, const char *user,
                               const char *address,
                               const cursus_store_quota *q, char **error_r) {
  const char *file = cfg != NULL ? conf_get(cfg->conf, "store",
                                            "quota_warn_message")
                                 : NULL;
  char *text = NULL;
  if (file != NULL && *file != '\0') {
    char *path = fs_path_join(cfg->dir, file);
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) {
      *error_r = g_strdup_printf("[store] quota_warn_message: %s",
                                 err->message);
      g_error_free(err);
      g_free(path);
      return NULL;
    }
    g_free(path);
  } else {
    text = g_strdup(default_template);
  }
  const char *postmaster = cfg != NULL ? conf_get(cfg->conf, "server",
                                                  "postmaster")
                                       : NULL;
  char *from = postmaster != NULL
                   ? g_strdup(postmaster)
                   : g_strdup_printf("postmaster@%s",
                                     cfg != NULL ? cfg->hostname : "localhost");
  char *pct = g_strdup_printf("%u", store_warning_percent(q));
  char *usage = g_strdup_printf("%" G_GUINT64_FORMAT, (q->bytes_used + 1023) / 1024);
  char *nmsg = g_strdup_printf("%" G_GUINT64_FORMAT, q->messages_used);
  char *quota = limit_text(q->bytes_limit, true);
  char *mquota = limit_text(q->messages_limit, false);
  const char *subst[][2] = {
      {"[ID]", user},          {"[ADDRESS]", address}, {"[DISKUSAGE]", usage},
      {"[NUMMSG]", nmsg},      {"[PERCENT]", pct},     {"[QUOTA]", quota},
      {"[MSGQUOTA]", mquota},  {"[FROM]", from},
  };
  GString *body = g_string_new(NULL);
  for (const char *p = text; *p;) {
    size_t i;
    for (i = 0; i < G_N_ELEMENTS(subst); i++) {
      size_t n = strlen(subst[i][0]);
      if (strncmp(p, subst[i][0], n) == 0) {
        g_string_append(body, subst[i][1]);
        p += n;
        break;
      }
    }
    if (i == G_N_ELEMENTS(subst))
      g_string_append_c(body, *p++);
  }
  g_free(text);
  /* split header and text; the template must start with a header */
  g_string_replace(body, "\r\n", "\n", 0);
  const char *sep = strstr(body->str, "\n\n");
  GString *out = NULL;
  if (sep == NULL || strchr(body->str, ':') == NULL ||
      strchr(body->str, ':') > sep) {
    *error_r = g_strdup("[store] quota_warn_message must start with header "
                        "lines, then a blank line");
  } else {
    char *hdr = g_strndup(body->str, (gsize)(sep - body->str) + 1);
    GString *m = g_string_new(hdr);
    GDateTime *now = g_date_time_new_now_local();
    char *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S %z");
    g_date_time_unref(now);
    if (!has_field(hdr, "Date"))
      g_string_append_printf(m, "Date: %s\n", date);
    if (!has_field(hdr, "To"))
      g_string_append_printf(m, "To: <%s>\n", address);
    if (!has_field(hdr, "Message-ID"))
      g_string_append_printf(m, "Message-ID: <quota.%08x%08x@%s>\n",
                             g_random_int(), g_random_int(),
                             cfg != NULL ? cfg->hostname : "localhost");
    if (!has_field(hdr, "Auto-Submitted"))
      g_string_append(m, "Auto-Submitted: auto-generated\n");
    if (!has_field(hdr, "MIME-Version"))
      g_string_append(m, "MIME-Version: 1.0\n"
                         "Content-Type: text/plain; charset=utf-8\n"
                         "Content-Transfer-Encoding: 8bit\n");
    g_string_append(m, sep + 1);
    g_free(date);
    g_free(hdr);
    out = g_string_new(NULL);
    for (const char *p = m->str; *p; p++) {
      if (*p == '\n')
        g_string_append_c(out, '\r');
      g_string_append_c(out, *p);
    }
    g_string_free(m, TRUE);
  }
  g_string_free(body, TRUE);
  g_free(from);
  g_free(pct);
  g_free(usage);
  g_free(nmsg);
  g_free(quota);
  g_free(mquota);
  return out;
}
