/* Twin of fib.ks: the naive Fibonacci. Size from argv[1] (default 41). */
#include <stdio.h>
#include <stdlib.h>

static double fib(double x) { return x < 3 ? 1 : fib(x - 1) + fib(x - 2); }

int main(int argc, char **argv) {
  double n = argc > 1 ? atof(argv[1]) : 41;
  printf("%f\n", fib(n));
  return 0;
}
