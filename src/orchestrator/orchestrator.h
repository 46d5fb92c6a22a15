/*-------------------------------------------------------------------------
 *
 * src/orchestrator/orchestrator.h
 *		The run lifecycle: run records, one attempt's body, the run worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_ORCHESTRATOR_H
#define METAETL_ORCHESTRATOR_H

#include "postgres.h"

#include <sys/resource.h>

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "orchestrator/retry.h"

/* advisory lock class of the per-pipeline concurrency lock ("meta") */
#define METAETL_RUN_LOCK_CLASS		1835365473

/* SQLSTATE of a failed error-severity quality gate: class ME (metaetl) */
#define METAETL_ERRCODE_QUALITY_GATE	MAKE_SQLSTATE('M','E','Q','0','1')

/* What to run, as the caller asked for it. */
typedef struct MetaetlRunSpec
{
	char	   *pipeline_id;
	char	   *trigger;
	char	   *triggered_by;
	char	   *params;			/* jsonb as text */
	Oid			run_as;			/* role whose privileges the run has */
	int64		queue_id;		/* 0 unless started from etl.run_queue */
	char	   *logical_date;	/* timestamptz as text, or NULL */
	int64		resume_run_id;	/* a queued retry of this run (0: a new run) */
	int			resume_attempt; /* the attempt it resumes at */
	TimestampTz worker_started_at;	/* when a process took the run (0: this
									 * process's start) */
} MetaetlRunSpec;

/* The pipeline as pinned when the run started. */
typedef struct MetaetlRunPlan
{
	int64		run_id;
	int			version;
	char	   *config;			/* normalised config, jsonb as text */
	char	   *concurrency;	/* skip | queue | allow */
	double		timeout_minutes;	/* 0 = none */
	MetaetlRetryPolicy retry;
} MetaetlRunPlan;

/* How one attempt (or the whole run) ended. */
typedef struct MetaetlRunOutcome
{
	const char *status;			/* succeeded failed quality_failed cancelled skipped */
	bool		transient;		/* the error is worth another attempt */
	int64		rows_read;
	int64		rows_written;
	bool		has_rows;
	double		quality_score;
	bool		has_quality;
	char	   *engine;
	char	   *engine_reason;
	char		sqlstate[6];
	char	   *error_message;
	char	   *error_detail;
	char	   *error_hint;		/* the error's hint (a did-you-mean), or NULL */
	char	   *error_step;
	char	   *retry_step;		/* whose retry policy applies: the target being
								 * loaded, else error_step */
	char	   *steps;			/* jsonb array as text, or NULL */
	char	   *quality_checks; /* jsonb as text, or NULL */
	char	   *result;			/* etl.execute_plan's result, or NULL */
} MetaetlRunOutcome;

/* in orchestrator/records.c */
extern Oid	MetaetlRunCheckAccess(const char *pipeline_id);
extern int64 MetaetlRunRecordStart(const MetaetlRunSpec *spec, const char *status,
								   MetaetlRunPlan *plan);
extern void MetaetlRunRecordAttempt(int64 run_id, int attempt, const MetaetlRunOutcome *out,
									TimestampTz started, double next_delay_s);
extern void MetaetlRunRecordFinish(int64 run_id, int attempts, const MetaetlRunOutcome *out,
								   const struct rusage *before);
extern char *MetaetlRunSummary(int64 run_id);
extern void MetaetlRunRequeue(int64 run_id, int64 queue_id, int next_attempt, double delay_s);
extern void MetaetlRunPolicyFor(const MetaetlRunPlan *plan, const char *step,
								MetaetlRetryPolicy *policy);
extern void MetaetlAudit(const char *action, const char *object_type, const char *object_id,
						 int64 run_id, const char *details_json, const char *actor);

/* in orchestrator/body.c */
extern void MetaetlRunAttempt(const MetaetlRunSpec *spec, const MetaetlRunPlan *plan,
							  int attempt, MetaetlRunOutcome *out);
extern bool MetaetlRunLockPipeline(const char *pipeline_id, const char *concurrency);
extern void MetaetlRunUnlockPipeline(const char *pipeline_id, const char *concurrency);
extern void MetaetlRunArmTimeout(double minutes);
extern void MetaetlRunDisarmTimeout(void);

/* in orchestrator/run.c */
extern void MetaetlRunCheckOwner(const char *pipeline_id, Oid owner);

/* in orchestrator/dispatch.c */
extern int	MetaetlDispatchQueue(void);

/* in orchestrator/executor.c */
extern int	metaetl_run_executors;
extern int	metaetl_run_executor_idle_timeout;
extern void MetaetlExecutorInit(void);
extern int	MetaetlExecutorCapacity(int64 **orphans, int *norphans);
extern bool MetaetlExecutorAssign(int64 queue_id, Oid run_as, int *wake, int *nwake);
extern void MetaetlExecutorWake(const int *wake, int nwake);
extern void MetaetlExecutorPrewarm(int n, Oid role);
extern int	MetaetlExecutorsMakeRoom(int n);
extern bool MetaetlExecutorDiedBusy(void);
extern void MetaetlExecutorRunRecorded(void);
extern bool MetaetlExecutorStatus(int *size, int *idle, int *busy, int *starting);

/* an etl.execute_pipeline call handed to a run executor */
typedef struct MetaetlExecCall
{
	int			slotno;
	uint32		generation;
	pid_t		pid;			/* the idle executor it went to */
	BackgroundWorkerHandle *handle; /* or the executor started for it */
} MetaetlExecCall;

extern bool MetaetlExecutorTakeCall(dsm_handle seg, Oid role, MetaetlExecCall *call);
extern bool MetaetlExecutorCallGone(MetaetlExecCall *call);
extern void MetaetlExecutorWithdrawCall(MetaetlExecCall *call, dsm_handle seg);
PGDLLEXPORT void MetaetlRunExecutorMain(Datum main_arg);

/* in orchestrator/handoff.c */
typedef enum MetaetlHandoffState
{
	HANDOFF_FREE = 0,
	HANDOFF_REQUESTED,			/* the launcher is to record the run as queued */
	HANDOFF_QUEUED,				/* recorded: the run waits in etl.run_queue */
	HANDOFF_FAILED				/* the launcher could not record it */
} MetaetlHandoffState;

extern void MetaetlHandoffInit(void);
extern bool MetaetlHandoffRequest(dsm_handle seg);
extern MetaetlHandoffState MetaetlHandoffPoll(int64 *run_id, char *error);
extern void MetaetlHandoffRelease(void);
extern int	MetaetlHandoffRecordRequests(void);
extern dsm_handle MetaetlHandoffFind(int64 queue_id);

/* in orchestrator/progress.c */
typedef struct MetaetlProgress
{
	int64		run_id;
	char		phase[16];		/* extract transform quality load */
	char		step[64];
	int			steps_done;
	int			steps_total;
	int64		rows_so_far;
} MetaetlProgress;

struct MetaetlPlan;
extern void MetaetlProgressInit(void);
extern void MetaetlProgressHook(struct MetaetlPlan *plan, const char *phase, const char *kind,
								const char *step, int seq, int64 rows, double ms, bool done);
extern void MetaetlProgressEnd(void);
extern bool MetaetlProgressRead(int pid, int64 run_id, MetaetlProgress *out);
extern int	MetaetlProgressRecordSteps(void);

/* in orchestrator/worker.c */
extern bool MetaetlRunRecordQueued(dsm_handle seg, int64 *run_id, int64 *queue_id,
								   char *error, Size errlen);
extern void MetaetlDescribeRunProcess(BackgroundWorker *worker, const char *function,
									  const char *type, const char *name);
extern char *MetaetlRunInWorker(const MetaetlRunSpec *spec, bool wait);
extern bool MetaetlRunQueuedInWorker(int64 queue_id, const char *pipeline_id, Oid run_as);
extern bool MetaetlRoleCanLogin(Oid role);
extern void MetaetlRunQueuedRun(int64 queue_id, Oid run_as, TimestampTz taken_at);
extern void MetaetlRunCall(dsm_handle seg, TimestampTz taken_at);
PGDLLEXPORT void MetaetlRunWorkerMain(Datum main_arg);

#endif							/* METAETL_ORCHESTRATOR_H */
