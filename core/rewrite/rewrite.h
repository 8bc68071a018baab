/*
 * rewrite.h - the rewrite rules of imta.cnf and the rewriting of one
 * address
 *
 * Rules are "pattern template" lines (rwtemplate.h for templates).  To
 * rewrite an address the first host spec is taken from it, in this order:
 * the first host of a source route (@a,@b:u@c), the domain after '@', the
 * host after the last single '%' of the local part, the host before the
 * first '!' (bang paths only when [mta] bang_paths is on or the source
 * channel has `bangoverpercent`, which also puts '!' before '%').  A bare
 * local part is completed with the source channel's `defaulthost` or the
 * local channel's official host name.  The rules are then looked up, with
 * the current tag prefixed, in this order (first rule whose template
 * applies wins; rules with the same pattern are tried in file order):
 *
 *   $*                       every address, before any host rule
 *   $% / $!                  percent-hack / bang-path addresses
 *   sc.cs.example.edu        the host itself
 *   *.cs.example.edu, .cs.example.edu, *.*.example.edu, .example.edu,
 *   *.*.*.edu, .edu, *.*.*.* labels replaced by '*' or dropped, in turn
 *   [192.0.2.1] [192.0.2.] [192.0.] [192.] []   for domain literals
 *   .                        everything else
 *
 * The routing host of the template's result is looked up among the
 * channels' host names; when it is the local channel's (or a `routelocal`
 * channel's) and the address holds more host specs, the host just
 * rewritten is dropped and the rest is rewritten (source routes through
 * this system collapse).  A%B templates rewrite again.  Rewriting stops
 * with an error after [mta] max_rewrites steps or when an address comes
 * back to a state it was in (a rule loop).
 */
#ifndef CURSUS_REWRITE_H
#define CURSUS_REWRITE_H

#include <stdbool.h>
#include <glib.h>
#include "config/imtacnf.h"
#include "mapping/mapset.h"
#include "mapping/source.h"
#include "rwtemplate.h"

#define REWRITE_DEFAULT_MAX 64

typedef struct rw_rule {
  char *pattern; /* as written */
  char *key;     /* lower-case lookup key */
  char *template_text;
  rw_tmpl *tmpl;
  const char *file;
  unsigned line;
} rw_rule;

typedef struct ruleset {
  GPtrArray *rules;    /* rw_rule* in file order */
  GHashTable *by_key;  /* key -> GPtrArray of rw_rule* */
  GStringChunk *strings;
} ruleset;

/* ruleset_compile - compile the rules of CNF (file:line errors to D);
 * INFO checks call-outs (may be NULL) */
ruleset *ruleset_compile(const imtacnf *cnf, const rw_compile_info *info,
                         diag *d);
void ruleset_free(ruleset **rs);
/* ruleset_add - compile one rule; false with *error_r */
bool ruleset_add(ruleset *rs, const char *pattern, const char *template_,
                 const rw_compile_info *info, const char *file, unsigned line,
                 char **error_r);
ruleset *ruleset_new(void);

/* Everything rewriting needs, owned elsewhere. */
typedef struct rewrite_env {
  const ruleset *rules;
  const mapset *maps;
  srcreg *sources;
  const imtacnf *imta;
  const char *local_host; /* official host of the local channel */
  bool bang_paths;
  unsigned max_rewrites;
} rewrite_env;

typedef struct rewrite_params {
  unsigned flags;                 /* enum rewrite_flags */
  const cnf_channel *source;      /* channel doing the rewriting */
  const cnf_channel *destination; /* known destination ($C / $Q) */
  const char *tag;                /* initial rewrite tag, or NULL */
  GString *trace;
} rewrite_params;

typedef struct rewrite_result {
  int status;                 /* CURSUS_OK, TEMPFAIL, PERMFAIL */
  char *address;              /* the rewritten address */
  char *host;                 /* the routing host */
  const cnf_channel *channel; /* its channel */
  char *error;                /* "5.1.2 ..." on failure */
  const rw_rule *rule;        /* the rule that decided, or NULL */
} rewrite_result;

void rewrite_result_clear(rewrite_result *r);
/* rewrite_address - rewrite ADDRESS; returns r->status */
int rewrite_address(const rewrite_env *env, const char *address,
                    const rewrite_params *p, rewrite_result *r);
/* rewrite_flags_string - "envelope To" etc., for traces */
const char *rewrite_flags_string(unsigned flags);

#endif
