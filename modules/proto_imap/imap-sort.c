/*
 * imap-sort.c - SORT (RFC 5256, with DISPLAYFROM/DISPLAYTO of RFC 5957)
 * and the sort keys THREAD shares: base subjects, addresses, dates and
 * message ids read from the cached header fields the store hands out
 */
#include "imap.h"
#include "imap-sort.h"

#include <string.h>
#include <gmime/gmime.h>

/* ------------------------------------------------------------ headers */

/* header_value - the unfolded value of field NAME in the header block
 * HDR, or NULL (g_free it) */
static char *header_value(const char *hdr, size_t len, const char *name) {
  size_t nlen = strlen(name);
  const char *p = hdr, *end = hdr + len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol != NULL ? eol : end;
    if ((size_t)(line_end - p) > nlen && p[nlen] == ':' &&
        g_ascii_strncasecmp(p, name, nlen) == 0) {
      GString *v = g_string_new(NULL);
      const char *q = p + nlen + 1;
      for (;;) {
        const char *stop = line_end;
        if (stop > q && stop[-1] == '\r')
          stop--;
        g_string_append_len(v, q, stop - q);
        if (eol == NULL || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
          break;
        q = eol + 1;
        eol = memchr(q, '\n', (size_t)(end - q));
        line_end = eol != NULL ? eol : end;
      }
      return g_strstrip(g_string_free(v, FALSE));
    }
    p = eol != NULL ? eol + 1 : end;
  }
  return NULL;
}

/* first_address - addr-mailbox and display name of the first address */
static void first_address(const char *value, char **mailbox_r,
                          char **display_r) {
  *mailbox_r = NULL;
  if (display_r != NULL)
    *display_r = NULL;
  if (value == NULL)
    return;
  InternetAddressList *list = internet_address_list_parse(NULL, value);
  if (list == NULL)
    return;
  for (int i = 0; i < internet_address_list_length(list); i++) {
    InternetAddress *ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      InternetAddressList *members =
          internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
      if (members == NULL || internet_address_list_length(members) == 0)
        continue;
      ia = internet_address_list_get_address(members, 0);
      if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
        continue;
    }
    const char *addr =
        internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
    const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
    *mailbox_r = addr == NULL ? NULL
                 : at != NULL ? g_strndup(addr, (gsize)(at - addr))
                              : g_strdup(addr);
    if (display_r != NULL) {
      const char *name = internet_address_get_name(ia);
      /* RFC 5957: without a display name, the address itself */
      *display_r = g_strdup(name != NULL && *name ? name : addr);
    }
    break;
  }
  g_object_unref(list);
}

/* message_ids - the ids of a References or In-Reply-To value */
static void add_ids(GPtrArray *out, const char *value, bool only_first) {
  if (value == NULL)
    return;
  GMimeReferences *refs = g_mime_references_parse(NULL, value);
  if (refs == NULL)
    return;
  int n = g_mime_references_length(refs);
  for (int i = 0; i < n; i++) {
    const char *id = g_mime_references_get_message_id(refs, i);
    if (id != NULL && *id != '\0')
      g_ptr_array_add(out, g_strdup(id));
    if (only_first)
      break;
  }
  g_mime_references_free(refs);
}

static char *decode_text(const char *value) {
  if (value == NULL)
    return NULL;
  return g_mime_utils_header_decode_text(NULL, value);
}

msg_keys *imap_gather_keys(imap_session *s, const GArray *seqs,
                           const GArray *uids, unsigned want) {
  static const char *const names[] = {"Subject",    "From",
                                      "To",         "Cc",
                                      "Message-ID", "References",
                                      "In-Reply-To", NULL};
  msg_keys *keys = g_new0(msg_keys, seqs->len > 0 ? seqs->len : 1);
  cursus_buf hdr = {0};
  const char *error;
  for (guint i = 0; i < seqs->len; i++) {
    msg_keys *k = &keys[i];
    k->seq = g_array_index(seqs, uint32_t, i);
    k->uid = g_array_index(uids, uint32_t, i);
    cursus_store_message msg = {.size = sizeof(msg)};
    if (STORE->message_info(s->box, k->seq, &msg, &error) == CURSUS_OK) {
      k->arrival = msg.internal_date;
      k->date = msg.sent_date != 0 ? msg.sent_date : msg.internal_date;
      k->size = msg.rfc822_size;
    }
    if (want == 0)
      continue;
    hdr.len = 0;
    if (STORE->message_headers(s->box, k->seq, "", names, 0, &hdr, &error) !=
        CURSUS_OK)
      continue;
    const char *h = hdr.data != NULL ? hdr.data : "";
    if (want & (KEYS_SUBJECT | KEYS_THREADING)) {
      char *raw = header_value(h, hdr.len, "Subject");
      char *dec = decode_text(raw);
      k->subject = imap_base_subject(dec != NULL ? dec : "", &k->subject_reply);
      g_free(dec);
      g_free(raw);
    }
    if (want & KEYS_ADDRESSES) {
      static const char *const fields[] = {"From", "To", "Cc"};
      char **out[] = {&k->from, &k->to, &k->cc};
      char **disp[] = {&k->display_from, &k->display_to, NULL};
      for (int f = 0; f < 3; f++) {
        char *raw = header_value(h, hdr.len, fields[f]);
        first_address(raw, out[f], disp[f]);
        g_free(raw);
      }
    }
    if (want & KEYS_THREADING) {
      char *raw = header_value(h, hdr.len, "Message-ID");
      GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
      add_ids(ids, raw, true);
      if (ids->len > 0)
        k->message_id = g_strdup(ids->pdata[0]);
      g_ptr_array_free(ids, TRUE);
      g_free(raw);
      k->references = g_ptr_array_new_with_free_func(g_free);
      raw = header_value(h, hdr.len, "References");
      add_ids(k->references, raw, false);
      g_free(raw);
      if (k->references->len == 0) {
        raw = header_value(h, hdr.len, "In-Reply-To");
        add_ids(k->references, raw, true);
        g_free(raw);
      }
    }
  }
  HOST->buf_free(&hdr);
  return keys;
}

void imap_keys_free(msg_keys *keys, guint n) {
  for (guint i = 0; i < n; i++) {
    g_free(keys[i].subject);
    g_free(keys[i].from);
    g_free(keys[i].to);
    g_free(keys[i].cc);
    g_free(keys[i].display_from);
    g_free(keys[i].display_to);
    g_free(keys[i].message_id);
    if (keys[i].references != NULL)
      g_ptr_array_free(keys[i].references, TRUE);
  }
  g_free(keys);
}

/* ------------------------------------------------------------ SORT */

/* imap_sort_parse - "(criteria) charset keys" */
bool imap_sort_parse(imap_parser *ip, GArray *crit, search_args *a) {
  static const char *const names[] = {"ARRIVAL", "CC",      "DATE",
                                      "FROM",    "SIZE",    "SUBJECT",
                                      "TO",      "DISPLAYFROM", "DISPLAYTO"};
  memset(a, 0, sizeof(*a));
  if (!imap_parse_sp(ip) || !imap_parse_char(ip, '('))
    return false;
  bool reverse = false;
  for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
    const char *name;
    if ((!first && !imap_parse_sp(ip)) || !imap_parse_atom(ip, &name))
      return false;
    if (g_ascii_strcasecmp(name, "REVERSE") == 0) {
      if (reverse)
        return imap_parser_fail(ip, "REVERSE twice");
      reverse = true;
      continue;
    }
    guint i;
    for (i = 0; i < G_N_ELEMENTS(names); i++)
      if (g_ascii_strcasecmp(name, names[i]) == 0)
        break;
    if (i == G_N_ELEMENTS(names))
      return imap_parser_fail(ip, "unknown sort criterion");
    sort_crit c = {(sort_key)i, reverse};
    g_array_append_val(crit, c);
    reverse = false;
    if (crit->len > 20)
      return imap_parser_fail(ip, "too many sort criteria");
  }
  ip->p++;
  if (reverse || crit->len == 0)
    return imap_parser_fail(ip, "invalid sort criteria");
  const char *charset;
  if (!imap_parse_sp(ip) || !imap_parse_astring(ip, &charset) ||
      !imap_parse_sp(ip))
    return false;
  if (!imap_search_parse_keys(ip, false, a))
    return false;
  a->charset = charset;
  return true;
}

typedef struct sort_ctx {
  const GArray *crit;
  const msg_keys *keys;
} sort_ctx;

static int cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

static int sort_cmp(gconstpointer pa, gconstpointer pb, gpointer data) {
  const sort_ctx *sc = data;
  const msg_keys *a = &sc->keys[*(const guint *)pa];
  const msg_keys *b = &sc->keys[*(const guint *)pb];
  for (guint i = 0; i < sc->crit->len; i++) {
    const sort_crit *c = &g_array_index(sc->crit, sort_crit, i);
    int r = 0;
    switch (c->key) {
    case SORT_ARRIVAL:
      r = cmp_i64(a->arrival, b->arrival);
      break;
    case SORT_DATE:
      r = cmp_i64(a->date, b->date);
      break;
    case SORT_SIZE:
      r = a->size < b->size ? -1 : a->size > b->size;
      break;
    case SORT_SUBJECT:
      r = imap_casemap_cmp(a->subject, b->subject);
      break;
    case SORT_FROM:
      r = imap_casemap_cmp(a->from, b->from);
      break;
    case SORT_TO:
      r = imap_casemap_cmp(a->to, b->to);
      break;
    case SORT_CC:
      r = imap_casemap_cmp(a->cc, b->cc);
      break;
    case SORT_DISPLAYFROM:
      r = imap_casemap_cmp(a->display_from, b->display_from);
      break;
    case SORT_DISPLAYTO:
      r = imap_casemap_cmp(a->display_to, b->display_to);
      break;
    }
    if (r != 0)
      return c->reverse ? -r : r;
  }
  /* ties: the order in the mailbox */
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

bool imap_cmd_sort(imap_session *s, imap_cmd *cmd) {
  GArray *crit = imap_parser_array(&cmd->parser, sizeof(sort_crit));
  search_args a;
  bool done;
  if (!imap_sort_parse(&cmd->parser, crit, &a))
    return imap_cmd_bad(s, cmd);
  GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  if (imap_search_run(s, cmd, &a, seqs, uids, &done) != CURSUS_OK) {
    g_array_free(seqs, TRUE);
    g_array_free(uids, TRUE);
    return done;
  }
  unsigned want = 0;
  for (guint i = 0; i < crit->len; i++) {
    sort_key k = g_array_index(crit, sort_crit, i).key;
    if (k == SORT_SUBJECT)
      want |= KEYS_SUBJECT;
    else if (k != SORT_ARRIVAL && k != SORT_DATE && k != SORT_SIZE)
      want |= KEYS_ADDRESSES;
  }
  msg_keys *keys = imap_gather_keys(s, seqs, uids, want);
  GArray *order = g_array_sized_new(FALSE, FALSE, sizeof(guint), seqs->len);
  for (guint i = 0; i < seqs->len; i++)
    g_array_append_val(order, i);
  sort_ctx sc = {crit, keys};
  g_array_sort_with_data(order, sort_cmp, &sc);
  imap_printf(s, "* SORT");
  for (guint i = 0; i < order->len; i++) {
    const msg_keys *k = &keys[g_array_index(order, guint, i)];
    g_string_append_printf(s->out, " %u", cmd->uid ? k->uid : k->seq);
  }
  imap_write(s, "\r\n", 2);
  imap_keys_free(keys, seqs->len);
  g_array_free(order, TRUE);
  g_array_free(seqs, TRUE);
  g_array_free(uids, TRUE);
  return imap_cmd_done(s, cmd, "OK", "Sort completed.");
}
