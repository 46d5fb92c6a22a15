/*-------------------------------------------------------------------------
 *
 * src/api/static.c
 *		The dashboard's files and openapi.json, served from memory.
 *
 * Every regular file directly in --web-root (default: the share directory
 * `make install` put them in) is read once at start-up.  Requests name a
 * file by its plain name only — no directories, no dot files — so no URL can
 * reach anything else on the disk, whatever its encoding.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"

#define MAX_FILES		32
#define MAX_FILE_SIZE	(4 * 1024 * 1024)

typedef struct StaticFile
{
	char		name[128];
	const char *content_type;
	char	   *data;
	size_t		len;
} StaticFile;

static StaticFile files[MAX_FILES];
static int	nfiles;

static bool
plain_name(const char *name)
{
	const char *p;

	if (name[0] == '\0' || name[0] == '.' || strlen(name) >= sizeof(files[0].name))
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static const char *
content_type_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".json") == 0)
		return "application/json";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	if (strcmp(dot, ".png") == 0)
		return "image/png";
	return "application/octet-stream";
}

/*
 * Reads every plain-named regular file of --web-root (at most MAX_FILES,
 * each up to MAX_FILE_SIZE) into memory, once, from main before the daemon
 * starts; static_serve then reads files[] without a lock, and a request can
 * never make the server open a file.  Only a web root that cannot be opened
 * is fatal; a missing index.html or openapi.json is logged, since the API
 * works without its dashboard.
 */
bool
static_load(void)
{
	DIR		   *d = opendir(api_config.web_root);
	struct dirent *e;

	if (d == NULL)
	{
		api_log("cannot open --web-root \"%s\": %s", api_config.web_root, strerror(errno));
		return false;
	}
	while ((e = readdir(d)) != NULL && nfiles < MAX_FILES)
	{
		char		path[4096];
		struct stat st;
		FILE	   *f;
		StaticFile *sf = &files[nfiles];

		if (!plain_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", api_config.web_root, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE)
			continue;
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		sf->data = malloc((size_t) st.st_size + 1);
		if (sf->data == NULL || fread(sf->data, 1, (size_t) st.st_size, f) != (size_t) st.st_size)
		{
			free(sf->data);
			sf->data = NULL;
			fclose(f);
			continue;
		}
		fclose(f);
		sf->len = (size_t) st.st_size;
		memcpy(sf->name, e->d_name, strlen(e->d_name) + 1);	/* plain_name checked the length */
		sf->content_type = content_type_of(e->d_name);
		nfiles++;
	}
	closedir(d);
	if (!static_serve("index.html", NULL) || !static_serve("openapi.json", NULL))
		api_log("warning: --web-root \"%s\" has no index.html or openapi.json", api_config.web_root);
	return true;
}

/* answers with the file; false when there is no such file (resp NULL: just look) */
bool
static_serve(const char *name, Response *resp)
{
	int			i;

	if (!plain_name(name))
		return false;
	for (i = 0; i < nfiles; i++)
	{
		if (strcmp(files[i].name, name) != 0)
			continue;
		if (resp)
		{
			resp->status = 200;
			resp->content_type = files[i].content_type;
			resp->static_file = true;
			buf_append(&resp->body, files[i].data, files[i].len);
		}
		return true;
	}
	return false;
}
