/*
 * layout.c - paths of users, folders and message files
 */
#include "layout.h"

#include <stdio.h>
#include <string.h>

void sc_user_hash(const char *user, char h1[3], char h2[3]) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)user; *p; p++) {
    h ^= *p;
    h *= 16777619u;
  }
  snprintf(h1, 3, "%02x", (h >> 8) & 0xffu);
  snprintf(h2, 3, "%02x", h & 0xffu);
}

char *sc_encode_component(const char *s, size_t len) {
  GString *out = g_string_sized_new(len + 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '/' || c == '%' || c < 0x20 || c == 0x7f || (i == 0 && c == '.'))
      g_string_append_printf(out, "%%%02X", c);
    else
      g_string_append_c(out, (char)c);
  }
  if (out->len == 0 || out->len > 250) {
    g_string_free(out, TRUE);
    return NULL;
  }
  return g_string_free(out, FALSE);
}

char *sc_decode_component(const char *s) {
  GString *out = g_string_new(NULL);
  for (const char *p = s; *p; p++) {
    if (*p == '%') {
      if (!g_ascii_isxdigit(p[1]) || !g_ascii_isxdigit(p[2])) {
        g_string_free(out, TRUE);
        return NULL;
      }
      g_string_append_c(out, (char)(g_ascii_xdigit_value(p[1]) * 16 +
                                    g_ascii_xdigit_value(p[2])));
      p += 2;
    } else {
      g_string_append_c(out, *p);
    }
  }
  return g_string_free(out, FALSE);
}

char *sc_user_relpath(const char *user) {
  char h1[3], h2[3];
  char *enc = sc_encode_component(user, strlen(user));
  if (enc == NULL)
    return NULL;
  sc_user_hash(user, h1, h2);
  char *r = g_strdup_printf("=user/%s/%s/=%s", h1, h2, enc);
  g_free(enc);
  return r;
}

char *sc_user_dir(const char *partition_path, const char *user) {
  char *rel = sc_user_relpath(user);
  if (rel == NULL)
    return NULL;
  char *r = g_build_filename(partition_path, rel, NULL);
  g_free(rel);
  return r;
}

char *sc_folder_relpath(const char *folder, char sep) {
  if (g_ascii_strcasecmp(folder, "INBOX") == 0)
    return g_strdup("");
  GString *out = g_string_new(NULL);
  const char *p = folder;
  while (*p != '\0') {
    const char *e = strchr(p, sep);
    size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
    char *enc = sc_encode_component(p, len);
    if (enc == NULL) {
      g_string_free(out, TRUE);
      return NULL;
    }
    if (out->len > 0)
      g_string_append_c(out, '/');
    g_string_append_c(out, '=');
    g_string_append(out, enc);
    g_free(enc);
    if (e == NULL)
      break;
    p = e + 1;
  }
  return g_string_free(out, FALSE);
}

const char *sc_msg_bucket(uint32_t uid, uint32_t threshold, char buf[20]) {
  if (uid < threshold)
    return NULL;
  snprintf(buf, 20, "%02x", uid >> 12);
  return buf;
}

const char *sc_msg_relpath(uint32_t uid, uint32_t threshold, char buf[40]) {
  if (uid < threshold)
    snprintf(buf, 40, "%u.msg", uid);
  else
    snprintf(buf, 40, "%02x/%u.msg", uid >> 12, uid);
  return buf;
}

bool sc_is_msg_name(const char *name, uint32_t *uid_r) {
  char *end;
  if (!g_ascii_isdigit(name[0]))
    return false;
  guint64 v = g_ascii_strtoull(name, &end, 10);
  if (v == 0 || v > UINT32_MAX || strcmp(end, ".msg") != 0)
    return false;
  *uid_r = (uint32_t)v;
  return true;
}
