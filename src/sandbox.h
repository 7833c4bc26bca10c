/*-------------------------------------------------------------------------
 *
 * sandbox.h
 *		Run code on behalf of another role, leaving the caller's session as
 *		it was.  See sandbox.c and docs/security.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_SANDBOX_H
#define OBSERVA_SANDBOX_H

#include "postgres.h"

#include "nodes/nodes.h"

typedef void (*ObsSandboxFn) (void *arg);

/*
 * Run fn(arg) as 'role', in the sandbox described in sandbox.c, with
 * search_path (NULL or "": the caller's) set only inside it.  Returns
 * true when fn returned; false when it raised an error (reported at
 * DEBUG1; a query cancel is raised again) or the role no longer exists.
 * fn allocates in the caller's memory context.  Raises an ERROR before
 * running anything when this session holds advisory locks.
 */
extern bool obs_sandbox_run(Oid role, const char *search_path,
							ObsSandboxFn fn, void *arg);

/* depth of nested obs_sandbox_run() calls in this backend (0: outside) */
extern int	obs_sandbox_depth;

/*
 * Called by the ProcessUtility hook when obs_sandbox_depth > 0: refuses
 * the utility statement with an ERROR.
 */
extern void obs_sandbox_refuse_utility(Node *parsetree);

#endif							/* OBSERVA_SANDBOX_H */
