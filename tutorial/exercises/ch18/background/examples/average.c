/* A C program that calls a function compiled from Kaleidoscope:
   toy-ch10 --emit=obj -o average.o average.ks && cc average.c average.o */
#include <stdio.h>

double average(double, double);

int main(void) {
    printf("average of 3.0 and 4.0: %f\n", average(3.0, 4.0));
    return 0;
}
