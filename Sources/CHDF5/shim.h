// libhdf5 (Debian libhdf5-dev 1.10). HDF5's type and flag macros do not import into Swift;
// these one-line functions return them.
//
// The library is linked statically (module.modulemap): Debian's shared libhdf5 brings in 36 more
// shared libraries (libcurl, gnutls, Kerberos, … for the S3 driver WeightKit never uses) whose loading
// and start-up cost every process 4-5 ms of CPU and tens of milliseconds of wall time under load —
// paid by weightkit and again by each wk-hdf5-probe it starts (Formats/security.md). The static
// archive brings only the objects WeightKit calls, and needs libsz (libaec), zlib and libm.
#if __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#else
#include <hdf5.h>
#endif

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

// Added for HDF5Format: more type, property-list and sentinel macros.
static inline hid_t wk_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t wk_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t wk_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t wk_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t wk_H5T_STD_I8LE(void) { return H5T_STD_I8LE; }
static inline hid_t wk_H5T_STD_I16LE(void) { return H5T_STD_I16LE; }
static inline hid_t wk_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t wk_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t wk_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t wk_H5T_STD_U16LE(void) { return H5T_STD_U16LE; }
static inline hid_t wk_H5T_STD_U32LE(void) { return H5T_STD_U32LE; }
static inline hid_t wk_H5T_STD_U64LE(void) { return H5T_STD_U64LE; }
static inline size_t wk_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hid_t wk_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t wk_H5P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
static inline hid_t wk_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t wk_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t wk_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline haddr_t wk_HADDR_UNDEF(void) { return HADDR_UNDEF; }
static inline unsigned wk_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned wk_H5O_INFO_BASIC(void) { return H5O_INFO_BASIC; }
static inline unsigned wk_H5O_INFO_NUM_ATTRS(void) { return H5O_INFO_NUM_ATTRS; }
static inline unsigned wk_H5Z_FLAG_REVERSE(void) { return H5Z_FLAG_REVERSE; }
static inline int wk_H5Z_CLASS_T_VERS(void) { return H5Z_CLASS_T_VERS; }
