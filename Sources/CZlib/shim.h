// zlib, for HDF5's deflate filter (id 1) decoded in the WeightKit process.
#include <zlib.h>
