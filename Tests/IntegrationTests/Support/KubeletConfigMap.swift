import RayBridgeTestKit

/// A ConfigMap (or Secret) volume as the kubelet maintains it: every update is a new timestamped
/// directory and an atomic `..data` swap, done by the test kit's kubelet, not by raybridge's code.
struct KubeletConfigMap {
    let directory: String
    private(set) var values: [String: String]

    init(directory: String, values: [String: String]) throws {
        self.directory = directory
        self.values = values
        try write()
    }

    /// Sets the given keys; a nil value removes its key.
    mutating func update(_ changes: [String: String?]) throws {
        for (key, value) in changes { values[key] = value }
        try write()
    }

    private func write() throws {
        try KubeletAtomicWriter(directory: directory).write(values)
    }
}
