/*-------------------------------------------------------------------------
 *
 * select.c
 *		Index advisor: choose the set of indexes to recommend.
 *
 * 1. Greedy rounds.  A candidate is costed with the statements that can
 *    use it (adv_relevant), each at its tenant ends (distribution.c),
 *    with the indexes chosen so far plus the candidate.  It helps a
 *    statement at an end when the plan uses it and the cost drops by at
 *    least observa.advisor_min_improvement percent.  It is credited with
 *    the statement only when it helps at every end where some remaining
 *    candidate helps: good for small tenants and bad for the heaviest, or
 *    the reverse, is not good enough.  Benefit: estimated
 *    executions x mean cost drop over the ends; the write cost
 *    (writes.c) is subtracted; the best benefit per byte of index wins
 *    the round.  Scores within ADV_SCORE_TIE of each other are a tie
 *    (planner costs move a little with where the workload's UPDATEs put
 *    tuple versions), and a tie goes to the candidate first in content
 *    order (cand_order: table name, keys, directions, predicate), not to
 *    the one first in the list, whose order follows the queryids and so
 *    the table OIDs: the same workload in another database gives the
 *    same choice.
 * 2. Merging on write-heavy tables (writes.c says which).  Two chosen
 *    indexes of such a table are replaced by one composite (the first's
 *    keys, then the second's; see adv_merge_keys) when every statement
 *    either serves still costs at most observa.advisor_merge_tolerance
 *    percent more at every end, the key-order rules hold, and the
 *    composite is smaller than the two.  Repeated while one applies.
 * 3. Redundancy: a chosen index whose statements all cost at most
 *    observa.advisor_min_improvement percent more without it is dropped.
 * 4. Accounting: each statement is planned once with the final set; it is
 *    credited to every chosen index its plans use.
 *
 * Every plan runs through the statement's guard (run.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_am.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "recommend.h"

/* greedy scores within this fraction of the best are a tie (cand_order) */
#define ADV_SCORE_TIE	0.01

/* one costing of a candidate with one statement (first round) */
typedef struct Trial
{
	int			si;
	bool		planned[ADV_MAX_ENDS];
	double		cost[ADV_MAX_ENDS];
	bool		used[ADV_MAX_ENDS];
} Trial;

typedef struct EndsArg
{
	Stmt	   *s;
	List	   *hypos;
	Oid			must_use;
	int			first;
	int			last;
} EndsArg;

static void
ends_fn(void *arg)
{
	EndsArg    *a = (EndsArg *) arg;

	adv_plan_ends(a->s, a->hypos, a->must_use, a->first, a->last);
}

/* plan s at its ends first..last with hypos; false when planning failed */
static bool
try_ends(Stmt *s, List *hypos, Oid must_use, int first, int last)
{
	EndsArg		a;

	a.s = s;
	a.hypos = hypos;
	a.must_use = must_use;
	a.first = first;
	a.last = Min(last, s->nends - 1);
	return adv_guarded(s, ends_fn, &a);
}

/* plan s at all its ends with hypos */
static bool
try_stmt(Stmt *s, List *hypos, Oid must_use)
{
	return try_ends(s, hypos, must_use, 0, ADV_MAX_ENDS - 1);
}

/*
 * Hypothetical indexes chosen so far (on every table: a join's best plan
 * may need an index on each side), less 'without' and 'without2', plus c.
 */
List *
adv_hypos_with(Ctx *ctx, AdvCandidate *c, AdvCandidate *without,
			   AdvCandidate *without2)
{
	List	   *l = NIL;
	ListCell   *lc;

	foreach(lc, ctx->chosen)
	{
		Choice	   *ch = lfirst(lc);

		if (ch->c != without && ch->c != without2 && !ch->c->dropped)
			l = lappend(l, ch->c);
	}
	if (c)
		l = lappend(l, c);
	return l;
}

static bool
stmt_scans(Stmt *s, Oid relid)
{
	for (int i = 0; i < s->q.nscans; i++)
		if (s->q.scans[i].relid == relid)
			return true;
	return false;
}

/* the statements to cost c with */
static bool
stmt_for(Stmt *s, int si, AdvCandidate *c)
{
	return s->ok && stmt_scans(s, c->relid) &&
		(list_member_int(c->query_idx, si) || adv_relevant(s, c));
}

/*
 * The statements that can use c (its own, and those adv_relevant says),
 * from the statements that scan its table.
 */
static List *
relevant_stmts(Ctx *ctx, AdvCandidate *c)
{
	TableInfo  *t = adv_table(ctx, c->relid);
	List	   *l = NIL;
	ListCell   *lc;

	if (t == NULL)
		return NIL;
	foreach(lc, t->stmts)
	{
		int			i = lfirst_int(lc);

		if (stmt_for(&ctx->stmts[i], i, c))
			l = lappend_int(l, i);
	}
	return l;
}

/* does the trial help s at end e? */
static bool
helps_at(Stmt *s, int e, double cost, bool used)
{
	double		factor = 1.0 - adv_min_improvement / 100.0;

	return used && cost < s->ends[e].cur_cost * factor;
}

/*
 * Credit for the trial: it helps at some end, and at every end where a
 * candidate can help (helpable).  Returns the mean cost drop, or -1.
 */
static double
credit(Stmt *s, const Trial *tr)
{
	bool		any = false;
	double		drop = 0;

	for (int e = 0; e < s->nends; e++)
	{
		if (tr->planned[e] && helps_at(s, e, tr->cost[e], tr->used[e]))
			any = true;
		else if (s->ends[e].helpable)
			return -1;
		if (tr->planned[e])
			drop += Max(s->ends[e].cur_cost - tr->cost[e], 0);
	}
	return any ? drop / s->nends : -1;
}

/* plan one trial's ends first..last; false if planning failed */
static bool
plan_trial(Ctx *ctx, AdvCandidate *c, List *hypos, Trial *tr, int first, int last)
{
	Stmt	   *s = &ctx->stmts[tr->si];

	if (!try_ends(s, hypos, c->fakeoid, first, last))
		return false;
	for (int e = first; e <= Min(last, s->nends - 1); e++)
	{
		tr->planned[e] = true;
		tr->cost[e] = s->try_cost[e];
		tr->used[e] = s->try_used[e];
	}
	return true;
}

/* first round: c with its statements at their first end (the heaviest) */
static List *
first_trials(Ctx *ctx, AdvCandidate *c)
{
	List	   *hypos = adv_hypos_with(ctx, c, NULL, NULL);
	List	   *trials = NIL;
	ListCell   *lc;

	foreach(lc, relevant_stmts(ctx, c))
	{
		Trial	   *tr = palloc0(sizeof(Trial));

		tr->si = lfirst_int(lc);
		if (plan_trial(ctx, c, hypos, tr, 0, 0))
			trials = lappend(trials, tr);
	}
	return trials;
}

/* mark the statement ends any trial helps at, for ends first..last */
static void
mark_helpable(Ctx *ctx, List **trials, int ncands, int first, int last)
{
	for (int k = 0; k < ncands; k++)
	{
		ListCell   *lc;

		foreach(lc, trials[k])
		{
			Trial	   *tr = lfirst(lc);
			Stmt	   *s = &ctx->stmts[tr->si];

			for (int e = first; e <= Min(last, s->nends - 1); e++)
				if (tr->planned[e] && helps_at(s, e, tr->cost[e], tr->used[e]))
					s->ends[e].helpable = true;
		}
	}
}

/*
 * First round, the other ends: a trial that fails at the first end where
 * some candidate helps can never be credited, so its other ends are not
 * planned.
 */
static void
other_ends(Ctx *ctx, List **trials, int ncands)
{
	ListCell   *lc;

	mark_helpable(ctx, trials, ncands, 0, 0);
	foreach(lc, ctx->cands)
	{
		AdvCandidate *c = lfirst(lc);
		List	   *hypos = adv_hypos_with(ctx, c, NULL, NULL);
		ListCell   *lt;

		foreach(lt, trials[foreach_current_index(lc)])
		{
			Trial	   *tr = lfirst(lt);
			Stmt	   *s = &ctx->stmts[tr->si];

			if (s->nends > 1 &&
				(helps_at(s, 0, tr->cost[0], tr->used[0]) || !s->ends[0].helpable))
				(void) plan_trial(ctx, c, hypos, tr, 1, ADV_MAX_ENDS - 1);
		}
	}
	mark_helpable(ctx, trials, ncands, 1, ADV_MAX_ENDS - 1);
}

/*
 * Later rounds: plan again, at every end, the trials of the statements
 * whose cost changed (the first round may have skipped some ends).
 */
static void
retrial(Ctx *ctx, AdvCandidate *c, List *trials, Bitmapset *changed)
{
	List	   *hypos = NIL;
	ListCell   *lc;

	foreach(lc, trials)
	{
		Trial	   *tr = lfirst(lc);
		Stmt	   *s = &ctx->stmts[tr->si];

		if (!bms_is_member(tr->si, changed))
			continue;
		if (hypos == NIL)
			hypos = adv_hypos_with(ctx, c, NULL, NULL);
		(void) plan_trial(ctx, c, hypos, tr, 0, s->nends - 1);
	}
}

/*
 * After a choice: which ends of the statements whose cost changed can a
 * remaining candidate still help?  (An end the chosen set already serves
 * as well as any candidate could no longer holds a candidate back.)
 */
static void
refresh_helpable(Ctx *ctx, List **trials, Bitmapset *changed)
{
	ListCell   *lc;
	int			i = -1;

	while ((i = bms_next_member(changed, i)) >= 0)
		for (int e = 0; e < ctx->stmts[i].nends; e++)
			ctx->stmts[i].ends[e].helpable = false;
	foreach(lc, ctx->cands)
	{
		AdvCandidate *c = lfirst(lc);
		ListCell   *lt;

		if (c->chosen || c->dropped)
			continue;
		foreach(lt, trials[foreach_current_index(lc)])
		{
			Trial	   *tr = lfirst(lt);
			Stmt	   *s = &ctx->stmts[tr->si];

			if (!bms_is_member(tr->si, changed))
				continue;
			for (int e = 0; e < s->nends; e++)
				if (tr->planned[e] && helps_at(s, e, tr->cost[e], tr->used[e]))
					s->ends[e].helpable = true;
		}
	}
}

/* benefit of c from its trials; fills ch (statements, costs) when given */
static double
benefit_of(Ctx *ctx, List *trials, Choice *ch)
{
	double		benefit = 0;
	ListCell   *lc;

	foreach(lc, trials)
	{
		Trial	   *tr = lfirst(lc);
		Stmt	   *s = &ctx->stmts[tr->si];
		double		drop = credit(s, tr);

		if (drop < 0)
			continue;
		benefit += s->q.calls * drop;
		if (ch)
			ch->stmt_idx = lappend_int(ch->stmt_idx, tr->si);
	}
	return benefit;
}

/* does some statement scan both tables? */
static bool
shares_statement(Ctx *ctx, Oid a, Oid b)
{
	TableInfo  *t = adv_table(ctx, a);
	ListCell   *lc;

	if (a == b)
		return true;
	if (t == NULL)
		return false;
	foreach(lc, t->stmts)
		if (ctx->stmts[lfirst_int(lc)].ok &&
			stmt_scans(&ctx->stmts[lfirst_int(lc)], b))
			return true;
	return false;
}

/*
 * The statements that can use c now cost what they cost with the set;
 * returns those whose cost changed.
 */
static Bitmapset *
recost(Ctx *ctx, AdvCandidate *c)
{
	List	   *hypos = adv_hypos_with(ctx, NULL, NULL, NULL);
	Bitmapset  *changed = NULL;
	ListCell   *lc;

	foreach(lc, relevant_stmts(ctx, c))
	{
		int			i = lfirst_int(lc);
		Stmt	   *s = &ctx->stmts[i];

		if (!try_stmt(s, hypos, InvalidOid))
			continue;
		for (int e = 0; e < s->nends; e++)
			if (s->try_cost[e] < s->ends[e].cur_cost)
			{
				s->ends[e].cur_cost = s->try_cost[e];
				changed = bms_add_member(changed, i);
			}
	}
	return changed;
}

static Choice *
add_choice(Ctx *ctx, AdvCandidate *c, List *stmt_idx, int merged)
{
	Choice	   *ch = palloc0(sizeof(Choice));

	ch->c = c;
	ch->stmt_idx = stmt_idx;
	ch->merged = merged;
	c->chosen = true;
	ctx->chosen = lappend(ctx->chosen, ch);
	return ch;
}

/*
 * Content order of two candidates, the same in every database: table
 * name, then number of keys, then each key's column (an expression after
 * the columns, by its text), direction, access method, then the
 * predicate's text.  Negative when a comes first.
 */
static int
cand_order(AdvCandidate *a, AdvCandidate *b)
{
	char	   *na = get_rel_name(a->relid);
	char	   *nb = get_rel_name(b->relid);
	int			r;

	if (na && nb && (r = strcmp(na, nb)) != 0)
		return r;
	if (a->ncols != b->ncols)
		return a->ncols < b->ncols ? -1 : 1;
	for (int i = 0; i < a->ncols; i++)
	{
		if (a->attnums[i] != b->attnums[i])
			return (a->attnums[i] == 0) ? 1 : (b->attnums[i] == 0) ? -1 :
				(a->attnums[i] < b->attnums[i] ? -1 : 1);
		if (a->attnums[i] == 0 &&
			(r = strcmp(nodeToString(a->exprs[i]), nodeToString(b->exprs[i]))) != 0)
			return r;
		if (a->desc[i] != b->desc[i])
			return a->desc[i] ? 1 : -1;
	}
	if (a->amoid != b->amoid)
		return a->amoid < b->amoid ? -1 : 1;
	if ((a->pred == NIL) != (b->pred == NIL))
		return a->pred == NIL ? -1 : 1;
	return strcmp(nodeToString(a->pred), nodeToString(b->pred));
}

/* does score (of c) win over the best so far? */
static bool
beats(AdvCandidate *c, double score, AdvCandidate *best, double best_score)
{
	if (best == NULL || score > best_score * (1 + ADV_SCORE_TIE))
		return true;
	return score >= best_score * (1 - ADV_SCORE_TIE) && cand_order(c, best) < 0;
}

/* 1. greedy rounds */
static void
greedy(Ctx *ctx)
{
	int			ncands = list_length(ctx->cands);
	List	  **trials = palloc0(sizeof(List *) * Max(ncands, 1));
	Oid			last_relid = InvalidOid;
	Bitmapset  *changed = NULL;
	ListCell   *lc;

	foreach(lc, ctx->cands)
	{
		AdvCandidate *c = lfirst(lc);

		if (!c->dropped)
			trials[foreach_current_index(lc)] = first_trials(ctx, c);
	}
	other_ends(ctx, trials, ncands);

	for (int round = 0; round < ADV_MAX_ROUNDS; round++)
	{
		AdvCandidate *best = NULL;
		int			best_k = -1;
		double		best_score = 0;

		/* only tables sharing a statement with the last choice changed */
		if (round > 0)
		{
			foreach(lc, ctx->cands)
			{
				AdvCandidate *c = lfirst(lc);

				if (!c->chosen && !c->dropped &&
					shares_statement(ctx, c->relid, last_relid))
					retrial(ctx, c, trials[foreach_current_index(lc)], changed);
			}
			refresh_helpable(ctx, trials, changed);
		}
		foreach(lc, ctx->cands)
		{
			AdvCandidate *c = lfirst(lc);
			int			k = foreach_current_index(lc);
			double		net;
			double		score;

			if (c->chosen || c->dropped)
				continue;
			if (round == 0 || shares_statement(ctx, c->relid, last_relid))
			{
				c->benefit = benefit_of(ctx, trials[k], NULL);
				c->penalty = adv_write_penalty(ctx, c);
			}
			net = c->benefit - c->penalty;
			ereport(DEBUG2,
					(errmsg_internal("observa advisor: round %d candidate %u on %u: %d keys, benefit %.1f, penalty %.1f, pages %.0f",
									 round, c->fakeoid, c->relid, c->ncols,
									 c->benefit, c->penalty, c->pages)));
			if (c->benefit <= 0 || net <= 0)
				continue;
			score = net / (c->pages * BLCKSZ);
			if (beats(c, score, best, best_score))
			{
				best = c;
				best_k = k;
				best_score = score;
			}
		}
		if (best == NULL)
			break;
		{
			Choice	   *ch = add_choice(ctx, best, NIL, 1);

			(void) benefit_of(ctx, trials[best_k], ch);
		}
		last_relid = best->relid;
		changed = recost(ctx, best);
	}
}

/* the statements either choice may serve */
static List *
served_by(Ctx *ctx, Choice *a, Choice *b)
{
	return list_concat_unique_int(relevant_stmts(ctx, a->c),
								  relevant_stmts(ctx, b->c));
}

/* do the statements stay within 'slack' of their current cost with hypos? */
static bool
within(Ctx *ctx, List *stmt_idx, List *hypos, double slack, bool update)
{
	ListCell   *lc;

	foreach(lc, stmt_idx)
	{
		Stmt	   *s = &ctx->stmts[lfirst_int(lc)];

		if (!try_stmt(s, hypos, InvalidOid))
			return false;
		for (int e = 0; e < s->nends; e++)
			if (s->try_cost[e] > s->ends[e].cur_cost * slack)
				return false;
	}
	if (update)
		foreach(lc, stmt_idx)
	{
		Stmt	   *s = &ctx->stmts[lfirst_int(lc)];

		if (try_stmt(s, hypos, InvalidOid))
			for (int e = 0; e < s->nends; e++)
				s->ends[e].cur_cost = s->try_cost[e];
	}
	return true;
}

/* a merge found on a table: replace a and b by m */
typedef struct Merge
{
	Choice	   *a;
	Choice	   *b;
	AdvCandidate *m;
	double		saving;
} Merge;

/* the best merge of two chosen indexes of table relid, or false */
static bool
best_merge(Ctx *ctx, Oid relid, Merge *out)
{
	double		slack = 1.0 + adv_merge_tolerance / 100.0;
	ListCell   *la,
			   *lb;

	out->saving = 0;
	foreach(la, ctx->chosen)
	{
		Choice	   *a = lfirst(la);

		if (a->c->dropped || a->c->relid != relid || a->c->amoid != BTREE_AM_OID)
			continue;
		foreach(lb, ctx->chosen)
		{
			Choice	   *b = lfirst(lb);
			AdvCandidate *m;
			List	   *served;
			double		saving;

			if (b == a || b->c->dropped || b->c->relid != relid ||
				b->c->amoid != BTREE_AM_OID)
				continue;
			m = adv_merge_keys(a->c, b->c);
			if (m == NULL)
				continue;
			served = served_by(ctx, a, b);
			if (served == NIL || !adv_key_order_ok(ctx, m, served))
				continue;
			adv_size_candidate(ctx, m, &ctx->stmts[linitial_int(served)]);
			saving = (a->c->pages + b->c->pages - m->pages) * BLCKSZ;
			if (saving <= out->saving)
				continue;
			adv_number_candidate(ctx, m);
			if (!within(ctx, served, adv_hypos_with(ctx, m, a->c, b->c), slack, false))
				continue;
			out->a = a;
			out->b = b;
			out->m = m;
			out->saving = saving;
		}
	}
	return out->saving > 0;
}

/* 2. merging on write-heavy tables */
static void
merge_heavy(Ctx *ctx)
{
	if (adv_merge_tolerance <= 0)
		return;
	for (int t = 0; t < ctx->ntables; t++)
	{
		Merge		mg;

		if (!ctx->tables[t].write_heavy)
			continue;
		while (best_merge(ctx, ctx->tables[t].relid, &mg))
		{
			List	   *served = served_by(ctx, mg.a, mg.b);

			mg.a->c->dropped = true;
			mg.b->c->dropped = true;
			(void) add_choice(ctx, mg.m, served, mg.a->merged + mg.b->merged);
			(void) within(ctx, served, adv_hypos_with(ctx, NULL, NULL, NULL),
						  1e300, true);
		}
	}
}

/* 3. drop chosen indexes the others make redundant */
static void
drop_redundant(Ctx *ctx)
{
	double		slack = 1.0 + adv_min_improvement / 100.0;
	ListCell   *lc;

	foreach(lc, ctx->chosen)
	{
		Choice	   *a = lfirst(lc);
		List	   *hypos;

		if (a->c->dropped)
			continue;
		hypos = adv_hypos_with(ctx, NULL, a->c, NULL);
		if (hypos == NIL)
			continue;
		if (within(ctx, relevant_stmts(ctx, a->c), hypos, slack, true))
			a->c->dropped = true;
	}
}

/*
 * Is c a fit index for s as the key-order rule has it: led by the table's
 * tenant key, or s does not refer to that key?  (An index on a table's
 * time column alone may serve the heaviest tenant's statement, but it is
 * recommended for the statements that do not filter by tenant.)
 */
static bool
leads_for(Ctx *ctx, AdvCandidate *c, Stmt *s)
{
	TableInfo  *t = adv_table(ctx, c->relid);
	ListCell   *lc;

	if (t == NULL || t->tenant_att == InvalidAttrNumber ||
		c->attnums[0] == t->tenant_att || c->amoid != BTREE_AM_OID)
		return true;			/* GIN leads with it only through btree_gin */
	foreach(lc, s->refs)
	{
		StmtRefs   *r = lfirst(lc);

		if (r->relid == c->relid && bms_is_member(t->tenant_att, r->cols))
			return false;
	}
	return true;
}

typedef struct AccountArg
{
	Ctx		   *ctx;
	Stmt	   *s;
	List	   *hypos;
	bool	   *used;			/* per chosen choice */
	double		cost;			/* mean over the ends */
} AccountArg;

static void
account_fn(void *arg)
{
	AccountArg *a = (AccountArg *) arg;
	Stmt	   *s = a->s;

	a->cost = 0;
	for (int e = 0; e < s->nends; e++)
	{
		MemoryContext old = MemoryContextSwitchTo(adv_plan_cxt);
		PlannedStmt *p = adv_example_plan(&s->ends[e].ex, a->hypos);
		ListCell   *lc;

		MemoryContextSwitchTo(old);
		a->cost += p->planTree->total_cost / s->nends;
		foreach(lc, a->ctx->chosen)
		{
			Choice	   *ch = lfirst(lc);

			if (!ch->c->dropped && stmt_scans(s, ch->c->relid) &&
				adv_plan_uses(p, ch->c->fakeoid))
				a->used[foreach_current_index(lc)] = true;
		}
		MemoryContextReset(adv_plan_cxt);
	}
}

/*
 * 4. each statement that can use a chosen index (stmt_for) credited to the
 * chosen indexes its plans use
 */
static void
account(Ctx *ctx)
{
	List	   *hypos = adv_hypos_with(ctx, NULL, NULL, NULL);
	int			n = list_length(ctx->chosen);
	ListCell   *lc;

	foreach(lc, ctx->chosen)
	{
		Choice	   *ch = lfirst(lc);

		ch->stmt_idx = NIL;
		ch->cost_before = ch->cost_after = ch->calls = 0;
	}
	if (hypos == NIL)
		return;
	for (int i = 0; i < ctx->nstmts; i++)
	{
		Stmt	   *s = &ctx->stmts[i];
		AccountArg	a;
		double		before = 0;
		bool		can_use = false;

		foreach(lc, ctx->chosen)
		{
			Choice	   *ch = lfirst(lc);

			can_use |= (!ch->c->dropped && stmt_for(s, i, ch->c));
		}
		if (!can_use)
			continue;
		a.ctx = ctx;
		a.s = s;
		a.hypos = hypos;
		a.used = palloc0(sizeof(bool) * Max(n, 1));
		if (!adv_guarded(s, account_fn, &a))
			continue;
		for (int e = 0; e < s->nends; e++)
			before += s->ends[e].base_cost / s->nends;
		foreach(lc, ctx->chosen)
		{
			Choice	   *ch = lfirst(lc);

			if (!a.used[foreach_current_index(lc)] || !leads_for(ctx, ch->c, s))
				continue;
			ch->stmt_idx = lappend_int(ch->stmt_idx, i);
			ch->cost_before += before;
			ch->cost_after += a.cost;
			ch->calls += s->q.calls;
		}
	}
	/* an index no plan uses any longer is not recommended */
	foreach(lc, ctx->chosen)
	{
		Choice	   *ch = lfirst(lc);

		if (ch->stmt_idx == NIL)
			ch->c->dropped = true;
	}
}

/* the chosen set: ctx->chosen (entries whose candidate is dropped do not count) */
void
adv_choose(Ctx *ctx)
{
	greedy(ctx);
	merge_heavy(ctx);
	drop_redundant(ctx);
	account(ctx);
}
