/*-------------------------------------------------------------------------
 *
 * src/quality/regex.c
 *		PCRE2 (JIT-compiled) regular expressions for pattern and format rules.
 *
 * etl._re_match(subject text, pattern text) → bool is an unanchored search,
 * like PostgreSQL's "~", but with PCRE2 syntax and PCRE2's JIT: a rule's
 * pattern is compiled once per query (the compiled code is cached in the
 * function call's fn_extra, keyed by the pattern text) and each row costs
 * one native match, several times cheaper than the interpreted regex engine.
 * In a UTF-8 database patterns are compiled with PCRE2_UTF and PCRE2_UCP, so
 * \w, \d, [[:alpha:]] and \b know letters such as "é"; subjects are not
 * re-validated (PostgreSQL guarantees valid encoding).  PCRE2_DOLLAR_ENDONLY
 * makes "$" match only at the very end, as in PostgreSQL's "~" ("$" would
 * otherwise also match before a final newline); "." does not match a
 * newline (write (?s) to change that).
 *
 * PCRE2 allocates the compiled code and the JIT's executable memory with
 * malloc/mmap: a MemoryContextCallback on the cache's memory context frees
 * them when the query's function cache goes away, on error too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "quality/quality.h"

PG_FUNCTION_INFO_V1(metaetl_re_match);

typedef struct QReCache
{
	char	   *pattern;		/* the pattern it was compiled from */
	int			patlen;
	pcre2_code *code;
	pcre2_match_data *md;
	bool		jit;
	MemoryContextCallback cb;
} QReCache;

static void
qre_release(void *arg)
{
	QReCache   *c = (QReCache *) arg;

	if (c->md)
		pcre2_match_data_free(c->md);
	if (c->code)
		pcre2_code_free(c->code);
	c->md = NULL;
	c->code = NULL;
}

/* the compile options of every pattern */
static uint32
qre_options(void)
{
	return PCRE2_DOLLAR_ENDONLY |
		((GetDatabaseEncoding() == PG_UTF8) ? (PCRE2_UTF | PCRE2_UCP) : 0);
}

/*
 * QualityRegexProblem
 *		NULL when pattern compiles as the engine will compile it, else the
 *		problem (for the rule validator: nothing is raised).
 */
char *
QualityRegexProblem(const char *pattern)
{
	int			pcre_err;
	PCRE2_SIZE	erroff;
	pcre2_code *code;
	PCRE2_UCHAR msg[256];

	code = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, qre_options(), &pcre_err, &erroff, NULL);
	if (code != NULL)
	{
		pcre2_code_free(code);
		return NULL;
	}
	pcre2_get_error_message(pcre_err, msg, sizeof(msg));
	return psprintf("%s at offset %d (PCRE2 syntax)", (char *) msg, (int) erroff);
}

/* compile a pattern; errors are SQLSTATE 2201B like PostgreSQL's regexes */
static pcre2_code *
qre_compile(const char *pat, int len)
{
	int			pcre_err;
	PCRE2_SIZE	erroff;
	pcre2_code *code;

	code = pcre2_compile((PCRE2_SPTR) pat, (PCRE2_SIZE) len, qre_options(), &pcre_err, &erroff, NULL);
	if (code == NULL)
	{
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(pcre_err, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression: %s", (char *) msg),
				 errdetail("At offset %d of the pattern \"%.*s\".", (int) erroff, len, pat),
				 errhint("Patterns use PCRE2 syntax.")));
	}
	return code;
}

static QReCache *
qre_get(FunctionCallInfo fcinfo, text *pattern)
{
	QReCache   *c = (QReCache *) fcinfo->flinfo->fn_extra;
	char	   *pat = VARDATA_ANY(pattern);
	int			len = VARSIZE_ANY_EXHDR(pattern);

	if (c != NULL && c->code != NULL && c->patlen == len && memcmp(c->pattern, pat, len) == 0)
		return c;
	if (c == NULL)
	{
		c = (QReCache *) MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(QReCache));
		c->cb.func = qre_release;
		c->cb.arg = c;
		MemoryContextRegisterResetCallback(fcinfo->flinfo->fn_mcxt, &c->cb);
		fcinfo->flinfo->fn_extra = c;
	}
	else
	{
		qre_release(c);
		pfree(c->pattern);
		c->pattern = NULL;
	}
	c->code = qre_compile(pat, len);
	c->jit = (pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE) == 0);
	c->md = pcre2_match_data_create_from_pattern(c->code, NULL);
	if (c->md == NULL)
	{
		qre_release(c);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	c->pattern = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len + 1);
	memcpy(c->pattern, pat, len);
	c->pattern[len] = '\0';
	c->patlen = len;
	return c;
}

/*
 * metaetl_re_match
 *		etl._re_match(subject, pattern): PCRE2 match of pattern
 *		anywhere in subject, for regex rules.
 *
 *		The compiled pattern (JIT when available) is cached per call
 *		site by qre_get, so a rule's constant pattern is compiled once
 *		per query. In a UTF-8 database the subject is passed with
 *		PCRE2_NO_UTF_CHECK, since the server has already validated it.
 *		A match error other than no-match (for instance a resource
 *		limit) is raised rather than counted as a failure.
 */
Datum
metaetl_re_match(PG_FUNCTION_ARGS)
{
	text	   *subject = PG_GETARG_TEXT_PP(0);
	text	   *pattern = PG_GETARG_TEXT_PP(1);
	QReCache   *c = qre_get(fcinfo, pattern);
	PCRE2_SPTR	s = (PCRE2_SPTR) VARDATA_ANY(subject);
	PCRE2_SIZE	n = VARSIZE_ANY_EXHDR(subject);
	uint32		opts = (GetDatabaseEncoding() == PG_UTF8) ? PCRE2_NO_UTF_CHECK : 0;
	int			rc;

	if (c->jit)
		rc = pcre2_jit_match(c->code, s, n, 0, opts, c->md, NULL);
	else
		rc = pcre2_match(c->code, s, n, 0, opts, c->md, NULL);
	if (rc >= 0)
		PG_RETURN_BOOL(true);
	if (rc == PCRE2_ERROR_NOMATCH)
		PG_RETURN_BOOL(false);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
			 errmsg("regular expression match failed (PCRE2 error %d)", rc)));
	PG_RETURN_BOOL(false);
}

/*
 * A compiled pattern for C callers (the approximate profile's semantic
 * types): compiled once, matched many times, freed with the current memory
 * context (the same callback as the function cache).
 */
QualityRegex *
QualityRegexCompile(const char *pattern)
{
	QReCache   *c = (QReCache *) palloc0(sizeof(QReCache));

	c->cb.func = qre_release;
	c->cb.arg = c;
	c->code = qre_compile(pattern, strlen(pattern));
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &c->cb);
	c->jit = (pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE) == 0);
	c->md = pcre2_match_data_create_from_pattern(c->code, NULL);
	if (c->md == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return (QualityRegex *) c;
}

/*
 * QualityRegexMatch
 *		Matches a pattern from QualityRegexCompile against len bytes
 *		of s. Any PCRE2 error counts as no match, unlike
 *		metaetl_re_match: the caller is the approximate profile's
 *		semantic-type guess, which only counts the values that match.
 */
bool
QualityRegexMatch(QualityRegex *re, const char *s, size_t len)
{
	QReCache   *c = (QReCache *) re;
	uint32		opts = (GetDatabaseEncoding() == PG_UTF8) ? PCRE2_NO_UTF_CHECK : 0;
	int			rc;

	if (c->jit)
		rc = pcre2_jit_match(c->code, (PCRE2_SPTR) s, len, 0, opts, c->md, NULL);
	else
		rc = pcre2_match(c->code, (PCRE2_SPTR) s, len, 0, opts, c->md, NULL);
	return rc >= 0;
}
