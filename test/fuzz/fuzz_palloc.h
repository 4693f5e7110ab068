/*
 * fuzz_palloc.h
 *		Per-input lifetime of palloc'd memory in the fuzz harnesses.
 */
#ifndef FUZZ_PALLOC_H
#define FUZZ_PALLOC_H

/* From here on every palloc'd block belongs to the current input. */
extern void FuzzAllocBegin(void);

/* Frees every block allocated since FuzzAllocBegin(); tracking stops. */
extern void FuzzAllocReset(void);

#endif							/* FUZZ_PALLOC_H */
