/*-------------------------------------------------------------------------
 *
 * src/metaetl.h
 *		Declarations shared across metaetl's subsystems.
 *
 * Each subsystem keeps its own header for its internals (src/config/config.h,
 * ...); this file holds only what several subsystems use, grouped by the file
 * that defines it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_H
#define METAETL_H

#include "fmgr.h"

#ifndef METAETL_VERSION
#define METAETL_VERSION "unknown"
#endif

/* in metaetl.c */
extern bool MetaetlPreloaded;
extern void MetaetlRequirePreload(const char *feature);

/* in util/spi.c: bookkeeping SQL, search_path pinned */
extern int	MetaetlSpiExec(const char *sql, int nargs, const Oid *types, const Datum *values,
						   const char *nulls, bool read_only, long count);

/* in util/shmem.c */
extern void MetaetlShmemRegister(const char *name, Size (*size) (void), void (*init) (void *ptr),
								 void **ptr);

/* in util/guc.c */
extern char *metaetl_environment;
extern char *metaetl_database;
extern void MetaetlGucInit(void);

#endif							/* METAETL_H */
