// libhdf5 (Debian libhdf5-dev 1.10). HDF5's type and flag macros do not import into Swift;
// these one-line functions return them.
#include <hdf5.h>

static inline hid_t wk_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t wk_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t wk_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t wk_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t wk_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t wk_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t wk_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t wk_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t wk_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t wk_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t wk_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline unsigned wk_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned wk_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline herr_t wk_H5open(void) { return H5open(); }
