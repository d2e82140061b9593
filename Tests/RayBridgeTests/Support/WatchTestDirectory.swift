import Foundation

/// A fresh directory under the system's temporary directory, removed with `remove()`.
struct WatchTestDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "raybridge-test-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    func sub(_ name: String) -> String {
        path + "/" + name
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
