/*-------------------------------------------------------------------------
 *
 * src/config/cfgcheck.c
 *		Pure syntax checks of configuration values: cron expressions,
 *		pandas-style expression normalisation, and locating templates in SQL
 *		text together with the lexical context each stands in.
 *
 * The cron check is a syntax check only (the scheduler computes times):
 * 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds
 * first), lists, ranges, steps, month and weekday names, and the @yearly,
 * @annually, @monthly, @weekly, @daily, @midnight and @hourly macros.
 *
 * Pure C: no PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/yamltree.h"

/* ---- cron ---- */

typedef struct CronField
{
	const char *name;
	int			min;
	int			max;
	const char *const *names;	/* names for min..min+n-1, or NULL */
	int			nnames;
} CronField;

static const char *const cron_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
"jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const cron_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const CronField cron_fields[] = {
	{"second", 0, 59, NULL, 0},
	{"minute", 0, 59, NULL, 0},
	{"hour", 0, 23, NULL, 0},
	{"day of month", 1, 31, NULL, 0},
	{"month", 1, 12, cron_months, 12},
	{"day of week", 0, 7, cron_days, 7},
};

/* parse one value at *p: a number or a name; -1 on error */
static int
cron_value(const char **p, const CronField *f, char *errbuf, size_t errlen)
{
	const char *s = *p;
	long		v;

	if (isdigit((unsigned char) *s))
	{
		char	   *end;

		v = strtol(s, &end, 10);
		if (end - s > 4)
			v = 100000;
		*p = end;
	}
	else if (isalpha((unsigned char) *s) && f->names)
	{
		char		word[4];

		for (int i = 0; i < 3; i++)
		{
			if (!isalpha((unsigned char) s[i]))
			{
				snprintf(errbuf, errlen, "%s: \"%.10s\" is not a valid name", f->name, s);
				return -1;
			}
			word[i] = (char) tolower((unsigned char) s[i]);
		}
		word[3] = '\0';
		if (isalpha((unsigned char) s[3]))
		{
			snprintf(errbuf, errlen, "%s: \"%.10s\" is not a valid name", f->name, s);
			return -1;
		}
		for (int i = 0; i < f->nnames; i++)
			if (strcmp(word, f->names[i]) == 0)
			{
				*p = s + 3;
				return f->min + i;
			}
		snprintf(errbuf, errlen, "%s: \"%s\" is not a valid name", f->name, word);
		return -1;
	}
	else
	{
		snprintf(errbuf, errlen, "%s: unexpected \"%.10s\"", f->name, s);
		return -1;
	}
	if (v < f->min || v > f->max)
	{
		snprintf(errbuf, errlen, "%s: %ld is out of range %d-%d", f->name, v, f->min, f->max);
		return -1;
	}
	return (int) v;
}

static bool
cron_item(const char *s, const CronField *f, char *errbuf, size_t errlen)
{
	const char *p = s;
	int			lo = -1;
	int			hi = -1;

	if (*p == '*' || *p == '?')
	{
		if (*p == '?' && strcmp(f->name, "day of month") != 0 && strcmp(f->name, "day of week") != 0)
		{
			snprintf(errbuf, errlen, "%s: \"?\" is allowed only in the day fields", f->name);
			return false;
		}
		p++;
	}
	else
	{
		if ((lo = cron_value(&p, f, errbuf, errlen)) < 0)
			return false;
		if (*p == '-')
		{
			p++;
			if ((hi = cron_value(&p, f, errbuf, errlen)) < 0)
				return false;
			if (hi < lo)
			{
				snprintf(errbuf, errlen, "%s: range %d-%d is backwards", f->name, lo, hi);
				return false;
			}
		}
	}
	if (*p == '/')
	{
		char	   *end;
		long		step;

		p++;
		if (!isdigit((unsigned char) *p))
		{
			snprintf(errbuf, errlen, "%s: a step (/) needs a number", f->name);
			return false;
		}
		step = strtol(p, &end, 10);
		if (end - p > 4 || step < 1 || step > f->max)
		{
			snprintf(errbuf, errlen, "%s: step %.6s is out of range 1-%d", f->name, p, f->max);
			return false;
		}
		p = end;
	}
	if (*p != '\0')
	{
		snprintf(errbuf, errlen, "%s: unexpected \"%.10s\"", f->name, p);
		return false;
	}
	return true;
}

/*
 * CfgCronCheck
 *		true when expr is a valid cron expression; otherwise false with a
 *		message in errbuf.
 */
bool
CfgCronCheck(const char *expr, char *errbuf, size_t errlen)
{
	static const char *const macros[] = {"@yearly", "@annually", "@monthly", "@weekly",
	"@daily", "@midnight", "@hourly"};
	char		buf[256];
	char	   *fields[8];
	int			nf = 0;
	char	   *p;

	while (*expr == ' ' || *expr == '\t')
		expr++;
	if (strlen(expr) >= sizeof(buf))
	{
		snprintf(errbuf, errlen, "cron expression is too long");
		return false;
	}
	strcpy(buf, expr);
	for (p = buf + strlen(buf); p > buf && (p[-1] == ' ' || p[-1] == '\t'); p--)
		p[-1] = '\0';
	if (buf[0] == '@')
	{
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strcmp(buf, macros[i]) == 0)
				return true;
		snprintf(errbuf, errlen, "unknown cron macro \"%.40s\" (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)", buf);
		return false;
	}
	p = buf;
	while (*p)
	{
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (nf == 7)
		{
			nf++;
			break;
		}
		fields[nf++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (nf != 5 && nf != 6)
	{
		snprintf(errbuf, errlen, "a cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), not %d", nf > 7 ? 8 : nf);
		return false;
	}
	for (int i = 0; i < nf; i++)
	{
		const CronField *f = &cron_fields[i + (nf == 5 ? 1 : 0)];
		char	   *item = fields[i];

		for (;;)
		{
			char	   *comma = strchr(item, ',');

			if (comma)
				*comma = '\0';
			if (*item == '\0')
			{
				snprintf(errbuf, errlen, "%s: empty list item", f->name);
				return false;
			}
			if (!cron_item(item, f, errbuf, errlen))
				return false;
			if (!comma)
				break;
			item = comma + 1;
		}
	}
	return true;
}

/* ---- pandas-style expressions ---- */

static bool
cfg_word_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || c == '$' || (unsigned char) c >= 0x80;
}

/*
 * CfgNormalizeExpr
 *		malloc'd copy of expr with pandas-style operators in SQL form, outside
 *		string literals and quoted identifiers: == becomes =, the words
 *		and/or/not (any case) become AND/OR/NOT.  NULL when out of memory.
 */
char *
CfgNormalizeExpr(const char *expr)
{
	size_t		len = strlen(expr);
	char	   *out = malloc(len + 1);
	size_t		o = 0;
	size_t		i = 0;

	if (out == NULL)
		return NULL;
	while (i < len)
	{
		char		c = expr[i];

		if (c == '\'' || c == '"')
		{
			/* copy a literal or quoted identifier; doubled quotes stay inside */
			char		q = c;

			out[o++] = expr[i++];
			while (i < len)
			{
				if (expr[i] == q && i + 1 < len && expr[i + 1] == q)
				{
					out[o++] = expr[i++];
					out[o++] = expr[i++];
					continue;
				}
				if (expr[i] == q)
				{
					out[o++] = expr[i++];
					break;
				}
				out[o++] = expr[i++];
			}
			continue;
		}
		if (c == '=' && i + 1 < len && expr[i + 1] == '=' &&
			(i == 0 || (expr[i - 1] != '<' && expr[i - 1] != '>' && expr[i - 1] != '!' && expr[i - 1] != '=')))
		{
			out[o++] = '=';
			i += 2;
			continue;
		}
		if (cfg_word_char(c) && (i == 0 || !cfg_word_char(expr[i - 1])))
		{
			size_t		j = i;

			while (j < len && cfg_word_char(expr[j]))
				j++;
			if ((j - i == 3 && (strncasecmp(expr + i, "and", 3) == 0 || strncasecmp(expr + i, "not", 3) == 0)) ||
				(j - i == 2 && strncasecmp(expr + i, "or", 2) == 0))
			{
				for (size_t k = i; k < j; k++)
					out[o++] = (char) toupper((unsigned char) expr[k]);
			}
			else
			{
				memcpy(out + o, expr + i, j - i);
				o += j - i;
			}
			i = j;
			continue;
		}
		out[o++] = expr[i++];
	}
	out[o] = '\0';
	return out;
}

/* ---- templates in SQL text ---- */

/*
 * CfgTemplateScan
 *		Find the {{name}} templates of sql and the context each stands in.
 *		Returns their number (at most max are stored; more is an error), or -1
 *		with errbuf set for a malformed template.
 */
int
CfgTemplateScan(const char *sql, CfgTemplateRef *refs, int max, char *errbuf, size_t errlen)
{
	size_t		len = strlen(sql);
	size_t		i = 0;
	int			n = 0;
	enum
	{
		S_NORMAL, S_STRING, S_ESTRING, S_IDENT, S_DOLLAR, S_LINE_COMMENT, S_BLOCK_COMMENT
	}			state = S_NORMAL;
	char		dollar_tag[64] = "";
	size_t		dollar_len = 0;
	int			comment_depth = 0;

	while (i < len)
	{
		char		c = sql[i];

		if (c == '{' && i + 1 < len && sql[i + 1] == '{')
		{
			size_t		j = i + 2;
			size_t		k = 0;
			CfgTemplateRef ref;

			while (j < len && sql[j] == ' ')
				j++;
			memset(&ref, 0, sizeof(ref));
			while (j < len && (isalnum((unsigned char) sql[j]) || sql[j] == '_' || sql[j] == '.'))
			{
				if (k + 1 >= sizeof(ref.name))
				{
					snprintf(errbuf, errlen, "template name at offset %zu is too long", i);
					return -1;
				}
				ref.name[k++] = sql[j++];
			}
			while (j < len && sql[j] == ' ')
				j++;
			if (k == 0 || j + 1 >= len || sql[j] != '}' || sql[j + 1] != '}')
			{
				snprintf(errbuf, errlen, "malformed template at offset %zu: write {{name}}", i);
				return -1;
			}
			ref.start = i;
			ref.end = j + 2;
			switch (state)
			{
				case S_NORMAL:
					ref.ctx = CFG_TPL_OUTSIDE;
					break;
				case S_STRING:
					ref.ctx = CFG_TPL_IN_STRING;
					break;
				case S_ESTRING:
					ref.ctx = CFG_TPL_UNSAFE;
					ref.where = "an E'' string";
					break;
				case S_IDENT:
					ref.ctx = CFG_TPL_UNSAFE;
					ref.where = "a quoted identifier";
					break;
				case S_DOLLAR:
					ref.ctx = CFG_TPL_UNSAFE;
					ref.where = "a dollar-quoted string";
					break;
				default:
					ref.ctx = CFG_TPL_UNSAFE;
					ref.where = "a comment";
					break;
			}
			if (n >= max)
			{
				snprintf(errbuf, errlen, "more than %d templates", max);
				return -1;
			}
			refs[n++] = ref;
			i = ref.end;
			continue;
		}
		switch (state)
		{
			case S_NORMAL:
				if (c == '\'')
				{
					bool		e = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
						(i < 2 || !cfg_word_char(sql[i - 2]));

					state = e ? S_ESTRING : S_STRING;
				}
				else if (c == '"')
					state = S_IDENT;
				else if (c == '-' && i + 1 < len && sql[i + 1] == '-')
				{
					state = S_LINE_COMMENT;
					i++;
				}
				else if (c == '/' && i + 1 < len && sql[i + 1] == '*')
				{
					state = S_BLOCK_COMMENT;
					comment_depth = 1;
					i++;
				}
				else if (c == '$' && (i == 0 || !cfg_word_char(sql[i - 1])))
				{
					size_t		j = i + 1;

					while (j < len && (isalnum((unsigned char) sql[j]) || sql[j] == '_') && j - i < sizeof(dollar_tag) - 2)
						j++;
					if (j < len && sql[j] == '$' && !(j > i + 1 && isdigit((unsigned char) sql[i + 1])))
					{
						dollar_len = j - i + 1;
						memcpy(dollar_tag, sql + i, dollar_len);
						dollar_tag[dollar_len] = '\0';
						state = S_DOLLAR;
						i = j;
					}
				}
				break;
			case S_STRING:
				if (c == '\'')
				{
					if (i + 1 < len && sql[i + 1] == '\'')
						i++;
					else
						state = S_NORMAL;
				}
				break;
			case S_ESTRING:
				if (c == '\\' && i + 1 < len)
					i++;
				else if (c == '\'')
				{
					if (i + 1 < len && sql[i + 1] == '\'')
						i++;
					else
						state = S_NORMAL;
				}
				break;
			case S_IDENT:
				if (c == '"')
				{
					if (i + 1 < len && sql[i + 1] == '"')
						i++;
					else
						state = S_NORMAL;
				}
				break;
			case S_DOLLAR:
				if (c == '$' && strncmp(sql + i, dollar_tag, dollar_len) == 0)
				{
					i += dollar_len - 1;
					state = S_NORMAL;
				}
				break;
			case S_LINE_COMMENT:
				if (c == '\n')
					state = S_NORMAL;
				break;
			case S_BLOCK_COMMENT:
				if (c == '*' && i + 1 < len && sql[i + 1] == '/')
				{
					i++;
					if (--comment_depth == 0)
						state = S_NORMAL;
				}
				else if (c == '/' && i + 1 < len && sql[i + 1] == '*')
				{
					i++;
					comment_depth++;
				}
				break;
		}
		i++;
	}
	return n;
}
