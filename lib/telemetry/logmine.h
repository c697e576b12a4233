/*
 * logmine.h: online log template mining (Drain-style) and Loghub-style
 * header format parsing.
 *
 * A miner turns raw log messages into templates: "Served block blk_123
 * to /10.0.0.1" and "Served block blk_456 to /10.0.0.2" both become
 * "Served block blk_<*> to /<*>".  It works in one pass, one message at a
 * time, in bounded memory:
 *
 *   1. Masking.  Each whitespace-separated token is rewritten by
 *      hand-written maskers (no regular expressions): numbers and digit
 *      runs, times and dates (with month and weekday names), hex values
 *      and mixed digit ids, UUIDs, IPv4/IPv6 addresses with ports, host
 *      names, URLs, paths; in "key=value" the value is masked; a number's
 *      unit joins it ("12 ms", "1.5 KB"), and a parenthesized size
 *      annotation such as "(1.16 KB)" is dropped; a run of masked tokens
 *      ("<*> <*> <*>", "blk_<*> blk_<*>") becomes one.  Masked parts read
 *      "<*>".
 *   2. Routing.  A fixed-depth tree picks a leaf by the token count and
 *      then by the first depth-3 tokens (a token holding a digit or a
 *      "<*>" goes down the wildcard branch; a node has at most
 *      max_children children).
 *   3. Matching.  Within the leaf, Drain's similarity (the fraction of
 *      template tokens equal to the message's; a template wildcard counts
 *      when the message token is masked too) must reach sim_threshold.
 *      Beyond Drain, two differing words (tokens with nothing masked) are
 *      a "hard" mismatch: the message joins a group only if a wildcard or
 *      a masked value explains every difference.  Otherwise it starts a
 *      sibling group, and the position is counted: once more than
 *      max_values distinct words were seen there among similar groups
 *      (max_values_caps for capitalized words), it is a variable and the
 *      siblings merge.  So "HTTPS"/"SOCKS5" or "Paused"/"Resumed" stay
 *      apart while user names soon merge into "user <*>".
 *   4. Update.  Template tokens that differ from the message generalize:
 *      "user=root" and "user=guest" give "user=<*>", "abc" and "xyz"
 *      give "<*>".  A template that became identical to another merges
 *      with it.
 *
 * Template ids are stable: an id is a 64-bit FNV-1a hash of the group's
 * first template text (the masked first message), so the same kind of
 * message gets the same id in every run, on every host, whatever else
 * the input holds and in whatever order, and an id never changes while
 * its template generalizes.  (A sequence number would depend on the
 * order of first appearance of every other template.)  When groups merge,
 * the older id lives on and conf.on_merge hears of it.  Should two live
 * groups ever share a hash, the later one is rehashed deterministically.
 *
 * Memory is bounded: at most max_groups groups and about max_bytes bytes
 * in all; a new group beyond either evicts the least used group (fewest
 * messages, then least recently used).  Messages longer than max_line
 * bytes are cut, and at most max_tokens tokens are kept (the last one
 * takes the rest of the line).
 *
 * The library never prints and never exits.  Functions returning int
 * return 0 on success and -1 with errno set (ENOMEM, EINVAL) on failure.
 * A miner is not thread-safe; use one per thread (miners share nothing).
 */
#ifndef SRE_LOGMINE_H
#define SRE_LOGMINE_H

#include <stddef.h>
#include <stdint.h>

/* Maskers, or-ed into sre_logmine_conf.maskers. */
#define SRE_LOGMINE_MASK_NUM 0x01u /* numbers, digit runs, times, dates */
#define SRE_LOGMINE_MASK_HEX 0x02u /* 0x.., long hex runs, UUIDs, mixed ids */
#define SRE_LOGMINE_MASK_IP 0x04u /* IPv4[:port], IPv6 */
#define SRE_LOGMINE_MASK_URL 0x08u /* scheme://... */
#define SRE_LOGMINE_MASK_PATH 0x10u /* /a/b/c (two or more slashes) */
#define SRE_LOGMINE_MASK_UNIT 0x20u /* "12 ms" -> "<*>", "(1.2 KB)" dropped */
#define SRE_LOGMINE_MASK_HOST 0x40u /* host.example.com[:port] */
#define SRE_LOGMINE_MASK_DEFAULT                                               \
	(SRE_LOGMINE_MASK_NUM | SRE_LOGMINE_MASK_HEX | SRE_LOGMINE_MASK_IP |   \
	    SRE_LOGMINE_MASK_URL | SRE_LOGMINE_MASK_PATH |                     \
	    SRE_LOGMINE_MASK_UNIT | SRE_LOGMINE_MASK_HOST)

/*
 * Configuration.  Fill with sre_logmine_conf_init(), then change fields.
 * A zero numeric field means "the default" (but maskers 0 means none).
 */
struct sre_logmine_conf {
	/* Share of agreeing tokens to join a group, 0 < st <= 1; 0.5. */
	double sim_threshold;
	/* Drain's depth: root, length, depth - 3 token levels, leaves;
	 * 3..16, default 4. */
	unsigned depth;
	/* Children per tree node; default 100. */
	unsigned max_children;
	/* Live groups at most; default 10000. */
	size_t max_groups;
	/* Heap budget for everything; default 64 MiB. */
	size_t max_bytes;
	/* Tokens per message; default 256. */
	size_t max_tokens;
	/* Bytes per message; default 65536. */
	size_t max_line;
	/* SRE_LOGMINE_MASK_* bits; 0 means no masking at all. */
	unsigned maskers;
	/* Extra token separators besides white space, e.g. ",;"; read by
	 * sre_logmine_new only; NULL or "" for none. */
	const char *delims;
	/* A word position becomes a variable once more than this many
	 * distinct words were seen there; default 3. */
	unsigned max_values;
	/* The same for capitalized words ("Paused", "RUNNING": more often
	 * enum constants); default 8. */
	unsigned max_values_caps;
	/* Called when group from merges into group into (the older id
	 * lives on); may be NULL.  Must not touch the miner. */
	void (*on_merge)(void *arg, uint64_t from, uint64_t into);
	void *merge_arg;
};

/* The result of sre_logmine_add and the view given by sre_logmine_foreach. */
struct sre_logmine_match {
	/* The stable template id. */
	uint64_t id;
	/* The template text, tokens joined by one space, NUL-terminated;
	 * borrowed: valid until the next call that changes the miner. */
	const char *tmpl;
	size_t tmpl_len;
	/* Messages in the group so far. */
	uint64_t count;
	/* This message created the group. */
	int is_new;
	/* This message changed the template (or merged groups into it). */
	int changed;
	/* Groups merged into this one by this message (see on_merge). */
	unsigned merged;
};

struct sre_logmine_stats {
	uint64_t lines; /* messages added */
	uint64_t groups; /* live groups */
	uint64_t created; /* groups ever created */
	uint64_t evicted; /* groups evicted by the caps */
	uint64_t merged; /* groups merged into another */
	uint64_t truncated; /* messages cut at max_line or max_tokens */
	size_t bytes; /* approximate heap bytes held */
};

struct sre_logmine;

/* Sets every field of *conf to its default. */
void sre_logmine_conf_init(struct sre_logmine_conf *conf);

/*
 * Returns a new miner, or NULL with errno set (EINVAL for a bad conf,
 * such as a max_bytes too small for the fixed tables; ENOMEM).  conf may
 * be NULL for the defaults; it is copied.  Free with sre_logmine_free().
 */
struct sre_logmine *sre_logmine_new(const struct sre_logmine_conf *conf);

/* Frees the miner and everything it holds.  Accepts NULL. */
void sre_logmine_free(struct sre_logmine *lm);

/*
 * Adds one message of len bytes (need not be NUL-terminated; any bytes,
 * NUL included, are accepted; a trailing newline is not stripped, so
 * pass the message without it).  Fills *out (which may be NULL) with the
 * group the message joined; out->tmpl is borrowed.  Returns 0, or -1
 * with errno ENOMEM (the miner stays usable).
 */
int sre_logmine_add(struct sre_logmine *lm, const char *msg, size_t len,
    struct sre_logmine_match *out);

/*
 * Masks one message as sre_logmine_add would, without adding it (the
 * groups are untouched; only lm's scratch space is used): writes the
 * masked tokens joined by one space, NUL-terminated, into buf (at most
 * cap bytes, cap > 0) and returns the length of the full text; a result
 * >= cap means buf holds a truncated text.  Never fails.
 */
size_t sre_logmine_mask(
    struct sre_logmine *lm, const char *msg, size_t len, char *buf, size_t cap);

/*
 * Fills *out with a borrowed view of the live group with this id (is_new,
 * changed and merged are 0).  Returns 0, or -1 with errno ENOENT when no
 * live group has it (never created, evicted, or merged into another).
 */
int sre_logmine_get(
    const struct sre_logmine *lm, uint64_t id, struct sre_logmine_match *out);

/*
 * Calls fn once per live group, in no particular order, with a borrowed
 * view (is_new, changed and merged are 0).  fn must not change the
 * miner.  Stops early and returns fn's value when fn returns nonzero;
 * returns 0 otherwise.
 */
int sre_logmine_foreach(const struct sre_logmine *lm,
    int (*fn)(const struct sre_logmine_match *m, void *arg), void *arg);

/* Fills *st.  Borrows lm. */
void sre_logmine_stats(
    const struct sre_logmine *lm, struct sre_logmine_stats *st);

/* Writes id as 16 lowercase hex digits and a NUL into buf. */
void sre_logmine_id_str(uint64_t id, char buf[17]);

/*
 * Header formats, as the Loghub benchmark writes them:
 *
 *	<Date> <Time> <Pid> <Level> <Component>: <Content>
 *	\[<Time>\] \[<Level>\] <Content>
 *	<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>
 *
 * <Name> is a field; a run of spaces matches one or more whitespace
 * characters; "\c" matches the character c; "( ... )?" is an optional
 * part and "( ... )" a plain group; every other character matches
 * itself.  Fields match as few characters as they can (the last one
 * takes the rest of the line), with backtracking, as Loghub's generated
 * regular expression "^...(?P<Name>.*?)...$" does.  Leading and trailing
 * whitespace of the line is ignored (Loghub strips lines).
 */
struct sre_logmine_format;

/* One field of a parsed line; p is NULL when an optional part was absent. */
struct sre_logmine_field {
	const char *p; /* borrowed: points into the parsed line */
	size_t len;
};

/*
 * Compiles fmt.  Returns NULL with errno EINVAL and a message in err
 * (errlen bytes, may be 0) for a bad format (no field, unbalanced
 * parentheses, an empty or unterminated <...>, a duplicate field), or
 * ENOMEM.  Free with sre_logmine_format_free().
 */
struct sre_logmine_format *sre_logmine_format_new(
    const char *fmt, char *err, size_t errlen);

/* Frees a compiled format.  Accepts NULL. */
void sre_logmine_format_free(struct sre_logmine_format *f);

/* Number of fields, and the name of field i (borrowed, NUL-terminated). */
size_t sre_logmine_format_nfields(const struct sre_logmine_format *f);
const char *sre_logmine_format_field_name(
    const struct sre_logmine_format *f, size_t i);

/* Index of the field called name, or -1. */
int sre_logmine_format_field_index(
    const struct sre_logmine_format *f, const char *name);

/*
 * Splits line (len bytes) into fields: fields must have room for
 * sre_logmine_format_nfields() entries, which point into line.  Returns
 * 0 when the line matches the format, -1 when it does not (or when the
 * match would take too many backtracking steps); fields are then
 * unspecified.
 */
int sre_logmine_format_parse(const struct sre_logmine_format *f,
    const char *line, size_t len, struct sre_logmine_field *fields);

#endif
