#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

double putchard(double c) { putchar((unsigned char)(int)c); return 0; }
double printd(double x) {
    if (isnan(x)) puts("nan"); else printf("%f\n", x);
    return 0;
}

static void toy_missing(const char *name) {
    fflush(stdout);
    fprintf(stderr, "error: unknown function `%s`\n", name);
    _Exit(1);
}

#define TOY_STACK_SIZE ((size_t)1 << 30)
#define TOY_GUARD_SIZE ((size_t)1 << 20)
static char *toy_guard;
static char toy_alt_stack[1 << 16];

static void toy_fault(int sig, siginfo_t *info, void *context) {
    char *at = info->si_addr;
    (void)context;
    if (at >= toy_guard && at < toy_guard + TOY_GUARD_SIZE) {
        static const char message[] = "error: stack overflow (recursion too deep)\n";
        /* Not async-signal-safe, but the program ends here and its output so far
           must come out before the message, as with toy. */
        fflush(stdout);
        if (write(2, message, sizeof message - 1) < 0) _exit(1);
        _exit(1);
    }
    /* Any other fault: the default action, when the instruction runs again. */
    signal(sig, SIG_DFL);
}

static void toy_program(void);

static void *toy_thread(void *unused) {
    stack_t alt = { .ss_sp = toy_alt_stack, .ss_size = sizeof toy_alt_stack };
    (void)unused;
    sigaltstack(&alt, NULL);
    toy_program();
    return NULL;
}

int main(void) {
    char *stack = mmap(NULL, TOY_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED || mprotect(stack, TOY_GUARD_SIZE, PROT_NONE) != 0) {
        perror("error: cannot map the program's stack");
        return 1;
    }
    toy_guard = stack;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = toy_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &action, NULL);
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, TOY_STACK_SIZE);
    if (pthread_create(&thread, &attr, toy_thread, NULL) != 0) {
        fputs("error: cannot start the program's thread\n", stderr);
        return 1;
    }
    pthread_join(thread, NULL);
    return 0;
}
