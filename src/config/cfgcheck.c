/*-------------------------------------------------------------------------
 *
 * src/config/cfgcheck.c
 *		Pure syntax checks of configuration values: pandas-style expression
 *		normalisation, and locating templates in SQL text together with the
 *		lexical context each stands in.
 *
 * Cron expressions are not checked here: the validator calls the
 * scheduler's parser (scheduler/cron.h), so a schedule validates exactly
 * when the scheduler can run it.
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
