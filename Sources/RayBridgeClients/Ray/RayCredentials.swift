import Foundation
import RayBridgeCore

/// The Ray token as Kubernetes mounts it: `<dir>/token`. Read on every request, so a rotated
/// Secret is used as soon as the kubelet has swapped it in; a missing file means "no token".
public struct RayCredentials: Sendable {
    public var directory: String?

    public init(directory: String?) {
        self.directory = directory
    }

    public func token() -> String? {
        guard let directory,
            let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("token"))
        else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }
}
