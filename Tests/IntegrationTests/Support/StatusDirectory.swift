import RayBridge
import RayBridgeClients
import RayBridgeCore

/// The sidecar's status directory, read the way an app container reads it (through `..data`).
enum StatusDirectory {
    static func read(_ dir: String) -> [String: String] {
        (try? DirectorySnapshot.read(directory: dir).values) ?? [:]
    }
}
