/* Twin of redefine.ks: both phases, the first weight then the second. Steps from
   argv[1] (default 180000000). */
#include <stdio.h>
#include <stdlib.h>

static double weight1(double i) { return i * 0.5; }
static double weight2(double i) { return i * 0.25 + 1; }

static double total(double (*weight)(double), double n) {
  double sum = 0;
  for (double i = 1; i <= n; i++) sum = sum + weight(i);
  return sum;
}

int main(int argc, char **argv) {
  double n = argc > 1 ? atof(argv[1]) : 180000000;
  printf("%f\n", total(weight1, n));
  printf("%f\n", total(weight2, n));
  return 0;
}
