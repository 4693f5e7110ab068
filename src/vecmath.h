/*
 * vecmath.h
 *		Vectorisable float32 exp, erf and tanh for the elementwise kernels.
 *
 * libm's expf/erff/tanhf are scalar calls, and GELU alone evaluates erf
 * (tokens * intermediate_size) times per layer; these branch-free versions
 * let the compiler emit SIMD code for whole rows.  Accuracy (checked against
 * libm by test/unit/vecmath_check.c): exp and tanh within 2 ulp, erf within
 * 3e-7 absolute, far inside the 1e-4 parity tolerance.
 */
#ifndef BERT_VECMATH_H
#define BERT_VECMATH_H

#include <stdint.h>
#include <string.h>

/*
 * Elementwise kernels compiled for x86-64-v4 (AVX-512), v3 (AVX2 + FMA)
 * and the baseline, picked by CPU features at load time.
 */
#ifndef BERT_MULTIVERSION
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BERT_MULTIVERSION \
	__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BERT_MULTIVERSION
#endif
#endif

/*
 * e^x, Cephes polynomial after range reduction x = n ln2 + r, n the
 * nearest integer (rintf in the default rounding mode: unlike floorf it
 * vectorises without -ffast-math).
 */
static inline float
bert_expf(float x)
{
	float		n,
				r,
				p;
	int32_t		bits;
	float		scale;

	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	n = __builtin_rintf(x * 1.44269504088896341f);
	r = x - n * 0.693359375f;
	r = r + n * 2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	bits = ((int32_t) n + 127) << 23;
	memcpy(&scale, &bits, sizeof(scale));
	return p * scale;
}

/* erf(x), rational approximation on [-4, 4] (as in Eigen and XLA). */
static inline float
bert_erff(float x)
{
	float		x2,
				p,
				q;

	x = x < -4.0f ? -4.0f : x;
	x = x > 4.0f ? 4.0f : x;
	x2 = x * x;
	p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
	p = x2 * p + -2.10102402082508e-06f;
	p = x2 * p + -5.69250639462346e-05f;
	p = x2 * p + -7.34990630326855e-04f;
	p = x2 * p + -2.95459980854025e-03f;
	p = x2 * p + -1.60960333262415e-02f;
	p = x * p;
	q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
	q = x2 * q + -1.68282697438203e-03f;
	q = x2 * q + -7.37332916720468e-03f;
	q = x2 * q + -1.42647390514189e-02f;
	return p / q;
}

/* tanh(x) = 1 - 2 / (e^{2x} + 1), odd-symmetric. */
static inline float
bert_tanhf(float x)
{
	float		ax = x < 0.0f ? -x : x;
	float		t = 1.0f - 2.0f / (bert_expf(2.0f * ax) + 1.0f);

	return x < 0.0f ? -t : t;
}

#endif							/* BERT_VECMATH_H */
