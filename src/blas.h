/*
 * blas.h
 *		OpenBLAS, opened by the postmaster or at first use (blas.c).
 */
#ifndef BERT_BLAS_H
#define BERT_BLAS_H

extern void BertBlasPreload(void);
extern void BertBlasEnsureLoaded(void);
extern void BertBlasSetThreads(int threads);
extern const char *BertBlasCoreName(void);
extern const char *BertBlasConfig(void);
extern void BertSgemm(int trans_b, int m, int n, int k, float alpha,
					  const float *a, int lda, const float *b, int ldb,
					  float beta, float *c, int ldc);
extern void BertSgemmTrans(int trans_a, int trans_b, int m, int n, int k,
						   float alpha, const float *a, int lda,
						   const float *b, int ldb, float beta, float *c,
						   int ldc);

#endif							/* BERT_BLAS_H */
