/*-------------------------------------------------------------------------
 *
 * sandbox.c
 *		Run code on behalf of another role, leaving the caller's session as
 *		it was.
 *
 * The index advisor parses and plans statements that other roles ran
 * (captured examples), and planning runs functions: constant folding
 * evaluates IMMUTABLE functions, selectivity estimation STABLE ones.  A
 * role that can get a statement captured can therefore run its own code
 * in the session of whoever asks for recommendations, typically a
 * superuser.  obs_sandbox_run(role, search_path, fn, arg) contains that
 * code the way PostgreSQL runs maintenance commands as a table's owner
 * (the rule of the CVE-2022-1552 fix), and a little more:
 *
 *	- fn runs in an internal subtransaction that is always rolled back:
 *	  rows, catalog changes, transaction-level advisory locks and queued
 *	  notifications it made are gone afterwards;
 *	- as 'role' with SECURITY_LOCAL_USERID_CHANGE (no SET ROLE or SET
 *	  SESSION AUTHORIZATION inside) and SECURITY_RESTRICTED_OPERATION (no
 *	  temporary objects, no LISTEN);
 *	- inside a GUC nest level that is always discarded (AtEOXact_GUC with
 *	  isCommit = false), and the search_path it is given is set only
 *	  inside that level, with pg_temp searched last: set_config(...,
 *	  false) from a folded function does not outlive the step; inside it
 *	  client_min_messages is 'error', so fn's NOTICEs and WARNINGs do not
 *	  reach the caller's client (its errors are caught);
 *	- every utility statement is refused while a sandbox is active
 *	  (obs_sandbox_refuse_utility, called from the ProcessUtility hook):
 *	  PREPARE, DEALLOCATE, LOAD and the like change session state that no
 *	  rollback restores;
 *	- session-level advisory locks are not transactional either: fn could
 *	  take one (and leave it in the caller's session) or release the
 *	  caller's (pg_advisory_unlock_all()).  So a session that holds any
 *	  advisory lock is refused before fn runs, and every session-level
 *	  advisory lock held after fn is released (they can only be fn's).
 *
 * What fn can still do is what 'role' can do in a session of its own
 * that is rolled back: read what the role may read, burn CPU until the
 * caller's statement_timeout, advance its sequences (nextval is not
 * transactional).  docs/security.md lists it.
 *
 * Memory: fn allocates in the caller's memory context, which survives the
 * rollback.  Locks taken inside are released by the rollback, so a caller
 * that keeps a parse tree across calls locks its relations again in each
 * one.
 *
 * No shared state: obs_sandbox_depth is backend-local.  Checking for the
 * session's advisory locks takes each lock partition's LWLock in shared
 * mode once per call (this backend's lock list is short).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "sandbox.h"

int			obs_sandbox_depth = 0;

/* does this backend hold (or wait for) an advisory lock? */
static bool
session_holds_advisory_locks(void)
{
	for (int i = 0; i < NUM_LOCK_PARTITIONS; i++)
	{
		LWLock	   *plock = LockHashPartitionLockByIndex(i);
		SHM_QUEUE  *head = &MyProc->myProcLocks[i];
		PROCLOCK   *pl;
		bool		found = false;

		LWLockAcquire(plock, LW_SHARED);
		pl = (PROCLOCK *) SHMQueueNext(head, head, offsetof(PROCLOCK, procLink));
		while (pl != NULL && !found)
		{
			if (pl->tag.myLock->tag.locktag_type == LOCKTAG_ADVISORY)
				found = true;
			pl = (PROCLOCK *) SHMQueueNext(head, &pl->procLink,
										   offsetof(PROCLOCK, procLink));
		}
		LWLockRelease(plock);
		if (found)
			return true;
	}
	return false;
}

/* the captured path with pg_temp last (an earlier explicit pg_temp wins) */
static char *
sandbox_search_path(const char *search_path)
{
	if (search_path[0] == '\0')
		return pstrdup("pg_temp");
	return psprintf("%s, pg_temp", search_path);
}

/* inside the subtransaction: become the role, run fn, discard GUCs */
static void
run_as(Oid role, int save_sec, const char *search_path, ObsSandboxFn fn,
	   void *arg)
{
	int			level;

	SetUserIdAndSecContext(role, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	level = NewGUCNestLevel();
	(void) set_config_option("client_min_messages", "error",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (search_path != NULL)
		(void) set_config_option("search_path", sandbox_search_path(search_path),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	fn(arg);
	AtEOXact_GUC(false, level);
}

bool
obs_sandbox_run(Oid role, const char *search_path, ObsSandboxFn fn, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			save_userid;
	int			save_sec;
	int			save_depth = obs_sandbox_depth;
	volatile bool ok = true;
	ErrorData  *volatile edata = NULL;

	if (!OidIsValid(role) ||
		!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		return false;
	if (session_holds_advisory_locks())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("observa does not re-plan captured statements in a session that holds advisory locks"),
				 errdetail("Functions of a captured statement could release or keep advisory locks, which a rollback does not undo."),
				 errhint("Release them with pg_advisory_unlock_all(), or call the function from another session.")));

	GetUserIdAndSecContext(&save_userid, &save_sec);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		obs_sandbox_depth++;
		run_as(role, save_sec, search_path, fn, arg);
		obs_sandbox_depth = save_depth;
		SetUserIdAndSecContext(save_userid, save_sec);
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		obs_sandbox_depth = save_depth;
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* also pops the GUC nest level and restores the user id */
		RollbackAndReleaseCurrentSubTransaction();
		SetUserIdAndSecContext(save_userid, save_sec);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;

	/* the session held none before: any held now are fn's */
	LockReleaseSession(USER_LOCKMETHOD);

	if (edata != NULL)
	{
		/* a cancel or statement_timeout stops the caller too */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("%s", edata->message)));
		ereport(DEBUG1,
				(errmsg_internal("observa sandbox: step skipped: %s",
								 edata->message)));
		FreeErrorData(edata);
	}
	return ok;
}

void
obs_sandbox_refuse_utility(Node *parsetree)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("observa does not run utility statements while re-planning a captured statement"),
			 errdetail("%s was refused: it could change the session of the role asking for recommendations.",
					   GetCommandTagName(CreateCommandTag(parsetree)))));
}
