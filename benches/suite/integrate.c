/* Twin of integrate.ks: the midpoint rule on [0, 10] with steps of 2^-k (k from
   argv[1], default 21). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double f(int which, double x) {
  return which == 0 ? sin(x) * exp(0 - x * 0.1) : sqrt(x) * cos(x);
}

static double integrate(int which, double a, double h, long n) {
  double sum = 0;
  for (long i = 0; i < n; i++) sum = sum + f(which, a + (i + 0.5) * h);
  return sum * h;
}

int main(int argc, char **argv) {
  int k = argc > 1 ? atoi(argv[1]) : 21;
  double h = 1.0 / (1L << k);
  long n = 10L << k;
  printf("%f\n", integrate(0, 0, h, n));
  printf("%f\n", integrate(1, 0, h, n));
  return 0;
}
