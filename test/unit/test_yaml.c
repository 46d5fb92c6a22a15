/*
 * test/unit/test_yaml.c
 *		Unit tests of the pure-C configuration layer: src/config/yaml.c
 *		(parsing with positions, limits), emit.c (round trip) and cfgcheck.c
 *		(cron, expression normalisation, template contexts).
 *
 * unit-libs: -lyaml
 */
#include <stdlib.h>

#include "unit.h"
#include "../../src/config/yaml.c"
#include "../../src/config/emit.c"
#include "../../src/config/cfgcheck.c"

static CfgDoc *
parse(const char *s)
{
	return CfgParse(s, strlen(s), NULL);
}

static const CfgNode *
path(const CfgNode *n, const char *p)
{
	/* tiny path walker: "a.b.2.c" (numbers index lists) */
	char		buf[256];
	char	   *save = NULL;

	snprintf(buf, sizeof(buf), "%s", p);
	for (char *tok = strtok_r(buf, ".", &save); tok && n; tok = strtok_r(NULL, ".", &save))
	{
		if (n->kind == CFG_SEQ)
		{
			int			i = atoi(tok);

			n = i < n->n ? n->items[i] : NULL;
		}
		else
			n = CfgMapGet(n, tok);
	}
	return n;
}

static void
test_parse(void)
{
	CfgDoc	   *d = parse("pipeline:\n  id: x\n  n: 12\n  f: 1.5\n  b: true\n  z: ~\n  q: \"12\"\n"
						  "  list:\n    - a\n    - {k: v}\n");
	const CfgNode *n;

	UNIT_CHECK(!d->failed, "a simple document parses");
	n = path(d->root, "pipeline.id");
	UNIT_CHECK(n && n->kind == CFG_STRING && strcmp(n->str, "x") == 0, "scalar string");
	UNIT_CHECK_INT(n ? n->line : -1, 2, "line of pipeline.id");
	UNIT_CHECK_INT(n ? n->col : -1, 7, "column of pipeline.id");
	UNIT_CHECK_INT(path(d->root, "pipeline.n")->kind, CFG_NUMBER, "12 is a number");
	UNIT_CHECK_INT(path(d->root, "pipeline.f")->kind, CFG_NUMBER, "1.5 is a number");
	UNIT_CHECK_INT(path(d->root, "pipeline.b")->kind, CFG_BOOL, "true is a boolean");
	UNIT_CHECK_INT(path(d->root, "pipeline.z")->kind, CFG_NULL, "~ is null");
	UNIT_CHECK_INT(path(d->root, "pipeline.q")->kind, CFG_STRING, "\"12\" is a string");
	n = path(d->root, "pipeline.list.1.k");
	UNIT_CHECK(n && strcmp(n->str, "v") == 0, "flow mapping inside a list");
	UNIT_CHECK_INT(n ? n->line : -1, 10, "line inside a flow mapping");
	UNIT_CHECK_INT(n ? n->col : -1, 11, "column inside a flow mapping");
	CfgDocFree(d);

	d = parse("{\"pipeline\": {\"id\": \"j\", \"n\": [1, 2, {\"a\": null}]}}");
	UNIT_CHECK(!d->failed && d->is_json, "JSON parses and is detected");
	UNIT_CHECK_INT(path(d->root, "pipeline.n.2.a")->kind, CFG_NULL, "JSON null");
	CfgDocFree(d);

	d = parse("{\"a\":1,\n\t\"b\":2}");
	UNIT_CHECK(!d->failed, "JSON without spaces and with tabs parses: %s", d->error);
	CfgDocFree(d);

	d = parse("a: yes\nb: on\nc: 0x10\nd: 1_000\ne: .inf\n");
	UNIT_CHECK(path(d->root, "a")->kind == CFG_STRING && path(d->root, "b")->kind == CFG_STRING &&
			   path(d->root, "c")->kind == CFG_STRING && path(d->root, "d")->kind == CFG_STRING &&
			   path(d->root, "e")->kind == CFG_STRING, "YAML 1.1 forms stay strings (core schema)");
	CfgDocFree(d);
}

static void
test_anchors(void)
{
	CfgDoc	   *d = parse("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nref: *b\n");
	const CfgNode *n;

	UNIT_CHECK(!d->failed, "anchors and merge keys parse: %s", d->error);
	n = path(d->root, "use");
	UNIT_CHECK_INT(n ? n->n : -1, 2, "merged mapping has two keys");
	UNIT_CHECK_STR(path(d->root, "use.x")->str, "1", "merge brings x");
	UNIT_CHECK_STR(path(d->root, "use.y")->str, "3", "explicit key beats the merge");
	UNIT_CHECK_STR(path(d->root, "ref.y")->str, "2", "alias resolves");
	CfgDocFree(d);

	d = parse("a: *nope\n");
	UNIT_CHECK(d->failed && strstr(d->error, "unknown alias") && d->err_line == 1 && d->err_col == 4,
			   "unknown alias is an error at 1:4 (%s %d:%d)", d->error, d->err_line, d->err_col);
	CfgDocFree(d);

	d = parse("a: &a [1, *a]\n");
	UNIT_CHECK(d->failed && strstr(d->error, "unknown alias"), "a recursive alias is refused");
	CfgDocFree(d);

	d = parse("k: 1\nk: 2\n");
	UNIT_CHECK(!d->failed && d->root->n == 2, "duplicate keys are kept for the validator");
	CfgDocFree(d);
}

static void
test_limits(void)
{
	CfgLimits	lim;
	CfgDoc	   *d;
	const char *src = "a: 1\nb: 2\nc: 3\nd: 4\n";
	const char *merge = "x: &x {a: 1, b: 2}\ny: &y {c: 3}\nm: {<<: [*x, *y], a: 0}\n";

	CfgDefaultLimits(&lim);
	lim.max_keys = 3;
	d = CfgParse(src, strlen(src), &lim);
	UNIT_CHECK(d->failed && d->limit_hit && strstr(d->error, "more than 3 keys") && d->err_line == 4,
			   "key limit: %s (line %d)", d->error, d->err_line);
	CfgDocFree(d);
	d = CfgParse(merge, strlen(merge), &lim);
	UNIT_CHECK(!d->failed, "merging a list of mappings within the key limit: %s", d->error);
	UNIT_CHECK_INT(path(d->root, "m") ? path(d->root, "m")->n : -1, 3, "merged mapping has a, b, c");
	UNIT_CHECK_STR(path(d->root, "m.a")->str, "0", "explicit a wins");
	CfgDocFree(d);
	lim.max_keys = 2;
	d = CfgParse(merge, strlen(merge), &lim);
	UNIT_CHECK(d->failed && d->limit_hit, "merged keys count against the key limit");
	CfgDocFree(d);

	CfgDefaultLimits(&lim);
	lim.max_memory = 256;
	d = CfgParse(src, strlen(src), &lim);
	UNIT_CHECK(d->failed && d->limit_hit && strstr(d->error, "memory"), "memory limit: %s", d->error);
	CfgDocFree(d);
	CfgDefaultLimits(&lim);
	lim.max_depth = 2;
	d = CfgParse("a: {b: {c: 1}}", 14, &lim);
	UNIT_CHECK(d->failed && d->limit_hit && strstr(d->error, "nested more than 2"), "depth limit: %s", d->error);
	CfgDocFree(d);
	d = parse("a: 1");
	UNIT_CHECK(!d->failed && !d->limit_hit, "no limit hit on a small document");
	CfgDocFree(d);
}

static void
test_errors(void)
{
	CfgDoc	   *d;
	char	   *big;
	char		bomb[4096];
	size_t		o = 0;

	d = parse("a: [1, 2\nb: 3\n");
	UNIT_CHECK(d->failed && d->err_line > 0, "unclosed flow list: %s (%d:%d)", d->error, d->err_line, d->err_col);
	CfgDocFree(d);

	d = parse("a:\n\tb: 1\n");
	UNIT_CHECK(d->failed && strstr(d->error, "tab") && d->err_line == 2 && d->err_col == 1,
			   "tab indentation: %s (%d:%d)", d->error, d->err_line, d->err_col);
	CfgDocFree(d);

	d = parse("a: 1\n---\nb: 2\n");
	UNIT_CHECK(d->failed && strstr(d->error, "several YAML documents") && d->err_line == 2,
			   "multi-document input: %s (%d)", d->error, d->err_line);
	CfgDocFree(d);

	d = parse("a: \"\xff\xfe\"\n");
	UNIT_CHECK(d->failed && strstr(d->error, "UTF-8") && d->err_line == 1 && d->err_col == 5,
			   "bad UTF-8: %s (%d:%d)", d->error, d->err_line, d->err_col);
	CfgDocFree(d);

	d = parse("");
	UNIT_CHECK(d->failed && strstr(d->error, "empty"), "empty input");
	CfgDocFree(d);

	d = parse("? [a]\n: b\n");
	UNIT_CHECK(d->failed && strstr(d->error, "keys must be scalars"), "complex key");
	CfgDocFree(d);

	d = parse("a: !!binary aGVsbG8=\n");
	UNIT_CHECK(d->failed && strstr(d->error, "unsupported tag"), "unknown tag");
	CfgDocFree(d);

	/* 1,000-deep nesting stops at the depth limit */
	big = malloc(3000);
	memset(big, '[', 1000);
	memset(big + 1000, ']', 1000);
	big[2000] = '\0';
	d = parse(big);
	UNIT_CHECK(d->failed && strstr(d->error, "nested more than 64"), "deep nesting: %s", d->error);
	CfgDocFree(d);
	free(big);

	/* 10 MB input is refused before parsing */
	big = malloc(10 * 1024 * 1024 + 1);
	memset(big, 'a', 10 * 1024 * 1024);
	big[10 * 1024 * 1024] = '\0';
	d = CfgParse(big, 10 * 1024 * 1024, NULL);
	UNIT_CHECK(d->failed && strstr(d->error, "too large"), "10 MB input: %s", d->error);
	CfgDocFree(d);
	free(big);

	/* billion laughs */
	o += snprintf(bomb + o, sizeof(bomb) - o, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		o += snprintf(bomb + o, sizeof(bomb) - o,
					  "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
					  i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	d = parse(bomb);
	UNIT_CHECK(d->failed && strstr(d->error, "more than 100000 nodes"), "alias bomb: %s", d->error);
	CfgDocFree(d);

	/*
	 * 250 aliases of one 900 kB string: few nodes, but 225 MB of text once
	 * expanded; the byte budget stops it at the alias that crosses 4 MB
	 */
	{
		size_t		slen = 900 * 1000;
		size_t		cap = slen + 250 * 8 + 64;
		char	   *doc = malloc(cap);
		size_t		k = 0;

		k += (size_t) snprintf(doc + k, cap - k, "s: &s ");
		memset(doc + k, 'x', slen);
		k += slen;
		k += (size_t) snprintf(doc + k, cap - k, "\nl:\n");
		for (int i = 0; i < 250; i++)
			k += (size_t) snprintf(doc + k, cap - k, "- *s\n");
		d = CfgParse(doc, k, NULL);
		UNIT_CHECK(d->failed && d->limit_hit && strstr(d->error, "more than 4194304 bytes of text") &&
				   d->err_line == 6, "250 aliases of a 900 kB string: %s (line %d)", d->error, d->err_line);
		CfgDocFree(d);
		/* the string and three aliases fit (3.6 MB); the fourth alias (line 6 above) crossed the budget */
		k = (size_t) snprintf(doc, cap, "s: &s ");
		memset(doc + k, 'x', slen);
		k += slen;
		k += (size_t) snprintf(doc + k, cap - k, "\nl: [*s, *s, *s]\n");
		d = CfgParse(doc, k, NULL);
		UNIT_CHECK(!d->failed && d->root->bytes == 4 * slen + 2,
				   "a 900 kB string used four times fits: %s (%zu bytes)", d->error, d->root ? d->root->bytes : 0);
		CfgDocFree(d);
		free(doc);
	}
}

/* yaml-test-suite cases about the non-specific tag "!" (52DL, 8MK2, S4JQ) */
static void
test_tags(void)
{
	CfgDoc	   *d;

	d = parse("---\n! a\n");	/* 52DL */
	UNIT_CHECK(!d->failed && d->root->kind == CFG_STRING && strcmp(d->root->str, "a") == 0,
			   "52DL: ! a is the string a: %s", d->error);
	CfgDocFree(d);
	d = parse("! a\n");		/* 8MK2 */
	UNIT_CHECK(!d->failed && d->root->kind == CFG_STRING && strcmp(d->root->str, "a") == 0,
			   "8MK2: ! a is the string a: %s", d->error);
	CfgDocFree(d);
	d = parse("- \"12\"\n- 12\n- ! 12\n");	/* S4JQ */
	UNIT_CHECK(!d->failed && d->root->n == 3, "S4JQ parses: %s", d->error);
	if (!d->failed && d->root->n == 3)
	{
		UNIT_CHECK_INT(d->root->items[0]->kind, CFG_STRING, "S4JQ: \"12\" is a string");
		UNIT_CHECK_INT(d->root->items[1]->kind, CFG_NUMBER, "S4JQ: 12 is a number");
		UNIT_CHECK(d->root->items[2]->kind == CFG_STRING && strcmp(d->root->items[2]->str, "12") == 0,
				   "S4JQ: ! 12 is the string 12");
	}
	CfgDocFree(d);
	d = parse("a: ! true\nb: ! null\nc: !!str 1\nd: !!int 7\ne: ! [1]\nf: ! {x: 1}\n");
	UNIT_CHECK(!d->failed && path(d->root, "a")->kind == CFG_STRING && path(d->root, "b")->kind == CFG_STRING &&
			   path(d->root, "c")->kind == CFG_STRING && path(d->root, "d")->kind == CFG_NUMBER &&
			   path(d->root, "e")->kind == CFG_SEQ && path(d->root, "f")->kind == CFG_MAP,
			   "! keeps true and null text, !!str and !!int work, ! on collections: %s", d->error);
	CfgDocFree(d);
	d = parse("a: !local 1\n");
	UNIT_CHECK(d->failed && strstr(d->error, "unsupported tag \"!local\""), "a local tag is refused: %s", d->error);
	CfgDocFree(d);
	d = parse("a: !!timestamp 2001-12-14\n");
	UNIT_CHECK(d->failed && strstr(d->error, "unsupported tag"), "!!timestamp is refused: %s", d->error);
	CfgDocFree(d);
}

static void
test_emit(void)
{
	const char *src = "pipeline:\n  id: x\n  s: \"true\"\n  e: \"\"\n  n: 12\n  q: \"it's: {x}\"\n"
		"  l: []\n  m: {}\n  nested:\n  - a: 1\n    b: [x, y]\n  multi: \"a\\nb\"\n  u: \"caf\xc3\xa9\"\n";
	CfgDoc	   *d = parse(src);
	CfgDoc	   *d2;
	char		err[128];
	size_t		len;
	char	   *out = CfgEmit(d->root, &len, err, sizeof(err));
	char	   *out2;

	UNIT_CHECK(out != NULL, "emit works");
	d2 = CfgParse(out, len, NULL);
	UNIT_CHECK(!d2->failed, "emitted YAML parses again: %s", d2->error);
	out2 = CfgEmit(d2->root, &len, err, sizeof(err));
	UNIT_CHECK_STR(out2, out, "emit(parse(emit(x))) == emit(x)");
	UNIT_CHECK_INT(path(d2->root, "pipeline.s")->kind, CFG_STRING, "the string \"true\" stays a string");
	UNIT_CHECK_INT(path(d2->root, "pipeline.e")->kind, CFG_STRING, "the empty string stays a string");
	UNIT_CHECK_INT(path(d2->root, "pipeline.n")->kind, CFG_NUMBER, "a number stays a number");
	UNIT_CHECK_STR(path(d2->root, "pipeline.multi")->str, "a\nb", "newline survives");
	UNIT_CHECK_INT(path(d2->root, "pipeline.l")->kind, CFG_SEQ, "empty list survives");
	free(out);
	free(out2);
	CfgDocFree(d);
	CfgDocFree(d2);
}

static void
test_expr_and_templates(void)
{
	char	   *s;
	CfgTemplateRef refs[8];
	char		err[128];
	int			n;

	s = CfgNormalizeExpr("a == 1 and not b or c >= 2 and s == 'x == y and z' and \"or\" == 1");
	UNIT_CHECK_STR(s, "a = 1 AND NOT b OR c >= 2 AND s = 'x == y and z' AND \"or\" = 1",
				   "pandas operators normalised outside literals");
	free(s);
	s = CfgNormalizeExpr("brand = 'Orand' and x_or = 1");
	UNIT_CHECK_STR(s, "brand = 'Orand' AND x_or = 1", "only whole words change");
	free(s);

	n = CfgTemplateScan("SELECT * FROM t WHERE a > '{{last_run}}' AND b = {{ param.x }}", refs, 8, err, sizeof(err));
	UNIT_CHECK_INT(n, 2, "two templates found");
	UNIT_CHECK(n == 2 && refs[0].ctx == CFG_TPL_IN_STRING && strcmp(refs[0].name, "last_run") == 0,
			   "first inside quotes");
	UNIT_CHECK(n == 2 && refs[1].ctx == CFG_TPL_OUTSIDE && strcmp(refs[1].name, "param.x") == 0,
			   "second bare");
	n = CfgTemplateScan("SELECT \"{{x}}\", E'{{y}}', $$ {{z}} $$, 'it''s {{w}}' -- {{v}}\n", refs, 8, err, sizeof(err));
	UNIT_CHECK(n == 5 && refs[0].ctx == CFG_TPL_UNSAFE && refs[1].ctx == CFG_TPL_UNSAFE &&
			   refs[2].ctx == CFG_TPL_UNSAFE && refs[3].ctx == CFG_TPL_IN_STRING &&
			   refs[4].ctx == CFG_TPL_UNSAFE, "unsafe contexts recognised");
	n = CfgTemplateScan("a = {{ x", refs, 8, err, sizeof(err));
	UNIT_CHECK(n == -1 && strstr(err, "malformed"), "malformed template");
}

int
main(void)
{
	test_parse();
	test_anchors();
	test_limits();
	test_tags();
	test_errors();
	test_emit();
	test_expr_and_templates();
	return unit_done();
}
