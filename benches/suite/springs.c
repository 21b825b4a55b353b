/* Twin of springs.ks: a Fermi-Pasta-Ulam chain of four masses. Steps from argv[1]
   (default 40000000). */
#include <stdio.h>
#include <stdlib.h>

static double spring(double d) { return d + 0.25 * d * d * d; }
static double accel(double left, double x, double right) {
  return spring(right - x) - spring(x - left);
}
static double potential(double d) { return 0.5 * d * d + 0.0625 * d * d * d * d; }

int main(int argc, char **argv) {
  double n = argc > 1 ? atof(argv[1]) : 40000000;
  double x1 = 0.5, x2 = 0, x3 = 0 - 0.25, x4 = 0, v1 = 0, v2 = 0.3, v3 = 0, v4 = 0;
  double dt = 0.001;
  for (double i = 1; i <= n; i++) {
    v1 = v1 + dt * accel(0, x1, x2);
    v2 = v2 + dt * accel(x1, x2, x3);
    v3 = v3 + dt * accel(x2, x3, x4);
    v4 = v4 + dt * accel(x3, x4, 0);
    x1 = x1 + dt * v1;
    x2 = x2 + dt * v2;
    x3 = x3 + dt * v3;
    x4 = x4 + dt * v4;
  }
  printf("%f\n%f\n%f\n%f\n", x1, x2, x3, x4);
  printf("%f\n", 0.5 * (v1 * v1 + v2 * v2 + v3 * v3 + v4 * v4) + potential(x1) +
                     potential(x2 - x1) + potential(x3 - x2) + potential(x4 - x3) +
                     potential(0 - x4));
  return 0;
}
