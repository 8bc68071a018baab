/*
 * chankw.c - the channel keywords the core itself interprets
 *
 * Queueing, scheduling, retry and notices, size and recipient limits,
 * address conventions, header handling and channel switching are the
 * core's business, whatever module serves the channel.  Keywords of a
 * particular program (SMTP client and server, store delivery ...) are
 * declared by its module.  Names and meanings follow the classic system;
 * docs/channel-keywords.md describes each.
 */
#include "build-config.h"
#include "keyword.h"

#define FLAG(n, h) {n, CURSUS_VALUE_FLAG, 0, 0, h}
#define INT(n, h) {n, CURSUS_VALUE_INTEGER, 1, 1, h}
#define INTS(n, lo, hi, h) {n, CURSUS_VALUE_INTEGER, lo, hi, h}
#define STR(n, h) {n, CURSUS_VALUE_STRING, 1, 1, h}
#define STRS(n, h) {n, CURSUS_VALUE_STRING, 1, 0, h}
#define DURS(n, h) {n, CURSUS_VALUE_DURATION, 1, 0, h}
#define DUR(n, h) {n, CURSUS_VALUE_DURATION, 1, 1, h}
#define CHAN(n, h) {n, CURSUS_VALUE_CHANNEL, 1, 1, h}
#define HOSTS(n, h) {n, CURSUS_VALUE_HOST, 1, 2, h}

const cursus_keyword core_channel_keywords[] = {
    /* programs and module selection */
    STR("module", "the module serving this channel's master program"),
    FLAG("master", "the channel has only a master (outbound) program"),
    FLAG("slave", "the channel only receives (no master program)"),
    FLAG("bidirectional", "master and slave programs (default)"),
    STR("description", "free text for the administrator (accepted for compatibility; no effect)"),

    /* queueing and job creation */
    FLAG("immediate", "deliver as soon as a message is queued (default)"),
    FLAG("periodic", "deliver only on periodic runs"),
    FLAG("immnonurgent", "immediate delivery even for non-urgent messages"),
    FLAG("immnormal", "immediate delivery from normal priority up (default)"),
    FLAG("immurgent", "immediate delivery only for urgent messages"),
    INT("urgentblocklimit", "urgent messages above N blocks become normal"),
    INT("normalblocklimit", "normal messages above N blocks become non-urgent"),
    INT("nonurgentblocklimit", "non-urgent messages above N blocks wait for a periodic run"),
    INT("maxjobs", "most master jobs running at once for this channel"),
    STR("pool", "job controller pool the channel's jobs run in"),
    INT("threaddepth", "queued messages per job before another job starts"),
    INT("filesperjob", "messages a job takes before the next job starts"),
    INT("addrsperjob", "recipients a job takes before the next job starts"),
    INT("addrsperfile", "most recipients per queue file"),
    FLAG("single", "one queue file per recipient"),
    FLAG("single_sys", "one queue file per destination host"),
    FLAG("multiple", "all recipients of a message in one queue file (default)"),
    INT("subdirs", "spread the channel's queue over N subdirectories"),
    DUR("after", "wait this long before the first delivery attempt"),
    FLAG("deferred", "honour Deferred-delivery: header fields"),
    FLAG("nodeferred", "ignore Deferred-delivery: (default)"),
    INT("expandlimit", "messages from this channel with more recipients are expanded off-line"),
    CHAN("expandchannel", "channel that performs deferred expansion (default reprocess)"),
    INT("holdlimit", "hold messages with more than N recipients"),

    /* retries and notices */
    DURS("backoff", "intervals between delivery retries; the last repeats"),
    DURS("urgentbackoff", "retry intervals for urgent messages"),
    DURS("normalbackoff", "retry intervals for normal messages"),
    DURS("nonurgentbackoff", "retry intervals for non-urgent messages"),
    INTS("notices", 1, 5, "ages (days) for delay notices; the last returns"),
    INTS("urgentnotices", 1, 5, "notices for urgent messages"),
    INTS("normalnotices", 1, 5, "notices for normal messages"),
    INTS("nonurgentnotices", 1, 5, "notices for non-urgent messages"),
    FLAG("sendpost", "postmaster gets a copy of every failure notice"),
    FLAG("copysendpost", "postmaster copy of failure notices unless the sender is empty"),
    FLAG("errsendpost", "postmaster gets failure notices that cannot be returned"),
    FLAG("nosendpost", "no postmaster copies of failure notices"),
    FLAG("warnpost", "postmaster gets a copy of every delay notice"),
    FLAG("copywarnpost", "postmaster copy of delay notices unless the sender is empty"),
    FLAG("errwarnpost", "postmaster gets delay notices that cannot be returned"),
    FLAG("nowarnpost", "no postmaster copies of delay notices"),
    FLAG("postheadonly", "postmaster copies carry the header only"),
    FLAG("postheadbody", "postmaster copies carry the whole message"),
    FLAG("includefinal", "include the final recipient form in notices"),
    FLAG("suppressfinal", "omit the final recipient form from notices"),
    FLAG("useintermediate", "use the intermediate address form in notices"),

    /* sizes and limits */
    INT("blocklimit", "largest message in blocks"),
    FLAG("noblocklimit", "no size limit"),
    INT("sourceblocklimit", "largest message accepted from this channel"),
    INT("linelimit", "most lines in a message (accepted for compatibility; no effect)"),
    FLAG("nolinelimit", "no line limit (accepted for compatibility; no effect)"),
    INT("recipientlimit", "most recipients per message"),
    INT("recipientcutoff", "recipients beyond N are refused"),
    INT("maxheaderaddrs", "most addresses per header line (accepted for compatibility; no effect)"),
    INT("maxheaderchars", "most characters per header line (accepted for compatibility; no effect)"),
    INT("maxprocchars", "longest header line processed (accepted for compatibility; no effect)"),
    INT("disconnectbadauthlimit", "disconnect after N failed AUTH"),
    INT("disconnectbadcommandlimit", "disconnect after N bad commands"),
    INT("disconnectrejectlimit", "disconnect after N rejected recipients"),
    INT("disconnecttransactionlimit", "disconnect after N transactions"),
    INT("disconnectrecipientlimit", "disconnect after N recipients"),
    INT("transactionlimit", "most transactions per session"),

    /* addresses and routing */
    FLAG("822", "source-route envelope addresses (default) (accepted for compatibility; no effect)"),
    FLAG("sourceroute", "source-route envelope addresses (default) (accepted for compatibility; no effect)"),
    FLAG("733", "percent-hack envelope addresses (accepted for compatibility; no effect)"),
    FLAG("percents", "percent-hack envelope addresses (accepted for compatibility; no effect)"),
    FLAG("uucp", "bang-path envelope addresses (accepted for compatibility; no effect)"),
    FLAG("bangstyle", "bang-path envelope addresses (accepted for compatibility; no effect)"),
    FLAG("header_822", "source-route header addresses (default) (accepted for compatibility; no effect)"),
    FLAG("header_733", "percent-hack header addresses (accepted for compatibility; no effect)"),
    FLAG("header_uucp", "bang-path header addresses (accepted for compatibility; no effect)"),
    FLAG("bangoverpercent", "a!b%c is routed to a"),
    FLAG("nobangoverpercent", "a!b%c is routed to c (default)"),
    FLAG("percentonly", "ignore bang paths"),
    FLAG("exproute", "add an explicit source route (accepted for compatibility; no effect)"),
    FLAG("noexproute", "no explicit source route (default) (accepted for compatibility; no effect)"),
    FLAG("improute", "implicit routing of header addresses (accepted for compatibility; no effect)"),
    FLAG("noimproute", "no implicit routing (default) (accepted for compatibility; no effect)"),
    FLAG("dequeue_removeroute", "strip source routes when dequeuing (accepted for compatibility; no effect)"),
    FLAG("routelocal", "collapse source routes through local hosts"),
    HOSTS("defaulthost", "domain completing bare user names"),
    FLAG("remotehost", "complete addresses with the remote host's name (accepted for compatibility; no effect)"),
    FLAG("noremotehost", "complete addresses with the local host name (accepted for compatibility; no effect)"),
    INT("missingrecipientpolicy", "what to do with a message without To/Cc/Bcc (accepted for compatibility; no effect)"),
    FLAG("dropblank", "remove empty To/Cc header fields (accepted for compatibility; no effect)"),
    FLAG("nodropblank", "keep empty To/Cc header fields (accepted for compatibility; no effect)"),
    FLAG("aliaslocal", "addresses routed here go through alias expansion"),
    FLAG("aliaspostmaster", "postmaster@ this channel's domains is the postmaster (accepted for compatibility; no effect)"),
    FLAG("viaaliasrequired", "recipients must come from an alias expansion (accepted for compatibility; no effect)"),
    FLAG("viaaliasoptional", "recipients need not come from an alias expansion (accepted for compatibility; no effect)"),
    FLAG("reverse", "apply address reversal (default)"),
    FLAG("noreverse", "no address reversal"),
    FLAG("restricted", "quote local parts (RFC 1137) (accepted for compatibility; no effect)"),
    FLAG("unrestricted", "do not quote local parts (accepted for compatibility; no effect)"),
    FLAG("rules", "channel-specific rewrite checks apply"),
    FLAG("norules", "no channel-specific rewrite checks"),
    FLAG("loopcheck", "detect mail loops (accepted for compatibility; no effect)"),
    FLAG("inner", "rewrite addresses in inner message parts (accepted for compatibility; no effect)"),
    FLAG("noinner", "leave inner message parts alone (default) (accepted for compatibility; no effect)"),

    /* channel switching */
    FLAG("switchchannel", "switch the source channel by the client's address"),
    FLAG("allowswitchchannel", "the channel may be switched to (default)"),
    FLAG("noswitchchannel", "never switch to or from this channel"),
    CHAN("saslswitchchannel", "source channel after successful AUTH"),
    CHAN("tlsswitchchannel", "source channel after successful STARTTLS"),
    FLAG("userswitchchannel", "switch by the authenticated user's entry (accepted for compatibility; no effect)"),

    /* headers and content */
    FLAG("addreturnpath", "add Return-path: when enqueuing to this channel (accepted for compatibility; no effect)"),
    FLAG("noaddreturnpath", "do not add Return-path: (accepted for compatibility; no effect)"),
    FLAG("receivedfor", "name the recipient in Received: (default)"),
    FLAG("noreceivedfor", "do not name the recipient in Received:"),
    FLAG("receivedfrom", "name the sender in Received:"),
    FLAG("noreceivedfrom", "do not name the sender in Received:"),
    FLAG("x_env_to", "add X-Envelope-to: on delivery (accepted for compatibility; no effect)"),
    FLAG("nox_env_to", "no X-Envelope-to: (default) (accepted for compatibility; no effect)"),
    FLAG("headertrim", "trim header fields per <channel>_headers.opt (accepted for compatibility; no effect)"),
    FLAG("noheadertrim", "no header trimming (default) (accepted for compatibility; no effect)"),
    FLAG("headerread", "trim header fields on arrival per <channel>_read_headers.opt (accepted for compatibility; no effect)"),
    FLAG("noheaderread", "no header trimming on arrival (default) (accepted for compatibility; no effect)"),
    FLAG("sevenbit", "the channel only carries 7-bit data (accepted for compatibility; no effect)"),
    FLAG("eightbit", "the channel carries 8-bit data (accepted for compatibility; no effect)"),
    FLAG("eightnegotiate", "negotiate 8-bit transport (accepted for compatibility; no effect)"),
    FLAG("eightstrict", "refuse 8-bit data not announced as such (accepted for compatibility; no effect)"),
    FLAG("defragment", "reassemble message/partial before delivery (accepted for compatibility; no effect)"),
    FLAG("nodefragment", "no reassembly (default) (accepted for compatibility; no effect)"),
    STR("language", "language of notices (accepted for compatibility; no effect)"),
    STR("charset7", "charset of unlabeled 7-bit text (accepted for compatibility; no effect)"),
    STR("charset8", "charset of unlabeled 8-bit text (accepted for compatibility; no effect)"),

    /* delivery, filters, quotas */
    STR("fileinto", "address template for Sieve fileinto on this channel (accepted for compatibility; no effect)"),
    STR("filter", "URL of per-user Sieve filters (accepted for compatibility; no effect)"),
    STR("channelfilter", "URL of the Sieve filter for mail to this channel (accepted for compatibility; no effect)"),
    STR("destinationfilter", "URL of the Sieve filter for mail to this channel (accepted for compatibility; no effect)"),
    STR("sourcefilter", "URL of the Sieve filter for mail from this channel (accepted for compatibility; no effect)"),
    FLAG("nodestinationfilter", "no destination filter (accepted for compatibility; no effect)"),
    FLAG("nosourcefilter", "no source filter (accepted for compatibility; no effect)"),
    STRS("contentfilter", "content filters ([contentfilter NAME] of cursus.conf) "
                          "for mail from this channel, in order"),
    FLAG("nocontentfilter", "no content filters for mail from this channel"),
    FLAG("holdexquota", "hold over-quota messages for retry during the store's grace period (the default)"),
    FLAG("noexquota", "return over-quota messages at once, without a grace period"),

    /* logging */
    FLAG("logging", "write this channel's events to the message log"),
    FLAG("nologging", "no message log entries for this channel"),
    FLAG("master_debug", "debug output from the master program"),
    FLAG("nomaster_debug", "no master debug output (default)"),
    FLAG("slave_debug", "debug output from the slave program (accepted for compatibility; no effect)"),
    FLAG("noslave_debug", "no slave debug output (default) (accepted for compatibility; no effect)"),
    {NULL, 0, 0, 0, NULL},
};
