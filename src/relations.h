/*-------------------------------------------------------------------------
 *
 * relations.h
 *		Operation and relation set of a statement (see relations.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OBSERVA_RELATIONS_H
#define OBSERVA_RELATIONS_H

#include "sample.h"

extern void obs_sample_from_plan(ObsSample *sample, QueryDesc *queryDesc);
extern void obs_sample_from_utility(ObsSample *sample, PlannedStmt *pstmt);

#endif							/* OBSERVA_RELATIONS_H */
