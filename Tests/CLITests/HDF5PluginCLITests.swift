// HDF5 filter plugins (HDF5_PLUGIN_PATH) in the helper process: a dataset compressed with a filter
// WeightKit does not build in (blosc, written by h5py + hdf5plugin) is read through the plugin when
// HDF5_PLUGIN_PATH names it, with the values h5py reads, and is refused by name when it does not.
// The helper may open no file once its input is open, so it loads the plugins the parent names
// before opening the input (HDF5Probe --filter); until then every plugin read was refused.

import Foundation
import Testing
import TestSupport

@Suite("HDF5 filter plugins in the helper")
struct HDF5PluginCLITests {
    @Test("a blosc dataset reads through HDF5_PLUGIN_PATH, and is refused by name without it")
    func blosc() throws {
        let dir = RepoPaths.temporaryDirectory("cli-h5plugin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let h5 = dir + "/blosc.h5", out = dir + "/out.safetensors"
        let plugins = try Python.check("""
            import h5py, hdf5plugin, numpy as np, sys
            w = np.random.default_rng(7).standard_normal((64, 48)).astype(np.float32)
            with h5py.File(sys.argv[1], 'w') as f:
                f.create_dataset('layer/w', data=w, chunks=(16, 48), **hdf5plugin.Blosc())
            print(hdf5plugin.PLUGIN_PATH)
            """, [h5]).trimmingCharacters(in: .whitespacesAndNewlines)
        var env = ProcessInfo.processInfo.environment
        env["HDF5_PLUGIN_PATH"] = nil
        let refused = try Subprocess.run([CLITests.binary, "convert", h5, out], environment: env)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("\(h5): dataset 'layer/w': compressed with HDF5 filter 'blosc' (32001), which is not available"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))

        env["HDF5_PLUGIN_PATH"] = plugins
        let read = try Subprocess.run([CLITests.binary, "convert", h5, out], environment: env)
        #expect(read.status == 0, "\(read.stderr)")
        let same = try Python.check("""
            import h5py, hdf5plugin, numpy as np, sys
            from safetensors.numpy import load_file
            a = load_file(sys.argv[2])['layer/w']
            b = h5py.File(sys.argv[1], 'r')['layer/w'][()]
            print(a.dtype == b.dtype and np.array_equal(a, b))
            """, [h5, out])
        #expect(same.trimmingCharacters(in: .whitespacesAndNewlines) == "True")
    }
}
