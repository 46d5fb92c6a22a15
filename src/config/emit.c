/*-------------------------------------------------------------------------
 *
 * src/config/emit.c
 *		Write a CfgNode tree as YAML with the libyaml emitter.
 *
 * Used by etl.export_pipeline: the output parses (src/config/yaml.c) back to
 * the same tree, so an exported pipeline registers to the same spec hash.
 * A string that would read back as something else when written plain (true,
 * 12, null, "") is double-quoted; libyaml picks quoting for the rest.
 *
 * Pure C: no PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/yamltree.h"

typedef struct CfgOut
{
	char	   *buf;
	size_t		len;
	size_t		cap;
	bool		oom;
} CfgOut;

static int
cfg_out_write(void *data, unsigned char *buffer, size_t size)
{
	CfgOut	   *out = data;

	if (out->len + size + 1 > out->cap)
	{
		size_t		ncap = out->cap ? out->cap * 2 : 4096;
		char	   *nbuf;

		while (ncap < out->len + size + 1)
			ncap *= 2;
		nbuf = realloc(out->buf, ncap);
		if (nbuf == NULL)
		{
			out->oom = true;
			return 0;
		}
		out->buf = nbuf;
		out->cap = ncap;
	}
	memcpy(out->buf + out->len, buffer, size);
	out->len += size;
	out->buf[out->len] = '\0';
	return 1;
}

static int
cfg_emit_scalar(yaml_emitter_t *em, const char *s, size_t len, bool force_quote)
{
	yaml_event_t ev;

	if (force_quote)
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) s, (int) len,
									 0, 1, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	else
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) s, (int) len,
									 1, 1, YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(em, &ev);
}

static int
cfg_emit_node(yaml_emitter_t *em, const CfgNode *n, int depth)
{
	yaml_event_t ev;

	if (depth > 200)
		return 0;
	switch (n->kind)
	{
		case CFG_NULL:
			return cfg_emit_scalar(em, "null", 4, false);
		case CFG_BOOL:
			return cfg_emit_scalar(em, n->bval ? "true" : "false", n->bval ? 4 : 5, false);
		case CFG_NUMBER:
			return cfg_emit_scalar(em, n->str, n->len, false);
		case CFG_STRING:
			return cfg_emit_scalar(em, n->str, n->len, CfgScalarLooksNonString(n->str, n->len));
		case CFG_SEQ:
			yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
			if (!yaml_emitter_emit(em, &ev))
				return 0;
			for (int i = 0; i < n->n; i++)
				if (!cfg_emit_node(em, n->items[i], depth + 1))
					return 0;
			yaml_sequence_end_event_initialize(&ev);
			return yaml_emitter_emit(em, &ev);
		case CFG_MAP:
			yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
			if (!yaml_emitter_emit(em, &ev))
				return 0;
			for (int i = 0; i < n->n; i++)
			{
				const CfgNode *k = n->pairs[i].key;

				if (!cfg_emit_scalar(em, k->str, k->len, CfgScalarLooksNonString(k->str, k->len)))
					return 0;
				if (!cfg_emit_node(em, n->pairs[i].value, depth + 1))
					return 0;
			}
			yaml_mapping_end_event_initialize(&ev);
			return yaml_emitter_emit(em, &ev);
	}
	return 0;
}

/*
 * CfgEmit
 *		The YAML text of root (malloc'd, NUL-terminated; *len set), or NULL
 *		with a message in errbuf.
 */
char *
CfgEmit(const CfgNode *root, size_t *len, char *errbuf, size_t errlen)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	CfgOut		out = {0};
	int			ok;

	if (!yaml_emitter_initialize(&em))
	{
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	yaml_emitter_set_output(&em, cfg_out_write, &out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);

	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = yaml_emitter_emit(&em, &ev);
	if (ok)
	{
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		ok = yaml_emitter_emit(&em, &ev);
	}
	if (ok)
		ok = cfg_emit_node(&em, root, 0);
	if (ok)
	{
		yaml_document_end_event_initialize(&ev, 1);
		ok = yaml_emitter_emit(&em, &ev);
	}
	if (ok)
	{
		yaml_stream_end_event_initialize(&ev);
		ok = yaml_emitter_emit(&em, &ev);
	}
	if (ok)
		ok = yaml_emitter_flush(&em);
	if (!ok || out.oom)
	{
		snprintf(errbuf, errlen, "%s", out.oom ? "out of memory" :
				 em.problem ? em.problem : "the tree cannot be written as YAML");
		yaml_emitter_delete(&em);
		free(out.buf);
		return NULL;
	}
	yaml_emitter_delete(&em);
	if (out.buf == NULL)
		out.buf = calloc(1, 1);
	*len = out.len;
	return out.buf;
}
