/*-------------------------------------------------------------------------
 *
 * run.c
 *		Index advisor: the helpers every file of a recommend_indexes() run
 *		calls (recommend.h): the guard that evaluates a captured statement,
 *		the run's table lookup, its context for throw-away plans and the
 *		fake OIDs of hypothetical indexes.
 *
 * They sit below the files that do the run's steps (colstats.c,
 * candidates.c, distribution.c, select.c, writes.c) and recommend.c,
 * which drives them, so that no two of those call each other in a circle
 * (test 003).  Everything here runs in the calling backend on its own
 * memory; no shared memory, no locks.  The guard is sandbox.c's: the
 * statement's role, restricted, GUCs discarded, subtransaction rolled
 * back; a step that fails returns false.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "recommend.h"
#include "../sandbox.h"

#define ADV_FAKE_OID_BASE	((Oid) 4000000000U)

/* the run's context for plans that are thrown away (run_recommend) */
MemoryContext adv_plan_cxt = NULL;

/*
 * Run one step that evaluates a captured statement (parse analysis,
 * planning, constant folding, hypothetical costing) in the sandbox of
 * sandbox.c: as the role whose example it is, with the search_path it
 * was captured with, in a subtransaction that is rolled back.  False (the
 * error at DEBUG1) when it failed or the role is gone.
 */
bool
adv_guarded(Stmt *s, adv_guarded_fn fn, void *arg)
{
	return obs_sandbox_run(s->q.userid, s->search_path, fn, arg);
}

/* the run's entry for a table, or NULL */
TableInfo *
adv_table(Ctx *ctx, Oid relid)
{
	for (int i = 0; i < ctx->ntables; i++)
		if (ctx->tables[i].relid == relid)
			return &ctx->tables[i];
	return NULL;
}

/* the next fake index oid */
void
adv_number_candidate(Ctx *ctx, AdvCandidate *c)
{
	c->fakeoid = ADV_FAKE_OID_BASE + ctx->next_fake++;
}
