/*-------------------------------------------------------------------------
 *
 * src/connectors/file.c
 *		Server-side files as sources and targets: "type: file" with any
 *		format (csv, tsv, json, ndjson, parquet, xlsx), and the csv, json and
 *		ndjson types of 0.1, which are "type: file" with that format.
 *
 * A source reads one file, every file a glob in path matches (a star in
 * the file name part, say) or the files of a directory that match a
 * pattern (path: a directory, pattern: a glob), in byte order of their names, into one
 * staging table through the format layer (format.h: each file is
 * decompressed per compression:, parsed by its format, and checked against
 * the first file's columns).  file_column adds the file's path as a
 * column.  A target writes one file under a temporary name that is renamed
 * into place when the transaction commits, so a failed load — or a failed
 * run after it — leaves the old file; it compresses per compression:
 * (auto: by the suffix .gz / .zst).
 *
 * Reading needs the pg_read_server_files role and writing
 * pg_write_server_files, checked as the run's role before any file (or
 * directory) is touched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "config/yamltree.h"
#include "connectors/connector.h"
#include "connectors/format.h"

static const char *const file_types[] = {"csv", "json", "ndjson", "file", NULL};

/* the 0.1 types name their format */
static bool
file_is_alias(const char *type)
{
	return strcmp(type, "file") != 0;
}

static void
file_require(const char *id, bool write)
{
	Oid			role = write ? ROLE_PG_WRITE_SERVER_FILES : ROLE_PG_READ_SERVER_FILES;

	if (!has_privs_of_role(GetUserId(), role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s \"%s\": %s server-side files needs the %s role", write ? "target" : "source",
						id, write ? "writing" : "reading",
						write ? "pg_write_server_files" : "pg_read_server_files"),
				 errhint("GRANT %s TO %s; or use a table instead.",
						 write ? "pg_write_server_files" : "pg_read_server_files",
						 GetUserNameFromId(GetUserId(), false))));
}

static char *
file_path(JsonbContainer *conf, const char *id)
{
	char	   *path = MetaetlJStr(conf, "path");

	if (path == NULL)
		path = MetaetlJStr(conf, "file");
	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\": a file source or target needs path", id)));
	return path;
}

/*
 * conf with "format": fmt added, for the 0.1 types (so the format layer,
 * which reads format: from the source, parses a type: csv file as csv).
 */
static JsonbContainer *
file_conf_with_format(JsonbContainer *conf, const char *fmt)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbValue	v,
				k;
	JsonbIteratorToken tok;
	JsonbValue *res;

	/* top level only: nested values come whole (jbvBinary) and are pushed whole */
	it = JsonbIteratorInit(conf);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_END_OBJECT)
		{
			k.type = jbvString;
			k.val.string.val = "format";
			k.val.string.len = strlen("format");
			pushJsonbValue(&ps, WJB_KEY, &k);
			v.type = jbvString;
			v.val.string.val = (char *) fmt;
			v.val.string.len = strlen(fmt);
			pushJsonbValue(&ps, WJB_VALUE, &v);
			res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
			return &JsonbValueToJsonb(res)->root;
		}
		if (tok == WJB_KEY && v.val.string.len == 6 && memcmp(v.val.string.val, "format", 6) == 0)
		{
			/* a format: key of its own is replaced */
			(void) JsonbIteratorNext(&it, &v, true);
			continue;
		}
		res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	elog(ERROR, "source config is not an object");
	return NULL;
}

static bool
file_has_glob(const char *path)
{
	return strpbrk(path, "*?[") != NULL;
}

static int
file_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static List *
file_sorted(char **names, int n)
{
	List	   *res = NIL;

	qsort(names, n, sizeof(char *), file_name_cmp);
	for (int i = 0; i < n; i++)
		res = lappend(res, names[i]);
	return res;
}

static bool
file_is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The files a source reads, in name order: path itself, the regular files
 * a glob in path matches, or those of directory path that match pattern.
 */
static List *
file_list(MetaetlNode *src, const char *path)
{
	char	   *pattern = MetaetlJStr(src->conf, "pattern");
	struct stat st;
	char	  **names;
	int			n = 0,
				cap = 64;

	if (file_has_glob(path))
	{
		glob_t		g;
		int			rc;

		if (pattern)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source \"%s\": pattern needs path to be a directory, not a glob", src->id),
					 errhint("Give either path: \"/dir/*.csv\" or path: /dir with pattern: \"*.csv\".")));
		memset(&g, 0, sizeof(g));
		rc = glob(path, GLOB_NOSORT, NULL, &g);
		if (rc != 0 && rc != GLOB_NOMATCH)
		{
			globfree(&g);
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("source \"%s\": could not list the files matching \"%s\"", src->id, path)));
		}
		/* copy out before anything can throw: glob's memory is malloc'd */
		names = palloc(sizeof(char *) * Max(g.gl_pathc, 1));
		for (size_t i = 0; i < g.gl_pathc; i++)
			names[n++] = pstrdup(g.gl_pathv[i]);
		globfree(&g);
		{
			int			keep = 0;

			for (int i = 0; i < n; i++)
				if (file_is_regular(names[i]))
					names[keep++] = names[i];
			n = keep;
		}
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("source \"%s\": no files match \"%s\"", src->id, path)));
		return file_sorted(names, n);
	}

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
	{
		if (pattern)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("source \"%s\": \"%s\" is not a directory", src->id, path),
					 errhint("pattern: selects files of the directory path: names.")));
		/* one file; opening it reports a missing one */
		return list_make1(pstrdup(path));
	}

	/* a directory: its regular files matching pattern (default: all but dot files) */
	{
		DIR		   *dir = AllocateDir(path);
		struct dirent *de;
		size_t		plen = strlen(path);

		names = palloc(sizeof(char *) * cap);
		while ((de = ReadDir(dir, path)) != NULL)
		{
			char	   *full;

			if (pattern ? fnmatch(pattern, de->d_name, FNM_PERIOD) != 0 : de->d_name[0] == '.')
				continue;
			full = psprintf("%s%s%s", path, plen > 0 && path[plen - 1] == '/' ? "" : "/", de->d_name);
			if (!file_is_regular(full))
				continue;
			if (n == cap)
				names = repalloc(names, sizeof(char *) * (cap *= 2));
			names[n++] = full;
		}
		FreeDir(dir);
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("source \"%s\": no files in directory \"%s\" match \"%s\"", src->id, path,
							pattern ? pattern : "*")));
		return file_sorted(names, n);
	}
}

/* open a file of a source; a missing one names the source */
static MetaetlInStream *
file_open(void *arg, const char *name)
{
	MetaetlNode *src = arg;
	struct stat st;

	if (stat(name, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("source \"%s\": could not open file \"%s\": %m", src->id, name)));
	return MetaetlOpenFileIn(name);
}

static char *
file_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *path = file_path(src->conf, src->id);

	file_require(src->id, false);
	if (file_is_alias(src->type))
		src->conf = file_conf_with_format(src->conf, src->type);
	return MetaetlReadObjects(plan, src, file_list(src, path), file_open, src);
}

static char *
file_describe(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *fmt = file_is_alias(src->type) ? src->type : MetaetlJStr(src->conf, "format");

	return psprintf("%s%sfile %s", fmt ? fmt : "", fmt ? " " : "", file_path(src->conf, src->id));
}

/* the format a target writes: its type's, format:, or the path's suffix */
static const MetaetlFormat *
file_target_format(MetaetlTarget *tgt, const char *path)
{
	char	   *name = file_is_alias(tgt->type) ? tgt->type : MetaetlJStr(tgt->conf, "format");
	const MetaetlFormat *fmt;

	if (name && strcmp(name, "auto") != 0)
		fmt = MetaetlFindFormat(name, tgt->id);
	else if ((fmt = MetaetlFormatForName(path)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target \"%s\": cannot tell the format of \"%s\"", tgt->id, path),
				 errhint("Give format: one of %s.", MetaetlFormatList(true))));
	if (fmt->write == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("target \"%s\": format %s can be read but not written", tgt->id, fmt->name),
				 errhint("Formats that can be written: %s.", MetaetlFormatList(true))));
	return fmt;
}

/* ------------------------------------------------------------ publishing at commit */

/*
 * A file target is written to "<path>.metaetl-<pid>-<n>.pending" (through
 * the stream's own temporary name, so the pending file is complete once it
 * exists) and renamed over path when the transaction commits: a run that
 * fails after this target loaded (a later target, its commit) leaves the
 * old file, as it leaves the old rows of its table targets.  An aborted
 * transaction or subtransaction (a run attempt) removes its pending files.
 */
typedef struct PendingFile
{
	char	   *pending;
	char	   *path;
	SubTransactionId subid;
	struct PendingFile *next;
} PendingFile;

static PendingFile *file_pending = NULL;	/* in TopTransactionContext */
static bool file_callbacks = false;
static int	file_seq = 0;

static void
file_xact_cb(XactEvent event, void *arg)
{
	PendingFile *p;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			/* renamed in the order the targets loaded; an error aborts the commit */
			while ((p = file_pending) != NULL)
			{
				file_pending = p->next;
				if (rename(p->pending, p->path) != 0)
				{
					int			save = errno;

					(void) unlink(p->pending);
					errno = save;
					ereport(ERROR,
							(errcode_for_file_access(),
							 errmsg("could not rename \"%s\" to \"%s\": %m", p->pending, p->path)));
				}
			}
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (file_pending)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that wrote file targets")));
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			for (p = file_pending; p; p = p->next)
				(void) unlink(p->pending);
			file_pending = NULL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			file_pending = NULL;	/* its memory went with the transaction */
			break;
		default:
			break;
	}
}

static void
file_subxact_cb(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	PendingFile **pp = &file_pending;

	while (*pp)
	{
		PendingFile *p = *pp;

		if (p->subid == mySubid && event == SUBXACT_EVENT_ABORT_SUB)
		{
			(void) unlink(p->pending);
			*pp = p->next;
			continue;
		}
		if (p->subid == mySubid && event == SUBXACT_EVENT_COMMIT_SUB)
			p->subid = parentSubid;
		pp = &p->next;
	}
}

/* the name a target writes before commit, and its entry to publish then */
static char *
file_pending_name(const char *path)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingFile *p = palloc0(sizeof(PendingFile));
	PendingFile **tail = &file_pending;

	if (!file_callbacks)
	{
		/* for the backend's life: the callbacks are cheap when nothing is pending */
		RegisterXactCallback(file_xact_cb, NULL);
		RegisterSubXactCallback(file_subxact_cb, NULL);
		file_callbacks = true;
	}
	p->path = pstrdup(path);
	p->pending = psprintf("%s.metaetl-%d-%d.pending", path, MyProcPid, ++file_seq);
	p->subid = GetCurrentSubTransactionId();
	MemoryContextSwitchTo(old);
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	return p->pending;
}

/* compression: auto decides by the target's path, not by the pending name */
static const char *
file_compression(JsonbContainer *conf, const char *path)
{
	char	   *c = MetaetlJStr(conf, "compression");
	size_t		l = strlen(path);

	if (c && strcmp(c, "auto") != 0)
		return c;
	if (l > 3 && pg_strcasecmp(path + l - 3, ".gz") == 0)
		return "gzip";
	if (l > 4 && pg_strcasecmp(path + l - 4, ".zst") == 0)
		return "zstd";
	return "none";
}

static int64
file_load(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix, const char *ref, List *cols)
{
	char	   *path = file_path(tgt->conf, tgt->id);
	const char *compression;
	const MetaetlFormat *fmt;
	MetaetlRowReader *rows;
	MetaetlOutStream *out;
	int64		n;

	file_require(tgt->id, true);
	tgt->table_display = path;
	if (strcmp(tgt->mode, "replace") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("target \"%s\": file targets support mode replace only", tgt->id)));
	fmt = file_target_format(tgt, path);
	compression = file_compression(tgt->conf, path);
	{
		/* an error names the file, not its pending name */
		char	   *dir = pstrdup(path);
		char	   *slash = strrchr(dir, '/');
		struct stat st;

		if (slash && slash != dir)
		{
			bool		missing;

			*slash = '\0';
			missing = stat(dir, &st) != 0;
			if (missing || !S_ISDIR(st.st_mode))
			{
				if (!missing)
					errno = ENOTDIR;
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not open file \"%s\" for writing: %m", path)));
			}
		}
	}
	MetaetlScript(plan, psprintf("-- write %s as %s (compression %s), in place at commit",
								 path, fmt->name, compression));
	if (plan->describe_only)
		return 0;
	rows = MetaetlRowReaderOpen(plan, prefix, ref, cols);
	out = MetaetlOpenFileOut(file_pending_name(path));
	out->name = path;			/* messages (the format's too) name the target's file */
	out = MetaetlCompressOut(out, compression);
	n = fmt->write(rows, tgt->conf, out);
	MetaetlRowReaderClose(rows);
	MetaetlStreamFinish(out);
	return n;
}

/* ------------------------------------------------------------ validation */

/* the format a source or target names, or the one its path's suffix says */
static const MetaetlFormat *
file_check_format(CfgCheck *chk, const char *type, bool is_source)
{
	const char *name = MetaetlCfgKeyString(chk, "format");
	const char *path = MetaetlCfgKeyString(chk, "path");
	const MetaetlFormat *fmt = NULL;

	if (path == NULL)
		path = MetaetlCfgKeyString(chk, "file");
	if (file_is_alias(type))
	{
		if (name && strcmp(name, type) != 0)
			MetaetlCfgProblem(chk, true, "format", "a %s %s reads and writes %s; use type: file for format %s",
							  type, is_source ? "source" : "target", type, name);
		return MetaetlLookupFormat(type);
	}
	if (name && strcmp(name, "auto") != 0)
	{
		fmt = MetaetlLookupFormat(name);
		if (fmt == NULL)
			MetaetlCfgProblem(chk, true, "format", "unknown format \"%s\" (valid: %s)", name,
							  MetaetlFormatList(false));
		else if (!is_source && fmt->write == NULL)
			MetaetlCfgProblem(chk, true, "format", "format %s can be read but not written (writable: %s)",
							  name, MetaetlFormatList(true));
		return fmt;
	}
	if (path && !file_has_glob(path))
	{
		fmt = MetaetlFormatForName(path);
		if (fmt == NULL && !is_source)
			MetaetlCfgProblem(chk, true, "path", "cannot tell the format of \"%s\" from its suffix; give format:",
							  path);
	}
	return fmt;
}

/*
 * options: keys must be the format's (any format's when the format is
 * decided per file at run time), with values of the declared kinds: the
 * format registry owns the keys (MetaetlFormatCheckOptions).
 */
static void
file_check(CfgCheck *chk, const char *type, bool is_source)
{
	const MetaetlFormat *fmt = file_check_format(chk, type, is_source);
	const char *name = MetaetlCfgKeyString(chk, "format");

	/* an unknown format was reported; its options are not checked again */
	if (fmt == NULL && name && strcmp(name, "auto") != 0)
		return;
	MetaetlFormatCheckOptions(chk, fmt);
}

/*
 * Vocabulary.  The 0.1 keys (header, delimiter, quote, escape, null,
 * encoding) stay at the top level for every file type; options: holds the
 * same and every format-specific option (sheet, skip_rows, ...).
 */
static const char *const compressions[] = {"auto", "none", "gzip", "zstd", NULL};

static const MetaetlConnKey file_source_keys[] = {
	{"path", MCK_STRING, MCK_ONEOF},
	{"file", MCK_STRING, MCK_ONEOF},
	{"pattern", MCK_STRING},
	{"format", MCK_STRING},
	{"compression", MCK_ENUM, 0, compressions},
	{"options", MCK_OBJECT},
	{"file_column", MCK_ID},
	{"header", MCK_BOOL},
	{"delimiter", MCK_STRING},
	{"quote", MCK_STRING},
	{"escape", MCK_STRING},
	{"null", MCK_STRING},
	{"encoding", MCK_STRING},
	{"columns", MCK_COLUMNS},
	MCK_END
};

static const MetaetlConnKey file_target_keys[] = {
	{"path", MCK_STRING, MCK_ONEOF},
	{"file", MCK_STRING, MCK_ONEOF},
	{"format", MCK_STRING},
	{"compression", MCK_ENUM, 0, compressions},
	{"options", MCK_OBJECT},
	{"header", MCK_BOOL},
	{"delimiter", MCK_STRING},
	{"quote", MCK_STRING},
	{"escape", MCK_STRING},
	{"null", MCK_STRING},
	{"encoding", MCK_STRING},
	MCK_END
};

static const char *const file_modes[] = {"replace", NULL};

const MetaetlConnector MetaetlFileConnector = {
	.name = "file",
	.types = file_types,
	.source_keys = file_source_keys,
	.target_keys = file_target_keys,
	.target_modes = file_modes,
	.check = file_check,
	.describe = file_describe,
	.extract = file_extract,
	.load = file_load,
};
