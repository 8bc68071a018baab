/*
 * imap-search.c - SEARCH: keys, charsets, ESEARCH results, SEARCHRES
 *
 * The keys are parsed into a tree, their strings converted to UTF-8 from
 * the CHARSET the client named, their sets resolved against the view,
 * and the tree handed to the store (mailbox_search), which matches text
 * case-insensitively in decoded headers and bodies.
 */
#include "imap.h"
#include "imap-search.h"

#include <string.h>
#include <time.h>

#define SEARCH_MAX_DEPTH 64
#define SEARCH_MAX_KEYS 10000

/* ------------------------------------------------------------ parsing */

typedef struct search_parse {
  imap_parser *ip;
  search_args *a;
  unsigned keys;
} search_parse;

static bool parse_key(search_parse *sp, imap_search_key *k, unsigned depth);

static imap_search_key *new_key(search_parse *sp,
                                cursus_store_search_key key) {
  imap_search_key *k = imap_parser_own(sp->ip, g_new0(imap_search_key, 1));
  k->key = key;
  sp->keys++;
  return k;
}

static void add_child(search_parse *sp, imap_search_key *parent,
                      imap_search_key *child) {
  if (parent->children == NULL)
    parent->children = imap_parser_array(sp->ip, sizeof(imap_search_key *));
  g_array_append_val(parent->children, child);
}

/* parse_child - one nested key added to PARENT */
static bool parse_child(search_parse *sp, imap_search_key *parent,
                        unsigned depth) {
  imap_search_key *c = new_key(sp, CURSUS_STORE_SEARCH_ALL);
  if (!parse_key(sp, c, depth + 1))
    return false;
  add_child(sp, parent, c);
  return true;
}

static const struct {
  const char *name;
  cursus_store_search_key key;
  uint32_t flag;
} flag_keys[] = {
    {"ANSWERED", CURSUS_STORE_SEARCH_FLAGS, CURSUS_STORE_ANSWERED},
    {"DELETED", CURSUS_STORE_SEARCH_FLAGS, CURSUS_STORE_DELETED},
    {"DRAFT", CURSUS_STORE_SEARCH_FLAGS, CURSUS_STORE_DRAFT},
    {"FLAGGED", CURSUS_STORE_SEARCH_FLAGS, CURSUS_STORE_FLAGGED},
    {"RECENT", CURSUS_STORE_SEARCH_FLAGS, CURSUS_STORE_RECENT},
    {"SEEN", CURSUS_STORE_SEARCH_FLAGS, CURSUS_STORE_SEEN},
    {"UNANSWERED", CURSUS_STORE_SEARCH_UNFLAGS, CURSUS_STORE_ANSWERED},
    {"UNDELETED", CURSUS_STORE_SEARCH_UNFLAGS, CURSUS_STORE_DELETED},
    {"UNDRAFT", CURSUS_STORE_SEARCH_UNFLAGS, CURSUS_STORE_DRAFT},
    {"UNFLAGGED", CURSUS_STORE_SEARCH_UNFLAGS, CURSUS_STORE_FLAGGED},
    {"UNSEEN", CURSUS_STORE_SEARCH_UNFLAGS, CURSUS_STORE_SEEN},
    {"OLD", CURSUS_STORE_SEARCH_UNFLAGS, CURSUS_STORE_RECENT},
};

static const struct {
  const char *name;
  const char *field; /* HEADER field, or NULL for BODY/TEXT */
  cursus_store_search_key key;
} string_keys[] = {
    {"BCC", "Bcc", CURSUS_STORE_SEARCH_HEADER},
    {"CC", "Cc", CURSUS_STORE_SEARCH_HEADER},
    {"FROM", "From", CURSUS_STORE_SEARCH_HEADER},
    {"SUBJECT", "Subject", CURSUS_STORE_SEARCH_HEADER},
    {"TO", "To", CURSUS_STORE_SEARCH_HEADER},
    {"BODY", NULL, CURSUS_STORE_SEARCH_BODY},
    {"TEXT", NULL, CURSUS_STORE_SEARCH_TEXT},
};

static const struct {
  const char *name;
  cursus_store_search_key key;
} date_keys[] = {
    {"BEFORE", CURSUS_STORE_SEARCH_BEFORE},
    {"ON", CURSUS_STORE_SEARCH_ON},
    {"SINCE", CURSUS_STORE_SEARCH_SINCE},
    {"SENTBEFORE", CURSUS_STORE_SEARCH_SENTBEFORE},
    {"SENTON", CURSUS_STORE_SEARCH_SENTON},
    {"SENTSINCE", CURSUS_STORE_SEARCH_SENTSINCE},
};

/* parse_modseq - MODSEQ [entry-name entry-type] n */
static bool parse_modseq(search_parse *sp, imap_search_key *k) {
  imap_parser *ip = sp->ip;
  uint64_t n;
  if (!imap_parse_sp(ip))
    return false;
  if (imap_parse_peek(ip, '"')) {
    const char *entry, *type;
    if (!imap_parse_string(ip, &entry) || !imap_parse_sp(ip) ||
        !imap_parse_atom(ip, &type) || !imap_parse_sp(ip))
      return false;
    if (g_ascii_strcasecmp(type, "priv") != 0 &&
        g_ascii_strcasecmp(type, "shared") != 0 &&
        g_ascii_strcasecmp(type, "all") != 0)
      return imap_parser_fail(ip, "invalid MODSEQ entry type");
  }
  if (!imap_parse_number64(ip, &n))
    return false;
  k->key = CURSUS_STORE_SEARCH_MODSEQ;
  k->number = (int64_t)n;
  sp->a->uses_modseq = true;
  return true;
}

static bool parse_key(search_parse *sp, imap_search_key *k, unsigned depth) {
  imap_parser *ip = sp->ip;
  if (depth > SEARCH_MAX_DEPTH || sp->keys > SEARCH_MAX_KEYS)
    return imap_parser_fail(ip, "search program too complex");
  if (imap_parse_peek(ip, '(')) {
    ip->p++;
    k->key = CURSUS_STORE_SEARCH_AND;
    for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
      if ((!first && !imap_parse_sp(ip)) || !parse_child(sp, k, depth))
        return false;
    }
    ip->p++;
    if (k->children == NULL)
      return imap_parser_fail(ip, "empty search key list");
    return true;
  }
  if (ip->p < ip->end &&
      (g_ascii_isdigit(*ip->p) || *ip->p == '*' || *ip->p == '$')) {
    k->key = CURSUS_STORE_SEARCH_SET;
    return imap_parse_seqset(ip, true, &k->set);
  }
  const char *name;
  if (!imap_parse_atom(ip, &name))
    return false;
  char *up = imap_parser_own(ip, g_ascii_strup(name, -1));
  if (strcmp(up, "ALL") == 0) {
    k->key = CURSUS_STORE_SEARCH_ALL;
    return true;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(flag_keys); i++) {
    if (strcmp(up, flag_keys[i].name) == 0) {
      k->key = flag_keys[i].key;
      k->number = flag_keys[i].flag;
      return true;
    }
  }
  if (strcmp(up, "NEW") == 0) {
    /* RECENT and not SEEN */
    imap_search_key *a = new_key(sp, CURSUS_STORE_SEARCH_FLAGS);
    imap_search_key *b = new_key(sp, CURSUS_STORE_SEARCH_UNFLAGS);
    a->number = CURSUS_STORE_RECENT;
    b->number = CURSUS_STORE_SEEN;
    k->key = CURSUS_STORE_SEARCH_AND;
    add_child(sp, k, a);
    add_child(sp, k, b);
    return true;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(string_keys); i++) {
    if (strcmp(up, string_keys[i].name) == 0) {
      k->key = string_keys[i].key;
      k->field = string_keys[i].field;
      return imap_parse_sp(ip) && imap_parse_astring(ip, &k->value);
    }
  }
  for (size_t i = 0; i < G_N_ELEMENTS(date_keys); i++) {
    if (strcmp(up, date_keys[i].name) == 0) {
      k->key = date_keys[i].key;
      return imap_parse_sp(ip) && imap_parse_date(ip, &k->number);
    }
  }
  if (strcmp(up, "HEADER") == 0) {
    k->key = CURSUS_STORE_SEARCH_HEADER;
    if (!imap_parse_sp(ip) || !imap_parse_astring(ip, &k->field) ||
        !imap_parse_sp(ip) || !imap_parse_astring(ip, &k->value))
      return false;
    if (*k->field == '\0')
      return imap_parser_fail(ip, "empty header field name");
    return true;
  }
  if (strcmp(up, "KEYWORD") == 0 || strcmp(up, "UNKEYWORD") == 0) {
    k->key = up[0] == 'K' ? CURSUS_STORE_SEARCH_KEYWORD
                          : CURSUS_STORE_SEARCH_UNKEYWORD;
    if (!imap_parse_sp(ip) || !imap_parse_flag(ip, false, &k->value))
      return false;
    int bit = imap_flag_bit(k->value);
    if (bit > 0) {
      /* KEYWORD \Seen: treat as the system flag */
      k->key = k->key == CURSUS_STORE_SEARCH_KEYWORD
                   ? CURSUS_STORE_SEARCH_FLAGS
                   : CURSUS_STORE_SEARCH_UNFLAGS;
      k->number = bit;
    } else if (bit < 0) {
      return imap_parser_fail(ip, "invalid system flag");
    }
    return true;
  }
  if (strcmp(up, "LARGER") == 0 || strcmp(up, "SMALLER") == 0 ||
      strcmp(up, "OLDER") == 0 || strcmp(up, "YOUNGER") == 0) {
    uint64_t n;
    k->key = up[0] == 'L'   ? CURSUS_STORE_SEARCH_LARGER
             : up[0] == 'S' ? CURSUS_STORE_SEARCH_SMALLER
             : up[0] == 'O' ? CURSUS_STORE_SEARCH_OLDER
                            : CURSUS_STORE_SEARCH_YOUNGER;
    if (!imap_parse_sp(ip) || !imap_parse_number64(ip, &n))
      return false;
    if ((k->key == CURSUS_STORE_SEARCH_OLDER ||
         k->key == CURSUS_STORE_SEARCH_YOUNGER) && n == 0)
      return imap_parser_fail(ip, "interval must be at least 1 second");
    k->number = (int64_t)n;
    return true;
  }
  if (strcmp(up, "NOT") == 0) {
    k->key = CURSUS_STORE_SEARCH_NOT;
    return imap_parse_sp(ip) && parse_child(sp, k, depth);
  }
  if (strcmp(up, "OR") == 0) {
    k->key = CURSUS_STORE_SEARCH_OR;
    return imap_parse_sp(ip) && parse_child(sp, k, depth) &&
           imap_parse_sp(ip) && parse_child(sp, k, depth);
  }
  if (strcmp(up, "UID") == 0) {
    k->key = CURSUS_STORE_SEARCH_SET;
    k->by_uid = true;
    return imap_parse_sp(ip) && imap_parse_seqset(ip, true, &k->set);
  }
  if (strcmp(up, "MODSEQ") == 0)
    return parse_modseq(sp, k);
  return imap_parser_fail(ip, "unknown search key");
}

bool imap_search_parse_keys(imap_parser *ip, bool allow_charset,
                            search_args *a) {
  search_parse sp = {ip, a, 0};
  a->root = new_key(&sp, CURSUS_STORE_SEARCH_AND);
  if (allow_charset && ip->end - ip->p > 8 &&
      g_ascii_strncasecmp(ip->p, "CHARSET ", 8) == 0) {
    ip->p += 8;
    if (!imap_parse_astring(ip, &a->charset) || !imap_parse_sp(ip))
      return false;
  }
  for (bool first = true; !imap_parse_at_end(ip); first = false) {
    if (!first && !imap_parse_sp(ip))
      return false;
    if (!parse_child(&sp, a->root, 0))
      return false;
  }
  if (a->root->children == NULL)
    return imap_parser_fail(ip, "missing search keys");
  return true;
}

bool imap_search_parse(imap_parser *ip, search_args *a) {
  memset(a, 0, sizeof(*a));
  if (!imap_parse_sp(ip))
    return false;
  if (ip->end - ip->p > 7 && g_ascii_strncasecmp(ip->p, "RETURN ", 7) == 0) {
    ip->p += 7;
    a->esearch = true;
    if (!imap_parse_char(ip, '('))
      return false;
    for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
      const char *opt;
      if ((!first && !imap_parse_sp(ip)) || !imap_parse_atom(ip, &opt))
        return false;
      if (g_ascii_strcasecmp(opt, "MIN") == 0)
        a->ret |= SEARCH_RET_MIN;
      else if (g_ascii_strcasecmp(opt, "MAX") == 0)
        a->ret |= SEARCH_RET_MAX;
      else if (g_ascii_strcasecmp(opt, "ALL") == 0)
        a->ret |= SEARCH_RET_ALL;
      else if (g_ascii_strcasecmp(opt, "COUNT") == 0)
        a->ret |= SEARCH_RET_COUNT;
      else if (g_ascii_strcasecmp(opt, "SAVE") == 0)
        a->ret |= SEARCH_RET_SAVE;
      else
        return imap_parser_fail(ip, "unknown RETURN option");
    }
    ip->p++;
    if (!imap_parse_sp(ip))
      return false;
    if (a->ret == 0)
      a->ret = SEARCH_RET_ALL;
  }
  return imap_search_parse_keys(ip, true, a);
}

/* ------------------------------------------------------------ running */

typedef struct search_build {
  imap_session *s;
  imap_cmd *cmd;
  GIConv conv;    /* from the charset to UTF-8, or (GIConv)-1 */
  bool bad_charset;
  bool bad_set;
  GPtrArray *owned;
} search_build;

/* convert - a string in the command's charset as UTF-8 */
static const char *convert(search_build *b, const char *text) {
  if (text == NULL)
    return NULL;
  if (b->conv == (GIConv)-1) {
    if (!g_utf8_validate(text, -1, NULL)) {
      b->bad_charset = true;
      return "";
    }
    return text;
  }
  gsize written = 0;
  gchar *out = g_convert_with_iconv(text, -1, b->conv, NULL, &written, NULL);
  if (out == NULL) {
    b->bad_charset = true;
    return "";
  }
  g_ptr_array_add(b->owned, out);
  return out;
}

/* build - the store's search tree for K */
static void build(search_build *b, const imap_search_key *k,
                  cursus_store_search *out) {
  memset(out, 0, sizeof(*out));
  out->key = k->key;
  out->number = k->number;
  out->field = k->field;
  out->value = k->key == CURSUS_STORE_SEARCH_KEYWORD ||
                       k->key == CURSUS_STORE_SEARCH_UNKEYWORD
                   ? k->value
                   : convert(b, k->value);
  if (k->key == CURSUS_STORE_SEARCH_SET &&
      !imap_resolve_set(b->s, b->cmd, &k->set, k->by_uid, &out->set))
    b->bad_set = true;
  if (k->children != NULL && k->children->len > 0) {
    cursus_store_search *kids = g_new0(cursus_store_search, k->children->len);
    g_ptr_array_add(b->owned, kids);
    for (guint i = 0; i < k->children->len; i++)
      build(b, g_array_index(k->children, imap_search_key *, i), &kids[i]);
    out->children = kids;
    out->n_children = k->children->len;
  }
}

typedef struct search_hits {
  GArray *seqs;
  GArray *uids;
} search_hits;

static void on_match(void *data, uint32_t seq, uint32_t uid) {
  search_hits *h = data;
  g_array_append_val(h->seqs, seq);
  g_array_append_val(h->uids, uid);
}

/* imap_search_run - evaluate A on the view: matching sequence numbers and
 * UIDs in ascending order.  CURSUS_OK; CURSUS_PERMFAIL with a BAD/NO
 * already written for CMD (the command is then done) */
int imap_search_run(imap_session *s, imap_cmd *cmd, search_args *a,
                    GArray *seqs, GArray *uids, bool *done_r) {
  search_build b = {s, cmd, (GIConv)-1, false, false,
                    g_ptr_array_new_with_free_func(g_free)};
  const char *error = NULL;
  *done_r = false;
  if (a->charset != NULL && g_ascii_strcasecmp(a->charset, "UTF-8") != 0 &&
      g_ascii_strcasecmp(a->charset, "US-ASCII") != 0) {
    b.conv = g_iconv_open("UTF-8", a->charset);
    if (b.conv == (GIConv)-1) {
      g_ptr_array_free(b.owned, TRUE);
      *done_r = imap_cmd_done(s, cmd, "NO",
                              "[BADCHARSET (US-ASCII UTF-8)] Unknown charset "
                              "%s.",
                              a->charset);
      return CURSUS_PERMFAIL;
    }
  }
  cursus_store_search root;
  build(&b, a->root, &root);
  if (b.conv != (GIConv)-1)
    g_iconv_close(b.conv);
  if (b.bad_set) {
    g_ptr_array_free(b.owned, TRUE);
    *done_r = imap_cmd_bad(s, cmd);
    return CURSUS_PERMFAIL;
  }
  if (b.bad_charset) {
    g_ptr_array_free(b.owned, TRUE);
    *done_r = imap_cmd_done(s, cmd, "NO",
                            "[BADCHARSET (US-ASCII UTF-8)] Search string "
                            "not valid in charset %s.",
                            a->charset != NULL ? a->charset : "US-ASCII");
    return CURSUS_PERMFAIL;
  }
  search_hits h = {seqs, uids};
  int rc = STORE->mailbox_search(s->box, &root, on_match, &h, &error);
  g_ptr_array_free(b.owned, TRUE);
  if (rc != CURSUS_OK) {
    *done_r = imap_cmd_store_error(s, cmd, error);
    return CURSUS_PERMFAIL;
  }
  return CURSUS_OK;
}

/* highest_modseq - the highest mod-sequence among SEQS */
static uint64_t highest_modseq(imap_session *s, const GArray *seqs) {
  uint64_t max = 0;
  const char *error;
  for (guint i = 0; i < seqs->len; i++) {
    cursus_store_message msg = {.size = sizeof(msg)};
    if (STORE->message_info(s->box, g_array_index(seqs, uint32_t, i), &msg,
                            &error) == CURSUS_OK &&
        msg.modseq > max)
      max = msg.modseq;
  }
  return max;
}

static void save_result(imap_session *s, const search_args *a,
                        const GArray *uids) {
  if (s->saved.uids == NULL)
    s->saved.uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  g_array_set_size(s->saved.uids, 0);
  if (uids->len == 0)
    return;
  unsigned other = a->ret & (SEARCH_RET_MIN | SEARCH_RET_MAX);
  if (other == 0 || (a->ret & (SEARCH_RET_ALL | SEARCH_RET_COUNT))) {
    g_array_append_vals(s->saved.uids, uids->data, uids->len);
    return;
  }
  /* RFC 5182 2.4: with MIN and/or MAX only those are saved */
  if (a->ret & SEARCH_RET_MIN)
    g_array_append_val(s->saved.uids, g_array_index(uids, uint32_t, 0));
  if ((a->ret & SEARCH_RET_MAX) && (uids->len > 1 || !(a->ret & SEARCH_RET_MIN)))
    g_array_append_val(s->saved.uids,
                       g_array_index(uids, uint32_t, uids->len - 1));
}

bool imap_cmd_search(imap_session *s, imap_cmd *cmd) {
  search_args a;
  bool done;
  if (!imap_search_parse(&cmd->parser, &a))
    return imap_cmd_bad(s, cmd);
  if (a.uses_modseq)
    s->box_condstore = true;
  if ((s->enabled & IMAP_ENABLE_REV2) && !a.esearch) {
    a.esearch = true;
    a.ret = SEARCH_RET_ALL;
  }
  GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  if (imap_search_run(s, cmd, &a, seqs, uids, &done) != CURSUS_OK) {
    if ((a.ret & SEARCH_RET_SAVE) && s->saved.uids != NULL)
      g_array_set_size(s->saved.uids, 0); /* RFC 5182: failure empties $ */
    g_array_free(seqs, TRUE);
    g_array_free(uids, TRUE);
    return done;
  }
  GArray *res = cmd->uid ? uids : seqs;
  uint64_t modseq = a.uses_modseq ? highest_modseq(s, seqs) : 0;
  if (a.ret & SEARCH_RET_SAVE)
    save_result(s, &a, uids);
  if (!a.esearch) {
    imap_printf(s, "* SEARCH");
    for (guint i = 0; i < res->len; i++)
      g_string_append_printf(s->out, " %u", g_array_index(res, uint32_t, i));
    if (a.uses_modseq && res->len > 0)
      g_string_append_printf(s->out, " (MODSEQ %" G_GUINT64_FORMAT ")",
                             modseq);
    imap_write(s, "\r\n", 2);
  } else if (a.ret != SEARCH_RET_SAVE) {
    imap_printf(s, "* ESEARCH (TAG ");
    imap_append_string(s->out, cmd->tag, strlen(cmd->tag));
    g_string_append_c(s->out, ')');
    if (cmd->uid)
      g_string_append(s->out, " UID");
    if (res->len > 0 && (a.ret & SEARCH_RET_MIN))
      g_string_append_printf(s->out, " MIN %u", g_array_index(res, uint32_t, 0));
    if (res->len > 0 && (a.ret & SEARCH_RET_MAX))
      g_string_append_printf(s->out, " MAX %u",
                             g_array_index(res, uint32_t, res->len - 1));
    if (a.ret & SEARCH_RET_COUNT)
      g_string_append_printf(s->out, " COUNT %u", res->len);
    if (res->len > 0 && (a.ret & SEARCH_RET_ALL)) {
      g_string_append(s->out, " ALL ");
      imap_append_seqset(s->out, (const uint32_t *)(void *)res->data,
                         res->len);
    }
    if (a.uses_modseq && res->len > 0)
      g_string_append_printf(s->out, " MODSEQ %" G_GUINT64_FORMAT, modseq);
    imap_write(s, "\r\n", 2);
  }
  g_array_free(seqs, TRUE);
  g_array_free(uids, TRUE);
  return imap_cmd_done(s, cmd, "OK", "Search completed.");
}
