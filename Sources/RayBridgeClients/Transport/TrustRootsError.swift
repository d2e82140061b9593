import RayBridgeCore

/// `--ca-file` cannot be used as a set of trust roots.
public struct TrustRootsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String
    public var description: String { "the CA file \(file) (--ca-file) cannot be used: \(reason)" }
}
