// libzstd (Debian libzstd-dev): one-shot and streaming compression.
#include <zstd.h>
