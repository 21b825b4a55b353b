/* Twin of ackermann.ks: Ackermann's function through small helpers. sweep size from
   argv[1] (default 800). */
#include <stdio.h>
#include <stdlib.h>

static double not(double v) { return v != 0 ? 0 : 1; }
static double eq(double a, double b) { return not(a < b) * not(b < a); }
static double iszero(double n) { return eq(n, 0); }
static double inc(double n) { return n + 1; }
static double dec(double n) { return n - 1; }

static double ack(double m, double n) {
  if (iszero(m) != 0) return inc(n);
  if (iszero(n) != 0) return ack(dec(m), 1);
  return ack(dec(m), ack(m, dec(n)));
}

static double sweep(double n) {
  double total = 0;
  for (double i = 0; i <= n; i++) total = total + ack(2, i);
  return total;
}

int main(int argc, char **argv) {
  double n = argc > 1 ? atof(argv[1]) : 800;
  printf("%f\n", ack(3, 5));
  printf("%f\n", sweep(n));
  return 0;
}
