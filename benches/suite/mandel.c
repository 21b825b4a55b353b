/* Twin of mandel.ks: the Mandelbrot of examples/mandel.ks on a grid 2^k times finer
   (k from argv[1], default 5). Kaleidoscope's `for` runs the body, then tests the
   condition on the value before the step: hence the loops' shape. */
#include <stdio.h>
#include <stdlib.h>

static double converger(double real, double imag, double iters, double creal, double cimag) {
  if (iters > 255 || real * real + imag * imag > 4) return iters;
  return converger(real * real - imag * imag + creal, 2 * real * imag + cimag, iters + 1, creal,
                   cimag);
}

static void density(double d) { putchar(d > 8 ? ' ' : d > 4 ? '.' : d > 2 ? '+' : '*'); }

int main(int argc, char **argv) {
  int k = argc > 1 ? atoi(argv[1]) : 5;
  double xstep = 0.05 / (1 << k), ystep = 0.07 / (1 << k);
  double xmin = -2.3, ymin = -1.3;
  double xmax = xmin + xstep * (78.0 * (1 << k)), ymax = ymin + ystep * (40.0 * (1 << k));
  for (double y = ymin;;) {
    for (double x = xmin;;) {
      density(converger(x, y, 0, x, y));
      int go = x < xmax;
      x += xstep;
      if (!go) break;
    }
    putchar('\n');
    int go = y < ymax;
    y += ystep;
    if (!go) break;
  }
  return 0;
}
