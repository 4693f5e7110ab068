/*
 * bert.c
 *		Module entry point: defines the settings and installs each
 *		subsystem.  The SQL functions live in sql_*.c.
 */
#include "postgres.h"

#include "fmgr.h"

#include "batch.h"
#include "guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Defines the settings and installs batched execution of plain queries;
 * OpenBLAS is opened later, on first use.
 */
void
_PG_init(void)
{
	BertGucInit();
	BertBatchInit();
}
