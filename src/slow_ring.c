/*-------------------------------------------------------------------------
 *
 * slow_ring.c
 *		Recorder: shared-memory ring of slow statements.
 *
 * A statement whose duration reaches observa.slow_query_threshold is copied
 * into one slot of a fixed ring in shared memory: who ran it, when, how
 * long, its own text, its bind parameters rendered as text, optionally its
 * EXPLAIN plan, and its error when it failed.  Statements under the
 * threshold cost one floating-point comparison (the threshold is kept as a
 * double by the GUC's assign hook; -1 becomes +infinity).
 *
 * Ring protocol (lock-free; see docs/slow_queries.md for the argument):
 *
 *	- SlowRing.next_ticket is a 64-bit atomic counter.  A writer first
 *	  renders everything it will store into backend-local memory (text,
 *	  parameters, plan, error), then takes ticket t = fetch_add(next_ticket,
 *	  1); its slot is t % size.
 *	- Each slot has a 64-bit sequence: 0 empty, 2t+1 while ticket t is being
 *	  written, 2t+2 once ticket t is complete.  The writer claims the slot by
 *	  compare-and-swap from an even value below 2t+1 to 2t+1, copies the
 *	  entry (plain memcpy of fixed-size fields and bounded byte buffers),
 *	  issues a write barrier and stores 2t+2.
 *	- A writer that finds its slot already claimed or filled by a newer
 *	  ticket (the ring wrapped past it) drops its entry: the slot already
 *	  holds something newer.  A writer that finds an older ticket still
 *	  being copied waits for it (the copy takes microseconds), spinning then
 *	  sleeping, at most about a millisecond, and then drops its own entry.
 *	  Dropped writes are counted (SlowRing.lost).  So writers never wait
 *	  for each other for long, and never for readers.
 *	- A reader reads the sequence, copies the slot into local memory, and
 *	  re-reads the sequence (read barriers in between); the copy is used
 *	  only if the sequence was the same even value both times.  Otherwise
 *	  the entry was being replaced and the reader skips it.  Readers never
 *	  write to shared memory, so they cannot block or slow a writer beyond
 *	  cache traffic.  This is the protocol core PostgreSQL uses for
 *	  PgBackendStatus (st_changecount).
 *	- Reset does not touch the slots: it records the current next_ticket
 *	  as reset_ticket, and readers ignore entries of older tickets.
 *
 * Memory: the slots hold the fixed fields only; each entry's text,
 * parameters, plan and error go, one after the other, into a byte arena of
 * observa.slow_query_memory, sized by what is stored rather than by the
 * *_limit settings times the ring size.  The arena is a circular stream:
 * a writer reserves its bytes with one atomic add on arena_head and copies
 * them before it marks its slot complete; a reader copies
 * them and then checks that arena_head has not moved more than the arena's
 * size past their start, otherwise they may have been overwritten and the
 * copy shows the entry without them (var_lost).  Readers still write
 * nothing.  No shared memory is allocated after start-up; nothing is held
 * in shared memory while rendering.  Rendering the parameters and the plan runs
 * through obs_guard_render() (guard.c): an ERROR there (a type's output
 * function) becomes a LOG line, the entry is kept without them (params
 * "<not captured>", plan NULL), and the statement keeps its outcome.
 * That costs a subtransaction, paid on this slow path only.
 *
 * Error path (sample->failed, called from PG_CATCH): no catalog access and
 * no ERROR.  Parameters are taken from params->paramValuesStr when core
 * built it (log_parameter_max_length_on_error), otherwise marked as not
 * captured; no plan; the error message is copied with CopyErrorData into
 * a private memory context; logging uses LOG_SERVER_ONLY.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netdb.h>

#include "access/detoast.h"
#include "commands/explain.h"
#include "common/ip.h"
#include "executor/instrument.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "mb/stringinfo_mb.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "storage/shmem.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "guard.h"
#include "observa.h"
#include "slow_ring.h"

/* parameters whose value is larger than this are not rendered */
#define SLOW_PARAM_MAX_RENDER	(64 * 1024)

/* how long a writer waits for an older writer of the same slot */
#define SLOW_CLAIM_SPINS		1000
#define SLOW_CLAIM_SLEEPS		10
#define SLOW_CLAIM_SLEEP_US		100

typedef enum ObsSlowLog
{
	OBS_SLOW_LOG_OFF,
	OBS_SLOW_LOG_LOG,
	OBS_SLOW_LOG_WARNING
} ObsSlowLog;

static const struct config_enum_entry plan_options[] = {
	{"off", OBS_SLOW_PLAN_OFF, false},
	{"text", OBS_SLOW_PLAN_TEXT, false},
	{"json", OBS_SLOW_PLAN_JSON, false},
	{NULL, 0, false}
};

static const struct config_enum_entry log_options[] = {
	{"off", OBS_SLOW_LOG_OFF, false},
	{"log", OBS_SLOW_LOG_LOG, false},
	{"warning", OBS_SLOW_LOG_WARNING, false},
	{NULL, 0, false}
};

/* GUCs */
static int	slow_threshold = 1000;	/* ms, -1 disables */
static int	slow_ring_size = 1000;
static int	slow_text_limit = 500;	/* characters */
static int	slow_params_limit = 200;	/* characters */
static bool slow_capture_params = true;
static int	slow_plan = OBS_SLOW_PLAN_OFF;
static int	slow_plan_limit = 8192; /* bytes */
static int	slow_memory = 4 * 1024 * 1024;	/* bytes of the byte arena */
static bool slow_plan_analyze = false;
static int	slow_log = OBS_SLOW_LOG_OFF;
static bool slow_log_params = false;

/* slow_threshold as the one comparison of the hot path */
static double slow_cutoff_ms = 1000.0;

static SlowRing *ring = NULL;

/* private scratch context of the slow path (reset after each capture) */
static MemoryContext slow_cxt = NULL;

/* set while capturing: output functions or EXPLAIN may run statements */
static bool in_capture = false;

/* this backend's client address, rendered once */
static char client_addr[OBS_SLOW_ADDR_LEN];
static bool client_addr_done = false;

/* what a capture gathers before it touches shared memory */
typedef struct SlowParts
{
	SlowSlot	hdr;			/* fixed fields and lengths, seq unused */
	const char *query;
	const char *params;
	const char *plan;
	const char *error;
} SlowParts;

static void
assign_threshold(int newval, void *extra)
{
	slow_cutoff_ms = (newval < 0) ? get_float8_infinity() : (double) newval;
}

void
obs_slow_ring_init(void)
{
	DefineCustomIntVariable("observa.slow_query_threshold",
							"Statements running at least this long are kept in the slow-query ring.",
							"-1 disables the ring and the log.",
							&slow_threshold,
							1000, -1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, assign_threshold, NULL);

	DefineCustomIntVariable("observa.slow_query_ring_size",
							"Number of slow statements kept in shared memory.",
							NULL,
							&slow_ring_size,
							1000, 1, 1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("observa.slow_query_text_limit",
							"Characters of a slow statement's text kept.",
							NULL,
							&slow_text_limit,
							500, 1, 100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("observa.slow_query_params_limit",
							"Characters of a slow statement's rendered bind parameters kept.",
							NULL,
							&slow_params_limit,
							200, 0, 100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("observa.slow_query_capture_params",
							 "Keeps the bind parameters of slow statements.",
							 NULL,
							 &slow_capture_params,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("observa.slow_query_plan",
							 "Keeps the EXPLAIN plan of slow statements.",
							 "off, text or json.",
							 &slow_plan,
							 OBS_SLOW_PLAN_OFF,
							 plan_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("observa.slow_query_plan_limit",
							"Bytes of a slow statement's plan kept.",
							"0 reserves no memory for plans.",
							&slow_plan_limit,
							8192, 0, 1024 * 1024,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("observa.slow_query_memory",
							"Shared memory for the texts, parameters, plans and errors of slow statements.",
							"The ring's entries share it, newest first; an entry whose bytes were overwritten keeps its other fields.",
							&slow_memory,
							4 * 1024 * 1024, 64 * 1024, INT_MAX,
							PGC_POSTMASTER,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("observa.slow_query_plan_analyze",
							 "Counts actual rows per plan node of every tracked statement, for slow-query plans.",
							 "Only when observa.slow_query_plan is not off.",
							 &slow_plan_analyze,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("observa.slow_query_log",
							 "Writes one server log line per slow statement.",
							 "off, log or warning.",
							 &slow_log,
							 OBS_SLOW_LOG_OFF,
							 log_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("observa.slow_query_log_params",
							 "Adds the bind parameters to slow-query log lines.",
							 NULL,
							 &slow_log_params,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/* buffer capacities in bytes, from the settings */
static uint32
query_cap(void)
{
	return (uint32) slow_text_limit * MAX_MULTIBYTE_CHAR_LEN;
}

static uint32
params_cap(void)
{
	return (uint32) slow_params_limit * MAX_MULTIBYTE_CHAR_LEN;
}

/* a slot in shared memory: the fixed fields only */
static Size
slot_size(void)
{
	return MAXALIGN(sizeof(SlowSlot));
}

/* a local copy: the slot and buffers of the limits' capacities */
static Size
copy_size(void)
{
	Size		size = MAXALIGN(sizeof(SlowSlot));

	size = add_size(size, query_cap());
	size = add_size(size, params_cap());
	size = add_size(size, (Size) slow_plan_limit);
	size = add_size(size, OBS_SLOW_ERROR_BYTES);
	return MAXALIGN(size);
}

/* the byte arena holds at least one entry of every limit */
static Size
arena_size(void)
{
	Size		one = copy_size();

	return MAXALIGN(Max((Size) slow_memory, one));
}

Size
obs_slow_ring_shmem_size(void)
{
	return add_size(add_size(MAXALIGN(sizeof(SlowRing)),
							 mul_size(slot_size(), (Size) slow_ring_size)),
					arena_size());
}

static inline char *
arena_base(const SlowRing *r)
{
	return (char *) r + MAXALIGN(sizeof(SlowRing)) + (Size) r->size * r->slot_size;
}

/* copy len bytes to/from stream position pos of the circular arena */
static void
arena_write(SlowRing *r, uint64 pos, const char *src, Size len)
{
	Size		off = (Size) (pos % r->arena_size);
	Size		first = Min(len, (Size) (r->arena_size - off));

	memcpy(arena_base(r) + off, src, first);
	if (first < len)
		memcpy(arena_base(r), src + first, len - first);
}

/* bytes reserved in the arena so far (a read: no write to shared memory) */
static inline uint64
arena_head_of(const SlowRing *r)
{
	return pg_atomic_read_u64(unconstify(pg_atomic_uint64 *, &r->arena_head));
}

static void
arena_read(const SlowRing *r, uint64 pos, char *dst, Size len)
{
	Size		off = (Size) (pos % r->arena_size);
	Size		first = Min(len, (Size) (r->arena_size - off));

	memcpy(dst, arena_base(r) + off, first);
	if (first < len)
		memcpy(dst + first, arena_base(r), len - first);
}

/*
 * Attach to the ring, building it when it does not exist yet (server start
 * or crash restart, where all slots start empty).  Called with
 * AddinShmemInitLock held.
 */
void
obs_slow_ring_shmem_startup(void)
{
	bool		found;
	uint32		i;

	ring = ShmemInitStruct("observa slow-query ring",
						   obs_slow_ring_shmem_size(), &found);
	if (!found)
	{
		ring->size = (uint32) slow_ring_size;
		ring->slot_size = slot_size();
		ring->copy_size = copy_size();
		ring->arena_size = arena_size();
		pg_atomic_init_u64(&ring->arena_head, 0);
		ring->query_cap = query_cap();
		ring->params_cap = params_cap();
		ring->plan_cap = (uint32) slow_plan_limit;
		pg_atomic_init_u64(&ring->next_ticket, 0);
		pg_atomic_init_u64(&ring->reset_ticket, 0);
		pg_atomic_init_u64(&ring->lost, 0);
		pg_atomic_init_u64(&ring->reset_time, (uint64) GetCurrentTimestamp());
		for (i = 0; i < ring->size; i++)
		{
			SlowSlot   *slot = obs_slow_slot(ring, i);

			memset(slot, 0, ring->slot_size);
			pg_atomic_init_u64(&slot->seq, 0);
		}
	}

	if (slow_cxt == NULL)
		slow_cxt = AllocSetContextCreate(TopMemoryContext,
										 "observa slow-query capture",
										 ALLOCSET_DEFAULT_SIZES);
}

SlowRing *
obs_slow_ring_get(void)
{
	return ring;
}

/*
 * Before a tracked statement starts: ask for per-node row counts when
 * slow-query plans should show actual rows.  Every tracked statement pays
 * for them, since whether it will be slow is not known yet.
 */
void
obs_slow_ring_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (slow_plan_analyze && slow_plan != OBS_SLOW_PLAN_OFF &&
		slow_threshold >= 0)
		queryDesc->instrument_options |= INSTRUMENT_ROWS;
}

/* ---------------------------------------------------------------------
 * Rendering (backend-local, before shared memory is touched)
 * ---------------------------------------------------------------------
 */

/* the part of the source string that is this statement, trimmed */
static const char *
statement_text(const ObsSample *sample, int *len)
{
	const char *p = sample->source_text;
	int			total;
	int			loc = sample->stmt_location;
	int			n = sample->stmt_len;

	if (p == NULL)
	{
		*len = 0;
		return NULL;
	}
	total = strlen(p);
	if (loc < 0 || loc > total)
	{
		loc = 0;
		n = total;
	}
	else if (n <= 0 || n > total - loc)
		n = total - loc;
	p += loc;
	while (n > 0 && scanner_isspace(*p))
	{
		p++;
		n--;
	}
	while (n > 0 && scanner_isspace(p[n - 1]))
		n--;
	*len = n;
	return p;
}

/* keep at most 'limit' characters of s[0..len); returns the byte length */
static uint32
clip_chars(const char *s, int len, int limit, bool *truncated)
{
	int			n = (len > 0) ? pg_mbcharcliplen(s, len, limit) : 0;

	*truncated = (n < len);
	return (uint32) n;
}

/* the client's address as text, "" for Unix sockets and background work */
static const char *
client_address(void)
{
	if (!client_addr_done)
	{
		client_addr_done = true;
		client_addr[0] = '\0';
		if (MyBEEntry != NULL &&
			(MyBEEntry->st_clientaddr.addr.ss_family == AF_INET ||
			 MyBEEntry->st_clientaddr.addr.ss_family == AF_INET6))
		{
			const SockAddr *raddr = &MyBEEntry->st_clientaddr;
			char		host[NI_MAXHOST];

			if (pg_getnameinfo_all(&raddr->addr, raddr->salen,
								   host, sizeof(host), NULL, 0,
								   NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			{
				clean_ipv6_addr(raddr->addr.ss_family, host);
				strlcpy(client_addr, host, sizeof(client_addr));
			}
		}
	}
	return client_addr;
}

/*
 * Render bind parameters as "$1 = '42', $2 = NULL" using the types' output
 * functions (catalog access: not for the error path).  Stops once the
 * text is longer than the buffer could keep; values larger than
 * SLOW_PARAM_MAX_RENDER bytes are shown by size only.
 */
static void
render_params(ParamListInfo params, StringInfo buf, int maxbytes,
			  bool *truncated)
{
	int			i;

	*truncated = false;
	for (i = 0; i < params->numParams; i++)
	{
		ParamExternData *prm = &params->params[i];

		if (buf->len > maxbytes)
		{
			*truncated = true;
			return;
		}
		appendStringInfo(buf, "%s$%d = ", i > 0 ? ", " : "", i + 1);
		if (prm->isnull || !OidIsValid(prm->ptype))
			appendStringInfoString(buf, "NULL");
		else
		{
			Oid			typoutput;
			bool		typisvarlena;

			getTypeOutputInfo(prm->ptype, &typoutput, &typisvarlena);
			if (typisvarlena &&
				toast_raw_datum_size(prm->value) > SLOW_PARAM_MAX_RENDER)
				appendStringInfo(buf, "<%zu bytes>",
								 toast_raw_datum_size(prm->value));
			else
			{
				char	   *s = OidOutputFunctionCall(typoutput, prm->value);

				if ((int) strlen(s) > maxbytes)
					*truncated = true;
				appendStringInfoStringQuoted(buf, s, maxbytes);
				pfree(s);
			}
		}
	}
}

typedef struct RenderParams
{
	ParamListInfo params;
	StringInfoData buf;
	bool		truncated;
} RenderParams;

static void
render_params_step(void *arg)
{
	RenderParams *rp = (RenderParams *) arg;

	render_params(rp->params, &rp->buf, (int) params_cap(), &rp->truncated);
}

/* fill the params part of 'parts' */
static void
gather_params(const ObsSample *sample, SlowParts *parts, bool want_text)
{
	ParamListInfo params = sample->params;
	bool		truncated = false;
	const char *s = NULL;
	int			len = 0;

	if (params == NULL || params->numParams <= 0)
		return;
	parts->hdr.params_state = OBS_SLOW_PARAMS_SKIPPED;
	if (!want_text)
		return;

	if (sample->failed || params->paramFetch != NULL)
	{
		/* no catalog access here; dynamic parameter lists are not ours */
		if (sample->failed && params->paramValuesStr != NULL)
		{
			s = params->paramValuesStr;
			len = strlen(s);
		}
	}
	else
	{
		RenderParams rp;

		rp.params = params;
		rp.truncated = false;
		initStringInfo(&rp.buf);
		if (!obs_guard_render(sample, "bind parameters", render_params_step, &rp))
			return;				/* stays OBS_SLOW_PARAMS_SKIPPED */
		s = rp.buf.data;
		len = rp.buf.len;
		truncated = rp.truncated;
	}
	if (s == NULL)
		return;

	parts->params = s;
	parts->hdr.params_len = clip_chars(s, len, slow_params_limit,
									   &parts->hdr.params_truncated);
	parts->hdr.params_truncated |= truncated;
	parts->hdr.params_state = OBS_SLOW_PARAMS_TEXT;
}

typedef struct RenderPlan
{
	QueryDesc  *qd;
	ExplainState *es;
} RenderPlan;

/* EXPLAIN into rp->es (guarded: it may call output functions) */
static void
render_plan_step(void *arg)
{
	RenderPlan *rp = (RenderPlan *) arg;
	ExplainState *es = NewExplainState();
	QueryDesc  *qd = rp->qd;

	es->format = (slow_plan == OBS_SLOW_PLAN_JSON) ?
		EXPLAIN_FORMAT_JSON : EXPLAIN_FORMAT_TEXT;
	es->costs = true;
	/*
	 * Actual rows only when asked for: other rooms (the index advisor's
	 * sampling) may have instrumented this statement too, and the plan
	 * must not change shape with their sampling.
	 */
	es->analyze = slow_plan_analyze &&
		(qd->instrument_options & INSTRUMENT_ROWS) != 0;
	es->timing = es->analyze && (qd->instrument_options & INSTRUMENT_TIMER);
	es->summary = false;
	ExplainBeginOutput(es);
	ExplainPrintPlan(es, qd);
	ExplainEndOutput(es);
	rp->es = es;
}

/* EXPLAIN of a statement at ExecutorEnd, clipped to the plan buffer */
static void
gather_plan(const ObsSample *sample, SlowParts *parts)
{
	QueryDesc  *qd = sample->query_desc;
	ExplainState *es;
	RenderPlan	rp;
	int			len;

	if (slow_plan == OBS_SLOW_PLAN_OFF || sample->failed || qd == NULL ||
		qd->planstate == NULL || ring->plan_cap == 0)
		return;
	rp.qd = qd;
	rp.es = NULL;
	if (!obs_guard_render(sample, "plan", render_plan_step, &rp))
		return;					/* no plan */
	es = rp.es;

	/* JSON: make the output one object, as auto_explain does */
	if (es->format == EXPLAIN_FORMAT_JSON && es->str->len > 2)
	{
		es->str->data[0] = '{';
		es->str->data[es->str->len - 1] = '}';
	}

	len = es->str->len;
	while (len > 0 && es->str->data[len - 1] == '\n')
		len--;
	parts->plan = es->str->data;
	parts->hdr.plan_format = (uint8) slow_plan;
	parts->hdr.plan_len = (uint32) pg_mbcliplen(es->str->data, len,
												(int) ring->plan_cap);
	parts->hdr.plan_truncated = (parts->hdr.plan_len < (uint32) len);
}

/* the error of a failed statement: SQLSTATE and message (error path) */
static void
gather_error(const ObsSample *sample, SlowParts *parts)
{
	MemoryContext oldcxt;
	ErrorData  *edata;

	if (!sample->failed)
		return;
	strlcpy(parts->hdr.sqlstate, unpack_sql_state(sample->sqlerrcode),
			sizeof(parts->hdr.sqlstate));

	/* CopyErrorData must not allocate in ErrorContext */
	oldcxt = MemoryContextSwitchTo(slow_cxt);
	edata = CopyErrorData();
	MemoryContextSwitchTo(oldcxt);
	if (edata->message == NULL)
		return;
	parts->error = edata->message;
	parts->hdr.error_len = (uint32) pg_mbcliplen(edata->message,
												 strlen(edata->message),
												 OBS_SLOW_ERROR_BYTES);
}

/* everything of the entry, in backend-local memory */
static void
gather(const ObsSample *sample, SlowParts *parts, TimestampTz now)
{
	SlowSlot   *h = &parts->hdr;
	int			len;

	memset(parts, 0, sizeof(*parts));
	h->ts = now;
	h->duration_ms = sample->duration_ms;
	h->queryid = sample->queryid;
	h->rows = sample->rows;
	h->dbid = sample->dbid;
	h->userid = sample->userid;
	h->pid = MyProcPid;
	h->encoding = GetDatabaseEncoding();
	h->nesting_level = sample->nesting_level;
	h->failed = sample->failed;
	h->nrels = Min(sample->nrels, OBS_MAX_SAMPLE_RELS);
	memcpy(h->relids, sample->relids, h->nrels * sizeof(Oid));
	h->rels_truncated = sample->rels_truncated;
	strlcpy(h->operation, sample->command_tag, sizeof(h->operation));
	if (application_name != NULL)
		strlcpy(h->application_name, application_name,
				sizeof(h->application_name));
	strlcpy(h->client_addr, client_address(), sizeof(h->client_addr));

	parts->query = statement_text(sample, &len);
	h->query_len = clip_chars(parts->query, len, slow_text_limit,
							  &h->query_truncated);

	gather_params(sample, parts,
				  slow_capture_params ||
				  (slow_log != OBS_SLOW_LOG_OFF && slow_log_params));
	gather_plan(sample, parts);
	gather_error(sample, parts);
}

/* ---------------------------------------------------------------------
 * The ring
 * ---------------------------------------------------------------------
 */

/*
 * Claim the slot of 'ticket': CAS its sequence from an older complete
 * value to 2*ticket+1.  Returns false when the slot belongs to a newer
 * ticket already, or when an older writer holds it for too long.
 */
static bool
claim_slot(SlowSlot *slot, uint64 ticket)
{
	uint64		busy = 2 * ticket + 1;
	int			spins = 0;
	int			sleeps = 0;

	for (;;)
	{
		uint64		cur = pg_atomic_read_u64(&slot->seq);

		if (cur >= busy)
			return false;		/* newer ticket wrapped past us */
		if (cur & 1)
		{
			/* an older ticket is being copied: short wait, then give up */
			if (spins < SLOW_CLAIM_SPINS)
			{
				spins++;
				pg_spin_delay();
			}
			else if (sleeps < SLOW_CLAIM_SLEEPS)
			{
				sleeps++;
				pg_usleep(SLOW_CLAIM_SLEEP_US);
			}
			else
				return false;
			continue;
		}
		if (pg_atomic_compare_exchange_u64(&slot->seq, &cur, busy))
			return true;
	}
}

/* copy the gathered entry into the ring (no allocation, no ERROR) */
static void
publish(const SlowParts *parts)
{
	uint64		ticket = pg_atomic_fetch_add_u64(&ring->next_ticket, 1);
	SlowSlot   *slot = obs_slow_slot(ring, ticket % ring->size);
	const Size	fixed = offsetof(SlowSlot, ts);
	uint64		total;
	uint64		pos;

	if (!claim_slot(slot, ticket))
	{
		pg_atomic_fetch_add_u64(&ring->lost, 1);
		return;
	}

	memcpy((char *) slot + fixed, (const char *) &parts->hdr + fixed,
		   sizeof(SlowSlot) - fixed);

	/*
	 * The variable bytes go to the arena: reserve them (one atomic add),
	 * then copy.  A reader that finds the arena moved more than its size
	 * past them knows they were overwritten.
	 */
	total = (uint64) parts->hdr.query_len + parts->hdr.params_len +
		parts->hdr.plan_len + parts->hdr.error_len;
	pos = pg_atomic_fetch_add_u64(&ring->arena_head, total);
	slot->var_pos = pos;
	slot->var_lost = false;
	arena_write(ring, pos, parts->query, parts->hdr.query_len);
	pos += parts->hdr.query_len;
	arena_write(ring, pos, parts->params, parts->hdr.params_len);
	pos += parts->hdr.params_len;
	arena_write(ring, pos, parts->plan, parts->hdr.plan_len);
	pos += parts->hdr.plan_len;
	arena_write(ring, pos, parts->error, parts->hdr.error_len);

	pg_write_barrier();
	pg_atomic_write_u64(&slot->seq, 2 * ticket + 2);
}

bool
obs_slow_ring_copy(const SlowRing *r, uint64 ticket, SlowSlot *dst)
{
	SlowSlot   *slot = obs_slow_slot(r, ticket % r->size);
	uint64		want = 2 * ticket + 2;
	const Size	fixed = offsetof(SlowSlot, ts);
	uint64		pos;
	uint64		total;

	if (pg_atomic_read_u64(&slot->seq) != want)
		return false;
	pg_read_barrier();

	memcpy((char *) dst + fixed, (char *) slot + fixed,
		   sizeof(SlowSlot) - fixed);
	/* lengths may be torn: clamp before copying, validate below */
	dst->query_len = Min(dst->query_len, r->query_cap);
	dst->params_len = Min(dst->params_len, r->params_cap);
	dst->plan_len = Min(dst->plan_len, r->plan_cap);
	dst->error_len = Min(dst->error_len, OBS_SLOW_ERROR_BYTES);
	dst->nrels = Max(0, Min(dst->nrels, OBS_MAX_SAMPLE_RELS));
	pos = dst->var_pos;
	total = (uint64) dst->query_len + dst->params_len + dst->plan_len + dst->error_len;
	if (arena_head_of(r) - pos <= r->arena_size)
	{
		arena_read(r, pos, obs_slow_query_buf(r, dst), dst->query_len);
		pos += dst->query_len;
		arena_read(r, pos, obs_slow_params_buf(r, dst), dst->params_len);
		pos += dst->params_len;
		arena_read(r, pos, obs_slow_plan_buf(r, dst), dst->plan_len);
		pos += dst->plan_len;
		arena_read(r, pos, obs_slow_error_buf(r, dst), dst->error_len);
	}

	pg_read_barrier();
	if (pg_atomic_read_u64(&slot->seq) != want)
		return false;
	/* reserved past this entry's start by more than the arena: overwritten */
	if (arena_head_of(r) - dst->var_pos > r->arena_size ||
		total > r->arena_size)
	{
		dst->var_lost = true;
		dst->query_len = dst->params_len = dst->plan_len = dst->error_len = 0;
	}
	return true;
}

void
obs_slow_ring_reset(SlowRing *r)
{
	pg_atomic_write_u64(&r->reset_ticket, pg_atomic_read_u64(&r->next_ticket));
	pg_atomic_write_u64(&r->lost, 0);
	pg_atomic_write_u64(&r->reset_time, (uint64) GetCurrentTimestamp());
}

/* ---------------------------------------------------------------------
 * Logging
 * ---------------------------------------------------------------------
 */

/* "public.t1,public.t2" (normal path) or "16384,16390" (error path) */
static void
append_tables(StringInfo buf, const SlowSlot *h, bool names)
{
	int			i;

	for (i = 0; i < h->nrels; i++)
	{
		char	   *relname = names ? get_rel_name(h->relids[i]) : NULL;

		if (i > 0)
			appendStringInfoChar(buf, ',');
		if (relname != NULL)
			appendStringInfoString(buf, quote_identifier(relname));
		else
			appendStringInfo(buf, "%u", h->relids[i]);
	}
	if (h->nrels == 0)
		appendStringInfoChar(buf, '-');
}

static void
log_slow(const SlowParts *parts)
{
	const SlowSlot *h = &parts->hdr;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "slow query: %.1f ms queryid=" INT64_FORMAT
					 " operation=%s rows=" UINT64_FORMAT " tables=",
					 h->duration_ms, (int64) h->queryid, h->operation,
					 h->rows);
	append_tables(&buf, h, !h->failed);
	if (h->failed)
		appendStringInfo(&buf, " sqlstate=%s", h->sqlstate);
	appendStringInfo(&buf, " statement: %.*s%s", (int) h->query_len,
					 parts->query ? parts->query : "",
					 h->query_truncated ? "..." : "");
	if (slow_log_params && h->params_state == OBS_SLOW_PARAMS_TEXT)
		appendStringInfo(&buf, " parameters: %.*s%s", (int) h->params_len,
						 parts->params, h->params_truncated ? "..." : "");

	if (h->failed)
		ereport(LOG_SERVER_ONLY,
				(errmsg_internal("%s", buf.data),
				 errhidestmt(true), errhidecontext(true)));
	else
		ereport(slow_log == OBS_SLOW_LOG_WARNING ? WARNING : LOG,
				(errmsg_internal("%s", buf.data),
				 errhidestmt(true)));
}

/* ---------------------------------------------------------------------
 * Recorder entry points
 * ---------------------------------------------------------------------
 */

/* the slow path: gather, publish, log; slow_cxt is reset afterwards */
static void
capture(const ObsSample *sample)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(slow_cxt);
	SlowParts	parts;

	gather(sample, &parts, GetCurrentTimestamp());
	publish(&parts);
	if (slow_log != OBS_SLOW_LOG_OFF)
		log_slow(&parts);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Consume one statement sample.  Under the threshold this is one
 * comparison.  On the normal path an ERROR while rendering (a type output
 * function, EXPLAIN) is caught by obs_guard_render() and logged: the
 * statement keeps its outcome.
 */
void
obs_slow_ring_record(const ObsSample *sample)
{
	if (likely(sample->duration_ms < slow_cutoff_ms))
		return;
	if (ring == NULL || slow_cxt == NULL || in_capture)
		return;

	/*
	 * The error path raises nothing here (no catalog access, no plan), so
	 * the PG_FINALLY below only matters on the normal path; it keeps the
	 * guard and the scratch context right either way.
	 */
	in_capture = true;
	PG_TRY();
	{
		capture(sample);
	}
	PG_FINALLY();
	{
		in_capture = false;
		MemoryContextReset(slow_cxt);
	}
	PG_END_TRY();
}

void
obs_slow_ring_info(ObsInfoSink *sink)
{
	uint64		next;
	uint64		base;
	uint64		captured;
	int64		entries = 0;
	uint32		i;

	if (ring == NULL)
		return;
	base = pg_atomic_read_u64(&ring->reset_ticket);
	next = pg_atomic_read_u64(&ring->next_ticket);
	captured = next - base;
	for (i = 0; i < ring->size; i++)
	{
		uint64		seq = pg_atomic_read_u64(&obs_slow_slot(ring, i)->seq);

		if (seq != 0 && (seq & 1) == 0 && seq / 2 - 1 >= base)
			entries++;
	}

	obs_info_add_int(sink, "slow_queries", "capacity", ring->size,
					 "slots of the slow-query ring (observa.slow_query_ring_size)");
	obs_info_add_int(sink, "slow_queries", "entries", entries,
					 "slow statements currently readable in the ring");
	obs_info_add_int(sink, "slow_queries", "slow_queries_captured",
					 (int64) captured,
					 "slow statements captured since the last reset");
	obs_info_add_int(sink, "slow_queries", "slow_queries_dropped",
					 Max((int64) captured - entries, 0),
					 "captured slow statements no longer in the ring (overwritten by newer ones, or abandoned by a writer)");
	obs_info_add_int(sink, "slow_queries", "writes_abandoned",
					 (int64) pg_atomic_read_u64(&ring->lost),
					 "writers that gave up their slot since the last reset (ring wrapped past them)");
	obs_info_add_int(sink, "slow_queries", "slot_bytes",
					 (int64) ring->slot_size,
					 "shared memory per slot (its fixed fields)");
	obs_info_add_int(sink, "slow_queries", "arena_bytes",
					 (int64) ring->arena_size,
					 "shared memory for the texts, parameters, plans and errors (observa.slow_query_memory)");
	obs_info_add_int(sink, "slow_queries", "arena_bytes_written",
					 (int64) pg_atomic_read_u64(&ring->arena_head),
					 "bytes written into it since the server started (older ones are overwritten first)");
	obs_info_add_time(sink, "slow_queries", "stats_reset",
					  (TimestampTz) pg_atomic_read_u64(&ring->reset_time),
				 "time of the last observa.reset_slow_queries() or server start");
}
