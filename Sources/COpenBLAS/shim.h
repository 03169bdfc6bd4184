// OpenBLAS (Debian libopenblas-dev, pthreads build): cblas_sgemm and thread control.
#include <cblas.h>

// Declared in OpenBLAS but not in every cblas.h: the name of the kernel chosen at load time.
char *openblas_get_corename(void);
