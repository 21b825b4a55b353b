/* Twin of loops.ks: a random walk driven by the logistic map. Steps from argv[1]
   (default 180000000). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  double n = argc > 1 ? atof(argv[1]) : 180000000;
  double x = 0.1234, pos = 0, top = 0, bottom = 0, returns = 0;
  for (double i = 1; i <= n; i++) {
    x = 4 * x * (1 - x);
    pos = x < 0.5 ? pos + 1 : pos - 1;
    if (top < pos) top = pos;
    if (pos < bottom) bottom = pos;
    if (pos * pos < 0.5) returns = returns + 1;
  }
  printf("%f\n%f\n%f\n%f\n%f\n", x, pos, top, bottom, returns);
  return 0;
}
