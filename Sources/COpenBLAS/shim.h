// OpenBLAS (Debian libopenblas-dev, pthreads build): cblas_sgemm and thread control.
#include <cblas.h>
