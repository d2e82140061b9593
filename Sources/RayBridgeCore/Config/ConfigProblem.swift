/// One thing wrong with the mounted ConfigMap, named by its key so the user knows what to edit.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

extension Array where Element == ConfigProblem {
    /// All problems in one line each, as written to `status.message`.
    public var summary: String {
        "invalid ConfigMap (\(count) problem\(count == 1 ? "" : "s")):\n" + map { "- \($0)" }.joined(separator: "\n")
    }
}
