/*-------------------------------------------------------------------------
 *
 * persist.c
 *		observa's one saved-file format (see persist.h for the calls).
 *
 * File: $PGDATA/pg_stat/observa_<name>.stat =
 *	  ObsFileHeader (magic, header format, PostgreSQL major, the room's
 *	  record format and layout fingerprint, record size, record count, reset
 *	  time, room name), the records, then a CRC-32C of everything before it.
 *
 * Writing (postmaster, on_shmem_exit): only when the postmaster exits
 * cleanly (code 0) and observa.save is on.  Records go to a temporary file
 * that is fsync'ed and moved into place with durable_rename(), so a crash
 * while saving leaves the previous state (no file) rather than half a file.
 * Failures are LOG lines: an error must not stop the shutdown.
 *
 * Reading (postmaster, shared-memory start-up), the clean-shutdown rule:
 * the file is trusted only if the control file says the previous shutdown
 * was clean; after a crash or an immediate stop it is ignored.  Bounded
 * reads: the file is never read into one buffer (its size is whatever is
 * on disk); a first pass streams it through a fixed buffer to check the
 * CRC, a second pass hands the records to the room.  No length taken from
 * the file is trusted: the record count must agree with the file size by
 * division (no multiplication that could overflow), and variable-length
 * records are read with obs_load_read(), which refuses to read past the
 * payload.  Nothing here raises an ERROR, pallocs or trusts the file, so a
 * truncated, corrupt, hostile or foreign file costs one LOG line and the
 * server starts with empty statistics.  The file is removed once read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "utils/guc.h"

#include "persist.h"

static bool obs_save = true;

/* the CRC pass reads through this buffer (no allocation in the postmaster) */
static char crc_buf[32768];

void
obs_persist_init(void)
{
	DefineCustomBoolVariable("observa.save",
							 "Saves observa statistics across server shutdowns.",
							 NULL,
							 &obs_save,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

bool
obs_save_enabled(void)
{
	return obs_save;
}

/*
 * True if the control file says the previous shutdown was clean (a saved
 * statistics file may be trusted); false after a crash or an immediate
 * stop, or if the control file cannot be trusted.  Postmaster start-up only.
 */
bool
obs_previous_shutdown_clean(void)
{
	ControlFileData *control;
	bool		crc_ok;

	control = get_controlfile(DataDir, &crc_ok);
	return crc_ok && (control->state == DB_SHUTDOWNED ||
					  control->state == DB_SHUTDOWNED_IN_RECOVERY);
}

static void
file_path(const char *name, char *path, Size len, bool tmp)
{
	snprintf(path, len, "%s/observa_%s.stat%s", PGSTAT_STAT_PERMANENT_DIRECTORY,
			 name, tmp ? ".tmp" : "");
}

/* ----------------------------------------------------------------
 * writing
 * ---------------------------------------------------------------- */

void
obs_stat_file_abort(FILE *f, const char *tmppath)
{
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write observa statistics file \"%s\": %m",
					tmppath)));
	if (f)
		FreeFile(f);
	unlink(tmppath);
}

void
obs_stat_file_commit(FILE *f, pg_crc32c crc, const char *tmppath,
					 const char *path)
{
	FIN_CRC32C(crc);
	if (fwrite(&crc, sizeof(crc), 1, f) != 1 || fflush(f) != 0 ||
		pg_fsync(fileno(f)) != 0)
	{
		obs_stat_file_abort(f, tmppath);
		return;
	}
	if (FreeFile(f))
	{
		obs_stat_file_abort(NULL, tmppath);
		return;
	}
	(void) durable_rename(tmppath, path, LOG);
}

bool
obs_save_begin(ObsSaveFile *sf, const ObsFileShape *shape, int code,
			   int64 nrecords, TimestampTz stats_reset)
{
	ObsFileHeader hdr;

	/* never save after a crash: shared memory may be inconsistent */
	if (code != 0 || !obs_save)
		return false;

	memset(sf, 0, sizeof(*sf));
	file_path(shape->name, sf->path, sizeof(sf->path), false);
	file_path(shape->name, sf->tmppath, sizeof(sf->tmppath), true);
	sf->f = AllocateFile(sf->tmppath, PG_BINARY_W);
	if (sf->f == NULL)
	{
		obs_stat_file_abort(NULL, sf->tmppath);
		return false;
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = OBS_FILE_MAGIC;
	hdr.file_format = OBS_FILE_FORMAT;
	hdr.pg_major = PG_VERSION_NUM / 100;
	hdr.format = shape->format;
	hdr.layout = shape->layout;
	hdr.record_size = shape->record_size;
	hdr.nrecords = nrecords;
	hdr.stats_reset = stats_reset;
	strlcpy(hdr.name, shape->name, sizeof(hdr.name));
	INIT_CRC32C(sf->crc);
	obs_save_write(sf, &hdr, sizeof(hdr));
	return true;
}

void
obs_save_write(ObsSaveFile *sf, const void *data, Size len)
{
	if (sf->failed || len == 0)
		return;
	COMP_CRC32C(sf->crc, data, len);
	if (fwrite(data, 1, len, sf->f) != len)
		sf->failed = true;
}

void
obs_save_end(ObsSaveFile *sf)
{
	if (sf->failed)
		obs_stat_file_abort(sf->f, sf->tmppath);
	else
		obs_stat_file_commit(sf->f, sf->crc, sf->tmppath, sf->path);
	sf->f = NULL;
}

/* ----------------------------------------------------------------
 * reading
 * ---------------------------------------------------------------- */

/* one LOG line, the state row, and the file removed */
static void
load_finish(const char *name, const char *path, const char *msg,
			char *state, Size statelen)
{
	strlcpy(state, msg, statelen);
	ereport(LOG,
			(errmsg("observa: %s statistics file \"%s\": %s", name, path, msg)));
	if (unlink(path) != 0 && errno != ENOENT)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not remove observa statistics file \"%s\": %m",
						path)));
}

/* why the header does not fit shape and size, or NULL when it does */
static const char *
check_header(const ObsFileHeader *hdr, const ObsFileShape *shape,
			 uint64 payload, int64 *nrecords)
{
	char		name[sizeof(hdr->name)];

	memcpy(name, hdr->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (hdr->magic != OBS_FILE_MAGIC || hdr->file_format != OBS_FILE_FORMAT ||
		hdr->pg_major != PG_VERSION_NUM / 100 ||
		strcmp(name, shape->name) != 0)
		return "ignored: not an observa file of this version";
	if (hdr->format != shape->format || hdr->layout != shape->layout ||
		hdr->record_size != shape->record_size)
		return "ignored: written with a different histogram_error or layout";
	if (hdr->nrecords < 0)
		return "ignored: truncated or wrong length";
	if (shape->record_size > 0)
	{
		/* division, not multiplication: a hostile count cannot overflow */
		if (payload % shape->record_size != 0 ||
			(uint64) hdr->nrecords != payload / shape->record_size)
			return "ignored: truncated or wrong length";
	}
	else if ((uint64) hdr->nrecords > payload / Max(shape->min_record_size, 1))
		return "ignored: truncated or wrong length";
	*nrecords = hdr->nrecords;
	return NULL;
}

/* stream everything before the trailing CRC through crc_buf */
static bool
check_crc(FILE *f, uint64 covered)
{
	pg_crc32c	crc,
				filecrc;
	uint64		left = covered;

	INIT_CRC32C(crc);
	while (left > 0)
	{
		size_t		n = (size_t) Min(left, (uint64) sizeof(crc_buf));

		if (fread(crc_buf, 1, n, f) != n)
			return false;
		COMP_CRC32C(crc, crc_buf, n);
		left -= n;
	}
	FIN_CRC32C(crc);
	if (fread(&filecrc, sizeof(filecrc), 1, f) != 1)
		return false;
	return EQ_CRC32C(crc, filecrc);
}

bool
obs_load_begin(ObsLoadFile *lf, const ObsFileShape *shape, char *state,
			   Size statelen)
{
	struct stat st;
	const char *why = NULL;
	uint64		size;

	memset(lf, 0, sizeof(*lf));
	lf->name = shape->name;
	file_path(shape->name, lf->path, sizeof(lf->path), false);
	if (stat(lf->path, &st) != 0)
	{
		strlcpy(state, "no file", statelen);
		return false;
	}
	size = (uint64) st.st_size;

	if (!obs_save)
		why = "ignored: observa.save is off";
	else if (!obs_previous_shutdown_clean())
		why = "ignored: the previous shutdown was not clean";
	else if (size < sizeof(ObsFileHeader) + sizeof(pg_crc32c))
		why = "ignored: truncated";
	else if ((lf->f = AllocateFile(lf->path, PG_BINARY_R)) == NULL)
		why = "ignored: cannot be opened";
	else if (fread(&lf->hdr, sizeof(lf->hdr), 1, lf->f) != 1)
		why = "ignored: cannot be read";
	else
	{
		uint64		payload = size - sizeof(ObsFileHeader) - sizeof(pg_crc32c);

		why = check_header(&lf->hdr, shape, payload, &lf->nrecords);
		if (why == NULL)
		{
			if (fseeko(lf->f, 0, SEEK_SET) != 0 ||
				!check_crc(lf->f, size - sizeof(pg_crc32c)))
				why = "ignored: checksum mismatch";
			else if (fseeko(lf->f, sizeof(ObsFileHeader), SEEK_SET) != 0)
				why = "ignored: cannot be read";
			else
				lf->remaining = lf->payload = payload;
		}
	}
	if (why == NULL)
		return true;

	if (lf->f)
		FreeFile(lf->f);
	lf->f = NULL;
	load_finish(shape->name, lf->path, why, state, statelen);
	return false;
}

bool
obs_load_read(ObsLoadFile *lf, void *buf, Size len)
{
	if (lf->f == NULL || (uint64) len > lf->remaining)
		return false;
	if (len > 0 && fread(buf, 1, len, lf->f) != len)
		return false;
	lf->remaining -= len;
	return true;
}

bool
obs_load_rewind(ObsLoadFile *lf)
{
	if (lf->f == NULL || fseeko(lf->f, sizeof(ObsFileHeader), SEEK_SET) != 0)
		return false;
	lf->remaining = lf->payload;
	return true;
}

void
obs_load_end(ObsLoadFile *lf, const char *msg, char *state, Size statelen)
{
	if (lf->f)
		FreeFile(lf->f);
	lf->f = NULL;
	load_finish(lf->name, lf->path, msg, state, statelen);
}
