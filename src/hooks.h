/*-------------------------------------------------------------------------
 *
 * hooks.h
 *		The executor and utility hooks (hooks.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_HOOKS_H
#define OBSERVA_HOOKS_H

/* install the hooks (from _PG_init) */
extern void obs_hooks_init(void);

#endif							/* OBSERVA_HOOKS_H */
