/* Twin of lattice.ks: lattice points of a disc. Radius from argv[1] (default 7500). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  double r = argc > 1 ? atof(argv[1]) : 7500;
  double count = 0, moment = 0;
  for (double i = 0 - r; i <= r; i++)
    for (double j = 0 - r; j <= r; j++)
      if (i * i + j * j < r * r) {
        count = count + 1;
        moment = moment + i * i * j * j;
      }
  printf("%f\n%f\n", count, moment);
  return 0;
}
