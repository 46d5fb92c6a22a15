/*
 * test/fuzz/fuzz_yaml.c
 *		libFuzzer harness over the pure-C configuration layer: the libyaml
 *		parser with its limits (src/config/yaml.c), the emitter
 *		(src/config/emit.c) and the syntax checks (src/config/cfgcheck.c).
 *
 * Invariants checked on every input: parsing never crashes, leaks or hangs;
 * a document that parses is emitted, the emitted YAML parses again to the
 * same tree, and emitting that gives the same text (what
 * etl.export_pipeline relies on).
 * Built and run by `make fuzz` (test/fuzz/run.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/yaml.c"
#include "../../src/config/emit.c"
#include "../../src/config/cfgcheck.c"
#include "../../src/scheduler/cron.c"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* same values, kinds, key order (positions aside) */
static int
tree_equal(const CfgNode *a, const CfgNode *b)
{
	if (a->kind != b->kind || a->n != b->n)
		return 0;
	switch (a->kind)
	{
		case CFG_NULL:
			return 1;
		case CFG_BOOL:
			return a->bval == b->bval;
		case CFG_NUMBER:
		case CFG_STRING:
			return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
		case CFG_SEQ:
			for (int i = 0; i < a->n; i++)
				if (!tree_equal(a->items[i], b->items[i]))
					return 0;
			return 1;
		case CFG_MAP:
			for (int i = 0; i < a->n; i++)
				if (strcmp(a->pairs[i].key->str, b->pairs[i].key->str) != 0 ||
					!tree_equal(a->pairs[i].value, b->pairs[i].value))
					return 0;
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CfgLimits	lim;
	CfgDoc	   *doc;
	char	   *text;

	CfgDefaultLimits(&lim);
	lim.max_nodes = 20000;		/* keep each run quick */
	doc = CfgParse((const char *) data, size, &lim);
	if (doc == NULL)
		abort();
	if (!doc->failed)
	{
		char		err[256];
		size_t		len;
		char	   *out = CfgEmit(doc->root, &len, err, sizeof(err));

		if (out == NULL)
		{
			fprintf(stderr, "emit failed: %s\n", err);
			abort();
		}
		else
		{
			CfgLimits	big;
			CfgDoc	   *again;

			CfgDefaultLimits(&big);
			big.max_input = (size_t) 1 << 30;
			big.max_nodes = (size_t) 1 << 30;
			big.max_keys = 1 << 30;
			again = CfgParse(out, len, &big);
			if (again->failed && !again->limit_hit)
			{
				fprintf(stderr, "emitted YAML does not parse: %s (line %d, column %d)\n---\n%s\n---\n",
						again->error, again->err_line, again->err_col, out);
				abort();
			}
			if (!again->failed && !tree_equal(doc->root, again->root))
			{
				fprintf(stderr, "parse(emit(x)) differs from x\n---\n%s\n---\n", out);
				abort();
			}
			if (!again->failed)
			{
				size_t		len2;
				char	   *out2 = CfgEmit(again->root, &len2, err, sizeof(err));

				if (out2 == NULL || len2 != len || memcmp(out, out2, len) != 0)
				{
					fprintf(stderr, "emit(parse(emit(x))) differs\n---\n%s\n---\n%s\n---\n", out, out2 ? out2 : "(null)");
					abort();
				}
				free(out2);
			}
			CfgDocFree(again);
			free(out);
		}
	}
	CfgDocFree(doc);

	/* the string checks take NUL-terminated text */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	{
		char		err[256];
		CfgTemplateRef refs[16];
		char	   *norm;
		CronSchedule cron;

		(void) CronParse(text, &cron, err, sizeof(err));
		(void) CfgTemplateScan(text, refs, 16, err, sizeof(err));
		norm = CfgNormalizeExpr(text);
		if (norm && strlen(norm) > strlen(text))
			abort();			/* normalising never grows the text */
		free(norm);
	}
	free(text);
	return 0;
}
