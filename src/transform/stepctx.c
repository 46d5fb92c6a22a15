/*-------------------------------------------------------------------------
 *
 * src/transform/stepctx.c
 *		Errors raised while the executor evaluates a step's expression name
 *		the step, under every engine.
 *
 * Pushdown fuses all steps into one statement, so an invalid cast in a map
 * step fails while the executor runs a target's load, long after the step
 * was compiled.  The compiler therefore wraps each expression a step
 * evaluates per row (map columns and casts, udf calls) as
 *
 *	etl._step_value(etl._step_enter('step "m" (map): params.casts.x', anchor), <expr>)
 *
 * PostgreSQL evaluates a function's arguments in order and then calls it:
 * _step_enter pushes an error context callback naming the step, <expr> is
 * evaluated under it, and _step_value pops it and returns <expr>'s value.
 * When <expr> raises, the error's context names the step (the orchestrator
 * reads it into the run record's error_step), and the error unwinds the
 * stack as usual: every PG_CATCH restores error_context_stack.  Nested
 * steps (the planner substitutes step 1's expression into step 2's) nest
 * their callbacks, innermost first.
 *
 * anchor is a column of the step's input: it keeps _step_enter from having
 * only constant arguments, which the planner might evaluate at plan time
 * (STABLE functions are pre-evaluated for estimates), pushing a callback
 * nothing pops.  The functions are STABLE (an inlined CTE may hold them,
 * unlike VOLATILE ones) and PARALLEL SAFE (a worker names the step in its
 * own error, which the leader reports).  The callbacks live in a static
 * array with their text copied in, so a callback left behind (someone
 * calling _step_enter alone) never points at freed memory, and a
 * transaction callback unlinks any at the end of each transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "transform/transform.h"

#define STEPCTX_DEPTH 32
#define STEPCTX_TEXT 240

typedef struct StepFrame
{
	ErrorContextCallback cb;
	char		text[STEPCTX_TEXT];
} StepFrame;

static StepFrame step_frames[STEPCTX_DEPTH];
static bool step_xact_callback_set = false;

PG_FUNCTION_INFO_V1(metaetl_step_enter);
PG_FUNCTION_INFO_V1(metaetl_step_value);

static void
stepctx_callback(void *arg)
{
	errcontext("%s", ((StepFrame *) arg)->text);
}

/* at the end of a transaction no expression is being evaluated: unlink ours */
static void
stepctx_xact_callback(XactEvent event, void *arg)
{
	ErrorContextCallback **link = &error_context_stack;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	while (*link)
	{
		if ((*link)->callback == stepctx_callback)
			*link = (*link)->previous;
		else
			link = &(*link)->previous;
	}
}

/* etl._step_enter(context text, anchor "any") → int4: 1 when a callback was pushed */
Datum
metaetl_step_enter(PG_FUNCTION_ARGS)
{
	int			depth = 0;
	StepFrame  *f;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(0);
	for (ErrorContextCallback *e = error_context_stack; e; e = e->previous)
		if (e->callback == stepctx_callback)
			depth++;
	if (depth >= STEPCTX_DEPTH)
		PG_RETURN_INT32(0);
	f = &step_frames[depth];
	for (ErrorContextCallback *e = error_context_stack; e; e = e->previous)
		if (e == &f->cb)
			PG_RETURN_INT32(0);	/* already on the stack: never make a cycle */
	if (!step_xact_callback_set)
	{
		RegisterXactCallback(stepctx_xact_callback, NULL);
		step_xact_callback_set = true;
	}
	{
		char	   *t = text_to_cstring(PG_GETARG_TEXT_PP(0));
		int			len = pg_mbcliplen(t, strlen(t), sizeof(f->text) - 1);

		memcpy(f->text, t, len);
		f->text[len] = '\0';
		pfree(t);
	}
	f->cb.callback = stepctx_callback;
	f->cb.arg = f;
	f->cb.previous = error_context_stack;
	error_context_stack = &f->cb;
	PG_RETURN_INT32(1);
}

/* etl._step_value(pushed int4, value anyelement) → anyelement: pops, returns value */
Datum
metaetl_step_value(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(0) && PG_GETARG_INT32(0) == 1 && error_context_stack &&
		error_context_stack->callback == stepctx_callback)
		error_context_stack = error_context_stack->previous;
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(1));
}

/*
 * MetaetlStepWrap
 *		expr (SQL text) wrapped so that an error while evaluating it names
 *		node and param.  anchor is a quoted column reference of the node's
 *		input (see the file header).
 */
char *
MetaetlStepWrap(MetaetlNode *node, const char *param, const char *expr, const char *anchor)
{
	char	   *ctx = psprintf("step \"%s\" (%s): %s", node->id, node->type, param);

	return psprintf("etl._step_value(etl._step_enter(%s, %s), %s)",
					quote_literal_cstr(ctx), anchor, expr);
}
