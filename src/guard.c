/*-------------------------------------------------------------------------
 *
 * guard.c
 *		Rendering steps of recorders that must not fail the user's
 *		statement.
 *
 * Recorders run at ExecutorEnd (or after ProcessUtility) of a statement
 * that succeeded.  Some of them render what the statement carried: the
 * slow-query ring its bind parameters (the types' output functions) and
 * its plan (EXPLAIN, which prints constants through output functions too),
 * the index advisor the parameters of its example.  An output function can
 * raise an ERROR, and an ERROR there would turn the user's successful
 * statement into a failed one.  No recorder may do that.
 *
 * obs_guard_render() runs such a step inside an internal subtransaction,
 * the way PL/pgSQL runs an exception block: an ERROR is caught, the
 * subtransaction rolled back (which releases whatever the step acquired),
 * and the error becomes one LOG line; the statement keeps its outcome.
 * The subtransaction is rolled back after a successful step too: rendering
 * changes nothing that needs committing.
 *
 * Catching an ERROR safely needs that subtransaction, and a subtransaction
 * costs a few microseconds and a little memory, so recorders call this
 * only on their slow path (a statement over observa.slow_query_threshold,
 * a statement the advisor sampled), never per statement.  Recorders that
 * render on every statement (tenant values) must instead avoid the calls
 * that can raise (tenant_stats.c).
 *
 * A subtransaction cannot be started everywhere a recorder runs: not
 * outside a running transaction, not in a failed transaction block, not
 * in parallel mode, and not right after a transaction-control statement
 * (BEGIN, SAVEPOINT, RELEASE, COMMIT and ROLLBACK leave the block in a
 * state that only the end of the statement resolves).  There the step is
 * not run at all and the caller records without it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "guard.h"

/* can a subtransaction be started for this sample, here and now? */
static bool
guard_possible(const ObsSample *sample)
{
	char		block;

	if (sample->failed || !IsTransactionState() || IsInParallelMode())
		return false;
	block = TransactionBlockStatusCode();
	if (block != 'T' && block != 'I')
		return false;			/* a failed transaction block */
	if (sample->pstmt != NULL && sample->pstmt->utilityStmt != NULL &&
		IsA(sample->pstmt->utilityStmt, TransactionStmt))
		return false;
	return true;
}

bool
obs_guard_render(const ObsSample *sample, const char *what, ObsGuardFn fn,
				 void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	if (!guard_possible(sample))
		return false;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ereport(LOG,
				(errmsg("observa could not render the %s of a statement: %s",
						what, edata->message),
				 errdetail("The statement kept its outcome; observa recorded it without them."),
				 errhidestmt(true)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}
