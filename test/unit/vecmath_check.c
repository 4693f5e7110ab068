/*
 * vecmath_check.c
 *		Compares src/vecmath.h against libm over a dense sweep.
 */
#include <math.h>
#include <stdio.h>

#include "../../src/vecmath.h"

int
main(void)
{
	double		e_exp = 0,
				e_erf = 0,
				e_tanh = 0;
	int			failed = 0;

	for (float x = -30.0f; x <= 30.0f; x += 0.000731f)
	{
		double		ref = exp((double) x);
		double		rel = fabs(bert_expf(x) - ref) / ref;

		if (rel > e_exp)
			e_exp = rel;
		if (fabs(bert_erff(x) - erf((double) x)) > e_erf)
			e_erf = fabs(bert_erff(x) - erf((double) x));
		if (fabs(bert_tanhf(x) - tanh((double) x)) > e_tanh)
			e_tanh = fabs(bert_tanhf(x) - tanh((double) x));
	}
	printf("max error: exp %.3g (relative), erf %.3g, tanh %.3g (absolute)\n",
		   e_exp, e_erf, e_tanh);
	failed = (e_exp > 3e-7) + (e_erf > 1e-6) + (e_tanh > 1e-6);
	printf("vecmath: %d passed, %d failed\n", 3 - failed, failed);
	return failed != 0;
}
