/*-------------------------------------------------------------------------
 *
 * persist.h
 *		observa's one saved-file format (base layer; see persist.c).
 *
 * A room saves its statistics at a clean shutdown and reads them back when
 * shared memory is next created:
 *
 *	  at shutdown (postmaster, on_shmem_exit callback with its exit code):
 *		ObsSaveFile sf;
 *		if (obs_save_begin(&sf, &shape, code, nrecords, stats_reset))
 *		{
 *			for each record: obs_save_write(&sf, rec, len);
 *			obs_save_end(&sf);
 *		}
 *
 *	  at start-up (postmaster, shared-memory start-up, nothing else runs):
 *		ObsLoadFile lf;
 *		if (obs_load_begin(&lf, &shape, state, sizeof(state)))
 *		{
 *			for (i = 0; i < lf.nrecords; i++)
 *				if (!obs_load_read(&lf, rec, len)) break;
 *			obs_load_end(&lf, "loaded ...", state, sizeof(state));
 *		}
 *
 * Every outcome is one LOG line "observa: <name> statistics file "<path>":
 * <state>" (except a missing file), the same text lands in state for the
 * room's observa.info "persistence" row, and the file is removed once read
 * or rejected, so a crash never resurrects stale statistics.  Nothing here
 * raises an ERROR: a bad file never stops the server from starting.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_PERSIST_H
#define OBSERVA_PERSIST_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "port/pg_crc32c.h"

/* what a room's records look like; a saved file must match it exactly */
typedef struct ObsFileShape
{
	const char *name;			/* pg_stat/observa_<name>.stat; <= 31 bytes */
	uint32		format;			/* the room's record format version */
	uint32		layout;			/* fingerprint of settings that shape a
								 * record (sizes, histogram buckets) */
	uint32		record_size;	/* bytes per record; 0 = variable length */
	uint32		min_record_size;	/* variable length: at least this */
} ObsFileShape;

/* header at the start of every saved file (then records, then CRC-32C) */
typedef struct ObsFileHeader
{
	uint32		magic;			/* OBS_FILE_MAGIC */
	uint32		file_format;	/* OBS_FILE_FORMAT: this header */
	uint32		pg_major;		/* PG_VERSION_NUM / 100 */
	uint32		format;			/* ObsFileShape.format */
	uint32		layout;			/* ObsFileShape.layout */
	uint32		record_size;	/* ObsFileShape.record_size */
	int64		nrecords;
	TimestampTz stats_reset;	/* the room's reset time when saved */
	char		name[32];		/* ObsFileShape.name, NUL-padded */
} ObsFileHeader;

#define OBS_FILE_MAGIC		0x4F425356	/* "OBSV" */
#define OBS_FILE_FORMAT		2

typedef struct ObsSaveFile
{
	FILE	   *f;
	pg_crc32c	crc;
	bool		failed;
	char		path[MAXPGPATH];
	char		tmppath[MAXPGPATH];
} ObsSaveFile;

typedef struct ObsLoadFile
{
	FILE	   *f;
	ObsFileHeader hdr;
	int64		nrecords;		/* hdr.nrecords, checked against the size */
	uint64		payload;		/* bytes between the header and the CRC */
	uint64		remaining;		/* payload bytes not read yet */
	const char *name;
	char		path[MAXPGPATH];
} ObsLoadFile;

/* observa.save (defined here, read by every room that saves) */
extern void obs_persist_init(void);
extern bool obs_save_enabled(void);

/* does the control file say the previous shutdown was clean? */
extern bool obs_previous_shutdown_clean(void);

/*
 * Start writing the file of shape: false (nothing to do) unless the
 * process exits cleanly (code == 0) and observa.save is on, or when the
 * temporary file cannot be created (LOG).
 */
extern bool obs_save_begin(ObsSaveFile *sf, const ObsFileShape *shape,
						   int code, int64 nrecords, TimestampTz stats_reset);
extern void obs_save_write(ObsSaveFile *sf, const void *data, Size len);
/* append the CRC, fsync and durably rename into place; LOG on failure */
extern void obs_save_end(ObsSaveFile *sf);

/*
 * Open and check the saved file of shape: true when it exists, is of this
 * format, PostgreSQL major and shape, its record count agrees with its
 * size and its CRC is right.  Otherwise writes the reason into state (the
 * LOG line is written and the file removed) and returns false.
 */
extern bool obs_load_begin(ObsLoadFile *lf, const ObsFileShape *shape,
						   char *state, Size statelen);

/* read the next len payload bytes; false past the end or on a read error */
extern bool obs_load_read(ObsLoadFile *lf, void *buf, Size len);

/* read the payload again from its first record (a validating pass first) */
extern bool obs_load_rewind(ObsLoadFile *lf);

/* close and remove the file; log "msg" and copy it into state */
extern void obs_load_end(ObsLoadFile *lf, const char *msg, char *state,
						 Size statelen);

/* lower-level: finish or abandon a file written by hand (tenant_stats.c) */
extern void obs_stat_file_commit(FILE *f, pg_crc32c crc, const char *tmppath,
								 const char *path);
extern void obs_stat_file_abort(FILE *f, const char *tmppath);

#endif							/* OBSERVA_PERSIST_H */
