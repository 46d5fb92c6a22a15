/*-------------------------------------------------------------------------
 *
 * src/quality/formats.c
 *		Row checks of the parseable and date_format rules, and the non-throwing
 *		casts behind range rules with cast:, without a subtransaction per row.
 *
 * etl._parseable(v text, kind text) → bool    would v::kind succeed?
 *     date, timestamp  PostgreSQL's own datetime parser (ParseDateTime and
 *                      DecodeDateTime return error codes instead of raising)
 *                      and the range checks of date_in / timestamp_in;
 *     numeric          the grammar numeric_in accepts, with its limits;
 *     uuid             the grammar of uuid_in;
 *     inet             pg_inet_net_pton, which inet_in calls;
 *     json             the JSON lexer (non-throwing).
 * etl._date_format_ok(v text, template text) → bool
 *     v has exactly the shape of a to_timestamp template (YYYY-MM-DD,
 *     HH24:MI:SS, Mon DD YYYY, ...) and denotes a real date and time.  The
 *     template is compiled once per query (fn_extra).
 *
 * PostgreSQL 15's input functions raise on bad input; catching that needs a
 * subtransaction per value (about 10x the cost of the checks here, measured
 * in test/bench/quality).  The one input the datetime decoder still raises
 * for is an unknown time zone name (a word containing '/'); only such values
 * take the subtransaction path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <sys/socket.h>

#include "access/xact.h"
#include "common/jsonapi.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "quality/quality.h"

PG_FUNCTION_INFO_V1(metaetl_parseable);
PG_FUNCTION_INFO_V1(metaetl_date_format_ok);

typedef enum QParseKind
{
	QP_DATE,
	QP_TIMESTAMP,
	QP_JSON,
	QP_UUID,
	QP_NUMERIC,
	QP_INET
} QParseKind;

static const char *const qparse_names[] = {"date", "timestamp", "json", "uuid", "numeric", "inet"};

/* ------------------------------------------------------------ numeric */

static bool
qf_numeric(const char *s)
{
	const char *p = s;
	int			int_digits = 0;
	int			frac_digits = 0;
	bool		any = false;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '+' || *p == '-')
		p++;
	if (pg_strncasecmp(p, "infinity", 8) == 0)
		p += 8;
	else if (pg_strncasecmp(p, "inf", 3) == 0)
		p += 3;
	else if (pg_strncasecmp(p, "nan", 3) == 0 && (p == s || (p[-1] != '+' && p[-1] != '-')))
		p += 3;
	else
	{
		while (isdigit((unsigned char) *p))
		{
			if (int_digits > 0 || *p != '0')
				int_digits++;
			p++;
			any = true;
		}
		if (*p == '.')
		{
			p++;
			while (isdigit((unsigned char) *p))
			{
				frac_digits++;
				p++;
				any = true;
			}
		}
		if (!any)
			return false;
		if (*p == 'e' || *p == 'E')
		{
			long		exp = 0;
			bool		neg = false;

			p++;
			if (*p == '+' || *p == '-')
				neg = *p++ == '-';
			if (!isdigit((unsigned char) *p))
				return false;
			while (isdigit((unsigned char) *p))
			{
				if (exp < 1000000)
					exp = exp * 10 + (*p - '0');
				p++;
			}
			if (neg)
				frac_digits += exp;
			else
				int_digits += exp;
		}
		/* the limits of the numeric format: 131072 digits before the point, 16383 after */
		if (int_digits > 131072 || frac_digits > 16383)
			return false;
	}
	while (isspace((unsigned char) *p))
		p++;
	return *p == '\0';
}

/* ------------------------------------------------------------ uuid */

static bool
qf_uuid(const char *src)
{
	bool		braces = false;

	if (src[0] == '{')
	{
		src++;
		braces = true;
	}
	for (int i = 0; i < 16; i++)
	{
		if (!isxdigit((unsigned char) src[0]) || !isxdigit((unsigned char) src[1]))
			return false;
		src += 2;
		if (src[0] == '-' && (i % 2) == 1 && i < 15)
			src++;
	}
	if (braces)
	{
		if (*src != '}')
			return false;
		src++;
	}
	return *src == '\0';
}

/* ------------------------------------------------------------ inet */

static bool
qf_inet(const char *src)
{
	unsigned char addr[16];
	int			family = strchr(src, ':') ? PGSQL_AF_INET6 : PGSQL_AF_INET;
	int			bits = pg_inet_net_pton(family, src, addr, -1);

	return bits >= 0 && bits <= (family == PGSQL_AF_INET ? 32 : 128);
}

/* ------------------------------------------------------------ json */

static bool
qf_json(text *t)
{
	JsonLexContext *lex = makeJsonLexContextCstringLen(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
													   GetDatabaseEncoding(), true);
	JsonSemAction nullsem;

	memset(&nullsem, 0, sizeof(nullsem));
	return pg_parse_json(lex, &nullsem) == JSON_SUCCESS;
}

/* ------------------------------------------------------------ date, timestamp */

/* the input functions, in a subtransaction: for time zone names only */
static bool
qf_datetime_subxact(const char *s, QParseKind kind)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		if (kind == QP_DATE)
			(void) DirectFunctionCall1(date_in, CStringGetDatum(s));
		else
			(void) DirectFunctionCall3(timestamp_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid),
									   Int32GetDatum(-1));
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	return ok;
}

static bool
qf_datetime(const char *s, QParseKind kind)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	struct pg_tm tt,
			   *tm = &tt;
	fsec_t		fsec;

	if (strlen(s) >= MAXDATELEN)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' && p > s && isalpha((unsigned char) p[-1]))
			return qf_datetime_subxact(s, kind);
	if (ParseDateTime(s, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
	if (DecodeDateTime(field, ftype, nf, &dtype, tm, &fsec, &tz) != 0)
		return false;
	if (dtype != DTK_DATE)
		return dtype == DTK_EPOCH || dtype == DTK_LATE || dtype == DTK_EARLY;
	if (kind == QP_DATE)
		return IS_VALID_JULIAN(tm->tm_year, tm->tm_mon, tm->tm_mday) &&
			IS_VALID_DATE(date2j(tm->tm_year, tm->tm_mon, tm->tm_mday) - POSTGRES_EPOCH_JDATE);
	else
	{
		Timestamp	ts;

		return tm2timestamp(tm, fsec, NULL, &ts) == 0 && IS_VALID_TIMESTAMP(ts);
	}
}

/* is v a valid literal of kind? (the one implementation behind parseable and cast) */
bool
QualityParseable(text *v, int kind)
{
	char	   *s;
	bool		ok;

	if (kind == QP_JSON)
		return qf_json(v);
	s = text_to_cstring(v);
	switch ((QParseKind) kind)
	{
		case QP_NUMERIC:
			ok = qf_numeric(s);
			break;
		case QP_UUID:
			ok = qf_uuid(s);
			break;
		case QP_INET:
			ok = qf_inet(s);
			break;
		default:
			ok = qf_datetime(s, (QParseKind) kind);
			break;
	}
	pfree(s);
	return ok;
}

/*
 * QualityParseKind
 *		The index of a parse kind name ("date", "timestamp", "json",
 *		"uuid", "numeric", "inet", ...) in qparse_names, for
 *		QualityParseable.
 *
 *		An unknown name is an error with the list of valid kinds: it
 *		comes from a rule's "as" key, so the user sees the mistake
 *		when the rule runs rather than every row silently failing.
 *		Called once per query by metaetl_parseable (cached) and by the
 *		profile for its JSON detection.
 */
int
QualityParseKind(const char *name)
{
	for (int i = 0; i < lengthof(qparse_names); i++)
		if (strcmp(qparse_names[i], name) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown kind \"%s\" to parse as", name),
			 errhint("Use date, timestamp, json, uuid, numeric or inet.")));
	return -1;
}

/*
 * etl._parseable(v text, kind text) → bool
 */
typedef struct QParseCache
{
	char		name[16];
	int			kind;
} QParseCache;

/*
 * metaetl_parseable
 *		etl._parseable(v, kind): whether v parses as the given kind,
 *		without raising an error, so a parse rule counts bad rows
 *		instead of aborting on the first one as a cast would.
 *
 *		The kind's name is resolved once and cached in fn_extra (it is
 *		a constant of the rule), so the per-row cost is the parse
 *		itself.
 */
Datum
metaetl_parseable(PG_FUNCTION_ARGS)
{
	QParseCache *c = (QParseCache *) fcinfo->flinfo->fn_extra;
	text	   *k = PG_GETARG_TEXT_PP(1);
	int			len = VARSIZE_ANY_EXHDR(k);

	/* the kind is looked up once per query (in a rule it is a constant) */
	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(QParseCache));
		fcinfo->flinfo->fn_extra = c;
	}
	if (len >= (int) sizeof(c->name) || strncmp(c->name, VARDATA_ANY(k), len) != 0 || c->name[len] != '\0')
	{
		char	   *name = text_to_cstring(k);

		c->kind = QualityParseKind(name);
		strlcpy(c->name, name, sizeof(c->name));
	}
	PG_RETURN_BOOL(QualityParseable(PG_GETARG_TEXT_PP(0), c->kind));
}

/* ------------------------------------------------------------ date_format */

typedef enum QdfField
{
	QDF_LITERAL,
	QDF_YEAR4,
	QDF_YEAR2,
	QDF_MONTH,
	QDF_DAY,
	QDF_DOY,
	QDF_HOUR24,
	QDF_HOUR12,
	QDF_MINUTE,
	QDF_SECOND,
	QDF_FRACTION,				/* MS (3), US (6), FF1..FF6 */
	QDF_MERIDIEM,				/* AM PM, A.M. P.M. (any case as written) */
	QDF_MONTH_ABBR,
	QDF_MONTH_NAME,
	QDF_DAY_ABBR,
	QDF_DAY_NAME,
	QDF_TZH,					/* +hh or -hh */
	QDF_TZM
} QdfField;

typedef struct QdfItem
{
	QdfField	field;
	int			width;			/* digits; literal length */
	bool		fm;				/* FM: 1..width digits, names unpadded */
	char		lettercase;		/* as written (names are read in any case, as to_timestamp does) */
	bool		dotted;			/* A.M. */
	char	   *literal;
} QdfItem;

typedef struct QdfTemplate
{
	char	   *source;
	int			n;
	QdfItem		items[64];
} QdfTemplate;

static const char *const month_names[] = {"january", "february", "march", "april", "may", "june", "july",
"august", "september", "october", "november", "december"};
static const char *const day_names[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};

typedef struct QdfToken
{
	const char *name;
	QdfField	field;
	int			width;
	char		lettercase;
	bool		dotted;
} QdfToken;

/* longest first: HH24 before HH, MONTH before MON, ... */
static const QdfToken qdf_tokens[] = {
	{"YYYY", QDF_YEAR4, 4}, {"yyyy", QDF_YEAR4, 4}, {"YY", QDF_YEAR2, 2}, {"yy", QDF_YEAR2, 2},
	{"HH24", QDF_HOUR24, 2}, {"hh24", QDF_HOUR24, 2}, {"HH12", QDF_HOUR12, 2}, {"hh12", QDF_HOUR12, 2},
	{"HH", QDF_HOUR12, 2}, {"hh", QDF_HOUR12, 2},
	{"MONTH", QDF_MONTH_NAME, 9, 'U'}, {"Month", QDF_MONTH_NAME, 9, 'C'}, {"month", QDF_MONTH_NAME, 9, 'l'},
	{"MON", QDF_MONTH_ABBR, 3, 'U'}, {"Mon", QDF_MONTH_ABBR, 3, 'C'}, {"mon", QDF_MONTH_ABBR, 3, 'l'},
	{"MM", QDF_MONTH, 2}, {"mm", QDF_MONTH, 2}, {"MI", QDF_MINUTE, 2}, {"mi", QDF_MINUTE, 2},
	{"MS", QDF_FRACTION, 3}, {"ms", QDF_FRACTION, 3}, {"US", QDF_FRACTION, 6}, {"us", QDF_FRACTION, 6},
	{"FF1", QDF_FRACTION, 1}, {"FF2", QDF_FRACTION, 2}, {"FF3", QDF_FRACTION, 3},
	{"FF4", QDF_FRACTION, 4}, {"FF5", QDF_FRACTION, 5}, {"FF6", QDF_FRACTION, 6},
	{"SS", QDF_SECOND, 2}, {"ss", QDF_SECOND, 2},
	{"DDD", QDF_DOY, 3}, {"ddd", QDF_DOY, 3},
	{"DAY", QDF_DAY_NAME, 9, 'U'}, {"Day", QDF_DAY_NAME, 9, 'C'}, {"day", QDF_DAY_NAME, 9, 'l'},
	{"DY", QDF_DAY_ABBR, 3, 'U'}, {"Dy", QDF_DAY_ABBR, 3, 'C'}, {"dy", QDF_DAY_ABBR, 3, 'l'},
	{"DD", QDF_DAY, 2}, {"dd", QDF_DAY, 2},
	{"A.M.", QDF_MERIDIEM, 4, 'U', true}, {"P.M.", QDF_MERIDIEM, 4, 'U', true},
	{"a.m.", QDF_MERIDIEM, 4, 'l', true}, {"p.m.", QDF_MERIDIEM, 4, 'l', true},
	{"AM", QDF_MERIDIEM, 2, 'U'}, {"PM", QDF_MERIDIEM, 2, 'U'}, {"am", QDF_MERIDIEM, 2, 'l'}, {"pm", QDF_MERIDIEM, 2, 'l'},
	{"TZH", QDF_TZH, 3}, {"TZM", QDF_TZM, 2},
};

/* compile a template; NULL with *problem set when it cannot be checked */
static QdfTemplate *
qdf_compile(const char *fmt, char **problem)
{
	QdfTemplate *t = palloc0(sizeof(QdfTemplate));
	const char *p = fmt;
	bool		has_date = false;

	*problem = NULL;
	t->source = pstrdup(fmt);
	while (*p)
	{
		QdfItem    *it;
		bool		fm = false;
		const QdfToken *tok = NULL;

		if (t->n >= lengthof(t->items))
		{
			*problem = psprintf("the template has more than %d parts", (int) lengthof(t->items));
			return NULL;
		}
		it = &t->items[t->n];
		if (strncmp(p, "FM", 2) == 0 || strncmp(p, "fm", 2) == 0)
		{
			fm = true;
			p += 2;
		}
		for (int i = 0; i < lengthof(qdf_tokens); i++)
			if (strncmp(p, qdf_tokens[i].name, strlen(qdf_tokens[i].name)) == 0)
			{
				tok = &qdf_tokens[i];
				break;
			}
		if (tok)
		{
			it->field = tok->field;
			it->width = tok->width;
			it->fm = fm;
			it->lettercase = tok->lettercase;
			it->dotted = tok->dotted;
			if (tok->field == QDF_YEAR4 || tok->field == QDF_YEAR2 || tok->field == QDF_DOY ||
				tok->field == QDF_MONTH || tok->field == QDF_MONTH_ABBR || tok->field == QDF_MONTH_NAME ||
				tok->field == QDF_DAY)
				has_date = true;
			p += strlen(tok->name);
			t->n++;
			continue;
		}
		if (fm)
		{
			*problem = psprintf("FM must precede a field, at \"%.20s\"", p);
			return NULL;
		}
		if (*p == '"')
		{
			/* a quoted literal; \" inside */
			StringInfoData b;

			initStringInfo(&b);
			for (p++; *p && *p != '"'; p++)
			{
				if (*p == '\\' && p[1])
					p++;
				appendStringInfoChar(&b, *p);
			}
			if (*p != '"')
			{
				*problem = pstrdup("unterminated quoted text in the template");
				return NULL;
			}
			p++;
			it->field = QDF_LITERAL;
			it->literal = b.data;
			it->width = b.len;
			t->n++;
			continue;
		}
		if (isalpha((unsigned char) *p))
		{
			*problem = psprintf("unsupported template pattern at \"%.20s\" (supported: YYYY YY MM DD DDD HH24 HH12 HH MI SS MS US FF1-FF6 AM PM A.M. P.M. Mon Month Dy Day TZH TZM, FM, \"text\")", p);
			return NULL;
		}
		/* punctuation, digits and spaces stand for themselves */
		{
			int			len = pg_mblen(p);

			it->field = QDF_LITERAL;
			it->literal = pnstrdup(p, len);
			it->width = len;
			p += len;
			t->n++;
		}
	}
	if (t->n == 0)
		*problem = pstrdup("the template is empty");
	else if (!has_date && t->n > 0)
	{
		bool		has_time = false;

		for (int i = 0; i < t->n; i++)
			if (t->items[i].field != QDF_LITERAL)
				has_time = true;
		if (!has_time)
			*problem = pstrdup("the template has no date or time field");
	}
	return *problem ? NULL : t;
}

/*
 * QualityDateFormatProblem
 *		Compiles a date format template only to validate it: NULL when
 *		it is usable, otherwise a palloc'd description of the problem.
 *		Called by rule validation (rules.c) so that a bad "format" of
 *		a date_format rule is reported when the rule set is checked,
 *		not during the scan.
 */
char *
QualityDateFormatProblem(const char *fmt)
{
	char	   *problem;

	(void) qdf_compile(fmt, &problem);
	return problem;
}

/* read 1..width (fm) or exactly width digits */
static bool
qdf_digits(const char **s, int width, bool fm, int *value)
{
	int			n = 0;

	*value = 0;
	while (n < width && isdigit((unsigned char) **s))
	{
		*value = *value * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return fm ? n >= 1 : n == width;
}

/* a name from names (full or three-letter), padded to 9 unless fm; index or -1 */
static int
qdf_name(const char **s, const char *const *names, int nnames, bool abbr, bool fm, char lettercase)
{
	for (int i = 0; i < nnames; i++)
	{
		int			len = abbr ? 3 : (int) strlen(names[i]);

		if (pg_strncasecmp(*s, names[i], len) == 0)
		{
			*s += len;
			if (!abbr && !fm)
				for (int k = len; k < 9; k++)
				{
					if (**s != ' ')
						return -1;
					(*s)++;
				}
			return i;
		}
	}
	return -1;
}

static bool
qdf_match(const QdfTemplate *t, const char *s)
{
	int			year = -1,
				month = -1,
				day = -1,
				doy = -1,
				hour = -1,
				hour12 = -1,
				minute = 0,
				second = 0,
				pm = -1;
	int			v;

	for (int i = 0; i < t->n; i++)
	{
		const QdfItem *it = &t->items[i];

		switch (it->field)
		{
			case QDF_LITERAL:
				if (strncmp(s, it->literal, it->width) != 0)
					return false;
				s += it->width;
				break;
			case QDF_YEAR4:
			case QDF_YEAR2:
				if (!qdf_digits(&s, it->width, it->fm, &v))
					return false;
				year = it->field == QDF_YEAR2 ? (v < 70 ? 2000 + v : 1900 + v) : v;
				break;
			case QDF_MONTH:
				if (!qdf_digits(&s, 2, it->fm, &month))
					return false;
				break;
			case QDF_DAY:
				if (!qdf_digits(&s, 2, it->fm, &day))
					return false;
				break;
			case QDF_DOY:
				if (!qdf_digits(&s, 3, it->fm, &doy))
					return false;
				break;
			case QDF_HOUR24:
				if (!qdf_digits(&s, 2, it->fm, &hour) || hour > 23)
					return false;
				break;
			case QDF_HOUR12:
				if (!qdf_digits(&s, 2, it->fm, &hour12) || hour12 < 1 || hour12 > 12)
					return false;
				break;
			case QDF_MINUTE:
				if (!qdf_digits(&s, 2, it->fm, &minute) || minute > 59)
					return false;
				break;
			case QDF_SECOND:
				if (!qdf_digits(&s, 2, it->fm, &second) || second > 59)
					return false;
				break;
			case QDF_FRACTION:
				if (!qdf_digits(&s, it->width, it->fm, &v))
					return false;
				break;
			case QDF_MERIDIEM:
				{
					char		c0 = s[0];

					if (!(c0 == 'a' || c0 == 'A' || c0 == 'p' || c0 == 'P'))
						return false;
					if (it->dotted ? !(s[1] == '.' && (s[2] == 'm' || s[2] == 'M') && s[3] == '.') :
						!(s[1] == 'm' || s[1] == 'M'))
						return false;
					pm = (c0 == 'p' || c0 == 'P');
					s += it->dotted ? 4 : 2;
				}
				break;
			case QDF_MONTH_ABBR:
			case QDF_MONTH_NAME:
				if ((v = qdf_name(&s, month_names, 12, it->field == QDF_MONTH_ABBR, it->fm, it->lettercase)) < 0)
					return false;
				month = v + 1;
				break;
			case QDF_DAY_ABBR:
			case QDF_DAY_NAME:
				if (qdf_name(&s, day_names, 7, it->field == QDF_DAY_ABBR, it->fm, it->lettercase) < 0)
					return false;
				break;
			case QDF_TZH:
				if (*s != '+' && *s != '-')
					return false;
				s++;
				if (!qdf_digits(&s, 2, it->fm, &v) || v > 15)
					return false;
				break;
			case QDF_TZM:
				if (!qdf_digits(&s, 2, it->fm, &v) || v > 59)
					return false;
				break;
		}
	}
	if (*s != '\0')
		return false;
	if (hour12 >= 0 && pm < 0)
		pm = 0;					/* HH12 without a meridiem: as to_timestamp, AM */
	/* a real calendar date */
	if (month >= 0 && (month < 1 || month > 12))
		return false;
	if (day >= 0)
	{
		int			y = year >= 0 ? year : 2000;	/* no year: a leap year allows Feb 29 */
		int			m = month >= 0 ? month : 1;

		if (day < 1 || day > day_tab[isleap(y)][m - 1])
			return false;
	}
	if (doy >= 0 && (doy < 1 || doy > (year >= 0 && !isleap(year) ? 365 : 366)))
		return false;
	if (year == 0)
		return false;			/* there is no year 0 */
	return true;
}

/*
 * etl._date_format_ok(v text, template text) → bool
 */
Datum
metaetl_date_format_ok(PG_FUNCTION_ARGS)
{
	QdfTemplate *t = (QdfTemplate *) fcinfo->flinfo->fn_extra;
	char	   *fmt = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *s;
	bool		ok;

	if (t == NULL || strcmp(t->source, fmt) != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		char	   *problem;

		t = qdf_compile(fmt, &problem);
		MemoryContextSwitchTo(old);
		if (t == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("invalid date format \"%s\": %s", fmt, problem)));
		fcinfo->flinfo->fn_extra = t;
	}
	s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ok = qdf_match(t, s);
	pfree(s);
	PG_RETURN_BOOL(ok);
}
