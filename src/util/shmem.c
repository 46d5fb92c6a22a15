/*-------------------------------------------------------------------------
 *
 * src/util/shmem.c
 *		One pair of shared-memory hooks for every module that needs a piece
 *		of shared memory (scheduler, run executors, alert delivery, access
 *		log queue).
 *
 * A module calls MetaetlShmemRegister from its init while the library is
 * being preloaded: a name, a size function (evaluated after every module's
 * parameters are known), an init callback for the first attach, and where
 * to store the pointer.  The hooks below request the sum and attach each
 * piece in order, under AddinShmemInitLock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "metaetl.h"

#define MAX_PIECES 8

typedef struct ShmemPiece
{
	const char *name;
	Size		(*size) (void);
	void		(*init) (void *ptr);
	void	  **ptr;
} ShmemPiece;

static ShmemPiece pieces[MAX_PIECES];
static int	npieces = 0;
static bool hooks_installed = false;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	for (int i = 0; i < npieces; i++)
		RequestAddinShmemSpace(MAXALIGN(pieces[i].size()));
}

static void
shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	for (int i = 0; i < npieces; i++)
	{
		bool		found;
		void	   *p = ShmemInitStruct(pieces[i].name, pieces[i].size(), &found);

		if (!found)
		{
			memset(p, 0, pieces[i].size());
			if (pieces[i].init)
				pieces[i].init(p);
		}
		*pieces[i].ptr = p;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * MetaetlShmemRegister
 *		Ask for a zeroed piece of shared memory of size() bytes named name;
 *		init (may be NULL) prepares it the first time; *ptr points to it in
 *		every process once shared memory is set up.  Only while preloading.
 */
void
MetaetlShmemRegister(const char *name, Size (*size) (void), void (*init) (void *ptr), void **ptr)
{
	if (!process_shared_preload_libraries_in_progress)
		elog(ERROR, "shared memory for \"%s\" can only be requested while preloading", name);
	if (npieces == MAX_PIECES)
		elog(ERROR, "too many metaetl shared memory pieces");
	pieces[npieces].name = name;
	pieces[npieces].size = size;
	pieces[npieces].init = init;
	pieces[npieces].ptr = ptr;
	npieces++;
	if (!hooks_installed)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = shmem_startup;
		hooks_installed = true;
	}
}
