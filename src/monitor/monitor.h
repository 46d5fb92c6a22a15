/*-------------------------------------------------------------------------
 *
 * src/monitor/monitor.h
 *		Alert delivery: channels (channels.c) and the delivery outbox, its
 *		SQL entry point and background worker (delivery.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_MONITOR_H
#define METAETL_MONITOR_H

#include "fmgr.h"
#include "utils/jsonb.h"

#include "util/curl.h"

/* in monitor/channels.c */
extern void MetaetlChannelSend(Jsonb *rendered, Jsonb *secrets, long timeout_ms,
							   MetaetlCurlResult *res);
extern char *MetaetlHmacSha256Hex(const char *key, size_t keylen,
								  const char *data, size_t datalen);

/* in monitor/delivery.c */
extern void MetaetlMonitorInit(void);
extern PGDLLEXPORT void MetaetlDeliveryWorkerMain(Datum main_arg);

#endif							/* METAETL_MONITOR_H */
