import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore

/// A ConfigMap volume as the kubelet maintains it: every update is a new timestamped directory
/// and an atomic `..data` swap (the same algorithm, step by step, on a real directory).
struct KubeletConfigMap {
    let directory: String
    private(set) var values: [String: String]

    init(directory: String, values: [String: String]) throws {
        self.directory = directory
        self.values = values
        try write()
    }

    mutating func update(_ changes: [String: String?]) throws {
        for (key, value) in changes { values[key] = value }
        try write()
    }

    private func write() throws {
        try AtomicDirectoryWriter(directory: directory).write(values.mapValues { Data($0.utf8) })
    }
}
