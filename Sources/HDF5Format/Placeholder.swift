// HDF5Format
