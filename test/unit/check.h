/*
 * check.h
 *		The report of the standalone check programs (check.c): one line per
 *		checked quantity, "ok" or "FAIL", and a closing
 *		"PROGRAM: N passed, M failed".
 */
#ifndef BERT_CHECK_H
#define BERT_CHECK_H

#include "standalone_model.h"

/*
 * Names the program for its messages and checks argc against the number
 * of arguments `usage` lists (exits 2 with the usage line when it differs).
 */
extern void check_begin(const char *program, int argc, char **argv,
						int nargs, const char *usage);

/* Prints one checked quantity ("ok"/"FAIL" what: message) and counts it. */
extern void check(bool ok, const char *what, const char *fmt,...) pg_attribute_printf(3, 4);

/*
 * A condition that stops the program (a missing file, a malformed golden
 * file): prints it, then the summary with one more failure, and exits 1.
 */
extern void fatal(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

/* Loads model directory dir, or fails fatally naming it. */
extern void check_load_model(const char *dir, BertStandaloneModel *model);

/* Prints the summary line; returns the exit status (0: nothing failed). */
extern int	check_finish(void);

#endif							/* BERT_CHECK_H */
