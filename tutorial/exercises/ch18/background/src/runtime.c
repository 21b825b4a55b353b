/* The runtime of an executable built by toy-ch10: the two functions that
   Kaleidoscope programs call to print. The math functions come from libm. */
#include <math.h>
#include <stdio.h>

/* putchard(c): writes the byte c to standard output, returns 0. */
double putchard(double c) {
    putchar((unsigned char)(int)c);
    return 0;
}

/* printd(x): writes x as %f and a newline, returns 0. Every NaN is "nan", as the
   interpreter prints it: glibc would print "-nan" for a NaN with its sign bit set,
   and sqrt(-1) computes one on x86-64. */
double printd(double x) {
    if (isnan(x))
        puts("nan");
    else
        printf("%f\n", x);
    return 0;
}
