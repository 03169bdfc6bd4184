// HDF5 files as checkpoints: every dataset a tensor named by its path, attributes as metadata.

import HDF5Format
import TensorCore

extension Checkpoint {
    static func openHDF5(_ path: String) throws -> Checkpoint {
        let file = try HDF5File.open(path: path)
        return Checkpoint(path: path, format: .hdf5, files: [path], metadata: file.metadata, entries: file.entries)
    }
}
