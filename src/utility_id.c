/*-------------------------------------------------------------------------
 *
 * utility_id.c
 *		observa's query id and text for utility statements that differ only
 *		in a name or a constant.  See utility_id.h and
 *		docs/statement_stats.md.
 *
 * Grouping (each line is one entry, shown with the text on the right):
 *	  SAVEPOINT x / RELEASE [SAVEPOINT] x / ROLLBACK [WORK] TO [SAVEPOINT] x
 *		  "SAVEPOINT $1", "RELEASE $1", "ROLLBACK TO $1" (as PostgreSQL 17)
 *	  PREPARE TRANSACTION 'g' / COMMIT PREPARED 'g' / ROLLBACK PREPARED 'g'
 *		  "PREPARE TRANSACTION $1", ... (as PostgreSQL 17)
 *	  CLOSE c			  "CLOSE $1" (CLOSE ALL keeps core's id)
 *	  DEALLOCATE [PREPARE] p  "DEALLOCATE $1"; DEALLOCATE [PREPARE] ALL:
 *		  "DEALLOCATE ALL" (as PostgreSQL 17)
 *	  FETCH / MOVE		  by direction: "FETCH FORWARD $1 FROM $2",
 *		  "FETCH FORWARD ALL FROM $1", "MOVE BACKWARD $1 FROM $2", ...
 *		  (a count and the cursor name are constants; FETCH NEXT c is
 *		  FETCH FORWARD 1 FROM c)
 *	  SET [SESSION | LOCAL] name = v [, ...]
 *		  "SET name = $1" per variable, LOCAL and number of values
 *	  DECLARE c ... CURSOR ... FOR query
 *		  the text with the cursor name cut out, hashed as PostgreSQL 15
 *		  hashes a utility statement's text; shown with the name as $n
 *		  (n after the highest parameter number the text holds)
 *
 * Everything else keeps core's id.  An id is the 64-bit hash of the
 * group's canonical text (or of the DECLARE text's pieces) with a seed of
 * observa's own, so it never equals core's id for the same statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "compat.h"				/* queryjumble.h, wherever it lives */

#include "utility_id.h"

/* seed of observa's utility ids ("obsutil") */
#define OBS_UTILITY_SEED UINT64CONST(0x6f62737574696c)

static const char *const fetch_texts[2][4] = {
	{"FETCH FORWARD $1 FROM $2", "FETCH BACKWARD $1 FROM $2",
	"FETCH ABSOLUTE $1 FROM $2", "FETCH RELATIVE $1 FROM $2"},
	{"MOVE FORWARD $1 FROM $2", "MOVE BACKWARD $1 FROM $2",
	"MOVE ABSOLUTE $1 FROM $2", "MOVE RELATIVE $1 FROM $2"}
};
static const char *const fetch_all_texts[2][2] = {
	{"FETCH FORWARD ALL FROM $1", "FETCH BACKWARD ALL FROM $1"},
	{"MOVE FORWARD ALL FROM $1", "MOVE BACKWARD ALL FROM $1"}
};

static inline uint64
nonzero(uint64 id)
{
	return id != UINT64CONST(0) ? id : UINT64CONST(1);
}

static inline uint64
hash_text(const char *s, int len, uint64 seed)
{
	return hash_bytes_extended((const unsigned char *) s, len, seed);
}

static const char *
transaction_text(TransactionStmt *stmt)
{
	switch (stmt->kind)
	{
		case TRANS_STMT_SAVEPOINT:
			return "SAVEPOINT $1";
		case TRANS_STMT_RELEASE:
			return "RELEASE $1";
		case TRANS_STMT_ROLLBACK_TO:
			return "ROLLBACK TO $1";
		case TRANS_STMT_PREPARE:
			return "PREPARE TRANSACTION $1";
		case TRANS_STMT_COMMIT_PREPARED:
			return "COMMIT PREPARED $1";
		case TRANS_STMT_ROLLBACK_PREPARED:
			return "ROLLBACK PREPARED $1";
		default:
			return NULL;
	}
}

static const char *
fetch_text(FetchStmt *stmt)
{
	int			move = stmt->ismove ? 1 : 0;

	if ((int) stmt->direction < 0 || (int) stmt->direction > FETCH_RELATIVE)
		return NULL;
	if (stmt->howMany == FETCH_ALL &&
		(stmt->direction == FETCH_FORWARD || stmt->direction == FETCH_BACKWARD))
		return fetch_all_texts[move][stmt->direction];
	return fetch_texts[move][stmt->direction];
}

/*
 * The canonical text of a statement whose group it alone decides, or NULL.
 */
static const char *
fixed_text(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
			return transaction_text((TransactionStmt *) stmt);
		case T_ClosePortalStmt:
			return ((ClosePortalStmt *) stmt)->portalname ? "CLOSE $1" : NULL;
		case T_DeallocateStmt:
			return ((DeallocateStmt *) stmt)->name ? "DEALLOCATE $1" :
				"DEALLOCATE ALL";
		case T_FetchStmt:
			return fetch_text((FetchStmt *) stmt);
		default:
			return NULL;
	}
}

/* SET name = value[, ...]: the statements grouped by name */
static inline bool
is_set_value(Node *stmt)
{
	return IsA(stmt, VariableSetStmt) &&
		((VariableSetStmt *) stmt)->kind == VAR_SET_VALUE &&
		((VariableSetStmt *) stmt)->name != NULL;
}

static uint64
set_queryid(VariableSetStmt *stmt)
{
	uint64		h;

	h = hash_text(stmt->name, strlen(stmt->name), OBS_UTILITY_SEED);
	h = hash_combine64(h, (uint64) list_length(stmt->args));
	h = hash_combine64(h, stmt->is_local ? 2 : 1);
	return nonzero(h);
}

/* a GUC name as SET accepts it: bare when it is a plain (dotted) name */
static void
append_guc_name(StringInfo buf, const char *name)
{
	const char *p;
	bool		plain = (*name != '\0');
	bool		start = true;

	for (p = name; *p && plain; p++)
	{
		if (*p == '.' && !start)
			start = true;
		else if ((*p >= 'a' && *p <= 'z') || *p == '_' ||
				 (!start && ((*p >= '0' && *p <= '9') || *p == '$')))
			start = false;
		else
			plain = false;
	}
	if (plain && !start)
	{
		appendStringInfoString(buf, name);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (p = name; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

static char *
set_text(VariableSetStmt *stmt)
{
	StringInfoData buf;
	int			n = list_length(stmt->args);
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, stmt->is_local ? "SET LOCAL " : "SET ");
	append_guc_name(&buf, stmt->name);
	appendStringInfoString(&buf, " = ");
	for (i = 1; i <= n; i++)
		appendStringInfo(&buf, i > 1 ? ", $%d" : "$%d", i);
	return buf.data;
}

/*
 * DECLARE: find the cursor name in the statement's text.  A small scanner:
 * whitespace and comments (-- and nested slash-star), the keyword DECLARE,
 * then a plain or double-quoted identifier.  Anything else (a Unicode
 * identifier, say) returns false and the statement keeps core's id.
 */
static int
skip_space(const char *s, int i, int len)
{
	while (i < len)
	{
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
			s[i] == '\f' || s[i] == '\v')
			i++;
		else if (s[i] == '-' && i + 1 < len && s[i + 1] == '-')
		{
			while (i < len && s[i] != '\n' && s[i] != '\r')
				i++;
		}
		else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*')
		{
			int			depth = 1;

			for (i += 2; i < len && depth > 0; i++)
			{
				if (s[i] == '/' && i + 1 < len && s[i + 1] == '*')
					depth++, i++;
				else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/')
					depth--, i++;
			}
		}
		else
			break;
	}
	return i;
}

static inline bool
ident_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		(unsigned char) c >= 0x80 ||
		(!first && ((c >= '0' && c <= '9') || c == '$'));
}

static bool
declare_name_span(const char *s, int len, int *start, int *end)
{
	int			i = skip_space(s, 0, len);

	if (len - i < 8 || pg_strncasecmp(s + i, "declare", 7) != 0 ||
		ident_char(s[i + 7], false))
		return false;
	i = skip_space(s, i + 7, len);
	*start = i;
	if (i < len && s[i] == '"')
	{
		for (i++; i < len; i++)
		{
			if (s[i] != '"')
				continue;
			if (i + 1 < len && s[i + 1] == '"')
				i++;
			else
				break;
		}
		if (i >= len)
			return false;
		*end = i + 1;
		return true;
	}
	if (i >= len || !ident_char(s[i], true) ||
		((s[i] == 'u' || s[i] == 'U') && i + 1 < len && s[i + 1] == '&'))
		return false;
	for (i++; i < len && ident_char(s[i], false); i++)
		;
	*end = i;
	return true;
}

/* the statement's own text (trimmed as core trims it) and the name in it */
static const char *
declare_text(const char *source, int location, int len, int *outlen,
			 int *start, int *end)
{
	const char *s;

	if (source == NULL)
		return NULL;
	s = CleanQuerytext(source, &location, &len);
	if (!declare_name_span(s, len, start, end))
		return NULL;
	*outlen = len;
	return s;
}

static uint64
declare_queryid(const char *s, int len, int start, int end)
{
	uint64		h = hash_text(s, start, OBS_UTILITY_SEED);

	return nonzero(hash_combine64(h, hash_text(s + end, len - end,
											   OBS_UTILITY_SEED)));
}

uint64
obs_utility_queryid(Node *stmt, const char *source, int location, int len,
					uint64 core_id)
{
	const char *text;

	/*
	 * core_id may be 0 with query ids enabled: pg_stat_statements clears it
	 * for DEALLOCATE.  Our ids do not depend on core's, so we give them
	 * whenever query ids are on.
	 */
	if (stmt == NULL || !IsQueryIdEnabled())
		return core_id;
	if ((text = fixed_text(stmt)) != NULL)
		return nonzero(hash_text(text, strlen(text), OBS_UTILITY_SEED));
	if (is_set_value(stmt))
		return set_queryid((VariableSetStmt *) stmt);
	if (IsA(stmt, DeclareCursorStmt))
	{
		int			start,
					end;
		const char *s = declare_text(source, location, len, &len, &start, &end);

		if (s != NULL)
			return declare_queryid(s, len, start, end);
	}
	/* cleared by an extension whose hook ran first (pg_stat_statements) */
	if (core_id == UINT64CONST(0))
		return obs_core_utility_queryid(source, location, len);
	return core_id;
}

/* highest $n written in the text (a parameter of the cursor's query) */
static int
highest_param(const char *s, int len)
{
	int			highest = 0;
	int			i;

	for (i = 0; i < len; i++)
	{
		int			n = 0;

		if (s[i] != '$')
			continue;
		while (i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9' && n < 100000)
			n = n * 10 + (s[++i] - '0');
		highest = Max(highest, n);
	}
	return highest;
}

char *
obs_utility_text(Node *stmt, const char *source, int location, int len)
{
	const char *text;

	if (stmt == NULL)
		return NULL;
	if ((text = fixed_text(stmt)) != NULL)
		return pstrdup(text);
	if (is_set_value(stmt))
		return set_text((VariableSetStmt *) stmt);
	if (IsA(stmt, DeclareCursorStmt))
	{
		int			start,
					end;
		const char *s = declare_text(source, location, len, &len, &start, &end);
		StringInfoData buf;

		if (s == NULL)
			return NULL;
		initStringInfo(&buf);
		appendBinaryStringInfo(&buf, s, start);
		appendStringInfo(&buf, "$%d", highest_param(s, len) + 1);
		appendBinaryStringInfo(&buf, s + end, len - end);
		return buf.data;
	}
	return NULL;
}
