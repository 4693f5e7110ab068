/*
 * bert.c
 *		Module entry point: defines the settings and installs each
 *		subsystem.  The SQL functions live in sql_*.c.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "batch.h"
#include "blas.h"
#include "guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Defines the settings and installs batched execution of plain queries.
 * Loaded by the postmaster (shared_preload_libraries), it opens OpenBLAS
 * too, so that no backend pays for that on its first call; otherwise
 * OpenBLAS is opened on first use.
 */
void
_PG_init(void)
{
	BertGucInit();
	BertBatchInit();
	if (process_shared_preload_libraries_in_progress)
		BertBlasPreload();
}
